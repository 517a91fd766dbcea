package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/alert"
	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/tui"
)

// thingFlags is watch's --thing, repeatable: the first overrides [thing]
// name; two or more also replace [thing] names and match, which makes a
// fleet.
type thingFlags struct {
	over  *config.Overrides
	names []string
}

func (t *thingFlags) String() string { return strings.Join(t.names, " ") }

func (t *thingFlags) Set(name string) error {
	t.names = append(t.names, name)
	t.over.Thing = t.names[0]
	return nil
}

// repeatThing makes addConnFlags' --thing repeatable.
func repeatThing(fs *flag.FlagSet, over *config.Overrides) *thingFlags {
	t := &thingFlags{over: over}
	f := fs.Lookup("thing")
	f.Value, f.Usage = t, "override [thing] name; repeat for a fleet (replaces [thing] names and match)"
	return t
}

// apply sets the fleet of two or more --thing on cfg.
func (t *thingFlags) apply(cfg *config.Config) error {
	if len(t.names) < 2 {
		return nil
	}
	for i, n := range t.names {
		if slices.Contains(t.names[:i], n) {
			return usagef("--thing %s is given twice", n)
		}
	}
	cfg.Thing.Names, cfg.Thing.Match = t.names, ""
	return nil
}

// fleetOptions are the fleet's things: names from the start, and the things
// match accepts from the registry (ListThings, when the control plane is
// reachable) and from the update/accepted wildcard as they report.
func fleetOptions(ctx context.Context, cfg *config.Config, opts awsconn.Options, stderr io.Writer) awsconn.FleetOptions {
	fo := awsconn.FleetOptions{Conn: opts, Things: cfg.Thing.Names}
	if cfg.Thing.Match != "" {
		fo.Match, fo.Discover = cfg.Thing.Matches, true
		if client, _, err := fleetControlPlane(ctx, cfg, "", ""); err == nil {
			fo.List = awsconn.RegistryThings(client)
		} else {
			fmt.Fprintf(stderr, "warning: no control plane to list things (%v): matching things appear as they report\n", err)
		}
	}
	return fo
}

// watchFleet runs the fleet screen over the configured things: names from
// the start, the things match accepts from the registry (ListThings) and
// from the update/accepted wildcard as they report.
func watchFleet(ctx context.Context, cfg *config.Config, opts awsconn.Options, single tui.Options, logPath string, noColor bool, stderr io.Writer) error {
	fo := fleetOptions(ctx, cfg, opts, stderr)
	session := sessionOf(cfg) // before Dial: the log's run starts before its first event
	fleet, err := awsconn.DialFleet(fo)
	if err != nil {
		return err
	}
	defer fleet.Close()
	var source tui.FleetConn = fleet
	if logPath != "" {
		log, err := eventlog.Create(logPath, session)
		if err != nil {
			return err
		}
		defer log.Close()
		source = loggedFleet(fleet, log)
	}
	_, err = runProgram(ctx, tui.NewFleet(tui.FleetOptions{Conn: source, Things: cfg.Thing.Names, Single: single}), noColor)
	return err
}

// fleetLog passes a fleet's events on after appending each to the event
// log (every line names its thing), off the UI goroutine.
type fleetLog struct {
	*awsconn.Fleet
	events <-chan event.Event
}

func loggedFleet(f *awsconn.Fleet, log *eventlog.Writer) *fleetLog {
	return &fleetLog{Fleet: f, events: teeLog(f.Events(), log)}
}

func (l *fleetLog) Events() <-chan event.Event { return l.events }

// watchAlerts is [[alert]] in watch. The UI observes each thing's monitor
// after its events and ticks on its own goroutine; the alerts found go to
// that thing's event log and to the outputs, which never block it. The
// screen hides stderr, so an output's failure goes to the event log of the
// next thing observed.
type watchAlerts struct {
	alerter  *alert.Alerter
	tracker  *alert.Tracker
	failures chan string
}

func startWatchAlerts(cfg *config.Config) (w *watchAlerts, stop func()) {
	w = &watchAlerts{tracker: alert.NewTracker(), failures: make(chan string, 16)}
	w.alerter = alert.New(alert.Options{Rules: cfg.Alert, Log: func(line string) {
		if strings.HasPrefix(line, "alert: output ") {
			select {
			case w.failures <- line:
			default: // the event log has enough of them already
			}
		}
	}})
	return w, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.alerter.Close(ctx)
	}
}

// observe is tui.Options.Observe.
func (w *watchAlerts) observe(thing string, m *monitor.Monitor, now time.Time) {
	found := w.tracker.Check(thing, m, now)
	for _, a := range found {
		m.Warn(now, "alert: "+a.String())
	}
	w.alerter.Raise(found...)
	for {
		select {
		case line := <-w.failures:
			m.Warn(now, line)
		default:
			return
		}
	}
}
