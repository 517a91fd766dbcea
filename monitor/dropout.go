package monitor

import (
	"math"
	"sort"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// A dropout spans from the device's last report to its next one. It opens
// when no report has come for DropoutAfter × the expected interval, or at
// once on a lifecycle "disconnected" event, and closes at the next report.
//
// iotwatch cannot see the device while its own link is down (blind time) or
// while no iotwatch runs at all (unwatched time: between the runs that append
// to one log). Neither is ever counted as the device's fault: it is left out
// of the observed time and of the time a dropout takes from availability. But
// a device that died while iotwatch could not see it still counts: after a
// reconnect the shadow's metadata says when the device last reported; if that
// is longer ago than the threshold, the dropout opens from that report at
// once, and if no answer comes it opens the threshold after the reconnect.

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

// span is a stretch iotwatch did not watch.
type span struct {
	start, end time.Time
	unwatched  bool // no iotwatch ran (else its link was down: blind)
}

// soak is the dropout bookkeeping kept beside the state.
type soak struct {
	first, last time.Time // first and latest event seen
	dropouts    []Dropout // closed and open, in order
	open        bool      // the last dropout is open
	excluded    []span    // closed blind and unwatched spans, in order
	blindSince  time.Time // start of the open blind span; zero while the link is up
	upSince     time.Time // when the link last came up
	everUp      bool      // the link was up at least once
	fresh       bool      // the shadow was read since the link came up
	deviceLast  time.Time // the device's last report, seen or read from the shadow's metadata
	seqAt       time.Time // when LastSeq was learnt (or confirmed by a read)
	seqReportAt time.Time // when the device made that report
	uptime      float64   // the device's last known uptime_s
	uptimeAt    time.Time // when the device reported it
	runs        int       // sessions (runs of iotwatch) seen
	gaps        gapSample // report gaps outside blind time
	reconnects  int       // device connected events after the first
	connects    int
}

// gapSample keeps the longest report gap and a uniform sample of all of
// them (reservoir sampling, with a fixed generator so that a replay samples
// what the live run sampled) for the percentiles, in bounded memory.
type gapSample struct {
	max     int // sample size (Options.MaxGapSamples)
	longest time.Duration
	n       uint64
	sample  []time.Duration
	rng     uint64
}

const maxGapSamples = 200000

func (g *gapSample) add(d time.Duration) {
	g.longest = max(g.longest, d)
	g.n++
	if len(g.sample) < g.max {
		g.sample = append(g.sample, d)
		return
	}
	g.rng = g.rng*6364136223846793005 + 1442695040888963407
	if i := (g.rng >> 1) % g.n; i < uint64(g.max) {
		g.sample[i] = d
	}
}

// Tick opens a silence dropout when the device is overdue. Apply ticks at
// each event's time too, so a replay without ticks finds the same dropouts.
func (m *Monitor) Tick(now time.Time) {
	if !m.s.open && m.overdue(now) {
		m.openDropout(m.s.deviceLast, "silence", now)
	}
}

// overdue says whether the device has been silent longer than the threshold
// while iotwatch could see it. Until the shadow has been read after a
// reconnect, the silence is counted from the reconnect: the device may have
// reported while iotwatch was blind.
func (m *Monitor) overdue(now time.Time) bool {
	expected := m.Expected()
	if m.s.deviceLast.IsZero() || expected == 0 || !m.s.blindSince.IsZero() {
		return false
	}
	since := m.s.deviceLast
	if !m.s.fresh && m.s.upSince.After(since) {
		since = m.s.upSince
	}
	return float64(now.Sub(since)) > m.o.DropoutAfter*float64(expected)
}

func (m *Monitor) openDropout(start time.Time, cause string, at time.Time) {
	m.s.dropouts = append(m.s.dropouts, Dropout{Start: start, Cause: cause})
	m.s.open = true
	m.log(at, Bad, "dropout: device silent since %s (%s)", start.Format("15:04:05"), cause)
}

func (m *Monitor) closeDropout(at time.Time) {
	d := &m.s.dropouts[len(m.s.dropouts)-1]
	d.End, m.s.open = later(at, d.Start), false
	m.log(at, Good, "dropout ended after %s", d.Duration(at).Round(100*time.Millisecond))
}

// noteReport closes an open dropout and records the gap unless it
// overlapped time iotwatch did not watch.
func (m *Monitor) noteReport(at time.Time) {
	blind := !m.lastAt.IsZero() && m.excludedBetween(m.lastAt, at) > 0
	if m.s.open {
		m.closeDropout(at)
	}
	if !blind && !m.lastAt.IsZero() {
		m.s.gaps.add(at.Sub(m.lastAt))
	}
	m.s.deviceLast = later(m.s.deviceLast, at)
}

// noteShadowRead takes the device's last report time from a full document's
// metadata: a report made while iotwatch was blind moves it on, and one that
// ends an open dropout closes it there (inside the blind time, so the
// dropout's blind part still takes nothing from availability).
func (m *Monitor) noteShadowRead(d event.ShadowDoc) {
	if m.s.blindSince.IsZero() {
		m.s.fresh = true
	}
	last, news := m.readLast(d, m.s.deviceLast)
	if !news {
		return
	}
	if !m.s.deviceLast.IsZero() && m.excludedBetween(m.s.deviceLast, d.At) == 0 {
		return // iotwatch watched throughout: its own reports are exact
	}
	m.s.deviceLast = last
	if m.s.open {
		// The device came back while iotwatch was blind; Tick opens a
		// new dropout if it has been silent again since.
		m.closeDropout(last)
	}
}

// readLast is when the device last reported as a full document's metadata
// tell it, and whether that is later than known (the last report iotwatch
// knew of). AWS writes whole seconds: a report of second S is the one known
// when known falls in S and seq says it is the same, and else is taken at
// the end of S (never earlier than it can have been, so a device that
// reported is never taken for silent), but not after the document arrived.
func (m *Monitor) readLast(d event.ShadowDoc, known time.Time) (last time.Time, news bool) {
	last = latestTimestamp(d.ReportedMetadata)
	seq, hasSeq := d.Reported["seq"].(float64)
	same := !hasSeq || seq == m.LastSeq
	switch {
	case last.IsZero():
		return last, false
	case last.Nanosecond() != 0:
		return last, last.After(known)
	case same && !known.Before(last):
		return known, false // the report iotwatch knew (in S, or its estimate)
	case !same && !known.Before(last.Add(time.Second)):
		return last, false // older than the one iotwatch knew
	}
	end := last.Add(time.Second)
	if d.At.Before(end) {
		end = d.At
	}
	return end, true
}

// latestTimestamp is the newest {"timestamp": seconds} leaf of metadata.
func latestTimestamp(meta map[string]any) time.Time {
	var newest float64
	var walk func(v any)
	walk = func(v any) {
		switch n := v.(type) {
		case map[string]any:
			for k, c := range n {
				if f, ok := c.(float64); ok && k == "timestamp" {
					newest = max(newest, f)
				} else {
					walk(c)
				}
			}
		case []any:
			for _, c := range n {
				walk(c)
			}
		}
	}
	walk(meta)
	if newest <= 0 {
		return time.Time{}
	}
	// AWS writes whole seconds; fractions (tests, other services) are
	// kept to the microsecond.
	sec, frac := math.Modf(newest)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3)
}

// noteTime keeps the first and latest event times.
func (m *Monitor) noteTime(at time.Time) {
	if m.s.first.IsZero() {
		m.s.first = at
	}
	m.s.last = later(m.s.last, at)
}

// noteSession starts a run of iotwatch: the time since the previous run's
// last event was unwatched, and the new run is blind until its link is up.
func (m *Monitor) noteSession(at time.Time) {
	m.s.runs++
	if !m.s.last.IsZero() && at.After(m.s.last) {
		if !m.s.blindSince.IsZero() {
			m.exclude(span{start: m.s.blindSince, end: m.s.last})
		}
		m.exclude(span{start: m.s.last, end: at, unwatched: true})
		m.log(at, Warn, "iotwatch started again: %s since the previous run's last event were not watched", at.Sub(m.s.last).Round(time.Second))
	}
	m.s.blindSince, m.s.fresh, m.rebase = at, false, true
}

func (m *Monitor) noteLink(l event.Link) {
	up := l.State == event.LinkUp
	switch {
	case !up && m.s.blindSince.IsZero():
		m.s.blindSince = l.At
	case up && !m.s.blindSince.IsZero():
		m.exclude(span{start: m.s.blindSince, end: l.At})
		m.s.blindSince = time.Time{}
	}
	if up {
		m.s.upSince, m.s.everUp, m.s.fresh = l.At, true, false
	}
	m.rebase = true // documents of a new connection may come before it is up
}

// exclude records a span iotwatch did not watch. A clock stepped back (a
// replayed log's wall times) can make one end before it starts or before
// the previous one ends: only the new part counts.
func (m *Monitor) exclude(sp span) {
	if n := len(m.s.excluded); n > 0 {
		sp.start = later(sp.start, m.s.excluded[n-1].end)
	}
	if sp.end.After(sp.start) {
		m.s.excluded = append(m.s.excluded, sp)
	}
}

func (m *Monitor) notePresence(p event.Presence) {
	switch p.EventType {
	case "connected":
		m.s.connects++
		if m.s.connects > 1 {
			m.s.reconnects++
		}
	case "disconnected":
		if !m.s.open && !m.s.deviceLast.IsZero() {
			m.openDropout(m.s.deviceLast, p.DisconnectReason, p.At)
		}
	}
}

// excludedBetween is how much of [from, to) iotwatch did not watch.
func (m *Monitor) excludedBetween(from, to time.Time) time.Duration {
	var total time.Duration
	// Spans are in order: skip those that end before from.
	i := sort.Search(len(m.s.excluded), func(i int) bool { return m.s.excluded[i].end.After(from) })
	for _, sp := range m.s.excluded[i:] {
		if !sp.start.Before(to) {
			break
		}
		total += overlap(sp.start, sp.end, from, to)
	}
	if !m.s.blindSince.IsZero() {
		total += overlap(m.s.blindSince, later(to, m.s.blindSince), from, to)
	}
	return total
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func overlap(aStart, aEnd, bStart, bEnd time.Time) time.Duration {
	start, end := later(aStart, bStart), aEnd
	if bEnd.Before(end) {
		end = bEnd
	}
	if end.Before(start) {
		return 0
	}
	return end.Sub(start)
}

// Stats are the soak statistics. Durations that have no data yet are zero
// and flagged (Observed == 0, no dropouts, no gaps): views show "–" then.
type Stats struct {
	Span                          time.Duration // first event to now
	Observed                      time.Duration // Span less blind and unwatched time
	Blind, Unwatched              time.Duration
	UnwatchedGaps                 int // gaps between runs appended to one log
	Runs                          int // sessions of iotwatch (0 for logs from before sessions)
	EverConnected                 bool
	LongestGap, MTBF              time.Duration // MTBF is zero without dropouts
	Availability                  float64       // percent of observed time; NaN when nothing was observed
	Dropouts                      []Dropout
	GapP50, GapP95, GapP99        time.Duration
	RoundTripP50, RoundTripP95    time.Duration
	RoundTrips                    int
	Reports, Reboots, LostReports int
	DeviceReconnects, Malformed   int
	Dropped, Rejections           int
	NotPlottable                  []string // fields whose value was a number beyond float64
	Vitals                        VitalsStats
}

// Availability is the percentage of observed time (blind and unwatched time
// excluded) the device was not in dropout, NaN when nothing was observed yet;
// cheap enough for every frame.
func (m *Monitor) Availability(now time.Time) (percent float64, observed, blind time.Duration) {
	blind, unwatched, _ := m.excludedTotals(now)
	if !m.s.first.IsZero() {
		observed = now.Sub(m.s.first) - blind - unwatched
	}
	if observed <= 0 {
		return nan, 0, blind
	}
	var down time.Duration
	for _, d := range m.s.dropouts {
		start, end := later(d.Start, m.s.first), d.End
		if end.IsZero() || end.After(now) {
			end = now
		}
		if end.After(start) {
			down += end.Sub(start) - m.excludedBetween(start, end)
		}
	}
	// Only a log whose clock stepped back can make down exceed observed.
	return 100 * (1 - float64(min(down, observed))/float64(observed)), observed, blind
}

// excludedTotals sums blind and unwatched time up to now.
func (m *Monitor) excludedTotals(now time.Time) (blind, unwatched time.Duration, gaps int) {
	for _, sp := range m.s.excluded {
		if sp.unwatched {
			unwatched += sp.end.Sub(sp.start)
			gaps++
		} else {
			blind += sp.end.Sub(sp.start)
		}
	}
	if !m.s.blindSince.IsZero() && now.After(m.s.blindSince) {
		blind += now.Sub(m.s.blindSince)
	}
	return blind, unwatched, gaps
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
		RoundTripP50: m.RoundTripPercentile(50), RoundTripP95: m.RoundTripPercentile(95), RoundTrips: len(m.RoundTrip),
		Runs: m.s.runs, EverConnected: m.s.everUp, NotPlottable: m.NotPlottable(), Vitals: m.vitals.stats()}
	if !m.s.first.IsZero() {
		s.Span = now.Sub(m.s.first)
	}
	_, s.Unwatched, s.UnwatchedGaps = m.excludedTotals(now)
	s.Availability, s.Observed, s.Blind = m.Availability(now)
	if len(s.Dropouts) > 0 {
		s.MTBF = s.Observed / time.Duration(len(s.Dropouts))
	}
	s.LongestGap = m.s.gaps.longest
	gaps := append([]time.Duration(nil), m.s.gaps.sample...)
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	if n := len(gaps); n > 0 {
		s.GapP50, s.GapP95, s.GapP99 = gaps[n*50/100], gaps[min(n-1, n*95/100)], gaps[min(n-1, n*99/100)]
	}
	return s
}
