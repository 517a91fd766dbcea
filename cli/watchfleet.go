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
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/pipeline"
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

// endpointURLFlag is --endpoint-url of watch and soak: the control plane
// that lists the things a fleet's match accepts.
func endpointURLFlag(fs *flag.FlagSet) *string {
	return fs.String("endpoint-url", "", "with [thing] match: the control plane listing the things at start (default: AWS's, or https://ENDPOINT:8443 for iotwatch serve)")
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

// fleetOptions are the fleet's things: names, and with match the things it
// accepts of the registry (ListThings, when the control plane answers),
// listed before the run starts so that each is watched from its first
// second; a matching thing that reports later (the update/accepted
// wildcard) joins then.
func fleetOptions(ctx context.Context, cfg *config.Config, opts awsconn.Options, endpointURL string, stderr io.Writer) awsconn.FleetOptions {
	fo := awsconn.FleetOptions{Conn: opts, Things: slices.Clone(cfg.Thing.Names)}
	if cfg.Thing.Match == "" {
		return fo
	}
	fo.Match, fo.Discover = cfg.Thing.Matches, true
	client, _, err := fleetControlPlane(ctx, cfg, endpointURL, "")
	if err == nil {
		listCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		var names []string
		if names, err = awsconn.RegistryThings(client)(listCtx); err == nil {
			for _, n := range names {
				if cfg.Thing.Matches(n) && !slices.Contains(fo.Things, n) {
					fo.Things = append(fo.Things, n)
				}
			}
			return fo
		}
	}
	fmt.Fprintf(stderr, "warning: no control plane to list things (%v): matching things are watched from when they first report\n", err)
	return fo
}

// watchFleet runs the fleet screen over the configured things.
func watchFleet(ctx context.Context, cfg *config.Config, opts awsconn.Options, single tui.Options, logPath, endpointURL string, noColor bool, stderr io.Writer) error {
	fo := fleetOptions(ctx, cfg, opts, endpointURL, stderr)
	session := sessionOf(cfg) // before Dial: the log's run starts before its first event
	session.Thing = ""        // the fleet's run; each thing gets its own session line
	log, err := openLog(logPath, eventlog.Header{}, stderr)
	if err != nil {
		return err
	}
	fleet, err := awsconn.DialFleet(fo)
	if err != nil {
		return err
	}
	defer fleet.Close()
	teeLog, closeLog := watchLog(log)
	defer closeLog()
	p := pipeline.New(pipeline.Options{Monitor: tui.FleetMonitorOptions(single.Monitor), Fleet: true, Log: teeLog, LogFailed: log.failed})
	p.Open(session, fo.Things...)
	_, err = runProgram(ctx, tui.NewFleet(tui.FleetOptions{Conn: fleet, Things: fo.Things, Single: single, Pipeline: p}), noColor)
	p.Apply(closing(ctx, err)) // the UI is done with the pipeline
	return err
}

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
