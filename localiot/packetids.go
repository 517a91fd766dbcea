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

// Requests a client numbers, and the acknowledgements that echo their ids.
var (
	requests = map[byte]bool{packets.Subscribe: true, packets.Unsubscribe: true, packets.Publish: true}
	acks     = map[byte]bool{packets.Suback: true, packets.Unsuback: true, packets.Puback: true}
)

func (h *packetIDHook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if !requests[pk.FixedHeader.Type] || pk.PacketID == 0 {
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
	if !acks[pk.FixedHeader.Type] {
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
