package awsconn

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/localiot"
	"github.com/iotwatch/iotwatch/pki"
)

const thing = "esp32-test"

type lab struct {
	dir, data string
	srv       *localiot.Server
}

func newLab(t testing.TB) *lab {
	t.Helper()
	l := &lab{dir: t.TempDir(), data: t.TempDir()}
	if err := pki.Init(l.dir, pki.InitOptions{Thing: thing}); err != nil {
		t.Fatal(err)
	}
	l.start(t, "127.0.0.1:0")
	return l
}

func (l *lab) start(t testing.TB, addr string) {
	t.Helper()
	_, bench := t.(*testing.B) // benchmarks measure the broker, past AWS's rate limits
	srv, err := localiot.New(localiot.Options{Listen: addr, PKIDir: l.dir, DataDir: l.data, Unthrottled: bench})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	l.srv = srv
	t.Cleanup(func() { srv.Close() })
}

// options connects as clientID with the role's certificate to thing.
func (l *lab) options(t testing.TB, role Role, clientID string) Options {
	t.Helper()
	name := map[Role]string{Monitor: "monitor", Device: "device"}[role]
	conf, err := pki.LoadClientTLS(filepath.Join(l.dir, name+".pem"), filepath.Join(l.dir, name+".key"),
		filepath.Join(l.dir, pki.CACertFile), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	host, portText, _ := net.SplitHostPort(l.srv.Addr())
	port, _ := strconv.Atoi(portText)
	return Options{Host: host, Port: port, ClientID: clientID, TLS: conf, Thing: thing,
		Role: role, MaxBackoff: time.Second, RequestTimeout: 5 * time.Second}
}

func (l *lab) dial(t testing.TB, role Role, clientID string, buffer int) *Conn {
	t.Helper()
	o := l.options(t, role, clientID)
	o.Buffer = buffer
	return dialOptions(t, o)
}

func dialOptions(t testing.TB, o Options) *Conn {
	t.Helper()
	c, err := Dial(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// waitEvent reads events until match accepts one, within 15 s.
func waitEvent(t testing.TB, c *Conn, what string, match func(event.Event) bool) event.Event {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %s", what)
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s within 15 s", what)
		}
	}
}

func linkIs(s event.LinkState) func(event.Event) bool {
	return func(ev event.Event) bool { l, ok := ev.(event.Link); return ok && l.State == s }
}

func docKind(k event.DocKind) func(event.Event) bool {
	return func(ev event.Event) bool { d, ok := ev.(event.ShadowDoc); return ok && d.Kind == k }
}

func TestMonitorSeesDeviceAndCorrelates(t *testing.T) {
	l := newLab(t)
	mon := l.dial(t, Monitor, "iotwatch-test", 0)
	waitEvent(t, mon, "link up", linkIs(event.LinkUp))
	dev := l.dial(t, Device, thing, 0)
	waitEvent(t, dev, "device link up", linkIs(event.LinkUp))
	waitEvent(t, mon, "device connected", func(ev event.Event) bool {
		p, ok := ev.(event.Presence)
		return ok && p.EventType == "connected" && p.ClientID == thing
	})
	ctx := context.Background()
	if err := dev.UpdateReported(ctx, map[string]any{"temp": 21.5, "seq": 1.0}); err != nil {
		t.Fatal(err)
	}
	acc := waitEvent(t, mon, "report", docKind(event.DocAccepted)).(event.ShadowDoc)
	if acc.Reported["temp"] != 21.5 || acc.Version != 1 {
		t.Fatalf("report: %+v", acc)
	}
	token, err := mon.UpdateDesired(ctx, map[string]any{"led": true})
	if err != nil {
		t.Fatal(err)
	}
	delta := waitEvent(t, dev, "delta", docKind(event.DocDelta)).(event.ShadowDoc)
	if delta.Delta["led"] != true || delta.ClientToken != token {
		t.Fatalf("delta: %+v", delta)
	}
	err = mon.Update(ctx, map[string]any{"state": map[string]any{"reported": map[string]any{"x": 1}}, "version": 1})
	var rej *RejectedError
	if !errors.As(err, &rej) || rej.Code != 409 {
		t.Fatalf("stale version: %v", err)
	}
	err = mon.Update(ctx, map[string]any{"state": "nope"})
	if !errors.As(err, &rej) || rej.Code != 400 || rej.Message != "State node must be an object" {
		t.Fatalf("bad state: %v", err)
	}
	waitEvent(t, mon, "rejection event", func(ev event.Event) bool { r, ok := ev.(event.Rejected); return ok && r.Code == 400 })
}

func TestReconnectResubscribesAndRegets(t *testing.T) {
	l := newLab(t)
	mon := l.dial(t, Monitor, "iotwatch-restart", 0)
	waitEvent(t, mon, "link up", linkIs(event.LinkUp))
	waitEvent(t, mon, "initial get answer", func(ev event.Event) bool { _, ok := ev.(event.Rejected); return ok })
	addr := l.srv.Addr()
	l.srv.Close()
	waitEvent(t, mon, "link down", linkIs(event.LinkDown))
	l.start(t, addr)
	waitEvent(t, mon, "link up again", linkIs(event.LinkUp))
	dev := l.dial(t, Device, thing, 0)
	waitEvent(t, dev, "device up", linkIs(event.LinkUp))
	if err := dev.UpdateReported(context.Background(), map[string]any{"seq": 7.0}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, mon, "report after restart (resubscribed)", docKind(event.DocAccepted))
	l.srv.Kick("iotwatch-restart")
	waitEvent(t, mon, "link down after kick", linkIs(event.LinkDown))
	get := waitEvent(t, mon, "re-get after reconnect", docKind(event.DocGet)).(event.ShadowDoc)
	if get.Reported["seq"] != 7.0 {
		t.Fatalf("re-get: %+v", get)
	}
}

func TestMalformedAndOverflow(t *testing.T) {
	c := &Conn{o: withDefaults(Options{Thing: thing}), events: make(chan event.Event, 2), seen: map[seenKey]int64{}, waiting: map[string]chan answer{}}
	c.handle("$aws/things/"+thing+"/shadow/update/accepted", []byte("{not json"))
	if m, ok := (<-c.events).(event.Malformed); !ok || m.Topic == "" || string(m.Payload) != "{not json" {
		t.Fatalf("malformed: %+v", m)
	}
	doc := func(v int) []byte {
		return []byte(`{"state":{"reported":{"seq":` + string(rune('0'+v)) + `}},"version":` + string(rune('0'+v)) + `}`)
	}
	for v := 1; v <= 5; v++ {
		c.handle("$aws/things/"+thing+"/shadow/update/accepted", doc(v))
	}
	c.handle("$aws/things/"+thing+"/shadow/update/accepted", doc(5)) // duplicate: dropped, not counted
	<-c.events
	<-c.events
	c.handle("$aws/things/"+thing+"/shadow/update/accepted", doc(6))
	if o, ok := (<-c.events).(event.Overflow); !ok || o.Count != 3 {
		t.Fatalf("overflow: %+v", o)
	}
}

func TestALPNOn443(t *testing.T) {
	c := &Conn{o: withDefaults(Options{Host: "abc-ats.iot.eu-west-1.amazonaws.com", Port: 443, TLS: pkiLessTLS(), Thing: thing, ClientID: "x"})}
	opts := c.clientOptions()
	if got := opts.TLSConfig.NextProtos; len(got) != 1 || got[0] != "x-amzn-mqtt-ca" || opts.TLSConfig.ServerName != c.o.Host {
		t.Fatalf("443 TLS: %v %q", got, opts.TLSConfig.ServerName)
	}
	c.o.Port = 8883
	if got := c.clientOptions().TLSConfig.NextProtos; len(got) != 0 {
		t.Fatalf("8883 ALPN: %v", got)
	}
}

func pkiLessTLS() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }

// TestRefusedSubscriptionsAreRetried: a policy that refuses a subscription
// leaves the link down with the reason, and the subscriptions are tried
// again on the same connection, so fixing the policy is enough.
func TestRefusedSubscriptionsAreRetried(t *testing.T) {
	l := newLab(t)
	// The device certificate may only use its own thing's topics.
	o := l.options(t, Device, thing)
	o.Thing, o.SubscribeRetry = "someone-else", 200*time.Millisecond
	c := dialOptions(t, o)
	refused := func(ev event.Event) bool {
		l, ok := ev.(event.Link)
		return ok && l.State == event.LinkDown && strings.Contains(l.Err, "refused") && strings.Contains(l.Err, "trying again in 200ms")
	}
	first := waitEvent(t, c, "a refused subscription", refused).(event.Link)
	second := waitEvent(t, c, "the subscriptions tried again", refused).(event.Link)
	if gap := second.At.Sub(first.At); gap < 150*time.Millisecond {
		t.Fatalf("tried again after %s, want the 200ms wait", gap)
	}
}
