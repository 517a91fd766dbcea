package devicesim

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/localiot"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/pki"
)

const thing = "esp32-sim-test"

func connOptions(t testing.TB, dir, addr, role string) awsconn.Options {
	t.Helper()
	conf, err := pki.LoadClientTLS(filepath.Join(dir, role+".pem"), filepath.Join(dir, role+".key"),
		filepath.Join(dir, pki.CACertFile), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	host, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	return awsconn.Options{Host: host, Port: port, ClientID: "iotwatch-sim-test", TLS: conf, Thing: thing,
		MaxBackoff: time.Second, RequestTimeout: 5 * time.Second}
}

// reports reads the monitor's events until n device reports matching ok arrive.
func waitReport(t *testing.T, mon *awsconn.Conn, what string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-mon.Events():
			if d, isDoc := ev.(event.ShadowDoc); isDoc && d.Kind == event.DocAccepted && d.Reported != nil && ok(d.Reported) {
				return d.Reported
			}
		case <-timeout:
			t.Fatalf("no report with %s within 20 s", what)
		}
	}
}

func TestSimAgainstEmulator(t *testing.T) {
	dir := t.TempDir()
	if err := pki.Init(dir, pki.InitOptions{Thing: thing}); err != nil {
		t.Fatal(err)
	}
	srv, err := localiot.New(localiot.Options{Listen: "127.0.0.1:0", PKIDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()
	mon, err := awsconn.Dial(connOptions(t, dir, srv.Addr(), "monitor"))
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim := New(Options{Conn: connOptions(t, dir, srv.Addr(), "device"), Interval: time.Second})
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()

	first := waitReport(t, mon, "a seq", func(r map[string]any) bool { return r["seq"] != nil })
	waitReport(t, mon, "a later seq", func(r map[string]any) bool { return r["seq"].(float64) > first["seq"].(float64) })

	if _, err := mon.UpdateDesired(ctx, map[string]any{"led": true, "setpoint": 23.5}); err != nil {
		t.Fatal(err)
	}
	waitReport(t, mon, "led and setpoint applied", func(r map[string]any) bool { return r["led"] == true && r["setpoint"] == 23.5 })
	if _, err := mon.UpdateDesired(ctx, map[string]any{"setpoint": 999.0, "colour": "red"}); err != nil {
		t.Fatal(err)
	}
	waitReport(t, mon, "refused setpoint reported", func(r map[string]any) bool { return r["setpoint"] == 23.5 && r["ignored"] != nil })
	if err := mon.Get(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev := <-mon.Events()
		if d, ok := ev.(event.ShadowDoc); ok && d.Kind == event.DocGet {
			if len(d.Delta) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("delta did not clear after refused values: %v", d.Delta)
			}
			mon.Get(ctx)
		}
	}

	sim.Reboot()
	waitReport(t, mon, "seq restarted after reboot", func(r map[string]any) bool {
		return r["reset_reason"] == "SW" && r["seq"].(float64) <= 2
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestParseFault(t *testing.T) {
	cases := []struct {
		spec string
		want Fault
		bad  bool
	}{
		{"drop:30s", Fault{Kind: FaultDrop, For: 30 * time.Second}, false},
		{"drop:10s/every:60s", Fault{Kind: FaultDrop, For: 10 * time.Second, Every: time.Minute}, false},
		{"reboot", Fault{Kind: FaultReboot}, false},
		{"lose:0.1", Fault{Kind: FaultLose, Fraction: 0.1}, false},
		{"jitter:0.2", Fault{Kind: FaultJitter, Fraction: 0.2}, false},
		{"dup", Fault{Kind: FaultDuplicate}, false},
		{"malformed", Fault{Kind: FaultMalformed}, false},
		{"drop", Fault{}, true},
		{"drop:10s/every:5s", Fault{}, true},
		{"lose:2", Fault{}, true},
		{"reboot:now", Fault{}, true},
		{"explode", Fault{}, true},
	}
	for _, c := range cases {
		got, err := ParseFault(c.spec)
		if (err != nil) != c.bad || (!c.bad && got != c.want) {
			t.Errorf("ParseFault(%q) = %+v, %v", c.spec, got, err)
		}
	}
}

// TestDropEveryIsALostConnectionAfterTheFirstConnect: drop:1s/every:2s
// waits for the first connect (no drop at t=0, before it), and its drop
// closes the socket without DISCONNECT: AWS's CONNECTION_LOST.
func TestDropEveryIsALostConnectionAfterTheFirstConnect(t *testing.T) {
	dir := t.TempDir()
	if err := pki.Init(dir, pki.InitOptions{Thing: thing}); err != nil {
		t.Fatal(err)
	}
	srv, err := localiot.New(localiot.Options{Listen: "127.0.0.1:0", PKIDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()
	mon, err := awsconn.Dial(connOptions(t, dir, srv.Addr(), "monitor"))
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	for ev := range mon.Events() {
		if l, ok := ev.(event.Link); ok && l.State == event.LinkUp {
			break
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	drop, _ := ParseFault("drop:1s/every:2s")
	var log lockedLog
	sim := New(Options{Conn: connOptions(t, dir, srv.Addr(), "device"), Interval: time.Second, Faults: []Fault{drop}, Log: &log})
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	var seen []string
	timeout := time.After(20 * time.Second)
	for len(seen) < 3 {
		select {
		case ev := <-mon.Events():
			switch e := ev.(type) {
			case event.Presence:
				seen = append(seen, e.EventType+" "+e.DisconnectReason)
			case event.ShadowDoc:
				if e.Kind == event.DocAccepted && e.Reported["seq"] != nil && len(seen) == 1 {
					seen = append(seen, "report")
				}
			}
		case <-timeout:
			t.Fatalf("within 20 s: %v; sim: %s", seen, log.String())
		}
	}
	if want := []string{"connected ", "report", "disconnected CONNECTION_LOST"}; !slices.Equal(seen, want) {
		t.Errorf("the device's events %q, want %q; sim:\n%s", seen, want, log.String())
	}
	cancel()
	<-done
}

type lockedLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestRepeatedFailureIsLoggedOnce: a connect refused at every attempt (a
// policy that does not allow the thing) is logged once, then counted at
// 2, 4, 8 … repeats, not printed every second.
func TestRepeatedFailureIsLoggedOnce(t *testing.T) {
	var log lockedLog
	s := New(Options{Conn: awsconn.Options{Thing: thing}, Log: &log})
	refused := event.Link{State: event.LinkDown, Err: strings.Repeat("refused by the policy ", 15)}
	for range 20 {
		s.logLink(event.Link{State: event.LinkConnecting, Attempt: 1})
		s.logLink(refused)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 6 || !strings.Contains(lines[1], "refused by the policy") || strings.Count(log.String(), "refused by the policy") != 15 ||
		!strings.HasSuffix(lines[5], "link down again (16 times now), for the same reason") {
		t.Fatalf("%d lines:\n%s", len(lines), log.String())
	}
	s.logLink(event.Link{State: event.LinkUp})
	if !strings.HasSuffix(strings.TrimSpace(log.String()), "link up") {
		t.Fatalf("link up not logged:\n%s", log.String())
	}
}

// TestDuplicateIsTheDropoutsCause: the demo's K (Duplicate) seen by the
// real monitor over the emulator's lifecycle events: the dropout it makes
// is DUPLICATE_CLIENTID, not the taker's CLIENT_INITIATED_DISCONNECT.
func TestDuplicateIsTheDropoutsCause(t *testing.T) {
	dir := t.TempDir()
	if err := pki.Init(dir, pki.InitOptions{Thing: thing}); err != nil {
		t.Fatal(err)
	}
	srv, err := localiot.New(localiot.Options{Listen: "127.0.0.1:0", PKIDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()
	conn, err := awsconn.Dial(connOptions(t, dir, srv.Addr(), "monitor"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log lockedLog
	sim := New(Options{Conn: connOptions(t, dir, srv.Addr(), "device"), Interval: time.Second, Log: &log})
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	mon := monitor.New(monitor.Options{Field: "temp", DropoutAfter: 2.5})
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	duplicated := false
	for {
		select {
		case ev := <-conn.Events():
			mon.Apply(ev)
			if mon.Counts.Reports >= 2 && !duplicated {
				duplicated = true
				sim.Duplicate()
			}
		case now := <-tick.C:
			mon.Tick(now)
		case <-deadline:
			t.Fatalf("no dropout within 30 s; monitor log %v\nsim:\n%s", mon.Events(), log.String())
		}
		if s := mon.Snapshot(time.Now()); len(s.Dropouts) > 0 {
			if s.Dropouts[0].Cause != "DUPLICATE_CLIENTID" {
				t.Errorf("dropout cause %s, want DUPLICATE_CLIENTID; monitor log %v", s.Dropouts[0].Cause, s.Events)
			}
			break
		}
	}
	cancel()
	<-done
}
