package monitor

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// Options configures a Monitor.
type Options struct {
	Field        string        // plotted field, default "temp"
	Interval     time.Duration // expected report interval; 0: reported interval_s, else median gap
	DropoutAfter float64       // × interval before the device counts as offline, default 2.5
	MaxEvents    int           // event list bound, default 500
	MaxFields    int           // numeric fields with history, default 16
	// Fields, when set, are the only fields with history (a fleet keeps
	// its plotted field's alone).
	Fields []string
	Coarse bool // history at 10 s, 2 min and 20 min resolution only: memory a fleet can afford per thing
	// MaxGapSamples bounds the report gaps kept for the soak statistics'
	// percentiles (the first ones), default 200,000 (1.6 MB).
	MaxGapSamples int
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
	failing   string          // why the link's last connection attempt failed, until it is up
	events    []Entry
	logged    int // entries ever logged, kept or not
	history   map[string]*history
	lastAt    time.Time // last device report
	gaps      []time.Duration
	s         soak
}

// Counts are the running totals shown in the header.
type Counts struct {
	Reports, Malformed, Dropped, Rejections, LostReports, Reboots int
}

// Pending is a desired value sent and not yet reported by the device.
type Pending struct {
	Value    any
	SentAt   time.Time
	Token    string
	Rejected string // "400 State node must be an object" when refused
}

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
	if o.Field == "" {
		o.Field = "temp"
	}
	if o.DropoutAfter == 0 {
		o.DropoutAfter = 2.5
	}
	if o.MaxEvents == 0 {
		o.MaxEvents = 500
	}
	if o.MaxFields == 0 {
		o.MaxFields = 16
	}
	if o.MaxGapSamples == 0 {
		o.MaxGapSamples = maxGapSamples
	}
	return &Monitor{o: o, FieldAt: map[string]time.Time{}, Pending: map[string]*Pending{}, history: map[string]*history{}}
}

// Field is the plotted field.
func (m *Monitor) Field() string { return m.o.Field }

// Apply takes one event into the state.
func (m *Monitor) Apply(ev event.Event) {
	switch e := ev.(type) {
	case event.ShadowDoc:
		m.applyDoc(e)
	case event.Rejected:
		m.applyRejected(e)
	case event.Deleted:
		m.Desired, m.Reported, m.Delta = nil, nil, nil
		m.log(e.At, Warn, "shadow deleted (version %d)", e.Version)
	case event.Presence:
		m.applyPresence(e)
	case event.Link:
		m.applyLink(e)
	case event.DesiredSent:
		for k, v := range e.Patch {
			if v != nil { // a null removes the key: there is nothing for the device to apply
				m.Pending[k] = &Pending{Value: v, SentAt: e.At, Token: e.ClientToken}
			}
		}
		m.log(e.At, Info, "desired %s sent", describe(e.Patch))
	case event.Malformed:
		m.Counts.Malformed++
		m.log(e.At, Bad, "malformed message on %s: %s", e.Topic, e.Err)
	case event.Overflow:
		m.Counts.Dropped += e.Count
		m.log(e.At, Bad, "%d events dropped: the local queue was full", e.Count)
	}
}

func (m *Monitor) applyDoc(d event.ShadowDoc) {
	if d.Version < m.Version && d.Kind != event.DocGet {
		return // older than what we hold: messages may arrive out of order
	}
	m.Version = max(m.Version, d.Version)
	switch d.Kind {
	case event.DocGet, event.DocCurrent:
		m.Desired, m.Reported = d.Desired, d.Reported
		m.Delta = d.Delta
		if d.Kind == event.DocCurrent {
			m.Delta = nil // a delta message follows when there is one
		}
	case event.DocDelta:
		m.Delta = d.Delta
	case event.DocAccepted:
		if d.Reported != nil {
			m.applyReport(d)
		}
		if d.Desired != nil {
			m.Desired = mergeTop(m.Desired, d.Desired)
		}
	}
}

// applyReport counts one device report: history, seq, pending values.
func (m *Monitor) applyReport(d event.ShadowDoc) {
	m.Counts.Reports++
	blind := m.noteReport(d.At)
	m.Reported = mergeTop(m.Reported, d.Reported)
	if !m.lastAt.IsZero() {
		m.gaps = append(m.gaps, d.At.Sub(m.lastAt))
		if len(m.gaps) > 64 {
			m.gaps = m.gaps[1:]
		}
	}
	m.lastAt = d.At
	for k, v := range d.Reported {
		m.FieldAt[k] = d.At
		if f, ok := v.(float64); ok {
			m.historyOf(k).add(d.At, f)
		}
	}
	m.checkSeq(d, blind)
	m.settlePending(d)
}

func (m *Monitor) checkSeq(d event.ShadowDoc, blind bool) {
	seq, ok := d.Reported["seq"].(float64)
	if !ok {
		return
	}
	switch {
	case blind && seq > m.LastSeq:
		// Reports made while we could not see are credited, not lost.
	case m.LastSeq > 0 && seq < m.LastSeq:
		m.Counts.Reboots++
		m.log(d.At, Warn, "device rebooted (seq %g → %g, reset reason %v)", m.LastSeq, seq, d.Reported["reset_reason"])
	case m.LastSeq > 0 && seq > m.LastSeq+1:
		lost := int(seq - m.LastSeq - 1)
		m.Counts.LostReports += lost
		m.log(d.At, Warn, "%d report(s) lost (seq %g → %g)", lost, m.LastSeq, seq)
	}
	m.LastSeq = seq
}

func (m *Monitor) settlePending(d event.ShadowDoc) {
	for k, p := range m.Pending {
		if v, ok := d.Reported[k]; ok && p.Rejected == "" && sameValue(v, p.Value) {
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

func (m *Monitor) applyRejected(r event.Rejected) {
	if r.Op == "get" && r.Code == 404 {
		m.log(r.At, Info, "no shadow yet: it is created by the first update")
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
		m.log(p.At, Bad, "device %s disconnected: another client connected with the device's client id; two clients are kicking each other off (is a tool using the thing name as its client id?)", p.ClientID)
	}
	if late {
		return // an older event arriving late does not change the state
	}
	m.Presence = p
	m.notePresence(p)
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

func sameValue(a, b any) bool {
	if fa, ok := toFloat(a); ok {
		fb, ok := toFloat(b)
		return ok && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
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
		s += fmt.Sprintf("%s = %v", k, patch[k])
	}
	return s
}
