package monitor

import (
	"sort"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// A dropout spans from the device's last report to its next one. It is
// detected when no report has come for DropoutAfter × the expected interval
// (Tick), or at once on a lifecycle "disconnected" event, and closed by the
// next report. Time while iotwatch's own link is down is blind: gaps that
// overlap it are never dropouts, and seq jumps across it are not lost reports.

// Dropout is one device outage.
type Dropout struct {
	Start, End time.Time // End is zero while open
	Cause      string    // "silence" or AWS's disconnectReason
}

// Duration of the dropout, up to now while it is open.
func (d Dropout) Duration(now time.Time) time.Duration {
	if d.End.IsZero() {
		return now.Sub(d.Start)
	}
	return d.End.Sub(d.Start)
}

// soak is the dropout bookkeeping kept beside the state.
type soak struct {
	first       time.Time       // first event seen
	dropouts    []Dropout       // closed and open, in order
	open        bool            // the last dropout is open
	blindSince  time.Time       // zero while the link is up
	blindTotal  time.Duration   // closed blind time
	blindMarker time.Time       // end of the latest blind period
	allGaps     []time.Duration // report gaps outside blind time (bounded)
	reconnects  int             // device connected events after the first
	connects    int
}

const maxGapSamples = 200000

// Tick opens a silence dropout when the device is overdue.
func (m *Monitor) Tick(now time.Time) {
	expected := m.Expected()
	if m.lastAt.IsZero() || expected == 0 || m.s.open || !m.s.blindSince.IsZero() || m.s.blindMarker.After(m.lastAt) {
		return
	}
	if float64(now.Sub(m.lastAt)) > m.o.DropoutAfter*float64(expected) {
		m.openDropout(m.lastAt, "silence", now)
	}
}

func (m *Monitor) openDropout(start time.Time, cause string, at time.Time) {
	m.s.dropouts = append(m.s.dropouts, Dropout{Start: start, Cause: cause})
	m.s.open = true
	m.log(at, Bad, "dropout: device silent since %s (%s)", start.Format("15:04:05"), cause)
}

// noteReport closes an open dropout and records the gap; it returns whether
// the gap overlapped blind time.
func (m *Monitor) noteReport(at time.Time) (blind bool) {
	m.noteFirst(at)
	blind = !m.lastAt.IsZero() && (m.s.blindMarker.After(m.lastAt) || !m.s.blindSince.IsZero())
	if m.s.open {
		d := &m.s.dropouts[len(m.s.dropouts)-1]
		d.End, m.s.open = at, false
		m.log(at, Good, "dropout ended after %s", d.Duration(at).Round(100*time.Millisecond))
	} else if !blind && !m.lastAt.IsZero() && m.Expected() > 0 &&
		float64(at.Sub(m.lastAt)) > m.o.DropoutAfter*float64(m.Expected()) {
		// Found by the report itself (no Tick in between, as when replaying).
		m.s.dropouts = append(m.s.dropouts, Dropout{Start: m.lastAt, End: at, Cause: "silence"})
		m.log(at, Bad, "dropout of %s ended", at.Sub(m.lastAt).Round(100*time.Millisecond))
	}
	if !blind && !m.lastAt.IsZero() && len(m.s.allGaps) < m.o.MaxGapSamples {
		m.s.allGaps = append(m.s.allGaps, at.Sub(m.lastAt))
	}
	return blind
}

func (m *Monitor) noteFirst(at time.Time) {
	if m.s.first.IsZero() {
		m.s.first = at
	}
}

func (m *Monitor) noteLink(l event.Link) {
	m.noteFirst(l.At)
	up := l.State == event.LinkUp
	switch {
	case !up && m.s.blindSince.IsZero():
		m.s.blindSince = l.At
	case up && !m.s.blindSince.IsZero():
		m.s.blindTotal += l.At.Sub(m.s.blindSince)
		m.s.blindMarker, m.s.blindSince = l.At, time.Time{}
	}
}

func (m *Monitor) notePresence(p event.Presence) {
	m.noteFirst(p.At)
	switch p.EventType {
	case "connected":
		m.s.connects++
		if m.s.connects > 1 {
			m.s.reconnects++
		}
	case "disconnected":
		if !m.s.open && !m.lastAt.IsZero() {
			m.openDropout(m.lastAt, p.DisconnectReason, p.At)
		}
	}
}

// Stats are the soak statistics.
type Stats struct {
	Observed, Blind, LongestGap, MTBF time.Duration
	Availability                      float64 // percent of observed time, blind time excluded
	Dropouts                          []Dropout
	GapP50, GapP95, GapP99            time.Duration
	RoundTripP50, RoundTripP95        time.Duration
	Reports, Reboots, LostReports     int
	DeviceReconnects, Malformed       int
	Dropped, Rejections               int
}

// Availability is the percentage of observed time (blind time excluded)
// the device was not in dropout; cheap enough for every frame.
func (m *Monitor) Availability(now time.Time) (percent float64, observed, blind time.Duration) {
	blind = m.s.blindTotal
	if !m.s.blindSince.IsZero() {
		blind += now.Sub(m.s.blindSince)
	}
	if !m.s.first.IsZero() {
		observed = now.Sub(m.s.first) - blind
	}
	var down time.Duration
	for _, d := range m.s.dropouts {
		down += d.Duration(now)
	}
	percent = 100
	if observed > 0 {
		percent = 100 * (1 - float64(down)/float64(observed))
	}
	return percent, observed, blind
}

// Dropouts lists the dropouts so far (the last may be open); do not modify.
func (m *Monitor) Dropouts() []Dropout { return m.s.dropouts }

// DropoutCount is the number of dropouts so far.
func (m *Monitor) DropoutCount() int { return len(m.s.dropouts) }

// Stats computes the soak statistics at now.
func (m *Monitor) Stats(now time.Time) Stats {
	s := Stats{Dropouts: append([]Dropout(nil), m.s.dropouts...), Reports: m.Counts.Reports,
		Reboots: m.Counts.Reboots, LostReports: m.Counts.LostReports, DeviceReconnects: m.s.reconnects,
		Malformed: m.Counts.Malformed, Dropped: m.Counts.Dropped, Rejections: m.Counts.Rejections,
		RoundTripP50: m.RoundTripPercentile(50), RoundTripP95: m.RoundTripPercentile(95)}
	s.Availability, s.Observed, s.Blind = m.Availability(now)
	s.MTBF = s.Observed / time.Duration(len(s.Dropouts)+1)
	gaps := append([]time.Duration(nil), m.s.allGaps...)
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	if n := len(gaps); n > 0 {
		s.LongestGap = gaps[n-1]
		s.GapP50, s.GapP95, s.GapP99 = gaps[n*50/100], gaps[min(n-1, n*95/100)], gaps[min(n-1, n*99/100)]
	}
	return s
}
