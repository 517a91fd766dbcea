package localiot

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// recordReader reads what one TLS record holds per call, as coreMQTT over
// mbedTLS does: mbedtls_ssl_read returns at most one record's plaintext,
// and coreMQTT reads one MQTT packet per receive call, then waits on the
// socket. A record that ends one packet and starts the next strands the
// second in mbedTLS's buffer until the receive timeout.
type recordReader struct {
	conn *tls.Conn
	buf  []byte // plaintext of records read, not yet taken as packets
	// boundaries counts packets that ended inside a record with more bytes
	// after them (the violation).
	packed []string
}

// next returns the next MQTT packet, reading record by record.
func (r *recordReader) next() (packets.Packet, error) {
	for {
		if pk, n, ok := splitPacket(r.buf); ok {
			r.buf = r.buf[n:]
			return pk, nil
		}
		rec := make([]byte, 1<<17)
		n, err := r.conn.Read(rec) // tls.Conn.Read: one record's plaintext at most
		if err != nil {
			return packets.Packet{}, err
		}
		r.record(rec[:n])
	}
}

// record adds one record's plaintext and notes each packet boundary inside
// it that is not its end.
func (r *recordReader) record(rec []byte) {
	start := len(r.buf)
	r.buf = append(r.buf, rec...)
	off := 0
	for {
		_, n, ok := splitPacket(r.buf[off:])
		if !ok {
			return
		}
		off += n
		if off > start && off < len(r.buf) {
			r.packed = append(r.packed, fmt.Sprintf("a record of %d bytes holds a packet end at byte %d", len(rec), off-start))
		}
	}
}

// splitPacket decodes the first whole packet of b: its fixed header type and
// topic, and its length.
func splitPacket(b []byte) (packets.Packet, int, bool) {
	if len(b) < 2 {
		return packets.Packet{}, 0, false
	}
	rest, lenBytes, err := packets.DecodeLength(bufio.NewReader(bytes.NewReader(b[1:])))
	if err != nil || len(b) < 1+lenBytes+rest {
		return packets.Packet{}, 0, false
	}
	var pk packets.Packet
	pk.FixedHeader.Decode(b[0])
	pk.FixedHeader.Remaining = rest
	if pk.FixedHeader.Type == packets.Publish {
		pk.ProtocolVersion = 4
		pk.PublishDecode(b[1+lenBytes : 1+lenBytes+rest])
	}
	return pk, 1 + lenBytes + rest, true
}

func encode(t *testing.T, pk packets.Packet) []byte {
	t.Helper()
	var buf bytes.Buffer
	pk.ProtocolVersion = 4
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestOnePacketPerRecord: the C SDK shadow demo's exchange (a QoS 1 update
// answered by PUBACK, update/accepted and update/delta) read record by
// record: every MQTT packet must end its TLS record, as AWS's and
// mosquitto's do.
func TestOnePacketPerRecord(t *testing.T) {
	l := newLab(t, "")
	conn, err := tls.Dial("tcp", l.srv.Addr(), l.tlsFor(t, "device"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := &recordReader{conn: conn}
	send := func(pk packets.Packet) {
		if _, err := conn.Write(encode(t, pk)); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(typ byte, topic string) {
		t.Helper()
		pk, err := r.next()
		if err != nil {
			t.Fatalf("waiting for packet type %d %s: %v", typ, topic, err)
		}
		if pk.FixedHeader.Type != typ || pk.TopicName != topic {
			t.Fatalf("got packet type %d %q, want %d %q", pk.FixedHeader.Type, pk.TopicName, typ, topic)
		}
	}
	send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect},
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 60, ClientIdentifier: thing}})
	expect(packets.Connack, "")
	send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
		Filters: packets.Subscriptions{{Filter: prefix + "/update/accepted", Qos: 1}, {Filter: prefix + "/update/delta", Qos: 1}}})
	expect(packets.Suback, "")
	for i := 0; i < 20; i++ {
		send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: uint16(10 + i),
			TopicName: prefix + "/update", Payload: []byte(fmt.Sprintf(`{"state":{"desired":{"powerOn":%d}}}`, i))})
		expect(packets.Puback, "")
		expect(packets.Publish, prefix+"/update/accepted")
		expect(packets.Publish, prefix+"/update/delta")
	}
	if len(r.packed) > 0 {
		t.Fatalf("%d of 62 packets shared their TLS record with the next one (coreMQTT would wait out its receive timeout): %v", len(r.packed), r.packed)
	}
}
