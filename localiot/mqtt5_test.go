package localiot

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotwatch/iotwatch/pki"
)

// TestMQTT5Connack: AWS tells an MQTT 5 client Maximum QoS 1 and Topic
// Alias Maximum 8, and caps the Session Expiry Interval it asks for at the
// account's maximum (1 h by default).
func TestMQTT5Connack(t *testing.T) {
	l := newLab(t, "")
	c := l.dialRaw(t, "device", 5)
	ack, err := c.connect(packets.ConnectParams{Keepalive: 60, ClientIdentifier: thing},
		packets.Properties{SessionExpiryInterval: math.MaxUint32, SessionExpiryIntervalFlag: true})
	if err != nil || ack.FixedHeader.Type != packets.Connack || ack.ReasonCode != 0 {
		t.Fatalf("CONNACK %+v %v", ack, err)
	}
	p := ack.Properties
	if !p.MaximumQosFlag || p.MaximumQos != 1 {
		t.Errorf("Maximum QoS: flag %v, %d; want 1 (MQTT-3.2.2-9: the server refuses QoS 2)", p.MaximumQosFlag, p.MaximumQos)
	}
	if p.TopicAliasMaximum != 8 {
		t.Errorf("Topic Alias Maximum %d, want AWS's 8", p.TopicAliasMaximum)
	}
	if !p.SessionExpiryIntervalFlag || p.SessionExpiryInterval != 3600 {
		t.Errorf("Session Expiry Interval: flag %v, %d; want AWS's default maximum, 3600", p.SessionExpiryIntervalFlag, p.SessionExpiryInterval)
	}
}

// TestTopicAliasPastMaximum: alias 8 works, alias 9 is a protocol error
// (DISCONNECT 0x94, Topic Alias invalid).
func TestTopicAliasPastMaximum(t *testing.T) {
	l := newLab(t, "")
	c := l.dialRaw(t, "device", 5)
	if ack, err := c.connect(packets.ConnectParams{Clean: true, Keepalive: 60, ClientIdentifier: thing}, packets.Properties{}); err != nil || ack.ReasonCode != 0 {
		t.Fatalf("CONNACK %+v %v", ack, err)
	}
	publish := func(id uint16, topic string, alias uint16) {
		c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: id, TopicName: topic,
			Payload: []byte(`{"state":{"reported":{"a":1}}}`), Properties: packets.Properties{TopicAlias: alias, TopicAliasFlag: true}})
	}
	publish(1, prefix+"/update", 8)
	c.expect(packets.Puback, "")
	publish(2, "", 8) // the alias alone names the topic now
	c.expect(packets.Puback, "")
	publish(3, prefix+"/update", 9)
	pk, err := c.r.next()
	if err != nil || pk.FixedHeader.Type != packets.Disconnect || pk.ReasonCode != packets.ErrTopicAliasInvalid.Code {
		t.Fatalf("alias 9 answered %+v %v, want DISCONNECT 0x94", pk, err)
	}
}

// TestAbandonedSessionsExpire: 500 persistent sessions whose clients never
// come back expire after the session expiry and leave nothing behind in
// the broker (its clients, its subscriptions).
func TestAbandonedSessionsExpire(t *testing.T) {
	const n = 500
	l := &lab{dir: t.TempDir(), log: &syncBuffer{}}
	if err := pki.Init(l.dir, pki.InitOptions{Thing: thing}); err != nil {
		t.Fatal(err)
	}
	l.start(t, "127.0.0.1:0", "", func(o *Options) { o.SessionExpiry = 2 * time.Second })
	srv := l.srv

	var wg sync.WaitGroup
	var mu sync.Mutex
	last := "" // the session abandoned last, still held right after
	errs := make(chan error, n)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				id := fmt.Sprintf("abandoned-%03d", i)
				errs <- l.abandonSession(t, id)
				mu.Lock()
				last = id
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := len(srv.broker.Topics.Subscribers("lab/" + last + "/x").Subscriptions); got != 1 {
		t.Fatalf("right after the disconnects: %d subscriptions to lab/%s/x, want the session's 1", got, last)
	}
	sessions := func() (n int) {
		for _, cl := range srv.broker.Clients.GetAll() {
			if !cl.Net.Inline { // the emulator's own publisher
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for sessions() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if left := sessions(); left > 0 {
		t.Fatalf("%d of %d abandoned sessions still held 30 s after their 2 s expiry", left, n)
	}
	for i := 0; i < n; i++ {
		if subs := srv.broker.Topics.Subscribers(fmt.Sprintf("lab/abandoned-%03d/x", i)).Subscriptions; len(subs) > 0 {
			t.Fatalf("an expired session's subscription is still in the broker: %v", subs)
		}
	}
}

// abandonSession connects an MQTT 5 client that asks for a session that
// never expires, subscribes, and drops the connection.
func (l *lab) abandonSession(t testing.TB, id string) error {
	c := l.dialRaw(t, "monitor", 5)
	defer c.conn.Close()
	ack, err := c.connect(packets.ConnectParams{Keepalive: 60, ClientIdentifier: id},
		packets.Properties{SessionExpiryInterval: math.MaxUint32, SessionExpiryIntervalFlag: true})
	if err != nil || ack.ReasonCode != 0 || ack.Properties.SessionExpiryInterval != 2 {
		return fmt.Errorf("%s: CONNACK %+v %v, want a session expiry of 2 s", id, ack, err)
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
		Filters: packets.Subscriptions{{Filter: "lab/" + id + "/x", Qos: 1}}})
	if pk, err := c.r.next(); err != nil || pk.FixedHeader.Type != packets.Suback {
		return fmt.Errorf("%s: SUBACK %+v %v", id, pk, err)
	}
	return nil
}

func TestSessionExpiryOption(t *testing.T) {
	for d, want := range map[time.Duration]uint32{0: 3600, time.Second: 1, 7 * 24 * time.Hour: 604800} {
		if got, err := sessionExpiry(d); err != nil || got != want {
			t.Errorf("%v: %d %v, want %d", d, got, err, want)
		}
	}
	for _, d := range []time.Duration{time.Millisecond, 7*24*time.Hour + time.Second, -time.Second} {
		if _, err := sessionExpiry(d); err == nil {
			t.Errorf("%v accepted; AWS allows 1 s to 7 days", d)
		}
	}
}
