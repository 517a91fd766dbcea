package monitor

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// run feeds reports at the given offsets (seconds from t0) with ticks every
// 250 ms in between, as the TUI and soak do.
type script struct {
	m    *Monitor
	now  time.Time
	seq  float64
	vers int64
}

func newScript(o Options) *script {
	sc := &script{m: New(o), now: t0}
	sc.m.Apply(event.Link{At: t0, State: event.LinkUp})
	return sc
}

func (sc *script) advance(d time.Duration) {
	end := sc.now.Add(d)
	for sc.now.Before(end) {
		step := min(250*time.Millisecond, end.Sub(sc.now))
		sc.now = sc.now.Add(step)
		sc.m.Tick(sc.now)
	}
}

func (sc *script) report() {
	sc.seq++
	sc.vers++
	sc.m.Apply(report(sc.now, sc.vers, map[string]any{"seq": sc.seq, "temp": 20.0, "interval_s": 1.0}))
}

func TestNoFalseAlarmUnderJitter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sc := newScript(testOptions)
	for range 5000 {
		sc.advance(time.Duration((0.8 + 0.4*rng.Float64()) * float64(time.Second)))
		sc.report()
	}
	if st := sc.m.Stats(sc.now); len(st.Dropouts) != 0 || st.Availability != 100 || st.LostReports != 0 {
		t.Fatalf("false alarms under ±20%% jitter: %+v", st.Dropouts)
	}
}

func TestInjectedFaultsCountedExactly(t *testing.T) {
	sc := newScript(testOptions)
	drops := []time.Duration{5 * time.Second, 30 * time.Second, 3 * time.Second}
	for _, d := range drops {
		for range 20 {
			sc.advance(time.Second)
			sc.report()
		}
		sc.advance(d)
		sc.report()
	}
	sc.seq += 3 // three lost reports
	sc.advance(time.Second)
	sc.report()
	sc.seq = 0 // reboot
	sc.advance(time.Second)
	sc.report()
	st := sc.m.Stats(sc.now)
	if len(st.Dropouts) != len(drops) || st.LostReports != 3 || st.Reboots != 1 {
		t.Fatalf("dropouts %d lost %d reboots %d", len(st.Dropouts), st.LostReports, st.Reboots)
	}
	for i, d := range drops {
		if got := st.Dropouts[i].Duration(sc.now); got != d {
			t.Errorf("dropout %d lasted %s, want %s (from the last report to the next)", i, got, d)
		}
	}
	if st.LongestGap != 30*time.Second || st.GapP50 != time.Second {
		t.Errorf("gaps: longest %s p50 %s", st.LongestGap, st.GapP50)
	}
	if st.Availability >= 100 || st.Availability < 50 {
		t.Errorf("availability %.2f", st.Availability)
	}
}

func TestDisconnectOpensAtOnce(t *testing.T) {
	sc := newScript(testOptions)
	sc.report()
	sc.m.Apply(event.Presence{At: sc.now.Add(100 * time.Millisecond), EventType: "disconnected", VersionNumber: 1, DisconnectReason: "MQTT_KEEP_ALIVE_TIMEOUT"})
	st := sc.m.Stats(sc.now)
	if len(st.Dropouts) != 1 || st.Dropouts[0].Cause != "MQTT_KEEP_ALIVE_TIMEOUT" || !st.Dropouts[0].End.IsZero() {
		t.Fatalf("dropouts %+v", st.Dropouts)
	}
	sc.advance(10 * time.Second)
	sc.m.Apply(event.Presence{At: sc.now, EventType: "connected", VersionNumber: 2})
	sc.report()
	if st := sc.m.Stats(sc.now); len(st.Dropouts) != 1 || st.Dropouts[0].End != sc.now {
		t.Fatalf("not closed by the report: %+v", st.Dropouts)
	}
}

func TestBlindTimeIsNeverADropout(t *testing.T) {
	sc := newScript(testOptions)
	for range 10 {
		sc.advance(time.Second)
		sc.report()
	}
	sc.m.Apply(event.Link{At: sc.now, State: event.LinkDown, Err: "EOF"})
	sc.advance(20 * time.Second)
	sc.seq += 19 // the device kept reporting while we were blind
	sc.m.Apply(event.Link{At: sc.now, State: event.LinkUp})
	sc.advance(500 * time.Millisecond)
	sc.report()
	st := sc.m.Stats(sc.now)
	if len(st.Dropouts) != 0 || st.LostReports != 0 || st.Blind != 20*time.Second {
		t.Fatalf("blind time counted: dropouts %v lost %d blind %s", st.Dropouts, st.LostReports, st.Blind)
	}
	if st.Observed != sc.now.Sub(t0)-20*time.Second || st.Availability != 100 {
		t.Fatalf("observed %s availability %.2f", st.Observed, st.Availability)
	}
}

func TestReplayWithoutTicksFindsTheSameDropouts(t *testing.T) {
	m := New(testOptions)
	for i, at := range []int{0, 1, 2, 10, 11} {
		m.Apply(report(t0.Add(time.Duration(at)*time.Second), int64(i+1), map[string]any{"seq": float64(i + 1), "interval_s": 1.0}))
	}
	if st := m.Stats(t0.Add(11 * time.Second)); len(st.Dropouts) != 1 || st.Dropouts[0].Duration(t0) != 8*time.Second {
		t.Fatalf("replay: %+v", st.Dropouts)
	}
}
