package localiot

import (
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotwatch/iotwatch/shadow"
)

// shadowHook is the Device Shadow service: it answers get, update and delete
// requests published by clients. It also keeps Basic Ingest publishes from
// subscribers, as AWS hands them to rules only (reserved.go).
type shadowHook struct {
	mqtt.HookBase
	broker *mqtt.Server
	store  store
	locks  [64]sync.Mutex // requests on one shadow are handled one at a time
}

func (h *shadowHook) ID() string { return "iotwatch-shadow" }

func (h *shadowHook) Provides(b byte) bool { return b == mqtt.OnPublish || b == mqtt.OnWillSent }

// OnWillSent hands the service a will published on a shadow request topic
// (a device's "reported: offline"), as AWS does: mochi publishes wills
// past the publish hooks. OnConnect has checked it as the client's own
// publish.
func (h *shadowHook) OnWillSent(cl *mqtt.Client, pk packets.Packet) {
	if thing, name, op, rest, ok := shadow.ParseTopic(pk.TopicName); ok && rest == "" {
		h.handle(thing, name, op, pk.Payload)
	}
}

func (h *shadowHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	// Our own answers come back through OnPublish too: never handle them.
	if cl.Net.Inline {
		return pk, nil
	}
	if _, ok := basicIngest(pk.TopicName); ok {
		return pk, packets.CodeSuccessIgnore // acknowledged, delivered to no one
	}
	thing, name, op, rest, ok := shadow.ParseTopic(pk.TopicName)
	if ok && rest == "" {
		h.handle(thing, name, op, pk.Payload)
	}
	return pk, nil
}

func (h *shadowHook) handle(thing, name, op string, payload []byte) {
	prefix := shadow.Prefix(thing, name) + "/" + op
	h.serve(thing, name, op, payload, func(res shadow.Result, err error) {
		if err != nil {
			h.publish(prefix+"/rejected", internalError(time.Now()))
			return
		}
		if res.Rejected != nil {
			h.publish(prefix+"/rejected", res.Rejected)
			return
		}
		h.publishAccepted(prefix, res)
	})
}

// serve runs one request on a shadow and calls answer with the result
// while the shadow is still locked, so answers leave in the order of the
// changes (MQTT requests here, HTTPS ones in api_data.go).
func (h *shadowHook) serve(thing, name, op string, payload []byte, answer func(shadow.Result, error)) {
	key := shadowKey(thing, name)
	lock := h.lockFor(key)
	lock.Lock()
	defer lock.Unlock()
	cur, err := h.store.Get(key)
	if err != nil {
		answer(shadow.Result{}, err)
		return
	}
	res := h.run(cur, op, payload, thing, name, time.Now())
	if res.Changed {
		if err := h.store.Put(key, res.Next); err != nil {
			answer(shadow.Result{}, err)
			return
		}
	}
	answer(res, nil)
}

func (h *shadowHook) publishAccepted(prefix string, res shadow.Result) {
	h.publish(prefix+"/accepted", res.Accepted)
	if res.Delta != nil {
		h.publish(prefix+"/delta", res.Delta)
	}
	if res.Documents != nil {
		h.publish(prefix+"/documents", res.Documents)
	}
}

func (h *shadowHook) run(cur shadow.Shadow, op string, payload []byte, thing, name string, now time.Time) shadow.Result {
	notFoundName := thing
	if name != "" {
		notFoundName = name
	}
	switch op {
	case "update":
		return shadow.Update(cur, payload, now)
	case "get":
		return shadow.Get(cur, payload, notFoundName, now)
	default:
		return shadow.Delete(cur, payload, notFoundName, now)
	}
}

func (h *shadowHook) lockFor(key string) *sync.Mutex {
	f := fnv.New32a()
	f.Write([]byte(key))
	return &h.locks[f.Sum32()%uint32(len(h.locks))]
}

func (h *shadowHook) publish(topic string, payload []byte) {
	_ = h.broker.Publish(topic, payload, false, 1)
}

func internalError(now time.Time) []byte {
	return []byte(`{"code":500,"message":"Internal service failure","timestamp":` +
		strconv.FormatInt(now.Unix(), 10) + `}`)
}
