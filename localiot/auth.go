package localiot

import (
	"bytes"
	"crypto/tls"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotwatch/iotwatch/pki"
)

// authHook authorizes with the IoT policies of the client's certificate
// (mqtt_policy.go; certs init's device certificate gets a policy confining
// it to its own thing, the monitor's one allowing every thing). It also
// enforces AWS's limits (no QoS 2, no retained $aws messages, 128 KiB).
type authHook struct {
	mqtt.HookBase
	events *lifecycle
	broker *mqtt.Server
	policy *mqttPolicy // the certificate's IoT policies decide (mqtt_policy.go)
}

func (h *authHook) ID() string { return "iotwatch-auth" }

func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnSubscribe, mqtt.OnPublish}, []byte{b})
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

// OnConnect refuses a client id the certificate may not use as AWS does: an
// MQTT 5 client gets CONNACK 0x87 (not authorized), an MQTT 3.1.1 client
// has its connection closed without a CONNACK. (mochi's own refusal in
// OnConnectAuthenticate would answer "bad user name or password".)
func (h *authHook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	if h.policy.connect(cl) {
		return nil
	}
	id, _ := identityOf(cl)
	h.events.connectFailed(cl, id.thing)
	if cl.Properties.ProtocolVersion >= 5 {
		h.broker.SendConnack(cl, packets.ErrNotAuthorized, false, nil)
	}
	return packets.ErrNotAuthorized
}

// OnConnectAuthenticate lets through what OnConnect did not refuse; mochi
// refuses every connection when no hook provides it.
func (h *authHook) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if write {
		if h.policy.publish(cl, topic) {
			return true
		}
		h.refuse(cl, "FORBIDDEN_ACCESS")
		return false
	}
	return h.policy.read(cl, topic)
}

// OnSubscribe refuses QoS 2 as AWS does: the filter is made invalid so that
// mochi answers it with a failure code.
func (h *authHook) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	for i := range pk.Filters {
		if pk.Filters[i].Qos > 1 {
			pk.Filters[i].Filter = ""
		}
	}
	h.policy.subscribing(cl, pk.Filters)
	return pk
}

// OnPublish disconnects clients that break AWS's publish limits.
func (h *authHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	badRetain := pk.FixedHeader.Retain && strings.HasPrefix(pk.TopicName, "$aws/")
	if pk.FixedHeader.Qos > 1 || badRetain || len(pk.Payload) > maxPayload {
		h.refuse(cl, "CLIENT_ERROR")
		return pk, packets.ErrRejectPacket
	}
	if pk.FixedHeader.Retain && !h.policy.retainPublish(cl, pk.TopicName) {
		h.refuse(cl, "FORBIDDEN_ACCESS")
		return pk, packets.ErrRejectPacket
	}
	return pk, nil
}

// refuse closes the connection as AWS does for MQTT 3.1.1 (MQTT 5 clients
// get a failure PUBACK from mochi instead).
func (h *authHook) refuse(cl *mqtt.Client, reason string) {
	if cl.Properties.ProtocolVersion == 5 && reason == "FORBIDDEN_ACCESS" {
		return
	}
	h.events.setReason(cl, reason)
	cl.Stop(packets.ErrNotAuthorized)
}
