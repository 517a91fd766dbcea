package monitor

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/shadow"
)

// Options configures a Monitor. Field, Interval and DropoutAfter come from
// the configuration (its defaults are config.Default's), built in one place
// by the command line.
type Options struct {
	Field        string        // plotted field
	Interval     time.Duration // expected report interval; 0: reported interval_s, else median gap
	DropoutAfter float64       // × interval before the device counts as offline (at least 1)
	MaxEvents    int           // event list bound, default 500
	MaxFields    int           // numeric fields with history, default 16; negative: none (statistics only)
	// Fields, when set, are the only fields with history (a fleet keeps
	// its plotted field's alone).
	Fields []string
	Coarse bool // history at 10 s, 2 min and 20 min resolution only: memory a fleet can afford per thing
	// MaxGapSamples bounds the report gaps kept for the soak statistics'
	// percentiles (the first ones), default 200,000 (1.6 MB).
	MaxGapSamples int
	// MaxGap is [soak] max_gap: the silence threshold never exceeds it, and
	// it is the threshold when no interval is expected (see Threshold).
	MaxGap time.Duration
	// ReportsInDocuments: the connection follows update/documents and not
	// update/accepted (a fleet's: six filters a thing fit AWS's 50 a
	// connection), so a document whose reported section or its metadata
	// changed is the device's report.
	ReportsInDocuments bool
}

// Monitor is the watch state of one thing. It is not safe for concurrent
// use: the TUI owns it on its own goroutine.
type Monitor struct {
	o         Options
	Desired   map[string]any
	Reported  map[string]any
	Delta     map[string]any
	Version   int64
	FieldAt   map[string]time.Time // when each reported field last changed or was reported
	Link      event.Link
	Presence  event.Presence
	LastSeq   float64
	Counts    Counts
	Pending   map[string]*Pending
	RoundTrip []time.Duration // recent desired → reported round trips
	// Unregistered is event.Unregistered's text when the control plane said
	// the thing is not in the registry; "" otherwise.
	Unregistered string
	failing      string // why the link's last connection attempt failed, until it is up
	noShadow     bool   // a get was answered 404 and no document came since
	events       []Entry
	logged       int // entries ever logged, kept or not
	history      map[string]*history
	lastAt       time.Time // last device report
	gaps         []time.Duration
	s            soak
	rebase       bool            // the next document may start a new version baseline
	huge         map[string]bool // fields that held a number beyond float64
	docMeta      time.Time       // the newest reported metadata of the last full document
	vitals       vitals          // the heap trend (vitals.go)
	jobs         jobs            // AWS IoT Jobs executions (jobs.go)
}

// Counts are the running totals shown in the header.
type Counts struct {
	Reports, Malformed, Dropped, Rejections, LostReports, Reboots int
	// Foreign are reports accepted while the device's client id was
	// disconnected: another client wrote them, not counted as the device's.
	Foreign int
}

// Pending is a desired value sent and not yet reported by the device.
type Pending struct {
	Value    any
	SentAt   time.Time
	Token    string
	Rejected string // "400 State node must be an object" when the service refused the update
	Refused  string // "refused by the device (kept 60)" when the device would not take it
}

// Settled says the value will not arrive by waiting: refused by the service
// or by the device. A view stops its spinner then.
func (p *Pending) Settled() bool { return p.Rejected != "" || p.Refused != "" }

// Entry is one line of the event log.
type Entry struct {
	At       time.Time
	Severity Severity
	Text     string
}

// Severity grades an Entry.
type Severity uint8

const (
	Info Severity = iota
	Good
	Warn
	Bad
)

// New makes an empty Monitor.
func New(o Options) *Monitor {
	if o.MaxEvents == 0 {
		o.MaxEvents = 500
	}
	if o.MaxFields == 0 {
		o.MaxFields = 16
	}
	if o.MaxGapSamples == 0 {
		o.MaxGapSamples = maxGapSamples
	}
	m := &Monitor{o: o, FieldAt: map[string]time.Time{}, Pending: map[string]*Pending{}, history: map[string]*history{},
		huge: map[string]bool{}}
	m.s.gaps.max = o.MaxGapSamples
	return m
}

var nan = math.NaN()

// Field is the plotted field.
func (m *Monitor) Field() string { return m.o.Field }

// Apply takes one event into the state. It first ticks at the event's time,
// so dropouts do not depend on how often Tick runs.
func (m *Monitor) Apply(ev event.Event) {
	at := ev.Time()
	switch ev.(type) {
	case event.Session, event.Stall, event.Overflow:
		// Time iotwatch did not watch ends here: no tick across it (a
		// session measures its gap from the previous run's last event).
	default:
		m.Tick(at)
	}
	if _, ok := ev.(event.Session); !ok {
		defer m.noteTime(at)
	}
	switch e := ev.(type) {
	case event.Session:
		m.noteSession(e.At)
		m.noteTime(e.At)
	case event.Alive:
	case event.ShadowDoc:
		m.applyDoc(e)
		m.Tick(at) // a shadow read may show the device silent for long
	case event.Rejected:
		m.applyRejected(e)
	case event.Deleted:
		m.Desired, m.Reported, m.Delta = nil, nil, nil
		m.Version, m.rebase = 0, true
		m.log(e.At, Warn, "shadow deleted (version %d): the next version starts a new count", e.Version)
	case event.Presence:
		m.applyPresence(e)
	case event.Link:
		m.applyLink(e)
	case event.DesiredSent:
		for k, v := range e.Patch {
			if v == nil { // a null removes the key: nothing for the device to apply, nor a refusal to keep
				delete(m.Pending, k)
				continue
			}
			m.Pending[k] = &Pending{Value: v, SentAt: e.At, Token: e.ClientToken}
		}
		m.log(e.At, Info, "desired %s sent", describe(e.Patch))
	case event.Malformed:
		m.Counts.Malformed++
		m.log(e.At, Bad, "malformed message on %s: %s", e.Topic, e.Err)
	case event.Overflow:
		m.Counts.Dropped += e.Count
		m.log(e.At, Bad, "%d events dropped: the local queue was full; blind since the last event received", e.Count)
		m.blindAfter(m.s.last, e.At, dropped)
	case event.Stall:
		m.log(e.At, Warn, "iotwatch stood still for %s (its clock jumped): blind meanwhile", e.At.Sub(e.Since).Round(time.Millisecond))
		m.Tick(e.Since) // the last instant watched
		m.blindAfter(e.Since, e.At, stalled)
	case event.Jobs:
		m.applyJobs(e)
	case event.Unregistered:
		m.Unregistered = e.Text()
		m.log(e.At, Bad, "%s", e.Text())
	}
}

func (m *Monitor) applyDoc(d event.ShadowDoc) {
	m.noShadow = false
	m.noteSkew(d)
	if d.Kind != event.DocGet {
		m.heard(d.At)
	} else if m.unheard(d) {
		m.log(d.At, Bad, "iotwatch is deaf: the shadow is at version %d (it heard %d) with reports it never received; blind since the last update it heard, %s", d.Version, m.Version, m.s.lastHeard.Format("15:04:05"))
		m.blindAfter(m.s.lastHeard, time.Time{}, deaf)
		m.s.deaf = true
	}
	if d.Version < m.Version {
		switch {
		case d.Kind == event.DocGet || m.rebase:
			// A fresh read or the first document after a reconnect: the
			// shadow itself is younger than the one we knew.
			m.log(d.At, Warn, "shadow version went back from %d to %d: the shadow was deleted or the service lost it", m.Version, d.Version)
		case d.Kind == event.DocAccepted && d.Reported != nil:
			// Answers on different topics may cross: the report still
			// happened, only the newer state is kept.
			m.countReport(d)
			return
		default:
			return // an older snapshot arriving after a newer one
		}
	}
	m.Version, m.rebase = d.Version, false
	switch d.Kind {
	case event.DocGet, event.DocCurrent:
		if d.Kind == event.DocCurrent && m.o.ReportsInDocuments && m.reportIn(d) {
			m.countReport(d)
		}
		m.docMeta = latestTimestamp(d.ReportedMetadata)
		m.Desired, m.Reported = d.Desired, d.Reported
		m.Delta = d.Delta
		if d.Kind == event.DocCurrent {
			m.Delta = deltaOf(d.Desired, d.Reported)
		}
		m.noteShadowRead(d)
		m.checkRead(d)
	case event.DocDelta:
		m.Delta = d.Delta
	case event.DocAccepted:
		if d.Reported != nil {
			m.countReport(d)
			m.Reported = mergeTop(m.Reported, d.Reported)
		}
		if d.Desired != nil {
			m.Desired = mergeTop(m.Desired, d.Desired)
			m.checkRefused(d)
		}
	}
}

// reportIn says whether a full document holds a report the last one did
// not: newer reported metadata, or other reported values (a second report
// within the metadata's whole second).
func (m *Monitor) reportIn(d event.ShadowDoc) bool {
	return d.Reported != nil && (latestTimestamp(d.ReportedMetadata).After(m.docMeta) || !shadow.Equal(d.Reported, m.Reported))
}

// checkRead takes seq and uptime from a full document: a report iotwatch
// did not see (made while it was blind) is checked like one it saw, and one
// it knew already is known again from now: nothing reached the shadow since,
// so a later jump in seq is reports lost.
func (m *Monitor) checkRead(d event.ShadowDoc) {
	last, news := m.readLast(d, m.s.seqReportAt)
	switch {
	case news:
		m.checkSeq(d, last)
	case !last.IsZero() && last.Equal(m.s.seqReportAt):
		m.s.seqAt = d.At
	}
}

// deltaOf is what update/documents implies: each desired leaf the reported
// state does not hold, so the delta column follows without a re-get.
func deltaOf(desired, reported map[string]any) map[string]any {
	var out map[string]any
	for k, v := range desired {
		r, ok := reported[k]
		var sub any = v
		if dm, isMap := v.(map[string]any); isMap {
			rm, _ := r.(map[string]any)
			if d := deltaOf(dm, rm); d != nil {
				sub = d
			} else {
				continue
			}
		} else if ok && shadow.Equal(r, v) {
			continue
		}
		if out == nil {
			out = map[string]any{}
		}
		out[k] = sub
	}
	return out
}

// countReport counts one device report: dropouts, gaps, history, seq,
// pending values.
func (m *Monitor) countReport(d event.ShadowDoc) {
	if m.disconnectedBefore(m.earliest(d)) {
		m.Counts.Foreign++
		m.log(d.At, Warn, "a report was written while the device's client id %s was disconnected: another client's, not counted as the device's", m.Presence.ClientID)
		return
	}
	made := m.madeAt(d)
	m.Counts.Reports++
	m.noteReport(made)
	if !m.lastAt.IsZero() && made.After(m.lastAt) {
		m.gaps = append(m.gaps, made.Sub(m.lastAt))
		if len(m.gaps) > 64 {
			m.gaps = m.gaps[1:]
		}
	}
	m.lastAt = later(m.lastAt, made)
	for k, v := range d.Reported {
		m.FieldAt[k] = d.At
		switch n := v.(type) {
		case float64:
			m.historyOf(k).add(d.At, n)
		case json.Number:
			m.notePlottable(d.At, k, n)
		}
	}
	m.checkSeq(d, made)
	m.settlePending(d)
	m.vitals.report(d)
}

// madeAt is when the device made a report: when it arrived, unless it was
// queued (see queued) and is placed where it belongs.
func (m *Monitor) madeAt(d event.ShadowDoc) time.Time {
	if made, ok := m.queued(d); ok {
		return made
	}
	return d.At
}

// queued says whether an update (a report, or the document it made) was
// made before the current watch began and only delivered now (it queued
// while iotwatch stood still or was deaf), and when it was made by its
// metadata. Whole seconds are taken at their end, and a report within a
// second of the watch's start (the skew's measure is no finer) is not
// queued, so a report is never placed earlier than it can have been.
func (m *Monitor) queued(d event.ShadowDoc) (made time.Time, ok bool) {
	if m.s.watchSince.IsZero() || d.At.Before(m.s.watchSince) {
		return made, false
	}
	meta := m.metaTime(d.ReportedMetadata)
	if meta.IsZero() {
		return made, false
	}
	if meta.Nanosecond() == 0 {
		meta = meta.Add(time.Second)
	}
	return meta, meta.Add(time.Second).Before(m.s.watchSince)
}

// earliest is the earliest a report can have been made: the start of its
// metadata's second, else when it arrived.
func (m *Monitor) earliest(d event.ShadowDoc) time.Time {
	if meta := m.metaTime(d.ReportedMetadata); !meta.IsZero() {
		return meta
	}
	return d.At
}

// disconnectedBefore says whether a report made no earlier than made came
// after the device's client id was known to be disconnected (its lifecycle
// event, by the event's own time when it has one, heard in the current
// connection: one heard before a link cut may have been followed by a
// connect iotwatch missed): another client wrote it.
func (m *Monitor) disconnectedBefore(made time.Time) bool {
	p := m.Presence
	if p.EventType != "disconnected" || p.DisconnectReason == "DUPLICATE_CLIENTID" || m.s.linkUpAt.IsZero() || p.At.Before(m.s.linkUpAt) {
		return false // connected, kicked by another session of the same client id, or not known now
	}
	at := p.At
	if !p.Timestamp.IsZero() {
		at = p.Timestamp.Add(m.skewCorrection())
	}
	return made.After(at)
}

// heard notes an update iotwatch received: a deaf spell ends.
func (m *Monitor) heard(at time.Time) {
	m.s.lastHeard = later(m.s.lastHeard, at)
	if m.s.deaf {
		m.endBlind(at)
		m.s.watchSince, m.s.fresh = at, false
		m.log(at, Good, "iotwatch hears the shadow's updates again")
	}
}

// deafSlack is how much newer than the last update heard a read's reported
// metadata must be to show updates went unheard: whole-second stamps and
// answers that cross on different topics are not deafness.
const deafSlack = 2 * time.Second

// unheard says whether a read, while iotwatch's link is up and after it
// read the shadow once, shows a newer version with reports newer than any
// update it heard: the shadow moved on without iotwatch hearing it.
func (m *Monitor) unheard(d event.ShadowDoc) bool {
	if !m.s.blindSince.IsZero() || !m.s.fresh || d.Version <= m.Version || m.rebase {
		return false
	}
	ref := later(m.s.lastHeard, m.s.watchSince)
	return m.metaTime(d.ReportedMetadata).After(ref.Add(deafSlack))
}

// noteSkew measures the clocks' skew from a document's timestamp.
func (m *Monitor) noteSkew(d event.ShadowDoc) {
	if d.Timestamp == 0 {
		return
	}
	sample := d.At.Sub(time.Unix(d.Timestamp, 0))
	if m.s.skewN == 0 || sample < m.s.skewMin {
		m.s.skewMin = sample
	}
	m.s.skewN++
}

// Skew is the clocks' skew measured so far.
func (m *Monitor) Skew() Skew {
	return Skew{Known: m.s.skewN > 0, Offset: m.s.skewMin, Documents: m.s.skewN}
}

// skewCorrection turns the service's times into iotwatch's: the skew in
// whole seconds, none within a second (the measure's own precision).
func (m *Monitor) skewCorrection() time.Duration {
	if m.s.skewN == 0 || m.s.skewMin.Abs() < time.Second {
		return 0
	}
	return m.s.skewMin.Round(time.Second)
}

// notePlottable logs, once per field, a number beyond float64.
func (m *Monitor) notePlottable(at time.Time, field string, n json.Number) {
	if !m.huge[field] {
		m.huge[field] = true
		m.log(at, Warn, "%s = %s is beyond a 64-bit float: shown as its JSON text, left out of the plot", field, n)
	}
}

// NotPlottable lists the fields that held a number beyond float64, sorted.
func (m *Monitor) NotPlottable() []string {
	out := make([]string, 0, len(m.huge))
	for k := range m.huge {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkSeq follows the device's seq and uptime_s from a report made at
// reportAt. A reboot shows as seq going back, or as an uptime shorter than
// the time since the last known one allows (seen even when the device
// reported more often after the reboot than before it). A jump in seq is
// lost reports only when iotwatch watched all the time since it learnt the
// last seq; across blind time the reports are credited, since iotwatch
// cannot tell lost ones from unseen ones.
func (m *Monitor) checkSeq(d event.ShadowDoc, reportAt time.Time) {
	seq, hasSeq := d.Reported["seq"].(float64)
	up, hasUp := d.Reported["uptime_s"].(float64)
	if !hasSeq && !hasUp {
		return
	}
	rebooted := hasSeq && m.LastSeq > 0 && seq < m.LastSeq
	if hasUp && !m.s.uptimeAt.IsZero() {
		// 2 s for whole-second uptimes and latency, 0.1 % for clock drift.
		elapsed := reportAt.Sub(m.s.uptimeAt).Seconds()
		rebooted = rebooted || up+2+elapsed/1000 < m.s.uptime+elapsed
	}
	blind := !m.s.seqAt.IsZero() && m.excludedBetween(m.s.seqAt, d.At) > 0
	switch {
	case rebooted:
		m.Counts.Reboots++
		m.log(d.At, Warn, "device rebooted (seq %g → %g, uptime %gs → %gs, reset reason %v)", m.LastSeq, seq, m.s.uptime, up, d.Reported["reset_reason"])
	case hasSeq && !blind && m.LastSeq > 0 && seq > m.LastSeq+1:
		lost := int(seq - m.LastSeq - 1)
		m.Counts.LostReports += lost
		m.log(d.At, Warn, "%d report(s) lost (seq %g → %g)", lost, m.LastSeq, seq)
	}
	if hasSeq {
		m.LastSeq = seq
	}
	if hasUp {
		m.s.uptime, m.s.uptimeAt = up, reportAt
	}
	m.s.seqAt, m.s.seqReportAt = d.At, reportAt
}

func (m *Monitor) settlePending(d event.ShadowDoc) {
	for k, p := range m.Pending {
		if v, ok := d.Reported[k]; ok && !p.Settled() && shadow.Equal(v, p.Value) {
			rt := d.At.Sub(p.SentAt)
			m.RoundTrip = append(m.RoundTrip, rt)
			if len(m.RoundTrip) > 1000 {
				m.RoundTrip = m.RoundTrip[1:]
			}
			delete(m.Pending, k)
			m.log(d.At, Good, "device applied %s = %v in %s", k, v, rt.Round(time.Millisecond))
		}
	}
}

// checkRefused finds desired values the device would not take: it reports
// the value it keeps and writes that value back to desired (or null for a
// key it does not know) so that the delta clears.
func (m *Monitor) checkRefused(d event.ShadowDoc) {
	for k, p := range m.Pending {
		v, ok := d.Desired[k]
		if !ok || p.Settled() || shadow.Equal(v, p.Value) {
			continue
		}
		switch kept, reported := d.Reported[k]; {
		case v == nil:
			p.Refused = "ignored by the device (unknown key)"
		case reported && shadow.Equal(kept, v):
			p.Refused = fmt.Sprintf("refused by the device (kept %v)", v)
		default:
			delete(m.Pending, k)
			m.log(d.At, Warn, "desired %s changed to %v before the device applied %v", k, v, p.Value)
			continue
		}
		m.log(d.At, Bad, "desired %s = %v %s", k, p.Value, p.Refused)
	}
}

// PendingText says where a pending value stands at now: refused, waiting in
// the shadow for an offline device, or "" while it is on its way.
func (m *Monitor) PendingText(p *Pending, now time.Time) string {
	switch {
	case p.Rejected != "":
		return "rejected " + p.Rejected
	case p.Refused != "":
		return p.Refused
	case m.Device(now) == DeviceOffline:
		return "waiting in the shadow (device offline)"
	}
	return ""
}

func (m *Monitor) applyRejected(r event.Rejected) {
	if r.Op == "get" && r.Code == 404 {
		if !m.noShadow { // every re-get says it again: say it once
			m.log(r.At, Info, "no shadow yet: it is created by the first update")
		}
		m.noShadow = true
		return
	}
	m.Counts.Rejections++
	for _, p := range m.Pending {
		if p.Token == r.ClientToken && r.ClientToken != "" {
			p.Rejected = fmt.Sprintf("%d %s", r.Code, r.Message)
		}
	}
	m.log(r.At, Bad, "%s rejected: %d %s", r.Op, r.Code, r.Message)
}

func (m *Monitor) applyPresence(p event.Presence) {
	late := p.VersionNumber < m.Presence.VersionNumber ||
		(p.VersionNumber == m.Presence.VersionNumber && p.EventType == "connected" && m.Presence.EventType == "disconnected")
	if p.DisconnectReason == "DUPLICATE_CLIENTID" {
		// The kicked session's event is older than its successor's
		// connect, but the cause must be shown all the same.
		m.s.takenOver = true
		m.log(p.At, Bad, "device %s disconnected: another client connected with the device's client id; two clients are kicking each other off (is a tool using the thing name as its client id?)", p.ClientID)
	}
	if late {
		return // an older event arriving late does not change the state
	}
	m.Presence = p
	m.notePresence(p)
	m.vitals.connected(p)
	switch {
	case p.EventType == "connected":
		m.log(p.At, Good, "device %s connected", p.ClientID)
	case p.DisconnectReason != "DUPLICATE_CLIENTID":
		m.log(p.At, Bad, "device %s disconnected: %s", p.ClientID, p.DisconnectReason)
	}
}

// applyLink logs the link's changes; a connection that keeps failing for
// the same reason is logged once, not at every attempt.
func (m *Monitor) applyLink(l event.Link) {
	prev := m.Link
	m.Link = l
	m.noteLink(l)
	switch l.State {
	case event.LinkUp:
		m.failing = ""
		m.log(l.At, Good, "connected")
	case event.LinkDown:
		switch {
		case prev.State == event.LinkUp:
			m.log(l.At, Bad, "connection lost: %s", l.Err)
		case l.Err != m.failing:
			m.log(l.At, Bad, "cannot connect: %s", l.Err)
			m.failing = l.Err
		}
	case event.LinkConnecting:
		if l.Attempt > 0 && m.failing == "" {
			m.log(l.At, Warn, "reconnecting (attempt %d)", l.Attempt)
		}
	}
}

func (m *Monitor) historyOf(field string) *history {
	h, ok := m.history[field]
	if !ok && len(m.history) < m.o.MaxFields && (m.o.Fields == nil || slices.Contains(m.o.Fields, field)) {
		levels := resolutions
		if m.o.Coarse {
			levels = coarse
		}
		h = newHistory(levels)
		m.history[field] = h
	}
	if h == nil {
		return discard
	}
	return h
}

// discard swallows samples of fields beyond MaxFields.
var discard = &history{}

// Warn puts a warning from outside the event stream (a private key others
// may read) into the event log.
func (m *Monitor) Warn(at time.Time, text string) { m.log(at, Warn, "%s", text) }

func (m *Monitor) log(at time.Time, sev Severity, format string, args ...any) {
	m.events = append(m.events, Entry{At: at, Severity: sev, Text: fmt.Sprintf(format, args...)})
	m.logged++
	if len(m.events) > m.o.MaxEvents {
		m.events = append(m.events[:0], m.events[len(m.events)-m.o.MaxEvents:]...)
	}
}

// Events returns the event log, oldest first.
func (m *Monitor) Events() []Entry { return m.events }

// EventsLogged counts the entries ever logged: the last of Events is entry
// number EventsLogged, the first EventsLogged-len(Events)+1, so a reader can
// hold its place while old entries are dropped.
func (m *Monitor) EventsLogged() int { return m.logged }

func mergeTop(dst, src map[string]any) map[string]any {
	out := make(map[string]any, len(dst)+len(src))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func describe(patch map[string]any) string {
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		if patch[k] == nil {
			s += k + " cleared"
			continue
		}
		s += fmt.Sprintf("%s = %v", k, patch[k])
	}
	return s
}
