package report

// The verdict oracle (issue 19): random timelines of what a device did and
// what happened to iotwatch are turned into the events a soak would have
// received; the real monitor and verdict judge them, and the outcome is
// checked against the verdict's rules stated on the timeline's own record,
// not on the monitor's reasoning:
//
//   - The record: when the device reported (and when another client wrote
//     its shadow), when its client id disconnected, when iotwatch's link was
//     up, when iotwatch stood still, dropped events or was deaf, the clocks'
//     skew, how the run ended.
//   - Watched stretches: iotwatch's link was up and it heard. A stall or
//     dropped events cut a stretch; so does deafness once a read shows the
//     shadow moved on unheard (blind from the last update heard to the next
//     one). A stretch that began with a read of the shadow knows when the
//     device last reported; one that began after a stall does not.
//   - FAIL iff in some stretch the device was silent for longer than max_gap
//     (from its last report as iotwatch could know it), or iotwatch heard its
//     client id disconnect. (Here max_gap ≤ dropout_after × interval, so the
//     threshold is max_gap whatever interval is expected or announced, and
//     max_dropouts is 0: one dropout fails.)
//   - Else INCONCLUSIVE iff iotwatch could not see more than max_blind % of
//     the run, the clocks differ by more than 5 s, or the run ended early
//     (a signal before its duration, a log without its closing line).
//   - Else FAIL iff no report counted, else PASS.
//   - A dropout opens iff such a silence or disconnect was seen.
//   - Reports written while the device's disconnect was heard on the current
//     connection are another client's; any other write counts as the
//     device's (iotwatch cannot tell them apart).
// Figures checked exactly: reports, other clients' reports, time not seen,
// the longest gap (the longest watched stretch without a report), the skew
// to within a second, availability unknown iff no report.

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/monitor"
)

type write struct {
	made   time.Time
	device bool
	seq    float64
}

type vtimeline struct {
	seed                uint64
	o                   monitor.Options
	th                  Thresholds
	M                   time.Duration
	watchFrom, end      time.Time // the thing's session (later than tBase: found late); the run's end
	ending              Ending
	skew                time.Duration // iotwatch's clock minus the service's
	interval            float64       // interval_s the device reports
	writes              []write
	ups                 []span
	blindKind           string // "", "stall", "overflow", "deaf"
	b0, b1              time.Time
	disc                time.Time // the device's client id disconnected (zero: never)
	mode                string
	events              []event.Event
	overflowFrom        time.Time
	deafDetected        bool
	deafFrom, deafUntil time.Time
}

func (tl *vtimeline) late() bool { return tl.watchFrom.After(tBase) }

// generateV builds a timeline from seed.
func generateV(seed uint64) *vtimeline {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	I := pick(r, time.Second, 2*time.Second)
	M := time.Duration(2.5 * float64(I) * pick(r, 0.6, 1.0))
	tl := &vtimeline{seed: seed, M: M, interval: I.Seconds()}
	tl.o = monitor.Options{Field: "temp", DropoutAfter: 2.5, MaxGap: M, MaxFields: -1, Interval: pick(r, 0, I)}
	tl.th = Thresholds{MaxGap: M, MaxBlind: pick(r, 5.0, 20, 50)}
	if r.IntN(4) == 0 {
		tl.interval = pick(r, 60.0, 3600.0) // announced, longer than max_gap
	}
	total := I * time.Duration(24+r.IntN(40))
	tl.end = tBase.Add(total)
	tl.watchFrom = tBase
	if r.IntN(8) == 0 {
		tl.watchFrom = tBase.Add(between(r, 5*time.Second, total/3))
	}
	switch r.IntN(5) {
	case 0:
		tl.skew = pick(r, -400*time.Millisecond, 400*time.Millisecond)
	case 1:
		tl.skew = pick(r, -30*time.Second, 30*time.Second)
	}

	// iotwatch's link, maybe cut once.
	u0 := tl.watchFrom.Add(between(r, 5*time.Millisecond, 300*time.Millisecond))
	tl.ups = []span{{u0, tl.end}}
	if room := tl.end.Sub(u0) - 5*time.Second; room > 0 && r.IntN(3) == 0 {
		c0 := u0.Add(2*time.Second + between(r, 0, room))
		c1 := c0.Add(between(r, 500*time.Millisecond, 3*M))
		tl.ups = []span{{u0, c0}}
		if c1.Before(tl.end.Add(-time.Second)) {
			tl.ups = append(tl.ups, span{c1, tl.end})
		}
	}

	// The device.
	step := func(t time.Time) time.Time {
		return t.Add(time.Duration((0.8 + 0.4*r.Float64()) * float64(I))).Round(time.Microsecond)
	}
	from, until := tBase.Add(-between(r, 0, I)), tl.end
	switch f := r.IntN(20); {
	case f < 7:
		tl.mode = "healthy"
	case f < 10:
		tl.mode, until = "dies", tBase.Add(between(r, total/4, total))
	case f < 13:
		tl.mode, until = "killed", tBase.Add(between(r, total/4, total))
		tl.disc = until.Add(between(r, 100*time.Millisecond, pick(r, time.Second, 3*M))) // at once, or after a keep-alive
	case f < 15:
		tl.mode, from, until = "one report", tBase.Add(between(r, time.Second, 5*time.Second)), tBase.Add(5*time.Second)
	case f < 18:
		tl.mode, from = "silent first", tBase.Add(between(r, M+time.Second, total/2))
	default:
		tl.mode, until = "never", tBase
	}
	seq := 0.0
	for t := from.Round(time.Microsecond); t.Before(until); t = step(t) {
		seq++
		tl.writes = append(tl.writes, write{made: t, device: true, seq: seq})
		if tl.mode == "one report" {
			break
		}
	}
	if !tl.disc.IsZero() && r.IntN(4) > 0 { // a backend writes the shadow every second
		for t := tl.disc.Add(time.Second + between(r, 0, time.Second)); t.Before(tl.end); t = t.Add(time.Second) {
			tl.writes = append(tl.writes, write{made: t})
		}
	}
	sort.Slice(tl.writes, func(i, j int) bool { return tl.writes[i].made.Before(tl.writes[j].made) })

	// What happened to iotwatch inside its first connection.
	up := tl.ups[0]
	if room := up.to.Sub(up.from) - 4*time.Second; room > 0 {
		tl.b0 = up.from.Add(time.Second + between(r, 0, room))
		switch k := r.IntN(10); {
		case k < 2:
			tl.blindKind, tl.b1 = "stall", tl.b0.Add(between(r, 2*time.Second, 3*M))
		case k < 3:
			tl.blindKind, tl.b1 = "overflow", tl.b0.Add(between(r, 2*time.Second, 3*M))
		case k < 5 && tl.skew == 0:
			tl.blindKind, tl.b1 = "deaf", tl.b0.Add(between(r, 2*time.Second, 4*M))
		}
		if tl.b1.After(up.to.Add(-500 * time.Millisecond)) {
			tl.blindKind = ""
		}
	}

	// How the run ends.
	switch r.IntN(5) {
	case 0:
		tl.ending = Ending{Reason: event.EndSignal, Signal: "SIGTERM", At: tl.end, Planned: total + between(r, time.Second, total)}
	case 1:
		tl.ending = Ending{Cut: true}
	default:
		tl.ending = Ending{Reason: event.EndCompleted, At: tl.end, Planned: total}
	}
	tl.build(M / 2)
	return tl
}

// inUp says whether iotwatch's link was up at t.
func (tl *vtimeline) inUp(t time.Time) (span, bool) {
	for _, u := range tl.ups {
		if u.has(t) {
			return u, true
		}
	}
	return span{}, false
}

// build turns the record into the events iotwatch received, every get
// period while the link is up a read of the shadow.
func (tl *vtimeline) build(period time.Duration) {
	service := func(t time.Time) time.Time { return t.Add(-tl.skew) }
	stamp := func(t time.Time) float64 { return float64(service(t).UnixMicro()) / 1e6 }
	doc := func(at time.Time, kind event.DocKind, i int) event.ShadowDoc {
		w := tl.writes[i]
		d := event.ShadowDoc{At: at, Kind: kind, Version: int64(i + 1), Timestamp: service(at).Unix(),
			Reported: map[string]any{"temp": 20.0}, ReportedMetadata: map[string]any{"temp": map[string]any{"timestamp": stamp(w.made)}}}
		if kind == event.DocGet || w.device {
			for j := i; j >= 0; j-- { // the device's own fields as its last report left them
				if tl.writes[j].device {
					d.Reported["seq"], d.Reported["interval_s"] = tl.writes[j].seq, tl.interval
					d.ReportedMetadata["seq"] = map[string]any{"timestamp": stamp(tl.writes[j].made)}
					break
				}
			}
		}
		return d
	}
	var evs []event.Event
	add := func(ev event.Event) { evs = append(evs, ev) }
	add(event.Session{At: tl.watchFrom, Program: "oracle", Thing: "t1"})
	add(event.Link{At: tl.watchFrom, State: event.LinkConnecting})
	get := func(at time.Time) {
		i := sort.Search(len(tl.writes), func(i int) bool { return !tl.writes[i].made.Before(at) }) - 1
		if i < 0 {
			add(event.Rejected{At: at, Op: "get", Code: 404, Message: "No shadow exists with name: 't1'"})
			return
		}
		add(doc(at, event.DocGet, i))
	}
	for _, u := range tl.ups {
		add(event.Link{At: u.from, State: event.LinkUp})
		get(u.from)
		for g := u.from.Add(period); g.Before(u.to); g = g.Add(period) {
			get(g)
		}
		if u.to.Before(tl.end) {
			add(event.Link{At: u.to, State: event.LinkDown, Err: "EOF"})
			add(event.Link{At: u.to, State: event.LinkConnecting, Attempt: 1})
		}
	}
	for i, w := range tl.writes {
		if _, ok := tl.inUp(w.made); ok && !(tl.blindKind == "deaf" && !w.made.Before(tl.b0) && w.made.Before(tl.b1)) {
			add(doc(w.made, event.DocAccepted, i))
		}
	}
	if _, ok := tl.inUp(tl.disc); ok {
		add(event.Presence{At: tl.disc, Thing: "", ClientID: "t1", EventType: "disconnected", Timestamp: service(tl.disc), VersionNumber: 2, DisconnectReason: "CONNECTION_LOST"})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time().Before(evs[j].Time()) })

	// A stall delivers what came meanwhile at its end (no reads are made);
	// an overflow drops it.
	if k := tl.blindKind; k == "stall" || k == "overflow" {
		var out, held []event.Event
		for _, ev := range evs {
			switch t := ev.Time(); {
			case !t.After(tl.b0) || !t.Before(tl.b1):
				out = append(out, ev)
			case k == "stall":
				switch e := ev.(type) {
				case event.Rejected: // no reads while stalled
				case event.ShadowDoc:
					if e.Kind != event.DocGet {
						held = append(held, withTime(ev, tl.b1))
					}
				default:
					held = append(held, withTime(ev, tl.b1))
				}
			default:
				held = append(held, ev)
			}
		}
		i := sort.Search(len(out), func(i int) bool { return !out[i].Time().Before(tl.b1) })
		var mark event.Event = event.Stall{At: tl.b1, Since: tl.b0}
		if k == "overflow" {
			tl.overflowFrom = out[i-1].Time()
			mark, held = event.Overflow{At: tl.b1, Count: max(len(held), 1)}, nil
		}
		evs = append(append(append(out[:i:i], mark), held...), out[i:]...)
	}
	if tl.ending.Cut {
		tl.end = evs[len(evs)-1].Time()
		tl.ending.At = tl.end
	} else {
		evs = append(evs, event.End{At: tl.end, Reason: tl.ending.Reason, Signal: tl.ending.Signal})
	}
	tl.events = evs
}

// withTime is an event delivered at t.
func withTime(ev event.Event, t time.Time) event.Event {
	switch e := ev.(type) {
	case event.ShadowDoc:
		e.At, e.Timestamp = t, e.Timestamp+int64(t.Sub(e.At)/time.Second)
		return e
	case event.Presence:
		e.At = t
		return e
	}
	panic(fmt.Sprintf("no %T is held by a stall", ev))
}

// vtruth is what the rules say of the record.
type vtruth struct {
	outcome            Outcome
	ambiguous          bool // a silence within the skew's uncertainty of max_gap: FAIL or not may go either way
	reports, foreign   int
	unseen, longestGap time.Duration
	silenceFail        bool
	heardDisconnect    bool
}

func (tl *vtimeline) truth() vtruth {
	var tr vtruth
	// When iotwatch received each write (zero: never), and who wrote it as
	// far as iotwatch can tell.
	delivered := make([]time.Time, len(tl.writes))
	queued := make([]bool, len(tl.writes))
	var heardDisc time.Time
	deliver := func(t time.Time, update bool) (time.Time, bool) {
		if _, ok := tl.inUp(t); !ok || t.After(tl.end) {
			return time.Time{}, false
		}
		if t.After(tl.b0) && t.Before(tl.b1) {
			switch tl.blindKind {
			case "stall":
				return tl.b1, true
			case "overflow":
				return time.Time{}, false
			}
		}
		if update && tl.blindKind == "deaf" && !t.Before(tl.b0) && t.Before(tl.b1) {
			return time.Time{}, false
		}
		return t, true
	}
	if t, ok := deliver(tl.disc, false); ok && !tl.disc.IsZero() {
		heardDisc = t
	}
	isReport := make([]bool, len(tl.writes))
	for i, w := range tl.writes {
		t, ok := deliver(w.made, true)
		if !ok {
			continue
		}
		delivered[i], queued[i] = t, !t.Equal(w.made)
		u, _ := tl.inUp(w.made)
		recognised := !w.device && !heardDisc.IsZero() && !heardDisc.Before(u.from) && !heardDisc.After(t)
		if recognised {
			tr.foreign++
		} else {
			tr.reports++
			isReport[i] = true
		}
	}
	tr.heardDisconnect = !heardDisc.IsZero() && len(tl.writes) > 0 && tl.writes[0].made.Before(heardDisc)

	// Deafness is found by a read that shows a newer version with reports
	// made more than 2 s after the last update heard.
	type piece struct {
		from, to time.Time
		known    bool // began with a read of the shadow
	}
	var pieces []piece
	blind := tl.watchFrom.Sub(tBase) // unwatched before the thing was found
	prev := tl.watchFrom
	for n, u := range tl.ups {
		to := u.to
		if to.After(tl.end) {
			to = tl.end
		}
		blind += u.from.Sub(prev)
		prev = to
		if n > 0 || tl.blindKind == "" {
			pieces = append(pieces, piece{u.from, to, true})
			continue
		}
		switch tl.blindKind {
		case "stall":
			pieces = append(pieces, piece{u.from, tl.b0, true}, piece{tl.b1, to, false})
			blind += tl.b1.Sub(tl.b0)
		case "overflow":
			pieces = append(pieces, piece{u.from, tl.overflowFrom, true}, piece{tl.b1, to, false})
			blind += tl.b1.Sub(tl.overflowFrom)
		case "deaf":
			h0, h1, found := tl.deafness(u, to, delivered)
			if !found {
				pieces = append(pieces, piece{u.from, to, true})
				break
			}
			tl.deafDetected, tl.deafFrom, tl.deafUntil = true, h0, h1
			pieces = append(pieces, piece{u.from, h0, true})
			if h1.Before(to) {
				pieces = append(pieces, piece{h1, to, false})
			}
			blind += h1.Sub(h0)
		}
	}
	if prev.Before(tl.end) {
		blind += tl.end.Sub(prev) // the link still down at the end
	}
	tr.unseen = blind

	// Silences: in each piece, from the last report iotwatch could know of
	// (read from the shadow when the piece began with a read) to the next
	// one it heard, or to the piece's end.
	margin := time.Duration(0)
	if tl.skew != 0 {
		margin = 1200 * time.Millisecond
	}
	// A read of the shadow tells when the device last reported: a piece
	// that did not begin with one counts from its start until its first.
	revealed := func(t time.Time) time.Time {
		i := sort.Search(len(tl.writes), func(i int) bool { return !tl.writes[i].made.Before(t) }) - 1
		if i < 0 {
			return time.Time{}
		}
		return tl.writes[i].made
	}
	// A report delivered after a stall counts from when it was made, but
	// from its arrival when made within a second of the stall's end (the
	// skew's measure is no finer): the device is never taken for silent
	// longer than it can have been.
	credited := false
	for i, q := range queued {
		credited = credited || q && tl.writes[i].made.After(tl.b1.Add(-time.Second))
	}
	var reads []time.Time
	for _, ev := range tl.events {
		if d, ok := ev.(event.ShadowDoc); ok && d.Kind == event.DocGet {
			reads = append(reads, d.At)
		}
	}
	for _, p := range pieces {
		ref, gapRef, known := p.from, p.from, p.known || (credited && p.from.Equal(tl.b1))
		if w := revealed(p.from); p.known && !w.IsZero() {
			ref = w
		}
		check := func(t time.Time) {
			sil := t.Sub(ref)
			tr.silenceFail = tr.silenceFail || sil > tl.M
			tr.ambiguous = tr.ambiguous || (sil-tl.M).Abs() < margin
			tr.longestGap = max(tr.longestGap, t.Sub(gapRef))
		}
		r := sort.Search(len(reads), func(i int) bool { return reads[i].After(p.from) })
		for i, t := range delivered {
			if !isReport[i] || queued[i] || !t.After(p.from) || t.After(p.to) {
				continue
			}
			for ; r < len(reads) && reads[r].Before(t); r++ {
				if !known {
					check(reads[r])
					if w := revealed(reads[r]); !w.IsZero() && w.Before(ref) {
						ref = w
					}
					known = true
				}
			}
			check(t)
			ref, gapRef = t, t
		}
		for ; !known && r < len(reads) && !reads[r].After(p.to); r++ {
			check(reads[r])
			if w := revealed(reads[r]); !w.IsZero() && w.Before(ref) {
				ref = w
			}
			known = true
		}
		check(p.to)
	}

	early := tl.ending.Cut || tl.ending.Reason == event.EndSignal
	switch {
	case tr.silenceFail || tr.heardDisconnect:
		tr.outcome = Fail
	case 100*float64(blind)/float64(tl.end.Sub(tBase)) > tl.th.MaxBlind || tl.skew.Abs() > MaxSkew || early:
		tr.outcome = Inconclusive
	case tr.reports == 0:
		tr.outcome = Fail
	default:
		tr.outcome = Pass
	}
	return tr
}

// deafness finds whether, and from when to when, iotwatch was known deaf
// in connection u: blind from the last update it heard before the spell
// (or the connection's start) to the first it heard after (or the end).
func (tl *vtimeline) deafness(u span, to time.Time, delivered []time.Time) (h0, h1 time.Time, found bool) {
	h0, h1 = u.from, to
	for i, t := range delivered {
		if !t.IsZero() && t.Before(tl.b0) {
			h0 = later(h0, t)
		}
		if !t.IsZero() && !t.Before(tl.b1) && t.Before(h1) && !tl.writes[i].made.Before(tl.b1) {
			h1 = t
		}
	}
	// The version iotwatch knows is that of the last document it received;
	// a read tells only after an earlier read on the same connection.
	seen, read := 0, false
	for _, ev := range tl.events {
		d, ok := ev.(event.ShadowDoc)
		if !ok || d.At.Before(u.from) {
			continue
		}
		if d.At.After(h1) || d.At.Equal(h1) && d.Kind != event.DocGet {
			break // heard again (or the end) first
		}
		if d.Kind == event.DocGet && read && int(d.Version) > seen {
			last := tl.writes[d.Version-1].made
			if last.After(h0.Add(2 * time.Second)) {
				return h0, h1, true
			}
		}
		seen = max(seen, int(d.Version))
		read = read || d.Kind == event.DocGet
	}
	return h0, h1, false
}

type vfigures struct {
	timelines, ambiguous, viaLog, live                    atomic.Int64
	verdicts                                              [3]atomic.Int64
	modes                                                 sync.Map
	stalls, overflows, deaf, deafFound, late, skewed, cut atomic.Int64
	signals, foreign, announced, untold                   atomic.Int64
}

func (tl *vtimeline) replay(evs []event.Event, live bool) (monitor.Stats, Verdict) {
	m := monitor.New(tl.o)
	if tl.late() {
		m.Begin(tBase)
	}
	tick := tl.watchFrom
	for _, ev := range evs {
		for live && tick.Add(250*time.Millisecond).Before(ev.Time()) {
			tick = tick.Add(250 * time.Millisecond)
			if tl.blindKind != "stall" || !tick.After(tl.b0) || !tick.Before(tl.b1) { // a stalled loop does not tick
				m.Tick(tick)
			}
		}
		m.Apply(ev)
	}
	return EvaluateRun(m, Run{Start: tBase, End: tl.end, Thresholds: tl.th, Ending: tl.ending})
}

// throughLogV writes the events as the soak's log does (a cut log ends in
// a torn line) and reads them back.
func throughLogV(tl *vtimeline) ([]event.Event, error) {
	var buf bytes.Buffer
	for _, ev := range tl.events {
		line, err := eventlog.Encode(ev)
		if err != nil {
			return nil, err
		}
		buf.Write(line)
	}
	if tl.ending.Cut {
		buf.WriteString(`{"time":"2026-11-25T10:0`)
	}
	var out []event.Event
	log, err := eventlog.ScanReader(&buf, "oracle.jsonl", func(ev event.Event) { out = append(out, ev) })
	if err == nil && (log.Torn != tl.ending.Cut || len(log.Problems) > 0 || len(log.Runs) != 1 || log.Runs[0].Ended() == tl.ending.Cut) {
		err = fmt.Errorf("log read back: torn %v problems %v runs %+v", log.Torn, log.Problems, log.Runs)
	}
	return out, err
}

func checkV(seed uint64, fig *vfigures) error {
	tl := generateV(seed)
	tr := tl.truth()
	st, v := tl.replay(tl.events, false)
	outcomeOK := v.Outcome == tr.outcome
	if tr.ambiguous && !outcomeOK {
		// FAIL or not was within the skew's uncertainty: either is right.
		alt := *tl
		alt.M = tl.M + 2*time.Hour
		outcomeOK = v.Outcome == Fail || v.Outcome == alt.truth().outcome
	}
	switch {
	case !outcomeOK:
		return fmt.Errorf("verdict %s (%s), truth %s (silence %v, heard disconnect %v)", v.Outcome, v.Rule, tr.outcome, tr.silenceFail, tr.heardDisconnect)
	case !tr.ambiguous && (len(st.Dropouts) > 0) != (tr.silenceFail || tr.heardDisconnect):
		// The threshold is max_gap here: a dropout opens iff a silence
		// passed it or the device's disconnect was heard.
		return fmt.Errorf("dropouts %+v, truth: silence past max_gap %v, heard disconnect %v", st.Dropouts, tr.silenceFail, tr.heardDisconnect)
	case st.Reports != tr.reports || st.Foreign != tr.foreign:
		return fmt.Errorf("reports/another client's %d/%d, truth %d/%d", st.Reports, st.Foreign, tr.reports, tr.foreign)
	case st.Blind+st.Unwatched != tr.unseen:
		return fmt.Errorf("not seen %s (blind %s, unwatched %s), truth %s", st.Blind+st.Unwatched, st.Blind, st.Unwatched, tr.unseen)
	case st.LongestGap != tr.longestGap:
		return fmt.Errorf("longest gap %s, truth %s", st.LongestGap, tr.longestGap)
	case math.IsNaN(st.Availability) != (st.Reports == 0):
		return fmt.Errorf("availability %v with %d reports", st.Availability, st.Reports)
	case !st.Skew.Known || (st.Skew.Offset-tl.skew).Abs() > time.Second:
		return fmt.Errorf("skew %+v, truth %s", st.Skew, tl.skew)
	}
	if seed%2 == 0 || tl.blindKind != "" {
		lst, lv := tl.replay(tl.events, true)
		if !sameStats(st, lst) || lv.Outcome != v.Outcome {
			return fmt.Errorf("live differs from replay:\n live   %+v %s\n replay %+v %s", lst, lv.Outcome, st, v.Outcome)
		}
		fig.live.Add(1)
	}
	if seed%8 == 0 || seed%8 == 1 && tl.ending.Cut {
		read, err := throughLogV(tl)
		if err != nil {
			return err
		}
		if rst, rv := tl.replay(read, false); !sameStats(st, rst) || rv.Outcome != v.Outcome {
			return fmt.Errorf("the log's replay differs:\n log    %+v %s\n direct %+v %s", rst, rv.Outcome, st, v.Outcome)
		}
		fig.viaLog.Add(1)
	}
	fig.timelines.Add(1)
	fig.verdicts[v.Outcome].Add(1)
	n, _ := fig.modes.LoadOrStore(tl.mode, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	for _, c := range []struct {
		on  bool
		fig *atomic.Int64
	}{{tl.blindKind == "stall", &fig.stalls}, {tl.blindKind == "overflow", &fig.overflows}, {tl.blindKind == "deaf", &fig.deaf},
		{tl.deafDetected, &fig.deafFound}, {tl.late(), &fig.late}, {tl.skew.Abs() > MaxSkew, &fig.skewed}, {tl.ending.Cut, &fig.cut},
		{tl.ending.Reason == event.EndSignal, &fig.signals}, {tr.foreign > 0, &fig.foreign}, {tl.interval > tl.M.Seconds(), &fig.announced},
		{tr.ambiguous, &fig.ambiguous}, {tl.mode == "killed" && tr.foreign == 0 && v.Outcome == Pass, &fig.untold}} {
		if c.on {
			c.fig.Add(1)
		}
	}
	return nil
}

func TestVerdictOracle(t *testing.T) {
	var fig vfigures
	base := runTimelines(t, "VerdictOracle", func(seed uint64) error { return checkV(seed, &fig) })
	if base == 0 {
		return
	}
	var modes []string
	fig.modes.Range(func(k, v any) bool {
		modes = append(modes, fmt.Sprintf("%s %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(modes)
	t.Logf("verdict oracle: %d timelines (seeds %d…), %d also with live ticks, %d through the log; devices: %v; %d stalls, %d overflows, %d deaf spells (%d found), %d found late, %d skewed beyond 5 s, %d cut logs, %d stopped by a signal, %d with another client's reports told apart, %d announcing an interval beyond max_gap; %d ambiguous within the skew; %d killed devices passed as another client's writes were not told apart; verdicts PASS %d FAIL %d INCONCLUSIVE %d",
		fig.timelines.Load(), base, fig.live.Load(), fig.viaLog.Load(), modes, fig.stalls.Load(), fig.overflows.Load(), fig.deaf.Load(), fig.deafFound.Load(), fig.late.Load(),
		fig.skewed.Load(), fig.cut.Load(), fig.signals.Load(), fig.foreign.Load(), fig.announced.Load(), fig.ambiguous.Load(), fig.untold.Load(),
		fig.verdicts[Pass].Load(), fig.verdicts[Fail].Load(), fig.verdicts[Inconclusive].Load())
}
