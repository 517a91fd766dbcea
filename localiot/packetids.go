package localiot

import (
	"bytes"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// packetIDHook keeps a client's packet identifiers apart from the server's.
// They are independent spaces in MQTT, but mochi keeps both in one Inflight
// map (mochi-mqtt/server#545): a SUBSCRIBE whose id the server is using for
// an unacknowledged delivery is refused as "identifier in use", and a QoS 1
// PUBLISH with such an id deletes the delivery's entry. AWS does neither, so
// such a packet is processed under a free alias id, and its acknowledgement
// goes out with the client's id again.
type packetIDHook struct {
	mqtt.HookBase
	mu      sync.Mutex
	aliases map[*mqtt.Client]map[uint16]uint16 // alias → the client's id
}

func newPacketIDHook() *packetIDHook {
	return &packetIDHook{aliases: map[*mqtt.Client]map[uint16]uint16{}}
}

func (h *packetIDHook) ID() string { return "iotwatch-packet-ids" }

func (h *packetIDHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnPacketRead, mqtt.OnPacketEncode, mqtt.OnDisconnect}, []byte{b})
}

// acks maps a client request to the acknowledgement that echoes its id.
var acks = map[byte]byte{packets.Subscribe: packets.Suback, packets.Unsubscribe: packets.Unsuback, packets.Publish: packets.Puback}

func (h *packetIDHook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if _, ok := acks[pk.FixedHeader.Type]; !ok || pk.PacketID == 0 {
		return pk, nil
	}
	if _, busy := cl.State.Inflight.Get(pk.PacketID); !busy {
		return pk, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	mine := h.aliases[cl]
	if mine == nil {
		mine = map[uint16]uint16{}
		h.aliases[cl] = mine
	}
	for alias := uint16(65535); alias > 0; alias-- {
		if _, used := mine[alias]; used {
			continue
		}
		if _, busy := cl.State.Inflight.Get(alias); !busy {
			mine[alias] = pk.PacketID
			pk.PacketID = alias
			break
		}
	}
	return pk, nil
}

func (h *packetIDHook) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type != packets.Suback && pk.FixedHeader.Type != packets.Unsuback && pk.FixedHeader.Type != packets.Puback {
		return pk
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if original, ok := h.aliases[cl][pk.PacketID]; ok {
		delete(h.aliases[cl], pk.PacketID)
		pk.PacketID = original
	}
	return pk
}

func (h *packetIDHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.mu.Lock()
	delete(h.aliases, cl)
	h.mu.Unlock()
}
