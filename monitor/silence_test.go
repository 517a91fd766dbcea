package monitor

import (
	"math"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// Issue 19's cases, each at the monitor: the truth is what the device did.

func sec(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// up starts a monitor as a soak does: session, link up, the first get
// finding no shadow.
func up(o Options) *Monitor {
	m := New(o)
	m.Apply(event.Session{At: t0, Thing: "t1"})
	m.Apply(event.Link{At: t0, State: event.LinkConnecting})
	m.Apply(event.Link{At: sec(0.1), State: event.LinkUp})
	m.Apply(event.Rejected{At: sec(0.1), Op: "get", Code: 404})
	return m
}

// withMeta is a report with exact (microsecond) metadata at made.
func withMeta(at, made time.Time, v int64, fields map[string]any) event.ShadowDoc {
	d := report(at, v, fields)
	d.ReportedMetadata = map[string]any{}
	for k := range fields {
		d.ReportedMetadata[k] = map[string]any{"timestamp": float64(made.UnixMicro()) / 1e6}
	}
	return d
}

var o30 = Options{Field: "temp", DropoutAfter: 2.5, MaxGap: 30 * time.Second}

// Case 1: one report at 3 s, then silence to 45 s with no interval known.
func TestOneReportThenSilenceIsADropout(t *testing.T) {
	m := up(o30)
	m.Apply(report(sec(3), 1, map[string]any{"temp": 20.0}))
	m.Tick(sec(45))
	st := m.Stats(sec(45))
	if len(st.Dropouts) != 1 || !st.Dropouts[0].Start.Equal(sec(3)) || st.LongestGap != 42*time.Second || st.Threshold != 30*time.Second {
		t.Fatalf("dropouts %+v longest gap %s threshold %s", st.Dropouts, st.LongestGap, st.Threshold)
	}
}

// Without an interval or max_gap the threshold is the stated default.
func TestThresholdWithoutIntervalIsTheDefault(t *testing.T) {
	m := up(testOptions)
	if th := m.Threshold(); th != NoIntervalThreshold {
		t.Fatalf("threshold %s", th)
	}
	m.Tick(sec(0.1).Add(NoIntervalThreshold + time.Millisecond))
	if n := m.DropoutCount(); n != 1 {
		t.Fatalf("a device never heard from for the default threshold: %d dropouts", n)
	}
}

// Case 2: the silence open at the end is a gap like the one closed by a
// late report.
func TestSilenceOpenAtTheEndIsAGap(t *testing.T) {
	run := func(lastReport bool) Stats {
		m := up(Options{Field: "temp", DropoutAfter: 2.5, MaxGap: 30 * time.Second})
		for i := 1; i <= 20; i++ {
			m.Apply(report(sec(float64(i)), int64(i), map[string]any{"interval_s": 60.0}))
		}
		if lastReport {
			m.Apply(report(sec(96), 21, map[string]any{"interval_s": 60.0}))
		}
		m.Tick(sec(98))
		return m.Stats(sec(98))
	}
	dead, late := run(false), run(true)
	if dead.LongestGap != 78*time.Second || late.LongestGap != 76*time.Second || len(dead.Dropouts) != 1 || len(late.Dropouts) != 1 {
		t.Fatalf("dead: gap %s dropouts %d; late: gap %s dropouts %d", dead.LongestGap, len(dead.Dropouts), late.LongestGap, len(late.Dropouts))
	}
	if dead.AnnouncedInterval != time.Minute || dead.Threshold != 30*time.Second {
		t.Fatalf("announced %s threshold %s", dead.AnnouncedInterval, dead.Threshold)
	}
}

// Case 3: interval_s 3600 does not lift the threshold past max_gap.
func TestAnnouncedIntervalNeverLiftsTheThresholdPastMaxGap(t *testing.T) {
	m := up(o30)
	for i := 1; i <= 11; i++ {
		f := map[string]any{"seq": float64(i)}
		if i == 11 {
			f["interval_s"] = 3600.0
		}
		m.Apply(report(sec(float64(i)), int64(i), f))
	}
	m.Tick(sec(50))
	st := m.Stats(sec(50))
	if len(st.Dropouts) != 1 || st.AnnouncedInterval != time.Hour || st.LongestGap != 39*time.Second {
		t.Fatalf("dropouts %+v announced %s gap %s", st.Dropouts, st.AnnouncedInterval, st.LongestGap)
	}
}

// The silence before the first report counts from when iotwatch began to
// watch.
func TestSilenceBeforeTheFirstReport(t *testing.T) {
	m := up(o30)
	m.Tick(sec(40))
	m.Apply(report(sec(40.1), 1, map[string]any{"seq": 1.0}))
	st := m.Stats(sec(41))
	if len(st.Dropouts) != 1 || !st.Dropouts[0].Start.Equal(sec(0.1)) || st.LongestGap != 40*time.Second {
		t.Fatalf("dropouts %+v gap %s", st.Dropouts, st.LongestGap)
	}
}

// Case 4: reports while the device's client id is disconnected are another
// client's.
func TestReportsWhileDisconnectedAreAnotherClients(t *testing.T) {
	m := up(o30)
	for i := 1; i <= 10; i++ {
		m.Apply(withMeta(sec(float64(i)), sec(float64(i)), int64(i), map[string]any{"temp": 20.0}))
	}
	m.Apply(event.Presence{At: sec(10.5), ClientID: "t1", EventType: "disconnected", VersionNumber: 1, DisconnectReason: "CONNECTION_LOST"})
	for i := 11; i <= 60; i++ {
		m.Apply(withMeta(sec(float64(i)), sec(float64(i)), int64(i), map[string]any{"temp": 21.0}))
	}
	st := m.Stats(sec(60))
	if st.Reports != 10 || st.Foreign != 50 || len(st.Dropouts) != 1 || !st.Dropouts[0].End.IsZero() || st.Availability > 20 {
		t.Fatalf("reports %d foreign %d dropouts %+v availability %.1f", st.Reports, st.Foreign, st.Dropouts, st.Availability)
	}
	// A report made before the disconnect arriving after it is the device's.
	m = up(o30)
	m.Apply(withMeta(sec(1), sec(1), 1, map[string]any{"temp": 20.0}))
	m.Apply(event.Presence{At: sec(2), ClientID: "t1", EventType: "disconnected", VersionNumber: 1, Timestamp: sec(1.9)})
	m.Apply(withMeta(sec(2.1), sec(1.8), 2, map[string]any{"temp": 20.0}))
	if c := m.Counts; c.Reports != 2 || c.Foreign != 0 {
		t.Fatalf("crossed answer: %+v", c)
	}
	// Kicked by a second session of its client id: the client id is
	// connected, its reports are the device's.
	m = up(o30)
	m.Apply(event.Presence{At: sec(2), ClientID: "t1", EventType: "disconnected", VersionNumber: 1, DisconnectReason: "DUPLICATE_CLIENTID"})
	m.Apply(withMeta(sec(3), sec(3), 1, map[string]any{"temp": 20.0}))
	if c := m.Counts; c.Reports != 1 || c.Foreign != 0 {
		t.Fatalf("duplicate client id: %+v", c)
	}
}

// Case 11: iotwatch stood still while the device reported every second.
func TestStallIsBlindAndQueuedReportsArePlaced(t *testing.T) {
	m := up(o30)
	for i := 1; i <= 10; i++ {
		m.Apply(withMeta(sec(float64(i)), sec(float64(i)), int64(i), map[string]any{"seq": float64(i), "interval_s": 1.0}))
	}
	m.Tick(sec(10.25))
	m.Apply(event.Stall{Since: sec(10.25), At: sec(50.3)})
	for i := 11; i <= 50; i++ { // queued, delivered at once
		m.Apply(withMeta(sec(50.3), sec(float64(i)), int64(i), map[string]any{"seq": float64(i), "interval_s": 1.0}))
	}
	for i := 51; i <= 90; i++ {
		m.Tick(sec(float64(i) - 0.5))
		m.Apply(withMeta(sec(float64(i)), sec(float64(i)), int64(i), map[string]any{"seq": float64(i), "interval_s": 1.0}))
	}
	st := m.Stats(sec(90))
	if len(st.Dropouts) != 0 || st.Unheard.Stalled != 40050*time.Millisecond || st.Unheard.Stalls != 1 || st.LostReports != 0 || st.LongestGap > 2*time.Second || st.Reports != 90 {
		t.Fatalf("dropouts %+v stalled %s (%d) lost %d gap %s reports %d", st.Dropouts, st.Unheard.Stalled, st.Unheard.Stalls, st.LostReports, st.LongestGap, st.Reports)
	}
	// A dropout the run loop opened before it noticed the stall is withdrawn.
	m = up(o30)
	m.Apply(report(sec(1), 1, map[string]any{"interval_s": 1.0}))
	m.Tick(sec(40))
	m.Apply(event.Stall{Since: sec(1.2), At: sec(40)})
	if n := m.DropoutCount(); n != 0 {
		t.Fatalf("%d dropouts after the stall", n)
	}
}

// Case 12: the link is up, the subscriptions succeed, nothing is heard; a
// periodic get finds the shadow's version moved on.
func TestDeafConnectionIsBlind(t *testing.T) {
	m := New(o30)
	m.Apply(event.Session{At: t0, Thing: "t1"})
	m.Apply(event.Link{At: sec(0.1), State: event.LinkUp})
	m.Apply(event.ShadowDoc{At: sec(0.2), Kind: event.DocGet, Version: 23, Reported: map[string]any{"seq": 1.0}, ReportedMetadata: withMeta(t0, t0, 0, map[string]any{"seq": 1.0}).ReportedMetadata})
	for s := 15.0; s <= 90; s += 15 {
		m.Tick(sec(s - 0.1))
		v := 23 + int64(s)
		m.Apply(event.ShadowDoc{At: sec(s), Kind: event.DocGet, Version: v, Reported: map[string]any{"seq": s}, ReportedMetadata: withMeta(t0, sec(s-0.5), 0, map[string]any{"seq": 1.0}).ReportedMetadata})
	}
	st := m.Stats(sec(90))
	if len(st.Dropouts) != 0 || st.Unheard.Deaf < 89*time.Second || st.Observed > time.Second || st.Unheard.DeafSpells != 1 {
		t.Fatalf("dropouts %+v deaf %s observed %s spells %d", st.Dropouts, st.Unheard.Deaf, st.Observed, st.Unheard.DeafSpells)
	}
	// Hearing an update ends it.
	m.Apply(withMeta(sec(91), sec(91), 200, map[string]any{"seq": 91.0}))
	m.Tick(sec(92))
	if st := m.Stats(sec(92)); st.Observed != time.Second || st.Reports != 1 {
		t.Fatalf("after hearing: observed %s reports %d", st.Observed, st.Reports)
	}
}

// A get racing an update it has not yet delivered is not deafness.
func TestGetCrossingAnUpdateIsNotDeafness(t *testing.T) {
	m := up(o30)
	m.Apply(withMeta(sec(1), sec(1), 1, map[string]any{"seq": 1.0}))
	m.Apply(event.ShadowDoc{At: sec(2.05), Kind: event.DocGet, Version: 2, Reported: map[string]any{"seq": 2.0}, ReportedMetadata: withMeta(t0, sec(2), 0, map[string]any{"seq": 1.0}).ReportedMetadata})
	m.Apply(withMeta(sec(2.1), sec(2), 2, map[string]any{"seq": 2.0}))
	if st := m.Stats(sec(3)); st.Unheard.DeafSpells != 0 || st.Blind > 200*time.Millisecond {
		t.Fatalf("deaf %+v blind %s", st.Unheard, st.Blind)
	}
}

// Events dropped locally are blind time, not the device's silence.
func TestOverflowIsBlind(t *testing.T) {
	m := up(o30)
	m.Apply(report(sec(1), 1, map[string]any{"interval_s": 1.0}))
	m.Apply(event.Overflow{At: sec(20), Count: 19})
	m.Apply(report(sec(20.5), 21, map[string]any{"interval_s": 1.0}))
	st := m.Stats(sec(21))
	if len(st.Dropouts) != 0 || st.Unheard.Dropped != 19*time.Second || st.Dropped != 19 {
		t.Fatalf("dropouts %+v dropped %s (%d)", st.Dropouts, st.Unheard.Dropped, st.Dropped)
	}
}

// Case 6: the service's clock 30 s behind iotwatch's: measured, and the
// metadata read after a link cut are placed on iotwatch's clock.
func TestSkewIsMeasuredAndCorrected(t *testing.T) {
	for _, skew := range []time.Duration{-30 * time.Second, 30 * time.Second} {
		m := up(Options{Field: "temp", Interval: time.Second, DropoutAfter: 2.5, MaxGap: 30 * time.Second})
		doc := func(at time.Time, kind event.DocKind, v int64, made time.Time) event.ShadowDoc {
			d := event.ShadowDoc{At: at, Kind: kind, Version: v, Timestamp: at.Add(-skew).Unix(), Reported: map[string]any{"seq": float64(v)},
				ReportedMetadata: map[string]any{"seq": map[string]any{"timestamp": float64(made.Add(-skew).Unix())}}}
			return d
		}
		for i := 1; i <= 10; i++ {
			m.Apply(doc(sec(float64(i)), event.DocAccepted, int64(i), sec(float64(i))))
		}
		m.Apply(event.Link{At: sec(10.5), State: event.LinkDown})
		// The device died at 12 s, while iotwatch was blind.
		m.Apply(event.Link{At: sec(30), State: event.LinkUp})
		m.Apply(doc(sec(30), event.DocGet, 12, sec(12)))
		m.Tick(sec(31))
		st := m.Stats(sec(31))
		if !st.Skew.Known || (st.Skew.Offset-skew).Abs() > time.Second || len(st.Dropouts) != 1 || st.Dropouts[0].Start.Sub(sec(13)).Abs() > time.Second {
			t.Fatalf("skew %s: measured %+v dropouts %+v", skew, st.Skew, st.Dropouts)
		}
	}
}

// Availability without a report is unknown, not 0 or 100.
func TestAvailabilityWithoutReportsIsUnknown(t *testing.T) {
	m := up(o30)
	m.Tick(sec(60))
	if a, observed, _ := m.Availability(sec(60)); !math.IsNaN(a) || observed == 0 {
		t.Fatalf("availability %v observed %s", a, observed)
	}
	if s := m.Snapshot(sec(60)); !math.IsNaN(s.Availability) {
		t.Fatalf("snapshot availability %v", s.Availability)
	}
}

// Case 5: a thing found 40 s into the run: the time before is unwatched.
func TestBeginMakesTheTimeBeforeTheThingWasFoundUnwatched(t *testing.T) {
	m := New(o30)
	m.Begin(t0)
	m.Apply(event.Session{At: sec(40), Thing: "fl-001"})
	m.Apply(event.Link{At: sec(40), State: event.LinkUp})
	for i := 41; i <= 60; i++ {
		m.Apply(report(sec(float64(i)), int64(i), map[string]any{"interval_s": 1.0}))
	}
	st := m.Stats(sec(60))
	if st.Span != time.Minute || st.Unwatched != 40*time.Second || st.Observed != 20*time.Second {
		t.Fatalf("span %s unwatched %s observed %s", st.Span, st.Unwatched, st.Observed)
	}
}

// A device that died while iotwatch stood still: the reports that queued
// are placed where the device made them, so a read after the stall shows
// the silence from the last of them, not from their late delivery.
func TestReportsQueuedByAStallArePlaced(t *testing.T) {
	m := up(o30)
	m.Apply(event.ShadowDoc{At: sec(0.2), Kind: event.DocGet, Version: 0})
	for i := 1; i <= 10; i++ {
		m.Apply(withMeta(sec(float64(i)), sec(float64(i)), int64(i), map[string]any{"seq": float64(i), "interval_s": 1.0}))
	}
	m.Apply(event.Stall{Since: sec(10.25), At: sec(50)})
	for i := 11; i <= 15; i++ { // made before the device died at 15.5 s
		m.Apply(withMeta(sec(50), sec(float64(i)+0.5), int64(i), map[string]any{"seq": float64(i), "interval_s": 1.0}))
	}
	m.Apply(event.ShadowDoc{At: sec(50.5), Kind: event.DocGet, Version: 15, Reported: map[string]any{"seq": 15.0, "interval_s": 1.0},
		ReportedMetadata: withMeta(t0, sec(15.5), 0, map[string]any{"seq": 1.0}).ReportedMetadata})
	m.Tick(sec(51))
	st := m.Stats(sec(51))
	if len(st.Dropouts) != 1 || !st.Dropouts[0].Start.Equal(sec(15.5)) || !m.LastReport().Equal(sec(15.5)) {
		t.Fatalf("dropouts %+v last report %s", st.Dropouts, m.LastReport())
	}
}

// Reports queued by a stall as AWS delivers them: whole-second metadata,
// each as update/accepted and update/documents (or documents alone, a
// fleet's subscription). A queued document is the shadow as its report left
// it, not a read of now: no dropout opens between the queued reports, each
// is counted once, and a device that died during the stall is still found
// by the read after it, from its last queued report.
func TestQueuedDocumentsAfterAStall(t *testing.T) {
	doc := func(kind event.DocKind, at time.Time, s int) event.ShadowDoc {
		ts := map[string]any{"timestamp": float64(sec(float64(s)).Unix())}
		return event.ShadowDoc{At: at, Kind: kind, Version: int64(s), Reported: map[string]any{"seq": float64(s), "temp": 20.0},
			ReportedMetadata: map[string]any{"seq": ts, "temp": ts}}
	}
	for _, tc := range []struct {
		name      string
		documents bool // ReportsInDocuments: no update/accepted
		diesAt    int  // the device's last report; 0: it never dies
	}{
		{"accepted+documents", false, 0},
		{"documents alone", true, 0},
		{"accepted+documents, dead in the stall", false, 15},
		{"documents alone, dead in the stall", true, 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := o30
			o.ReportsInDocuments = tc.documents
			m := up(o)
			deliver := func(at time.Time, s int) {
				if !tc.documents {
					m.Apply(doc(event.DocAccepted, at, s))
				}
				m.Apply(doc(event.DocCurrent, at.Add(time.Millisecond), s))
			}
			for s := 1; s <= 10; s++ {
				m.Tick(sec(float64(s) - 0.5))
				deliver(sec(float64(s)+0.03), s)
			}
			m.Apply(event.Stall{Since: sec(10.25), At: sec(50.3)})
			last := 50
			if tc.diesAt > 0 {
				last = tc.diesAt
			}
			for s := 11; s <= last; s++ {
				deliver(sec(50.3), s)
			}
			m.Apply(doc(event.DocGet, sec(50.4), last))
			if tc.diesAt > 0 {
				m.Tick(sec(51))
				st := m.Stats(sec(51))
				// Whole second 15 is taken at its end.
				if len(st.Dropouts) != 1 || !st.Dropouts[0].Start.Equal(sec(float64(tc.diesAt+1))) || !st.Dropouts[0].End.IsZero() || st.Reports != tc.diesAt {
					t.Fatalf("dropouts %+v reports %d; want one open from %d s, %d reports", st.Dropouts, st.Reports, tc.diesAt+1, tc.diesAt)
				}
				return
			}
			for s := 51; s <= 60; s++ {
				m.Tick(sec(float64(s) - 0.5))
				deliver(sec(float64(s)+0.03), s)
			}
			st := m.Stats(sec(60.5))
			if len(st.Dropouts) != 0 || st.Reports != 60 || st.LostReports != 0 || st.Unheard.Stalls != 1 || st.Unheard.Stalled != 40050*time.Millisecond || st.LongestGap > 2*time.Second {
				t.Fatalf("dropouts %+v reports %d lost %d stalls %d (%s) longest gap %s", st.Dropouts, st.Reports, st.LostReports, st.Unheard.Stalls, st.Unheard.Stalled, st.LongestGap)
			}
		})
	}
}

// A silence that passed the threshold before iotwatch stood still counts,
// even when no tick came between (a replay of the log).
func TestSilenceBeforeAStallCounts(t *testing.T) {
	m := up(Options{Field: "temp", DropoutAfter: 2.5, Interval: time.Second, MaxGap: 30 * time.Second})
	m.Apply(report(sec(1), 1, map[string]any{"seq": 1.0}))
	m.Apply(event.Stall{Since: sec(12), At: sec(40)})
	if st := m.Stats(sec(40)); len(st.Dropouts) != 1 || !st.Dropouts[0].Start.Equal(sec(1)) {
		t.Fatalf("dropouts %+v", st.Dropouts)
	}
}

// A disconnect heard while iotwatch was deaf (presence still arrives) keeps
// its dropout when the silence dropout open then is withdrawn.
func TestDisconnectHeardWhileDeafStillCounts(t *testing.T) {
	m := up(o30)
	m.Apply(event.ShadowDoc{At: sec(0.2), Kind: event.DocGet, Version: 0})
	m.Apply(withMeta(sec(1), sec(1), 1, map[string]any{"seq": 1.0, "interval_s": 1.0}))
	m.Tick(sec(5)) // deaf since 1 s: the device seems silent
	if m.DropoutCount() != 1 {
		t.Fatal("no silence dropout")
	}
	m.Apply(event.Presence{At: sec(8), ClientID: "t1", EventType: "disconnected", VersionNumber: 2, DisconnectReason: "CONNECTION_LOST"})
	m.Apply(event.ShadowDoc{At: sec(15), Kind: event.DocGet, Version: 7, Reported: map[string]any{"seq": 7.0},
		ReportedMetadata: withMeta(t0, sec(7), 0, map[string]any{"seq": 1.0}).ReportedMetadata})
	st := m.Stats(sec(15))
	if len(st.Dropouts) != 1 || st.Dropouts[0].Cause != "CONNECTION_LOST" || st.Unheard.DeafSpells != 1 {
		t.Fatalf("dropouts %+v deaf %+v", st.Dropouts, st.Unheard)
	}
}
