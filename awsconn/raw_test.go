package awsconn

import (
	"context"
	"strings"
	"testing"

	"github.com/iotwatch/iotwatch/event"
)

// TestRawSubscription: a wildcard over the thing's shadow topics delivers
// the device's report as a Raw message and the monitor still decodes it;
// after UnsubscribeRaw the next report comes only decoded.
func TestRawSubscription(t *testing.T) {
	l := newLab(t)
	mon := l.dial(t, Monitor, "iotwatch-raw", 0)
	waitEvent(t, mon, "link up", linkIs(event.LinkUp))
	dev := l.dial(t, Device, thing, 0)
	waitEvent(t, dev, "device link up", linkIs(event.LinkUp))
	filter := "$aws/things/" + thing + "/shadow/+/accepted"
	if err := mon.SubscribeRaw(filter); err != nil {
		t.Fatal(err)
	}
	if err := dev.UpdateReported(context.Background(), map[string]any{"temp": 21.5}); err != nil {
		t.Fatal(err)
	}
	raw := waitEvent(t, mon, "raw message", func(ev event.Event) bool { _, ok := ev.(event.Raw); return ok }).(event.Raw)
	if raw.Filter != filter || raw.Topic != "$aws/things/"+thing+"/shadow/update/accepted" || !strings.Contains(string(raw.Payload), `"temp":21.5`) {
		t.Fatalf("raw %+v %s", raw, raw.Payload)
	}
	waitEvent(t, mon, "the same report decoded", docKind(event.DocAccepted))
	if err := mon.UnsubscribeRaw(filter); err != nil {
		t.Fatal(err)
	}
	if err := dev.UpdateReported(context.Background(), map[string]any{"temp": 22.0}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, mon, "the next report", func(ev event.Event) bool {
		// Raw messages sent before the unsubscribe may still be queued
		// (the monitor's own get answer); the next report must not be one.
		if r, ok := ev.(event.Raw); ok && strings.Contains(string(r.Payload), `"temp":22`) {
			t.Fatalf("raw message after unsubscribing: %s %s", r.Topic, r.Payload)
		}
		d, ok := ev.(event.ShadowDoc)
		return ok && d.Kind == event.DocAccepted && d.Reported["temp"] == 22.0
	})
}

// TestRawSubscriptionRefused: a device certificate may not read another
// thing's topics; the error names the filter and the policy.
func TestRawSubscriptionRefused(t *testing.T) {
	l := newLab(t)
	dev := l.dial(t, Device, thing, 0)
	waitEvent(t, dev, "device link up", linkIs(event.LinkUp))
	err := dev.SubscribeRaw("$aws/things/other/shadow/#")
	if err == nil || !strings.Contains(err.Error(), "subscription to $aws/things/other/shadow/# refused") || !strings.Contains(err.Error(), "policy") {
		t.Fatalf("err %v", err)
	}
}

// TestRawSubscriptionSurvivesAReconnect: after the broker restarts, the raw
// filter is made again before the link is up.
func TestRawSubscriptionSurvivesAReconnect(t *testing.T) {
	l := newLab(t)
	mon := l.dial(t, Monitor, "iotwatch-raw-again", 0)
	waitEvent(t, mon, "link up", linkIs(event.LinkUp))
	filter := "$aws/things/" + thing + "/shadow/update/accepted"
	if err := mon.SubscribeRaw(filter); err != nil {
		t.Fatal(err)
	}
	addr := l.srv.Addr()
	l.srv.Close() // a new broker holds no subscription of the old one
	waitEvent(t, mon, "link down", linkIs(event.LinkDown))
	l.start(t, addr)
	waitEvent(t, mon, "link up again", linkIs(event.LinkUp))
	dev := l.dial(t, Device, thing, 0)
	waitEvent(t, dev, "device link up", linkIs(event.LinkUp))
	if err := dev.UpdateReported(context.Background(), map[string]any{"temp": 23.0}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, mon, "raw message after the reconnect", func(ev event.Event) bool {
		r, ok := ev.(event.Raw)
		return ok && r.Filter == filter && strings.Contains(string(r.Payload), `"temp":23`)
	})
}
