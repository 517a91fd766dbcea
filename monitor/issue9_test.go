package monitor

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// meta is reported metadata saying every field was last written at t.
func meta(t time.Time, fields ...string) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		out[f] = map[string]any{"timestamp": float64(t.Unix())}
	}
	return out
}

// reportsThenBlind: reports every second for 6 s, then iotwatch's link goes
// down at 6.2 s and comes back at 20 s; the device died at 6 s.
func reportsThenBlind(t *testing.T) *script {
	t.Helper()
	sc := newScript(testOptions)
	for range 6 {
		sc.advance(time.Second)
		sc.report()
	}
	sc.advance(200 * time.Millisecond)
	sc.m.Apply(event.Link{At: sc.now, State: event.LinkDown, Err: "EOF"})
	sc.advance(13800 * time.Millisecond)
	sc.m.Apply(event.Link{At: sc.now, State: event.LinkUp})
	return sc
}

func TestDeathDuringBlindnessOpensFromTheShadowsLastReport(t *testing.T) {
	sc := reportsThenBlind(t)
	lastReport := t0.Add(6 * time.Second)
	sc.m.Apply(event.ShadowDoc{At: sc.now.Add(10 * time.Millisecond), Kind: event.DocGet, Version: sc.vers,
		Reported: map[string]any{"seq": sc.seq, "interval_s": 1.0}, ReportedMetadata: meta(lastReport, "seq", "interval_s")})
	st := sc.m.Stats(sc.now.Add(10 * time.Millisecond))
	if len(st.Dropouts) != 1 || !st.Dropouts[0].Start.Equal(lastReport) || !st.Dropouts[0].End.IsZero() {
		t.Fatalf("the re-get shows the device silent since 6 s: dropouts %+v", st.Dropouts)
	}
	sc.advance(10 * time.Second)
	st = sc.m.Stats(sc.now)
	// 13.8 s blind; in dropout from 6 s: 0.2 s before and 10 s after it.
	wantDown := 10*time.Second + 200*time.Millisecond
	if st.Blind != 13800*time.Millisecond || math.Abs(st.Availability-100*(1-float64(wantDown)/float64(st.Observed))) > 1e-9 {
		t.Fatalf("blind %s observed %s availability %.3f", st.Blind, st.Observed, st.Availability)
	}
}

func TestDeathDuringBlindnessWithoutAnAnswerOpensAfterTheThreshold(t *testing.T) {
	sc := reportsThenBlind(t)
	up := sc.now
	sc.advance(2400 * time.Millisecond)
	if n := sc.m.DropoutCount(); n != 0 {
		t.Fatalf("dropout %s after the reconnect, before 2.5 × 1 s", sc.now.Sub(up))
	}
	sc.advance(200 * time.Millisecond)
	if d := sc.m.Dropouts(); len(d) != 1 || !d[0].Start.Equal(t0.Add(6*time.Second)) {
		t.Fatalf("no dropout from the last report 2.6 s after the reconnect: %+v", d)
	}
}

func TestDeviceThatReportedWhileBlindIsNotADropout(t *testing.T) {
	sc := reportsThenBlind(t)
	// The device kept reporting while iotwatch was blind.
	sc.m.Apply(event.ShadowDoc{At: sc.now.Add(10 * time.Millisecond), Kind: event.DocGet, Version: sc.vers + 14,
		Reported: map[string]any{"seq": sc.seq + 14, "interval_s": 1.0}, ReportedMetadata: meta(sc.now.Add(-time.Second), "seq")})
	sc.seq += 14
	sc.vers += 14
	sc.advance(time.Second)
	sc.report()
	if st := sc.m.Stats(sc.now); len(st.Dropouts) != 0 || st.LostReports != 0 || st.Availability != 100 {
		t.Fatalf("dropouts %+v lost %d availability %.3f", st.Dropouts, st.LostReports, st.Availability)
	}
}

func TestDropoutEndedWhileBlindClosesAndCounts(t *testing.T) {
	sc := newScript(testOptions)
	sc.report()
	sc.advance(5 * time.Second) // dropout opens at 2.5 s
	sc.m.Apply(event.Link{At: sc.now, State: event.LinkDown, Err: "EOF"})
	sc.advance(10 * time.Second)
	sc.m.Apply(event.Link{At: sc.now, State: event.LinkUp})
	sc.m.Apply(event.ShadowDoc{At: sc.now, Kind: event.DocGet, Version: 9, Reported: map[string]any{"seq": 9.0, "interval_s": 1.0},
		ReportedMetadata: meta(sc.now.Add(-time.Second), "seq")})
	st := sc.m.Stats(sc.now)
	if len(st.Dropouts) != 1 || st.Dropouts[0].End.IsZero() {
		t.Fatalf("dropouts %+v", st.Dropouts)
	}
	// Only the 5 s watched are down; the blind part of the dropout is not.
	if want := 100 * (1 - 5.0/5.0); st.Observed != 5*time.Second || st.Availability != want {
		t.Fatalf("observed %s availability %.3f", st.Observed, st.Availability)
	}
}

func TestShadowVersionGoingBackStartsANewBaseline(t *testing.T) {
	cases := []struct {
		name  string
		reset func(m *Monitor, at time.Time)
	}{
		{"reconnect", func(m *Monitor, at time.Time) {
			m.Apply(event.Link{At: at, State: event.LinkDown})
			m.Apply(event.Link{At: at, State: event.LinkUp})
		}},
		{"get", func(m *Monitor, at time.Time) {
			m.Apply(event.ShadowDoc{At: at, Kind: event.DocGet, Version: 1, Reported: map[string]any{"seq": 1.0}})
		}},
		{"delete", func(m *Monitor, at time.Time) { m.Apply(event.Deleted{At: at, Version: 4123}) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := New(testOptions)
			m.Apply(report(t0, 4123, map[string]any{"seq": 1.0, "temp": 20.0}))
			c.reset(m, t0.Add(time.Second))
			for i := 2; i <= 6; i++ {
				m.Apply(report(t0.Add(time.Duration(i)*time.Second), int64(i), map[string]any{"seq": float64(i), "temp": 21.0}))
			}
			if m.Counts.Reports != 6 || m.Reported["temp"] != 21.0 || m.Version != 6 || m.Counts.LostReports != 0 {
				t.Fatalf("reports %d temp %v version %d lost %d", m.Counts.Reports, m.Reported["temp"], m.Version, m.Counts.LostReports)
			}
			if c.name != "delete" && lastEntryWith(m, "shadow version went back from 4123 to ") == "" {
				t.Fatalf("not logged: %v", m.Events())
			}
		})
	}
}

func TestCrossedAnswersAreCountedNotDiscarded(t *testing.T) {
	m := New(testOptions)
	m.Apply(report(t0, 5, map[string]any{"seq": 1.0, "temp": 20.0}))
	m.Apply(event.ShadowDoc{At: t0.Add(time.Second), Kind: event.DocCurrent, Version: 7, Reported: map[string]any{"seq": 3.0}})
	m.Apply(report(t0.Add(time.Second), 6, map[string]any{"seq": 2.0, "temp": 19.0}))
	if m.Counts.Reports != 2 || m.Version != 7 || m.Counts.Reboots != 0 {
		t.Fatalf("reports %d version %d reboots %d", m.Counts.Reports, m.Version, m.Counts.Reboots)
	}
}

func TestRunsAppendedToOneLogLeaveTheGapUnwatched(t *testing.T) {
	m := New(testOptions)
	run := func(start time.Time, seconds int, seq *float64) time.Time {
		m.Apply(event.Session{At: start, Program: "iotwatch test", Thing: "t"})
		m.Apply(event.Link{At: start, State: event.LinkConnecting})
		m.Apply(event.Link{At: start.Add(100 * time.Millisecond), State: event.LinkUp})
		at := start.Add(100 * time.Millisecond)
		for range seconds {
			at = at.Add(time.Second)
			*seq++
			m.Apply(report(at, int64(*seq), map[string]any{"seq": *seq, "interval_s": 1.0}))
		}
		return at
	}
	var seq float64
	end1 := run(t0, 8, &seq)
	seq += 20 // the device went on reporting, unwatched
	end2 := run(end1.Add(20*time.Second), 8, &seq)
	st := m.Stats(end2)
	if st.Unwatched != 20*time.Second || st.UnwatchedGaps != 1 || st.Runs != 2 || st.Blind != 200*time.Millisecond {
		t.Fatalf("unwatched %s (%d) runs %d blind %s", st.Unwatched, st.UnwatchedGaps, st.Runs, st.Blind)
	}
	if st.Observed != end2.Sub(t0)-20200*time.Millisecond || len(st.Dropouts) != 0 || st.LostReports != 0 || st.LongestGap != time.Second {
		t.Fatalf("observed %s dropouts %+v lost %d longest gap %s", st.Observed, st.Dropouts, st.LostReports, st.LongestGap)
	}
}

func TestNumberBeyondFloat64IsTextNotPlotted(t *testing.T) {
	m := New(testOptions)
	for i := range 3 {
		m.Apply(report(t0.Add(time.Duration(i)*time.Second), int64(i+1), map[string]any{"big": json.Number("1e400"), "temp": 20.0}))
	}
	if m.Counts.Reports != 3 || m.Reported["big"] != json.Number("1e400") || strings.Join(m.NotPlottable(), ",") != "big" {
		t.Fatalf("reports %d big %v not plottable %v", m.Counts.Reports, m.Reported["big"], m.NotPlottable())
	}
	if n := strings.Count(strings.Join(entryTexts(m), "\n"), "beyond a 64-bit float"); n != 1 {
		t.Fatalf("logged %d times", n)
	}
	if s := m.Summarize("big", time.Minute, t0.Add(3*time.Second)); s.N != 0 || s.HasLast {
		t.Fatalf("summary %+v", s)
	}
}

func entryTexts(m *Monitor) []string {
	var out []string
	for _, e := range m.Events() {
		out = append(out, e.Text)
	}
	return out
}

func TestPendingTellsTheTruth(t *testing.T) {
	m := New(testOptions)
	m.Apply(event.Link{At: t0, State: event.LinkUp})
	m.Apply(report(t0, 1, map[string]any{"interval_s": 60.0, "led": false}))
	m.Apply(event.DesiredSent{At: t0, ClientToken: "a", Patch: map[string]any{"interval_s": 0.0, "led": "on", "color": "red"}})
	m.Apply(event.ShadowDoc{At: t0, Kind: event.DocAccepted, Version: 2, Desired: map[string]any{"interval_s": 0.0, "led": "on", "color": "red"}})
	if p := m.Pending["interval_s"]; p == nil || p.Settled() || m.PendingText(p, t0) != "" {
		t.Fatalf("own desired echo settled it: %+v", p)
	}
	// The device keeps its values and writes them back to desired.
	m.Apply(event.ShadowDoc{At: t0.Add(time.Second), Kind: event.DocAccepted, Version: 3,
		Reported: map[string]any{"interval_s": 60.0, "led": false}, Desired: map[string]any{"interval_s": 60.0, "led": false, "color": nil}})
	want := map[string]string{"interval_s": "refused by the device (kept 60)", "led": "refused by the device (kept false)", "color": "ignored by the device (unknown key)"}
	for k, text := range want {
		if p := m.Pending[k]; p == nil || !p.Settled() || m.PendingText(p, t0.Add(time.Second)) != text {
			t.Errorf("%s: %+v", k, p)
		}
		if lastEntryWith(m, text) == "" {
			t.Errorf("%s: not in the log", text)
		}
	}
	// Sent while the device is offline: it waits in the shadow.
	m.Apply(event.DesiredSent{At: t0.Add(300 * time.Second), ClientToken: "b", Patch: map[string]any{"setpoint": 22.0}})
	if got := m.PendingText(m.Pending["setpoint"], t0.Add(300*time.Second)); got != "waiting in the shadow (device offline)" {
		t.Fatalf("offline: %q", got)
	}
}

func TestDeltaFollowsDocuments(t *testing.T) {
	m := New(testOptions)
	m.Apply(event.ShadowDoc{At: t0, Kind: event.DocCurrent, Version: 2, Desired: map[string]any{"led": true, "setpoint": 21.0, "nest": map[string]any{"a": 1.0, "b": 2.0}},
		Reported: map[string]any{"led": false, "setpoint": 21.0, "nest": map[string]any{"a": 1.0}}})
	if len(m.Delta) != 2 || m.Delta["led"] != true || m.Delta["nest"].(map[string]any)["b"] != 2.0 {
		t.Fatalf("delta %v", m.Delta)
	}
	m.Apply(event.ShadowDoc{At: t0, Kind: event.DocDelta, Version: 3, Delta: map[string]any{"setpoint": 23.0}})
	if len(m.Delta) != 1 || m.Delta["setpoint"] != 23.0 {
		t.Fatalf("delta %v", m.Delta)
	}
}

func TestNoPlaceholderNumbers(t *testing.T) {
	m := New(testOptions)
	st := m.Stats(t0)
	if !math.IsNaN(st.Availability) || st.MTBF != 0 || st.EverConnected || m.Summarize("temp", time.Minute, t0).HasLast {
		t.Fatalf("before any data: %+v", st)
	}
	m.Apply(event.Link{At: t0, State: event.LinkConnecting})
	m.Apply(event.Link{At: t0.Add(time.Second), State: event.LinkUp})
	m.Apply(report(t0.Add(time.Second), 1, map[string]any{"interval_s": 1.0}))
	if m.Device(t0.Add(time.Second)) != DeviceOnline {
		t.Fatal("online")
	}
	m.Apply(event.Link{At: t0.Add(2 * time.Second), State: event.LinkDown})
	if d := m.Device(t0.Add(10 * time.Second)); d != DeviceUnknown {
		t.Fatalf("device %s while iotwatch's own link is down", d)
	}
	if st := m.Stats(t0.Add(10 * time.Second)); st.MTBF != 0 || !st.EverConnected || st.Observed != time.Second {
		t.Fatalf("%+v", st)
	}
}

// AWS's metadata are whole seconds: a report of second S that iotwatch did
// not see is taken at the end of S, so a live device is never taken for
// silent, and one it saw in S is recognised as the same report.
func TestWholeSecondMetadata(t *testing.T) {
	o := Options{Field: "temp", Interval: time.Second, DropoutAfter: 1.5}
	cases := []struct {
		name     string
		blindFor int // seconds; the device goes on reporting at x.9 unless dead
		dead     bool
		want     []time.Time
	}{
		{"alive while blind", 8, false, nil},
		{"dead since its last seen report", 2, true, []time.Time{t0.Add(5900 * time.Millisecond)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := &script{m: New(o), now: t0}
			sc.m.Apply(event.Link{At: t0, State: event.LinkUp})
			sc.advance(900 * time.Millisecond)
			last := func() { sc.seq++; sc.vers++; sc.m.Apply(report(sc.now, sc.vers, map[string]any{"seq": sc.seq})) }
			for range 6 {
				last()
				sc.advance(time.Second)
			}
			// 6.9 s: the link goes down at 6.0 s.
			sc.m.Apply(event.Link{At: t0.Add(6 * time.Second), State: event.LinkDown})
			lastReport := t0.Add(5900 * time.Millisecond)
			if !c.dead {
				lastReport = t0.Add(time.Duration(6+c.blindFor-1)*time.Second + 900*time.Millisecond)
				sc.seq += float64(c.blindFor)
			}
			up := t0.Add(time.Duration(6+c.blindFor) * time.Second)
			sc.now = up
			sc.m.Apply(event.Link{At: up, State: event.LinkUp})
			sc.m.Apply(event.ShadowDoc{At: up, Kind: event.DocGet, Version: sc.vers, Reported: map[string]any{"seq": sc.seq},
				ReportedMetadata: meta(lastReport.Truncate(time.Second), "seq")})
			if !c.dead {
				sc.advance(900 * time.Millisecond)
				last()
			}
			sc.advance(3 * time.Second)
			var starts []time.Time
			for _, d := range sc.m.Dropouts() {
				starts = append(starts, d.Start)
			}
			if c.dead && len(starts) == 1 && starts[0].Equal(c.want[0]) || !c.dead && len(starts) == 1 && starts[0].After(up) {
				return // alive: only the final 3 s silence after its last report
			}
			t.Fatalf("dropouts from %v", starts)
		})
	}
}

// A week at 1 Hz has more gaps than the sample holds: the longest is kept
// whenever it comes, the percentiles from a sample of them all.
func TestLongestGapAfterTheSampleIsFull(t *testing.T) {
	m := New(testOptions)
	at := t0
	for i := range maxGapSamples + 5000 {
		step := time.Second
		if i == maxGapSamples+4000 {
			step = 2 * time.Second // late in the run: not a dropout, but the longest gap
		}
		at = at.Add(step)
		m.Apply(report(at, int64(i+1), map[string]any{"interval_s": 1.0}))
	}
	if st := m.Stats(at); st.LongestGap != 2*time.Second || st.GapP50 != time.Second || st.GapP99 != time.Second {
		t.Fatalf("longest %s p50 %s p99 %s", st.LongestGap, st.GapP50, st.GapP99)
	}
}

// Two reports in one second, the second made while iotwatch was blind: the
// re-get's whole-second metadata match the first, its seq says it is news.
func TestWholeSecondMetadataSecondReportInTheSameSecond(t *testing.T) {
	m := New(Options{Field: "temp", Interval: time.Second, DropoutAfter: 2.5})
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	m.Apply(event.Link{At: at(7000), State: event.LinkUp})
	for i, ms := range []int{7050, 8050, 9050, 10050} {
		m.Apply(report(at(ms), int64(i+1), map[string]any{"seq": float64(i + 2)}))
	}
	m.Apply(event.Link{At: at(10500), State: event.LinkDown})
	// seq 6 at 10.95 s reached the shadow while iotwatch was blind.
	m.Apply(event.Link{At: at(12000), State: event.LinkUp})
	m.Apply(event.ShadowDoc{At: at(12000), Kind: event.DocGet, Version: 5, Reported: map[string]any{"seq": 6.0},
		ReportedMetadata: meta(t0.Add(10*time.Second), "seq")})
	m.Apply(report(at(12950), 6, map[string]any{"seq": 7.0}))
	if st := m.Stats(at(12950)); st.LostReports != 0 || len(st.Dropouts) != 0 {
		t.Fatalf("lost %d dropouts %+v: %v", st.LostReports, st.Dropouts, entryTexts(m))
	}
}
