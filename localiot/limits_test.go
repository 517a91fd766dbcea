package localiot

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho "github.com/eclipse/paho.mqtt.golang"
)

// connect5 connects an MQTT 5 client (paho.golang) and returns the CONNACK.
func (l *lab) connect5(t *testing.T, role, clientID string, keepAlive uint16) (*paho5.Connack, error) {
	t.Helper()
	conn, err := tls.Dial("tcp", l.srv.Addr(), l.tlsFor(t, role))
	if err != nil {
		t.Fatal(err)
	}
	c := paho5.NewClient(paho5.ClientConfig{ClientID: clientID, Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, &paho5.Connect{ClientID: clientID, KeepAlive: keepAlive, CleanStart: true})
	if err == nil {
		t.Cleanup(func() { c.Disconnect(&paho5.Disconnect{}) })
	} else {
		conn.Close()
	}
	return ack, err
}

func TestKeepAliveRule(t *testing.T) {
	for requested, want := range map[uint16]uint16{0: 1200, 1: 30, 29: 30, 30: 30, 60: 60, 1200: 1200, 1201: 1200, 65535: 1200} {
		if got := keepAlive(requested); got != want {
			t.Errorf("keep-alive %d → %d, want %d", requested, got, want)
		}
	}
}

func TestTokenBucket(t *testing.T) {
	var b tokenBucket
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at        time.Duration
		ok, first bool
	}{
		{0, true, false}, {0, true, false}, {0, false, true}, {0, false, false}, // a burst of 2 at 2/s
		{500 * time.Millisecond, true, false}, {500 * time.Millisecond, false, true}, // one token back
		{10 * time.Second, true, false}, {10 * time.Second, true, false}, {10 * time.Second, false, true}, // full, no more
	}
	for i, s := range steps {
		if ok, first := b.take(t0.Add(s.at), 2); ok != s.ok || first != s.first {
			t.Errorf("step %d at %s: ok %v first %v, want %v %v", i, s.at, ok, first, s.ok, s.first)
		}
	}
}

// TestServerKeepAliveInConnack: an MQTT 5 client is told the keep-alive AWS
// uses when it differs from the one requested.
func TestServerKeepAliveInConnack(t *testing.T) {
	l := newLab(t, "")
	for i, c := range []struct {
		requested uint16
		want      *uint16
	}{{5, ptr[uint16](30)}, {0, ptr[uint16](1200)}, {60, nil}} {
		ack, err := l.connect5(t, "monitor", fmt.Sprintf("iotwatch-ka-%d", i), c.requested)
		if err != nil {
			t.Fatal(err)
		}
		got := ack.Properties.ServerKeepAlive
		if (got == nil) != (c.want == nil) || got != nil && *got != *c.want {
			t.Errorf("keep-alive %d: Server Keep Alive %v, want %v", c.requested, deref(got), deref(c.want))
		}
	}
}

func ptr[T any](v T) *T { return &v }

func deref(p *uint16) string {
	if p == nil {
		return "absent"
	}
	return fmt.Sprint(*p)
}

// TestSilentClientDroppedAfterOneAndAHalfKeepAlives: mosquitto_sub asks for
// 10 s, AWS raises it to 30 s, so the broker drops the frozen client after
// 45 s of silence, not 15 s.
func TestSilentClientDroppedAfterOneAndAHalfKeepAlives(t *testing.T) {
	t.Parallel()
	l := newLab(t, "")
	sub := l.mosquitto(t, "mosquitto_sub", "monitor", "mqttv311", "-i", "iotwatch-frozen", "-k", "10", "-t", "plain/frozen")
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Process.Kill(); sub.Wait() })
	l.waitLog(t, " connected client=iotwatch-frozen ")
	frozen := time.Now()
	sub.Process.Signal(syscall.SIGSTOP) // silent from now on; the socket stays open
	for !strings.Contains(l.log.String(), "disconnected client=iotwatch-frozen") {
		if time.Since(frozen) > 90*time.Second {
			t.Fatalf("a silent client was never dropped:\n%s", l.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if silent := time.Since(frozen); silent < 44*time.Second || !strings.Contains(l.log.String(), "reason=MQTT_KEEP_ALIVE_TIMEOUT") {
		t.Fatalf("dropped after %s of silence:\n%s", silent, l.log.String())
	}
}

// TestInflightLimit: AWS sends at most 100 unacknowledged QoS 1 messages to
// a client and drops the rest until it acknowledges. The emulator's own
// publishes stand in for any source; a QoS 0 marker, which needs no
// acknowledgement, shows where the stream stands.
func TestInflightLimit(t *testing.T) {
	l := newLab(t, "")
	got := make(chan paho.Message, 300)
	opts := paho.NewClientOptions().AddBroker("tls://" + l.srv.Addr()).SetClientID("iotwatch-no-acks").
		SetTLSConfig(l.tlsFor(t, "monitor")).SetAutoReconnect(false).SetAutoAckDisabled(true)
	sub := paho.NewClient(opts)
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { sub.Disconnect(0) })
	if tok := sub.Subscribe("plain/inflight", 1, func(_ paho.Client, m paho.Message) { got <- m }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	burst := func(n int) (unacked []paho.Message) {
		for i := range n {
			l.srv.broker.Publish("plain/inflight", []byte(fmt.Sprint(i)), false, 1)
		}
		l.srv.broker.Publish("plain/inflight", []byte("marker"), false, 0)
		for {
			select {
			case m := <-got:
				if string(m.Payload()) == "marker" {
					return unacked
				}
				unacked = append(unacked, m)
			case <-time.After(10 * time.Second):
				t.Fatalf("no marker after %d messages", len(unacked))
			}
		}
	}
	first := burst(150)
	if len(first) != maxInflight {
		t.Fatalf("%d unacknowledged QoS 1 messages delivered, want %d", len(first), maxInflight)
	}
	for _, m := range first {
		m.Ack()
	}
	// paho sends the PUBACKs in the background: wait until the broker has them.
	cl, _ := l.srv.broker.Clients.Get("iotwatch-no-acks")
	for deadline := time.Now().Add(10 * time.Second); cl.State.Inflight.Len() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if again := burst(1); len(again) != 1 {
		t.Fatalf("after the acknowledgements: %d delivered, want 1", len(again))
	}
}

// TestPublishRateThrottled: past 100 publishes per second AWS drops a
// connection's publishes without PUBACK and keeps the connection.
func TestPublishRateThrottled(t *testing.T) {
	l := newLab(t, "")
	counter := l.mustConnect(t, "monitor", "iotwatch-counter")
	counter.subscribe(t, "plain/rate")
	pub := l.mustConnect(t, "monitor", "iotwatch-fast")
	const burst = 400
	start := time.Now()
	for i := range burst {
		pub.Publish("plain/rate", 1, false, fmt.Sprintf(`{"i":%d}`, i))
	}
	time.Sleep(time.Second) // the bucket refills
	// The broker takes the burst before this publish; meanwhile the bucket
	// refilled for at most this long.
	took := time.Since(start)
	pub.publish(t, "plain/rate", `{"i":"last"}`)
	counter.inbox.waitFor(t, "plain/rate", func(d map[string]any) bool { return d["i"] == "last" })
	passed := counter.inbox.matching("plain/rate", func(d map[string]any) bool { return d["i"] != "last" })
	if limit := publishesPerSecond + int(took.Seconds()*publishesPerSecond) + 1; passed < publishesPerSecond || passed > limit || passed >= burst {
		t.Fatalf("%d of %d publishes passed within %s, want %d to %d", passed, burst, took, publishesPerSecond, limit)
	}
	l.waitLog(t, "throttling client=iotwatch-fast")
}

// TestTopicLimits: a topic over 7 slashes or 256 bytes disconnects the
// publisher and fails the subscription (0x80).
func TestTopicLimits(t *testing.T) {
	long := "plain/" + strings.Repeat("x", maxTopicBytes-len("plain/")+1)
	deep := "a/b/c/d/e/f/g/h/i"
	for _, topic := range []string{long, deep} {
		t.Run(fmt.Sprintf("%d bytes %d slashes", len(topic), strings.Count(topic, "/")), func(t *testing.T) {
			l := newLab(t, "")
			mon := l.mustConnect(t, "monitor", "iotwatch-topics")
			if code := mon.subscribe(t, topic)[topic]; code != 0x80 {
				t.Errorf("SUBACK %#x", code)
			}
			mon.Publish(topic, 1, false, "x")
			if !lostWithin(mon, 10*time.Second) {
				t.Error("the publish did not disconnect")
			}
		})
	}
	l := newLab(t, "")
	ok := "plain/" + strings.Repeat("x", maxTopicBytes-len("plain/"))
	mon := l.mustConnect(t, "monitor", "iotwatch-topics")
	if codes := mon.subscribe(t, ok, "a/b/c/d/e/f/g/h"); codes[ok] != 1 || codes["a/b/c/d/e/f/g/h"] != 1 {
		t.Errorf("at the limits: %v", codes)
	}
}

// TestFiltersPerSubscribe: a SUBSCRIBE with more than 8 filters fails all.
func TestFiltersPerSubscribe(t *testing.T) {
	l := newLab(t, "")
	mon := l.mustConnect(t, "monitor", "iotwatch-filters")
	filters := func(n int, base string) []string {
		var f []string
		for i := range n {
			f = append(f, fmt.Sprintf("%s/%d", base, i))
		}
		return f
	}
	for f, code := range mon.subscribe(t, filters(9, "nine")...) {
		if code != 0x80 {
			t.Errorf("9 filters: %s got %#x", f, code)
		}
	}
	for f, code := range mon.subscribe(t, filters(8, "eight")...) {
		if code != 1 {
			t.Errorf("8 filters: %s got %#x", f, code)
		}
	}
}

// TestSubscriptionsPerConnection: the 51st subscription fails; renewing one
// held does not count.
func TestSubscriptionsPerConnection(t *testing.T) {
	l := newLab(t, "")
	mon := l.mustConnect(t, "monitor", "iotwatch-subs")
	for i := 0; i < maxSubscriptions; i += 5 {
		var f []string
		for j := i; j < i+5; j++ {
			f = append(f, fmt.Sprintf("plain/%d", j))
		}
		for filter, code := range mon.subscribe(t, f...) {
			if code != 1 {
				t.Fatalf("%s: %#x", filter, code)
			}
		}
	}
	if code := mon.subscribe(t, "plain/0")["plain/0"]; code != 1 {
		t.Errorf("renewing a held subscription: %#x", code)
	}
	if code := mon.subscribe(t, "plain/50")["plain/50"]; code != 0x80 {
		t.Errorf("51st subscription: %#x", code)
	}
}

// TestRefusedConnects: each CONNECT AWS refuses, from mosquitto_pub: MQTT
// 3.1.1 is closed without a CONNACK, MQTT 5 gets the reason code (the exit
// status), MQTT 3.1 gets CONNACK 0x01.
func TestRefusedConnects(t *testing.T) {
	id129 := "iotwatch-" + strings.Repeat("x", maxClientID-len("iotwatch-")+1)
	cases := []struct {
		name, version, clientID, want string
		code                          int
	}{
		{"client id over 128 bytes", "mqttv311", id129, "The connection was lost", 0},
		{"client id over 128 bytes, MQTT 5", "mqttv5", id129, "Client Identifier not valid", 0x85},
		{"MQTT 3.1 (MQIsdp)", "mqttv31", "iotwatch-31", "unacceptable protocol version", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newLab(t, "")
			pub := l.mosquitto(t, "mosquitto_pub", "monitor", c.version, "-i", c.clientID, "-t", "plain/x", "-m", "x")
			out, err := pub.CombinedOutput()
			if err == nil || !strings.Contains(string(out), c.want) || c.code != 0 && pub.ProcessState.ExitCode() != c.code {
				t.Fatalf("exit %d, want %q (%#x): %s", pub.ProcessState.ExitCode(), c.want, c.code, out)
			}
		})
	}
	l := newLab(t, "")
	id128 := id129[:maxClientID]
	if out, err := l.mosquitto(t, "mosquitto_pub", "monitor", "mqttv311", "-i", id128, "-t", "plain/x", "-m", "x").CombinedOutput(); err != nil {
		t.Fatalf("128-byte client id: %v %s", err, out)
	}
}

// TestConnectRatePerClientID: a second CONNECT with one client id within a
// second of an accepted one is refused (MQTT 5: CONNACK 0x9F; MQTT 3.1.1:
// closed); a second later it is accepted.
func TestConnectRatePerClientID(t *testing.T) {
	l := newLab(t, "")
	mqtt311 := func() error {
		opts := paho.NewClientOptions().AddBroker("tls://" + l.srv.Addr()).SetClientID("iotwatch-rate").SetProtocolVersion(4).
			SetTLSConfig(l.tlsFor(t, "monitor")).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
		c := paho.NewClient(opts)
		tok := c.Connect()
		if !tok.WaitTimeout(15 * time.Second) {
			return errTimeout
		}
		if tok.Error() == nil {
			c.Disconnect(0)
		}
		return tok.Error()
	}
	mqtt5 := func() error {
		ack, err := l.connect5(t, "monitor", "iotwatch-rate", 60)
		if err != nil && (ack == nil || ack.ReasonCode != 0x9F) {
			t.Errorf("MQTT 5 refusal: %v %+v, want CONNACK 0x9F", err, ack)
		}
		return err
	}
	for name, again := range map[string]func() error{"MQTT 5": mqtt5, "MQTT 3.1.1": mqtt311} {
		waitConnectRate()
		if _, err := l.connect5(t, "monitor", "iotwatch-rate", 60); err != nil {
			t.Fatalf("first CONNECT: %v", err)
		}
		if again() == nil {
			t.Errorf("%s: a second CONNECT within a second was accepted", name)
		}
	}
	waitConnectRate()
	if err := mqtt311(); err != nil {
		t.Fatalf("after a second: %v", err)
	}
}

// TestQoS2SubscribeGetsNoSuback: AWS sends no SUBACK for QoS 2; the
// emulator closes the connection, as for a QoS 2 PUBLISH.
func TestQoS2SubscribeGetsNoSuback(t *testing.T) {
	l := newLab(t, "")
	dev := l.mustConnect(t, "device", thing)
	tok := dev.Subscribe(prefix+"/get/accepted", 2, nil)
	if !lostWithin(dev, 10*time.Second) {
		t.Fatal("a QoS 2 SUBSCRIBE kept the connection")
	}
	if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
		t.Fatalf("a QoS 2 SUBSCRIBE was acknowledged: %v", tok.(*paho.SubscribeToken).Result())
	}
	l.waitLog(t, "reason=CLIENT_ERROR")
}
