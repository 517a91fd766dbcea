package localiot

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"strings"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotwatch/iotwatch/pki"
	"github.com/iotwatch/iotwatch/shadow"
)

// authHook authorizes with the IoT policies of the client's certificate
// (mqtt_policy.go; certs init's device certificate gets a policy confining
// it to its own thing, the monitor's one allowing every thing). AWS's limits
// are limitsHook's.
type authHook struct {
	mqtt.HookBase
	events *lifecycle
	broker *mqtt.Server
	policy *mqttPolicy // the certificate's IoT policies decide (mqtt_policy.go)
}

func (h *authHook) ID() string { return "iotwatch-auth" }

func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish}, []byte{b})
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
	if !shadow.ValidThingName(thing) {
		thing = "" // an API-made certificate's CN ("AWS IoT Certificate") names no thing
	}
	return identity{thing, monitor}, true
}

// OnConnect refuses, as AWS does, a client id the policy does not allow
// and a will the client could not publish itself: an MQTT 5 client gets
// CONNACK 0x87 (not authorized), an MQTT 3.1.1 client has its connection
// closed without a CONNACK. (mochi's own refusal in OnConnectAuthenticate
// would answer "bad user name or password".)
func (h *authHook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	if w := &cl.Properties.Will; atomic.LoadUint32(&w.Flag) == 1 && strings.ContainsAny(w.TopicName, "+#") {
		// A malformed CONNECT rather than a forbidden one: MQTT 5 gets
		// 0x90 (topic name invalid), MQTT 3.1.1 is closed.
		h.events.note("refused", cl.ID, fmt.Sprintf("will topic %q holds a wildcard (MQTT-4.7.0-1)", w.TopicName))
		return refuseConnect(h.broker, cl, packets.ErrTopicNameInvalid)
	}
	if h.policy.connect(cl) && willWithinLimits(&cl.Properties.Will) {
		return nil
	}
	id, _ := identityOf(cl)
	h.events.connectFailed(cl, id.thing)
	return refuseConnect(h.broker, cl, packets.ErrNotAuthorized)
}

// willWithinLimits holds a will to AWS's limits on a publish (the policy
// checks it at connect as the publish it becomes): mochi later publishes it
// without any ACL or publish hook.
func willWithinLimits(w *mqtt.Will) bool {
	return atomic.LoadUint32(&w.Flag) == 0 || withinPublishLimits(w.TopicName, w.Qos, w.Retain, len(w.Payload))
}

// OnConnectAuthenticate lets through what OnConnect did not refuse; mochi
// refuses every connection when no hook provides it.
func (h *authHook) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if !write {
		return h.policy.read(cl, topic)
	}
	allowed := h.policy.publish(cl, topic)
	if !allowed && cl.Properties.ProtocolVersion < 5 {
		// AWS closes an MQTT 3.1.1 connection after a denied publish;
		// mochi answers MQTT 5 with PUBACK 0x87 as AWS does.
		h.events.stop(cl, "FORBIDDEN_ACCESS")
	}
	return allowed
}

// OnPublish asks iot:RetainPublish as well for a retained publish.
func (h *authHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline || !pk.FixedHeader.Retain || h.policy.retainPublish(cl, pk.TopicName) {
		return pk, nil
	}
	if cl.Properties.ProtocolVersion < 5 {
		h.events.stop(cl, "FORBIDDEN_ACCESS")
	}
	return pk, packets.ErrRejectPacket
}

// disconnectRevoked closes, after each registry change, the connections
// whose certificate is no longer ACTIVE or registered or whose policies no
// longer allow their iot:Connect (mqttPolicy.revoked), with AWS's
// AUTH_ERROR, until done is closed.
func disconnectRevoked(reg *registry, p *mqttPolicy, events *lifecycle, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-reg.changed:
			p.revoked(func(cl *mqtt.Client) {
				events.note("disconnecting", cl.ID, "its certificate is no longer ACTIVE or its policies no longer allow iot:Connect")
				events.stop(cl, "AUTH_ERROR")
			})
		}
	}
}
