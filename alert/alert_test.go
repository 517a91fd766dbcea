package alert

import (
	"reflect"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/monitor"
)

var t0 = time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func reportAt(s float64, seq int, extra ...any) event.ShadowDoc {
	rep := map[string]any{"seq": float64(seq), "interval_s": 1.0}
	for i := 0; i+1 < len(extra); i += 2 {
		rep[extra[i].(string)] = extra[i+1]
	}
	return event.ShadowDoc{At: at(s), Kind: event.DocAccepted, Version: int64(s*10) + 1, Reported: rep}
}

// TestTrackerFindsEachKind feeds a real monitor step by step and checks
// the alerts each look finds.
func TestTrackerFindsEachKind(t *testing.T) {
	steps := []struct {
		name   string
		events []event.Event
		tick   float64 // Tick the monitor at this second when > 0
		look   float64
		want   []Kind
	}{
		{"steady reports", []event.Event{reportAt(0, 1), reportAt(1, 2)}, 0, 1, nil},
		{"silence", nil, 5, 5, []Kind{DropoutOpened}},
		{"back", []event.Event{reportAt(6, 3)}, 0, 6, []Kind{DropoutClosed}},
		{"seq jump", []event.Event{reportAt(7, 6)}, 0, 7, []Kind{LostReports}},
		{"seq restarts", []event.Event{reportAt(8, 1, "reset_reason", "PANIC")}, 0, 8, []Kind{Reboot}},
		{"rejected", []event.Event{event.Rejected{At: at(9), Op: "update", Code: 400, Message: "bad"}}, 0, 9, []Kind{Rejection}},
		{"no shadow yet is no rejection", []event.Event{event.Rejected{At: at(9), Op: "get", Code: 404}}, 0, 9, nil},
		{"gap found by the report", []event.Event{reportAt(20, 2)}, 0, 20, []Kind{DropoutOpened, DropoutClosed}},
		{"nothing new", nil, 0, 21, nil},
	}
	m := monitor.New(monitor.Options{DropoutAfter: config.Default().Soak.DropoutAfter})
	tr := NewTracker()
	for _, s := range steps {
		for _, ev := range s.events {
			m.Apply(ev)
		}
		if s.tick > 0 {
			m.Tick(at(s.tick))
		}
		var got []Kind
		for _, a := range tr.Check("esp32-000", m, at(s.look)) {
			if a.Thing != "esp32-000" || a.Message == "" || !a.At.Equal(at(s.look)) {
				t.Errorf("%s: alert %+v", s.name, a)
			}
			got = append(got, a.Kind)
		}
		if !reflect.DeepEqual(got, s.want) {
			t.Errorf("%s: alerts %v, want %v", s.name, got, s.want)
		}
	}
}

func TestVerdictBreachOncePerTurn(t *testing.T) {
	tr := NewTracker()
	for i, c := range []struct {
		pass   bool
		breach bool
	}{{true, false}, {false, true}, {false, false}, {true, false}, {false, true}} {
		got := tr.Verdict("a", c.pass, []string{"availability 98% < 99.9%"}, at(float64(i)))
		if (len(got) == 1) != c.breach || (c.breach && got[0].Kind != VerdictBreach) {
			t.Errorf("step %d (pass %v): %v", i, c.pass, got)
		}
	}
	if got := tr.Verdict("b", false, nil, t0); len(got) != 1 {
		t.Errorf("another thing's first failure: %v", got)
	}
}

func TestLimiterPerThingAndKind(t *testing.T) {
	l := newLimiter(time.Minute)
	cases := []struct {
		thing      string
		kind       Kind
		sec        float64
		pass       bool
		suppressed int
	}{
		{"a", Reboot, 0, true, 0},
		{"a", Reboot, 10, false, 0},
		{"b", Reboot, 10, true, 0},
		{"a", LostReports, 15, true, 0},
		{"a", Reboot, 20, false, 0},
		{"a", Reboot, 70, true, 2},
		{"a", Reboot, 80, false, 0},
		{"a", Reboot, 200, true, 1},
	}
	for i, c := range cases {
		a := Alert{Thing: c.thing, Kind: c.kind, At: at(c.sec)}
		if got := l.allow(&a); got != c.pass || (got && a.Suppressed != c.suppressed) {
			t.Errorf("#%d %s %s at %gs: pass %v suppressed %d, want %v %d", i, c.thing, c.kind, c.sec, got, a.Suppressed, c.pass, c.suppressed)
		}
	}
}
