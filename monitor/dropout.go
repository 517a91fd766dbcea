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

// Every silence counts: the one before the first report (from when iotwatch
// began to watch) and the one still open at the end are gaps like any other.
// The threshold is DropoutAfter × the expected interval, never more than
// MaxGap (a device's own interval_s cannot hide a silence that breaks
// max_gap); without an expected interval it is MaxGap, or NoIntervalThreshold
// without one.
//
// iotwatch is also blind while it cannot hear although its link is up: while
// it stood still (a Stall event), for the events it dropped (Overflow), and
// while deaf (a read shows the shadow's version and reported metadata moved
// on without iotwatch hearing the updates: blind from the last update it
// heard until it hears one again). Dropouts it opened by silence in such
// time are withdrawn: the silence was iotwatch's.

// NoIntervalThreshold is the silence threshold when no interval is expected
// (no [soak] interval, no interval_s, fewer than two reports) and MaxGap is
// not set.
const NoIntervalThreshold = time.Minute

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
	cause      blindCause
}

// blindCause says why a span was not watched.
type blindCause uint8

const (
	linkDown  blindCause = iota // iotwatch's link was down
	unwatched                   // no iotwatch ran
	stalled                     // iotwatch stood still
	deaf                        // the link was up but updates did not reach iotwatch
	dropped                     // iotwatch dropped events (its queue was full)
)

// soak is the dropout bookkeeping kept beside the state.
type soak struct {
	first, last time.Time   // first and latest event seen
	dropouts    []Dropout   // closed and open, in order
	seen        []time.Time // when iotwatch opened each dropout
	open        bool        // the last dropout is open
	takenOver   bool        // another client took the device's client id and the device has not reported since
	excluded    []span      // closed blind and unwatched spans, in order
	blindSince  time.Time   // start of the open blind span; zero while the link is up
	blindCause  blindCause
	watchSince  time.Time // when the current unbroken watch began (link up, or the end of a stall)
	linkUpAt    time.Time // when the link last came up (presence heard before may be stale)
	lastHeard   time.Time // the last update iotwatch heard (accepted, documents, delta)
	deaf        bool      // blind since lastHeard: the shadow moved on unheard
	skewMin     time.Duration
	skewN       int       // documents with a timestamp measured
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
	if since, ok := m.silenceSince(); ok && !m.s.open && now.Sub(since) > m.Threshold() {
		start := m.s.deviceLast
		if start.IsZero() {
			start = since // never reported: silent since iotwatch began to watch
		}
		m.openDropout(start, "silence", now)
	}
}

// silenceSince is since when iotwatch has watched the device silent: its
// last report, or the start of the current watch when iotwatch could not
// see what came before (never reported, or the shadow not yet read after a
// reconnect or a stall: the device may have reported meanwhile). ok is
// false while iotwatch cannot see.
func (m *Monitor) silenceSince() (since time.Time, ok bool) {
	if !m.s.blindSince.IsZero() || m.s.watchSince.IsZero() {
		return since, false
	}
	since = m.s.deviceLast
	if since.IsZero() || !m.s.fresh && m.s.watchSince.After(since) {
		since = m.s.watchSince
	}
	return since, true
}

// Threshold is the silence after which a dropout opens: DropoutAfter × the
// expected interval, at most MaxGap; MaxGap (else NoIntervalThreshold)
// without an expected interval.
func (m *Monitor) Threshold() time.Duration {
	limit := m.o.MaxGap
	if expected := m.Expected(); expected > 0 {
		th := time.Duration(max(m.o.DropoutAfter, 1) * float64(expected))
		if limit <= 0 || th < limit {
			return th
		}
		return limit
	}
	if limit <= 0 {
		return NoIntervalThreshold
	}
	return limit
}

// AnnouncedInterval is the interval_s the device reported when it is longer
// than MaxGap (the threshold ignores it then), else 0.
func (m *Monitor) AnnouncedInterval() time.Duration {
	if s, ok := m.Reported["interval_s"].(float64); ok && m.o.MaxGap > 0 && time.Duration(s*float64(time.Second)) > m.o.MaxGap {
		return time.Duration(s * float64(time.Second))
	}
	return 0
}

// closeSilence ends the watched silence at: it counts in the longest gap
// (the stretches iotwatch watched without a report, reports between two of
// them included).
func (m *Monitor) closeSilence(at time.Time) {
	m.s.gaps.longest = max(m.s.gaps.longest, m.openSilence(at))
}

// openSilence is the watched silence still open at now.
func (m *Monitor) openSilence(now time.Time) time.Duration {
	if ref := later(m.lastAt, m.s.watchSince); m.s.blindSince.IsZero() && !m.s.watchSince.IsZero() && now.After(ref) {
		return now.Sub(ref)
	}
	return 0
}

// blindAfter makes [from, to) blind after the fact (iotwatch stood still,
// dropped events, or was deaf): the watched silence ends at from, dropouts
// iotwatch opened by silence since from are withdrawn, and, for a closed
// span (to not zero), watching starts again at to without knowing what the
// device did meanwhile. An open span (deafness) stays blind until heard.
func (m *Monitor) blindAfter(from, to time.Time, cause blindCause) {
	if !m.s.blindSince.IsZero() || m.s.watchSince.IsZero() {
		return // already blind, or never watched: nothing more is unseen
	}
	from = later(from, m.s.watchSince)
	m.closeSilence(from)
	m.withdraw(from)
	if to.IsZero() {
		m.s.blindSince, m.s.blindCause = from, cause
		return
	}
	m.exclude(span{start: from, end: to, cause: cause})
	m.s.watchSince, m.s.fresh = later(to, from), false
}

// withdraw removes the silence dropouts opened after from.
func (m *Monitor) withdraw(from time.Time) {
	n := len(m.s.dropouts)
	for n > 0 && m.s.dropouts[n-1].Cause == "silence" && m.s.seen[n-1].After(from) {
		m.log(from, Warn, "the dropout from %s is withdrawn: iotwatch did not hear the device then", m.s.dropouts[n-1].Start.Format("15:04:05"))
		n--
		m.s.open = false
	}
	m.s.dropouts, m.s.seen = m.s.dropouts[:n], m.s.seen[:n]
	// A disconnect heard meanwhile still counts: its dropout was folded
	// into the withdrawn one.
	if p := m.Presence; p.EventType == "disconnected" && p.At.After(from) && !m.s.open && !m.s.deviceLast.IsZero() {
		m.openDropout(m.s.deviceLast, p.DisconnectReason, p.At)
	}
}

func (m *Monitor) openDropout(start time.Time, cause string, at time.Time) {
	if m.s.takenOver {
		// The kicked session's event arrives after its successor's connect
		// and changes no state, so the silence or the successor's own
		// disconnect opens the dropout: the takeover is its cause.
		cause = "DUPLICATE_CLIENTID"
	}
	m.s.dropouts, m.s.seen = append(m.s.dropouts, Dropout{Start: start, Cause: cause}), append(m.s.seen, at)
	m.s.open = true
	m.log(at, Bad, "dropout: device silent since %s (%s)", start.Format("15:04:05"), cause)
}

func (m *Monitor) closeDropout(at time.Time) {
	d := &m.s.dropouts[len(m.s.dropouts)-1]
	d.End, m.s.open = later(at, d.Start), false
	m.log(at, Good, "dropout ended after %s", d.Duration(at).Round(100*time.Millisecond))
}

// noteReport closes an open dropout and records the gap unless it
// overlapped time iotwatch did not watch; the watched silence before it
// counts in the longest gap either way.
func (m *Monitor) noteReport(at time.Time) {
	m.closeSilence(at)
	blind := !m.lastAt.IsZero() && m.excludedBetween(m.lastAt, at) > 0
	if m.s.open {
		m.closeDropout(at)
	}
	if !blind && !m.lastAt.IsZero() {
		m.s.gaps.add(at.Sub(m.lastAt))
	}
	m.s.deviceLast = later(m.s.deviceLast, at)
	m.s.takenOver = false
}

// noteShadowRead takes the device's last report time from a full document's
// metadata: a report made while iotwatch was blind moves it on, and one that
// ends an open dropout closes it there (inside the blind time, so the
// dropout's blind part still takes nothing from availability).
//
// A queued update/documents (delivered after a stall) is the shadow as that
// report left it, not as it is now: reports made after it may still be
// queued behind it, so it does not make the shadow read (fresh), or the
// silence would be measured from its report and a dropout open between
// queued reports.
func (m *Monitor) noteShadowRead(d event.ShadowDoc) {
	if _, queued := m.queued(d); m.s.blindSince.IsZero() && (d.Kind == event.DocGet || !queued) {
		m.s.fresh = true
	}
	last, news := m.readLast(d, m.s.deviceLast)
	if !news || m.disconnectedBefore(last) {
		return // no newer report, or one another client wrote
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
	last = m.metaTime(d.ReportedMetadata)
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

// metaTime is the newest timestamp of metadata on iotwatch's clock: the
// service's time corrected by the skew measured, in whole seconds (so that
// AWS's whole-second stamps stay whole).
func (m *Monitor) metaTime(meta map[string]any) time.Time {
	t := latestTimestamp(meta)
	if t.IsZero() {
		return t
	}
	return t.Add(m.skewCorrection())
}

// noteTime keeps the first and latest event times.
func (m *Monitor) noteTime(at time.Time) {
	if m.s.first.IsZero() {
		m.s.first = at
		if m.s.blindSince.IsZero() && m.s.watchSince.IsZero() {
			m.s.watchSince = at // no link state known (a test, an old log): watching
		}
	}
	m.s.last = later(m.s.last, at)
}

// noteSession starts a run of iotwatch: the time since the previous run's
// last event was unwatched, and the new run is blind until its link is up.
func (m *Monitor) noteSession(at time.Time) {
	m.s.runs++
	if !m.s.last.IsZero() && at.After(m.s.last) {
		if !m.s.blindSince.IsZero() {
			m.exclude(span{start: m.s.blindSince, end: m.s.last, cause: m.s.blindCause})
		}
		m.closeSilence(m.s.last)
		m.exclude(span{start: m.s.last, end: at, cause: unwatched})
		m.log(at, Warn, "iotwatch started again: %s since the previous run's last event were not watched", at.Sub(m.s.last).Round(time.Second))
	}
	m.s.blindSince, m.s.blindCause, m.s.fresh, m.rebase, m.s.deaf = at, linkDown, false, true, false
}

// Begin says the run began at at, before the monitor's first event (a
// thing a fleet found only later): the time until its first session was
// not watched. It does nothing once an event was applied.
func (m *Monitor) Begin(at time.Time) {
	if m.s.first.IsZero() {
		m.s.blindSince, m.s.blindCause = at, linkDown
		m.noteTime(at)
	}
}

func (m *Monitor) noteLink(l event.Link) {
	up := l.State == event.LinkUp
	switch {
	case !up && m.s.blindSince.IsZero():
		m.closeSilence(l.At)
		m.s.blindSince, m.s.blindCause = l.At, linkDown
	case up && !m.s.blindSince.IsZero():
		m.endBlind(l.At)
	}
	if up {
		m.s.watchSince, m.s.linkUpAt, m.s.everUp, m.s.fresh = l.At, l.At, true, false
	}
	m.rebase = true // documents of a new connection may come before it is up
}

// endBlind closes the open blind span at.
func (m *Monitor) endBlind(at time.Time) {
	m.exclude(span{start: m.s.blindSince, end: at, cause: m.s.blindCause})
	m.s.blindSince, m.s.deaf = time.Time{}, false
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
	Unheard                       Unheard // the part of Blind iotwatch's link was up
	UnwatchedGaps                 int     // gaps between runs appended to one log
	Runs                          int     // sessions of iotwatch (0 for logs from before sessions)
	EverConnected                 bool
	LongestGap, MTBF              time.Duration // MTBF is zero without dropouts
	Availability                  float64       // percent of observed time; NaN when nothing was observed or the device never reported
	Dropouts                      []Dropout
	GapP50, GapP95, GapP99        time.Duration
	RoundTripP50, RoundTripP95    time.Duration
	RoundTrips                    int
	Reports, Reboots, LostReports int
	Foreign                       int // reports written while the device's client id was disconnected: not the device's
	DeviceReconnects, Malformed   int
	Dropped, Rejections           int
	NotPlottable                  []string // fields whose value was a number beyond float64
	Threshold                     time.Duration
	AnnouncedInterval             time.Duration // the device's interval_s when longer than max_gap (ignored), else 0
	Skew                          Skew
	Vitals                        VitalsStats
	Jobs                          *JobStats // nil: no control plane answered (jobs.go)
}

// Unheard is blind time while iotwatch's link was up, by cause.
type Unheard struct {
	Stalled, Deaf, Dropped time.Duration
	Stalls, DeafSpells     int
}

// Skew is how far iotwatch's clock is ahead of the service's (negative:
// behind), measured from every document's timestamp: the least of arrival
// time − timestamp, so it is at most a second (whole-second timestamps)
// plus the quickest delivery more than the truth. Known is false before a
// document with a timestamp came.
type Skew struct {
	Known     bool
	Offset    time.Duration
	Documents int // documents measured
}

// Availability is the percentage of observed time (blind and unwatched time
// excluded) the device was not in dropout, NaN when nothing was observed yet
// or the device never reported (unknown, not 0 or 100); cheap enough for
// every frame.
func (m *Monitor) Availability(now time.Time) (percent float64, observed, blind time.Duration) {
	blind, unwatched, _, _ := m.excludedTotals(now)
	if !m.s.first.IsZero() {
		observed = now.Sub(m.s.first) - blind - unwatched
	}
	if observed <= 0 {
		return nan, 0, blind
	}
	if m.Counts.Reports == 0 {
		return nan, observed, blind
	}
	var down time.Duration
	for _, d := range m.s.dropouts {
		start, end := later(d.Start, m.s.first), d.End
		if end.IsZero() || end.After(now) {
			end = now
		}
		if end.After(start) {
			// A clock stepped back can make spans overlap: never less than none.
			down += max(0, end.Sub(start)-m.excludedBetween(start, end))
		}
	}
	// Only a log whose clock stepped back can make down exceed observed.
	return 100 * (1 - float64(min(down, observed))/float64(observed)), observed, blind
}

// excludedTotals sums blind and unwatched time up to now.
func (m *Monitor) excludedTotals(now time.Time) (blind, unwatchedTime time.Duration, gaps int, unheard Unheard) {
	add := func(c blindCause, d time.Duration) {
		switch c {
		case unwatched:
			unwatchedTime += d
			gaps++
			return
		case stalled:
			unheard.Stalled += d
			unheard.Stalls++
		case deaf:
			unheard.Deaf += d
			unheard.DeafSpells++
		case dropped:
			unheard.Dropped += d
		}
		blind += d
	}
	for _, sp := range m.s.excluded {
		add(sp.cause, sp.end.Sub(sp.start))
	}
	if !m.s.blindSince.IsZero() && now.After(m.s.blindSince) {
		add(m.s.blindCause, now.Sub(m.s.blindSince))
	}
	return blind, unwatchedTime, gaps, unheard
}

// Dropouts lists the dropouts so far (the last may be open); do not modify.
func (m *Monitor) Dropouts() []Dropout { return m.s.dropouts }

// DropoutCount is the number of dropouts so far.
func (m *Monitor) DropoutCount() int { return len(m.s.dropouts) }

// Stats computes the soak statistics at now.
func (m *Monitor) Stats(now time.Time) Stats {
	s := Stats{Dropouts: append([]Dropout(nil), m.s.dropouts...), Reports: m.Counts.Reports,
		Reboots: m.Counts.Reboots, LostReports: m.Counts.LostReports, DeviceReconnects: m.s.reconnects,
		Malformed: m.Counts.Malformed, Dropped: m.Counts.Dropped, Rejections: m.Counts.Rejections, Foreign: m.Counts.Foreign,
		RoundTripP50: m.RoundTripPercentile(50), RoundTripP95: m.RoundTripPercentile(95), RoundTrips: len(m.RoundTrip),
		Runs: m.s.runs, EverConnected: m.s.everUp, NotPlottable: m.NotPlottable(),
		Threshold: m.Threshold(), AnnouncedInterval: m.AnnouncedInterval(), Skew: m.Skew(), Vitals: m.vitals.stats(), Jobs: m.jobStats(now)}
	if !m.s.first.IsZero() {
		s.Span = now.Sub(m.s.first)
	}
	_, s.Unwatched, s.UnwatchedGaps, s.Unheard = m.excludedTotals(now)
	s.Availability, s.Observed, s.Blind = m.Availability(now)
	if len(s.Dropouts) > 0 {
		s.MTBF = s.Observed / time.Duration(len(s.Dropouts))
	}
	s.LongestGap = max(m.s.gaps.longest, m.openSilence(now))
	gaps := append([]time.Duration(nil), m.s.gaps.sample...)
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	if n := len(gaps); n > 0 {
		s.GapP50, s.GapP95, s.GapP99 = gaps[n*50/100], gaps[min(n-1, n*95/100)], gaps[min(n-1, n*99/100)]
	}
	return s
}
