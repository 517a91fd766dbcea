package cli

// soak over many things: one monitor per thing, fed by awsconn.Fleet's
// events by their thing; report replays a fleet's log through the same
// routing, so each thing's verdict is the live run's.

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/alert"
	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/report"
	"github.com/iotwatch/iotwatch/shadow"
)

// fleetMonitors is one monitor per thing. Apply is the one routing of soak
// and report: an event naming a thing goes to its monitor, a link event to
// the monitors of the things it names, the rest (alive, overflow, a fleet
// run's session) to all.
type fleetMonitors struct {
	opts  monitor.Options
	base  event.Session // a thing's own session line copies its program and digest
	mons  map[string]*monitor.Monitor
	start map[string]time.Time
}

// newFleetMonitors: opts are the configuration's, reports read from
// update/documents (the only report topic a fleet's connection follows).
func newFleetMonitors(opts monitor.Options, base event.Session) *fleetMonitors {
	opts.ReportsInDocuments = true
	return &fleetMonitors{opts: opts, base: base, mons: map[string]*monitor.Monitor{}, start: map[string]time.Time{}}
}

// Apply applies ev and returns the lines the log needs for it: ev, after a
// session line for a thing not seen before (and, when ev is not a link
// event, a link up for it: ev came over an up connection, which the link
// event before it did not name yet because the thing was added since).
func (f *fleetMonitors) Apply(ev event.Event) []event.Event {
	switch e := ev.(type) {
	case event.Session:
		if e.Thing == "" { // a fleet run opens: a new run for every thing known
			f.each(ev)
		} else {
			f.open(e) // a thing known from an earlier run: that run's session began this one
		}
		return []event.Event{ev}
	case event.Link:
		var out []event.Event
		for _, t := range e.Things {
			out = append(out, f.ensure(t, e.At)...)
			f.mons[t].Apply(e)
		}
		return append(out, ev)
	}
	thing, ok := thingOf(ev)
	if !ok {
		f.each(ev)
		return []event.Event{ev}
	}
	out := f.ensure(thing, ev.Time())
	if len(out) > 0 {
		up := event.Link{At: ev.Time(), State: event.LinkUp, Things: []string{thing}}
		f.mons[thing].Apply(up)
		out = append(out, up)
	}
	f.mons[thing].Apply(ev)
	return append(out, ev)
}

// ensure opens thing's monitor if it has none; the session line it applied
// is returned for the log.
func (f *fleetMonitors) ensure(thing string, at time.Time) []event.Event {
	s := f.base
	s.At, s.Thing = at, thing
	if f.open(s) {
		return []event.Event{s}
	}
	return nil
}

// open starts the monitor of s.Thing with s; false if it has one.
func (f *fleetMonitors) open(s event.Session) bool {
	if f.mons[s.Thing] != nil {
		return false
	}
	m := monitor.New(f.opts)
	m.Apply(s)
	f.mons[s.Thing], f.start[s.Thing] = m, s.At
	return true
}

func (f *fleetMonitors) each(ev event.Event) {
	for _, m := range f.mons {
		m.Apply(ev)
	}
}

// things are the monitored things, sorted.
func (f *fleetMonitors) things() []string { return slices.Sorted(maps.Keys(f.mons)) }

// thingOf is the thing an event names: its Thing field, or for a malformed
// message the thing of its shadow topic.
func thingOf(ev event.Event) (string, bool) {
	var thing string
	switch e := ev.(type) {
	case event.ShadowDoc:
		thing = e.Thing
	case event.Rejected:
		thing = e.Thing
	case event.Deleted:
		thing = e.Thing
	case event.Presence:
		thing = e.Thing
	case event.DesiredSent:
		thing = e.Thing
	case event.Malformed:
		thing, _, _, _, _ = shadow.ParseTopic(e.Topic)
	}
	return thing, thing != ""
}

// results are every thing's report part, evaluated at end, worst first.
func (f *fleetMonitors) results(run report.Run, th report.Thresholds) []report.Thing {
	var out []report.Thing
	for _, t := range f.things() {
		r := run
		r.Thing, r.Start = t, f.start[t]
		st, v := report.Evaluate(f.mons[t], run.End, th)
		out = append(out, report.Thing{Run: r, Stats: st, Verdict: v})
	}
	report.WorstFirst(out)
	return out
}

// fleetSink feeds a fleet soak's monitors and its log.
type fleetSink struct {
	fm  *fleetMonitors
	log *eventlog.Writer
}

func (s *fleetSink) record(ev event.Event) {
	for _, line := range s.fm.Apply(ev) {
		if s.log != nil {
			s.log.Write(line)
		}
	}
}

func (s *fleetSink) tick(now time.Time) bool {
	opened := false
	for _, m := range s.fm.mons {
		before := m.DropoutCount()
		m.Tick(now)
		opened = opened || m.DropoutCount() != before
	}
	return opened
}

func (s *fleetSink) progress(time.Time) string {
	reports, dropouts, silent := 0, 0, 0
	for _, m := range s.fm.mons {
		reports += m.Counts.Reports
		dropouts += m.DropoutCount()
		if m.Counts.Reports == 0 {
			silent++
		}
	}
	return fmt.Sprintf("things %d  reports %d  dropouts %d  never reported %d", len(s.fm.mons), reports, dropouts, silent)
}

func (s *fleetSink) sync() {
	if s.log != nil {
		s.log.Sync()
	}
}

// fleetRun is a fleet soak's command line.
type fleetRun struct {
	duration    time.Duration
	log, report string
}

// soakFleet soaks the things [thing] names and matches over awsconn.Fleet.
func soakFleet(ctx context.Context, cfg *config.Config, opts awsconn.Options, fr fleetRun, stdout, stderr io.Writer) error {
	session := sessionOf(cfg)
	session.Thing = "" // the fleet's run; each thing gets its own session line
	fm := newFleetMonitors(monitorOptions(cfg), session)
	sink := &fleetSink{fm: fm}
	if fr.log != "" {
		var err error
		if sink.log, err = eventlog.Create(fr.log, session); err != nil {
			return err
		}
		defer sink.log.Close()
	}
	for _, t := range cfg.Thing.Names {
		sink.record(event.Session{At: session.At, Program: session.Program, Thing: t, ConfigDigest: session.ConfigDigest})
	}
	fo := awsconn.FleetOptions{Conn: opts, Things: cfg.Thing.Names}
	fo.Conn.Log = stderr
	if cfg.Thing.Match != "" {
		fo.Match, fo.Discover = cfg.Thing.Matches, true
	}
	fleet, err := awsconn.DialFleet(fo)
	if err != nil {
		return err
	}
	defer fleet.Close()
	end := soakUntil(ctx, cfg, fleet.Events(), sink, session.At.Add(fr.duration), stderr, func(alerts *alert.Alerter, now time.Time) {
		for t, m := range fm.mons {
			alerts.Observe(t, m, now)
		}
	})
	return finishFleetReport(fm, report.Run{Field: cfg.Plot.Field, Unit: cfg.Plot.Unit, Start: session.At, End: end}, cfg, fr.report, stdout)
}

// finishFleetReport writes the fleet's report (with one chart per thing,
// <report>-<thing>.svg, linked from its section) or prints it; its error
// carries the fleet verdict's exit status.
func finishFleetReport(fm *fleetMonitors, run report.Run, cfg *config.Config, path string, stdout io.Writer) error {
	th, from := thresholds(cfg), thresholdsFrom(cfg)
	run.Thresholds, run.ThresholdsFrom = th, from
	things := fm.results(run, th)
	v := report.FleetVerdict(things)
	base := strings.TrimSuffix(path, ".md")
	for i, t := range things {
		if path == "" {
			break
		}
		name := base + "-" + t.Run.Thing + ".svg"
		points := fm.mons[t.Run.Thing].Series(run.Field, max(run.End.Sub(t.Run.Start), time.Second), 600, run.End)
		if err := os.WriteFile(name, report.SVG(t.Run, points, t.Stats.Dropouts), 0o644); err != nil {
			return err
		}
		things[i].SVGName = baseName(name)
	}
	md := report.FleetMarkdown(run.Start, run.End, th, from, things, v)
	if path == "" {
		stdout.Write(md)
		return verdictExit(v, stdout)
	}
	files := map[string][]byte{path: md, base + ".json": report.FleetJSON(run.Start, run.End, things, v)}
	for name, data := range files {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "report written to %s\n", path)
	return verdictExit(v, stdout)
}
