package localiot

import (
	"bytes"
	"crypto/tls"
	"strings"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotwatch/iotwatch/pki"
	"github.com/iotwatch/iotwatch/shadow"
)

// authHook authorizes like a typical AWS IoT policy: a device certificate
// connects only as its thing and touches only its own thing's topics; the
// monitor certificate may use any client id and every thing. AWS's limits
// are limitsHook's.
type authHook struct {
	mqtt.HookBase
	events *lifecycle
	broker *mqtt.Server
}

func (h *authHook) ID() string { return "iotwatch-auth" }

func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck}, []byte{b})
}

// identity is who a connection's verified client certificate says it is.
type identity struct {
	thing   string
	monitor bool
}

func identityOf(cl *mqtt.Client) (identity, bool) {
	conn, ok := cl.Net.Conn.(*tls.Conn)
	if !ok {
		return identity{}, false
	}
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return identity{}, false
	}
	thing, monitor := pki.Role(certs[0])
	return identity{thing, monitor}, true
}

// OnConnect refuses, as AWS does, a client id the certificate may not use
// and a will the client could not publish itself: an MQTT 5 client gets
// CONNACK 0x87 (not authorized), an MQTT 3.1.1 client has its connection
// closed without a CONNACK. (mochi's own refusal in OnConnectAuthenticate
// would answer "bad user name or password".)
func (h *authHook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	id, ok := identityOf(cl)
	if ok && mayConnect(id, cl.ID) && mayWill(id, &cl.Properties.Will) {
		return nil
	}
	h.events.connectFailed(cl, id.thing)
	return refuseConnect(h.broker, cl, packets.ErrNotAuthorized)
}

// mayConnect: a device certificate connects only with its thing name as
// the client id; the monitor certificate with any.
func mayConnect(id identity, clientID string) bool {
	return id.monitor || clientID == id.thing
}

// mayWill checks a will at CONNECT as the publish it will become: mochi
// later publishes it without any ACL or publish hook.
func mayWill(id identity, w *mqtt.Will) bool {
	if atomic.LoadUint32(&w.Flag) == 0 {
		return true
	}
	return mayPublish(id, w.TopicName) && withinPublishLimits(w.TopicName, w.Qos, w.Retain, len(w.Payload))
}

// OnConnectAuthenticate lets through what OnConnect did not refuse; mochi
// refuses every connection when no hook provides it.
func (h *authHook) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	id, ok := identityOf(cl)
	if !ok {
		return false
	}
	if !write {
		return mayRead(id, topic)
	}
	allowed := mayPublish(id, topic)
	if !allowed && cl.Properties.ProtocolVersion < 5 {
		// AWS closes an MQTT 3.1.1 connection after a denied publish;
		// mochi answers MQTT 5 with PUBACK 0x87 as AWS does.
		h.events.stop(cl, "FORBIDDEN_ACCESS")
	}
	return allowed
}

// mayPublish: shadow request topics of the caller's thing (every thing for
// the monitor); other $aws topics never; other topics only for the monitor.
// The shadow answers (…/accepted, …/rejected, …/delta, …/documents) and
// $aws/events/... come only from the emulator itself, which publishes
// in-process without this check.
func mayPublish(id identity, topic string) bool {
	if !strings.HasPrefix(topic, "$aws/") {
		return id.monitor
	}
	thing, _, _, rest, ok := shadow.ParseTopic(topic)
	return ok && rest == "" && (id.monitor || thing == id.thing)
}

// mayRead checks a subscription filter or a delivered topic.
func mayRead(id identity, topic string) bool {
	if id.monitor {
		return true
	}
	return strings.HasPrefix(topic, shadow.Prefix(id.thing, "")+"/") ||
		strings.HasPrefix(topic, "$aws/events/") && strings.HasSuffix(topic, "/"+id.thing)
}
