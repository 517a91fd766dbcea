package localiot

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"slices"
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
	conn    *tls.Conn
	version byte   // the MQTT version spoken
	buf     []byte // plaintext of records read, not yet taken as packets
	// boundaries counts packets that ended inside a record with more bytes
	// after them (the violation).
	packed []string
}

// next returns the next MQTT packet, reading record by record.
func (r *recordReader) next() (packets.Packet, error) {
	for {
		if pk, n, ok := splitPacket(r.buf, r.version); ok {
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
		_, n, ok := splitPacket(r.buf[off:], r.version)
		if !ok {
			return
		}
		off += n
		if off > start && off < len(r.buf) {
			r.packed = append(r.packed, fmt.Sprintf("a record of %d bytes holds a packet end at byte %d", len(rec), off-start))
		}
	}
}

// splitPacket decodes the first whole packet of b (publishes, CONNACKs,
// SUBACKs and DISCONNECTs in full, other packets' fixed header) and returns
// its length.
func splitPacket(b []byte, version byte) (packets.Packet, int, bool) {
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
	pk.ProtocolVersion = version
	body := b[1+lenBytes : 1+lenBytes+rest]
	switch pk.FixedHeader.Type {
	case packets.Publish:
		pk.PublishDecode(body)
	case packets.Connack:
		pk.ConnackDecode(body)
	case packets.Suback:
		pk.SubackDecode(body)
	case packets.Disconnect:
		pk.DisconnectDecode(body)
	}
	return pk, 1 + lenBytes + rest, true
}

func encode(t testing.TB, pk packets.Packet) []byte {
	t.Helper()
	var buf bytes.Buffer
	if pk.ProtocolVersion == 0 {
		pk.ProtocolVersion = 4
	}
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Puback:
		err = pk.PubackEncode(&buf)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&buf)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawMQTT is an MQTT client written packet by packet over TLS, for what
// paho will not send (bad CONNECTs, aliases past the maximum) and for
// reading record by record.
type rawMQTT struct {
	t       testing.TB
	conn    *tls.Conn
	version byte
	r       *recordReader
}

func (l *lab) dialRaw(t testing.TB, role string, version byte) *rawMQTT {
	t.Helper()
	conn, err := tls.Dial("tcp", l.srv.Addr(), l.tlsFor(t, role))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawMQTT{t: t, conn: conn, version: version, r: &recordReader{conn: conn, version: version}}
}

func (c *rawMQTT) send(pk packets.Packet) {
	c.t.Helper()
	pk.ProtocolVersion = c.version
	if _, err := c.conn.Write(encode(c.t, pk)); err != nil {
		c.t.Fatal(err)
	}
}

// connect sends a CONNECT with connect's fields (the protocol name and
// version filled in when empty) and returns the answer.
func (c *rawMQTT) connect(connect packets.ConnectParams, props packets.Properties) (packets.Packet, error) {
	c.t.Helper()
	if connect.ProtocolName == nil {
		connect.ProtocolName = []byte("MQTT")
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, Connect: connect, Properties: props})
	return c.r.next()
}

// expect reads the next packet and checks its type and topic.
func (c *rawMQTT) expect(typ byte, topic string) packets.Packet {
	c.t.Helper()
	pk, err := c.r.next()
	if err != nil {
		c.t.Fatalf("waiting for packet type %d %s: %v", typ, topic, err)
	}
	if pk.FixedHeader.Type != typ || pk.TopicName != topic {
		c.t.Fatalf("got packet type %d %q, want %d %q", pk.FixedHeader.Type, pk.TopicName, typ, topic)
	}
	return pk
}

// TestOnePacketPerRecord: the C SDK shadow demo's exchange (a QoS 1 update
// answered by PUBACK, update/accepted and update/delta) read record by
// record: every MQTT packet must end its TLS record, as AWS's and
// mosquitto's do.
func TestOnePacketPerRecord(t *testing.T) {
	l := newLab(t, "")
	c := l.dialRaw(t, "device", 4)
	if _, err := c.connect(packets.ConnectParams{Clean: true, Keepalive: 60, ClientIdentifier: thing}, packets.Properties{}); err != nil {
		t.Fatal(err)
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
		Filters: packets.Subscriptions{{Filter: prefix + "/update/accepted", Qos: 1}, {Filter: prefix + "/update/delta", Qos: 1}}})
	c.expect(packets.Suback, "")
	for i := 0; i < 20; i++ {
		c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: uint16(10 + i),
			TopicName: prefix + "/update", Payload: []byte(fmt.Sprintf(`{"state":{"desired":{"powerOn":%d}}}`, i))})
		// PUBACK and the answers leave from different goroutines: in any
		// order, the answers in theirs.
		var got []string
		for len(got) < 3 {
			pk, err := c.r.next()
			if err != nil {
				t.Fatalf("update %d: %v after %v", i, err, got)
			}
			got = append(got, fmt.Sprint(pk.FixedHeader.Type, pk.TopicName))
		}
		if want := fmt.Sprint(packets.Puback); slices.Index(got, want) < 0 ||
			fmt.Sprint(slices.DeleteFunc(got, func(s string) bool { return s == want })) !=
				fmt.Sprint([]string{fmt.Sprint(packets.Publish, prefix+"/update/accepted"), fmt.Sprint(packets.Publish, prefix+"/update/delta")}) {
			t.Fatalf("update %d answered %v, want a PUBACK, update/accepted and update/delta", i, got)
		}
	}
	if len(c.r.packed) > 0 {
		t.Fatalf("%d of 62 packets shared their TLS record with the next one (coreMQTT would wait out its receive timeout): %v", len(c.r.packed), c.r.packed)
	}
}
