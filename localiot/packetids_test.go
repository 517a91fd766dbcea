package localiot

import (
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// TestClientPacketIDsAreTheirOwn: a client may pick for its SUBSCRIBE,
// UNSUBSCRIBE or QoS 1 PUBLISH an id the server is using for a delivery not
// yet acknowledged (the two id spaces are independent); AWS serves it.
// paho numbers its packets 1, 2, ... as mochi numbers its deliveries, so
// four unacknowledged deliveries (ids 1–4) meet paho's SUBSCRIBE (id 2),
// PUBLISH (id 3) and UNSUBSCRIBE (id 4).
func TestClientPacketIDsAreTheirOwn(t *testing.T) {
	l := newLab(t, "")
	arrived := make(chan paho.Message, 8)
	opts := paho.NewClientOptions().AddBroker("tls://" + l.srv.Addr()).SetClientID("iotwatch-ids").
		SetTLSConfig(l.tlsFor(t, "monitor")).SetAutoReconnect(false).SetAutoAckDisabled(true).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { arrived <- m })
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	wait := func(what string, tok paho.Token) {
		t.Helper()
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("%s: %v", what, tok.Error())
		}
	}
	wait("subscribe a", c.Subscribe("ids/a", 1, nil)) // id 1
	feeder := l.mustConnect(t, "monitor", "iotwatch-feeder")
	for range 4 {
		feeder.publish(t, "ids/a", "held") // delivered as ids 1–4, never acknowledged
	}
	for range 4 {
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("the deliveries did not arrive")
		}
	}
	sub := c.Subscribe("ids/b", 1, nil) // id 2, which the server is using
	wait("subscribe b", sub)
	if code := sub.(*paho.SubscribeToken).Result()["ids/b"]; code != 1 {
		t.Fatalf("SUBACK %#x for a packet id the client was free to use, want 1", code)
	}
	wait("publish", c.Publish("ids/c", 1, false, "x")) // id 3
	wait("unsubscribe", c.Unsubscribe("ids/b"))        // id 4
	feeder.publish(t, "ids/a", "third")
	select {
	case m := <-arrived:
		if string(m.Payload()) != "third" {
			t.Fatalf("got %q", m.Payload())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client stopped receiving after reusing the server's ids")
	}
}
