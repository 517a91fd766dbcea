// Package pipeline carries events to monitors and to the event log: the one
// routing of iotwatch, for one thing and for a fleet, live (watch, soak,
// both TUI screens) and replayed from a log (report). Live and replay go
// through the same Apply, so a log read back gives each thing the events
// its live monitor had, and never one thing's lines to another.
//
// A run opens with a session line. A single thing's run names its thing;
// its events name it too (stamped here before they are logged), so a log
// that several runs of different things were appended to still tells them
// apart. A fleet's run opens with a session without a thing, followed by a
// session line per thing carrying the fleet session's time: a thing found
// later in the run joins it from the run's start (the time before is
// blind for it). It imports event, monitor and eventlog only.
package pipeline

import (
	"maps"
	"slices"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/monitor"
)

// Log is where the pipeline tees the events it routes (an eventlog.Writer,
// or an Async one off a UI's goroutine).
type Log interface {
	Write(ev event.Event) error
}

// Options configure a pipeline.
type Options struct {
	// Monitor are every thing's monitor options; a thing of a fleet run
	// also reads its reports from update/documents (the only report
	// topic a fleet's connection follows).
	Monitor monitor.Options
	// Thing is the thing of events that name none before any session
	// line: the single thing of a TUI without a log, or of a log from
	// before session lines.
	Thing string
	// Fleet: events without a session line open a fleet run (the fleet
	// screen without a log).
	Fleet bool
	Log   Log
	// LogFailed is called once, at the first log write that fails; the
	// monitors go on from memory.
	LogFailed func(error)
}

// Pipeline routes events to one monitor per thing and tees them into the
// log. It is not safe for concurrent use: one goroutine owns it (the run
// loop, the UI, the replay).
type Pipeline struct {
	o       Options
	mons    map[string]*monitor.Monitor
	start   map[string]time.Time // each thing's first run's start
	run     event.Session        // the current run's session; Thing "" for a fleet run
	inRun   map[string]bool      // things of the current run
	running bool                 // a run is open (a session line was seen, or the defaults opened one)
	logErr  error                // the first failed write; LogFailed heard of it
	// docThings read their reports from update/documents in every run
	// (a replayed log's things that a fleet's run watched too).
	docThings map[string]bool
}

// New makes a pipeline with no run open yet.
func New(o Options) *Pipeline {
	return &Pipeline{o: o, mons: map[string]*monitor.Monitor{}, start: map[string]time.Time{}, inRun: map[string]bool{}}
}

// Single is the pipeline of one thing whose monitor exists already (a TUI
// without a log): every event goes to mon.
func Single(mon *monitor.Monitor, thing string) *Pipeline {
	p := New(Options{Thing: thing})
	p.mons[thing] = mon
	p.running, p.inRun[thing] = true, true
	p.run = event.Session{Thing: thing}
	return p
}

// Open starts a run with its session line: a single thing's (s.Thing set)
// or a fleet's, whose things (known at start) each get their own session
// line at the run's start.
func (p *Pipeline) Open(s event.Session, things ...string) {
	p.Apply(s)
	for _, t := range things {
		p.Add(t)
	}
}

// Add makes thing part of the current run without an event (a thing the
// fleet follows from the start) and returns its monitor.
func (p *Pipeline) Add(thing string) *monitor.Monitor {
	p.defaultRun()
	p.join(thing, time.Time{}, false)
	return p.mons[thing]
}

// Apply routes ev to the monitors of the things it is about, after any
// line a thing seen for the first time in this run needs (its session, and
// a link up when ev came over a connection already up), and tees each line
// into the log. It returns the things ev went to. Raw messages (the raw
// topics view's) are neither logged nor applied: they only tick the
// monitors at their time, as the clock would.
func (p *Pipeline) Apply(ev event.Event) []string {
	if _, raw := ev.(event.Raw); raw {
		p.Tick(ev.Time())
		return nil
	}
	if s, ok := ev.(event.Session); ok {
		return p.session(s)
	}
	p.defaultRun()
	things := p.targets(ev)
	if thing := event.ThingOf(ev); thing == "" && len(things) == 1 {
		ev = event.WithThing(ev, things[0]) // a single run's event names its thing in the log
	}
	_, isLink := ev.(event.Link)
	for _, t := range things {
		p.join(t, ev.Time(), !isLink)
	}
	p.write(ev)
	for _, t := range things {
		if !p.twice(t, ev) {
			p.mons[t].Apply(ev)
		}
	}
	return things
}

// twice says whether ev would count a report twice: a single run's
// update/accepted report to a monitor that reads reports from
// update/documents (a thing a fleet's run of the same log watched too),
// where the run's documents line that follows carries the same report.
func (p *Pipeline) twice(thing string, ev event.Event) bool {
	d, ok := ev.(event.ShadowDoc)
	return ok && d.Kind == event.DocAccepted && d.Reported != nil && p.run.Thing != "" && p.docThings[thing]
}

// targets are the things ev is about: the one it names; for a link, those
// it names or else the run's; for an event about a thing that names none,
// the single run's thing; for the rest (alive, overflow, a malformed
// message of no thing's topic), every thing of the run. A single run's
// malformed message is its thing's (its connection follows that thing's
// topics alone), whatever a log from before session lines was named.
func (p *Pipeline) targets(ev event.Event) []string {
	if l, ok := ev.(event.Link); ok && l.Things != nil {
		return l.Things
	}
	if _, bad := ev.(event.Malformed); bad && p.run.Thing != "" {
		return []string{p.run.Thing}
	}
	if t := event.ThingOf(ev); t != "" {
		return []string{t}
	}
	return p.runThings()
}

// runThings are the current run's things, sorted (a single run's one).
func (p *Pipeline) runThings() []string {
	if p.run.Thing != "" {
		return []string{p.run.Thing}
	}
	return slices.Sorted(maps.Keys(p.inRun))
}

// defaultRun opens the run the options imply when events come before any
// session line.
func (p *Pipeline) defaultRun() {
	if p.running {
		return
	}
	p.running = true
	if !p.o.Fleet && p.o.Thing != "" {
		p.run = event.Session{Thing: p.o.Thing}
	}
}

// session handles a session line: a fleet run's (no thing) opens a run
// without things; a thing's joins the fleet run when it carries the fleet
// session's time, else it opens a single run of that thing.
func (p *Pipeline) session(s event.Session) []string {
	p.running = true
	if s.Thing == "" {
		p.run, p.inRun = s, map[string]bool{}
		p.write(s)
		return nil
	}
	fleetRun := p.run.Thing == "" && !p.run.At.IsZero() && s.At.Equal(p.run.At)
	if !fleetRun {
		p.run, p.inRun = s, map[string]bool{}
	}
	p.inRun[s.Thing] = true
	p.write(s)
	p.monitor(s.Thing).Apply(s)
	return []string{s.Thing}
}

// join makes thing part of the current run the first time an event names
// it: its session line (at the run's start), and a link up at the event's
// time when the event came over a connection (not a link event itself)
// which was up before the thing was added to it.
func (p *Pipeline) join(thing string, at time.Time, viaUpLink bool) {
	if p.inRun[thing] {
		return
	}
	p.inRun[thing] = true
	mon := p.monitor(thing)
	if !p.run.At.IsZero() { // a screen without a log has no session to open
		s := p.run
		s.Thing = thing
		p.write(s)
		mon.Apply(s)
	}
	if viaUpLink {
		up := event.Link{At: at, State: event.LinkUp, Things: []string{thing}}
		p.write(up)
		mon.Apply(up)
	}
}

// monitor is thing's monitor, made on first sight with the options of the
// run that found it.
func (p *Pipeline) monitor(thing string) *monitor.Monitor {
	m := p.mons[thing]
	if m == nil {
		o := p.o.Monitor
		if p.run.Thing == "" && (p.o.Fleet || !p.run.At.IsZero()) || p.docThings[thing] {
			o.ReportsInDocuments = true
		}
		m = monitor.New(o)
		p.mons[thing] = m
		if at := p.run.At; !at.IsZero() {
			p.start[thing] = at
		}
	}
	return m
}

// write tees ev into the log. After a failure every line is still offered
// (the log counts those it lost); LogFailed hears of the first failure only.
func (p *Pipeline) write(ev event.Event) {
	if p.o.Log == nil {
		return
	}
	if err := p.o.Log.Write(ev); err != nil && p.logErr == nil {
		p.logErr = err
		if p.o.LogFailed != nil {
			p.o.LogFailed(err)
		}
	}
}

// Tick runs every monitor's dropout detector at now; true when a dropout
// opened.
func (p *Pipeline) Tick(now time.Time) bool {
	opened := false
	for _, m := range p.mons {
		before := m.DropoutCount()
		m.Tick(now)
		opened = opened || m.DropoutCount() != before
	}
	return opened
}

// Things are the things with a monitor, sorted.
func (p *Pipeline) Things() []string { return slices.Sorted(maps.Keys(p.mons)) }

// Monitor is thing's monitor, nil when the pipeline has not seen it.
func (p *Pipeline) Monitor(thing string) *monitor.Monitor { return p.mons[thing] }

// Start is when thing's first run began (zero when unknown).
func (p *Pipeline) Start(thing string) time.Time { return p.start[thing] }
