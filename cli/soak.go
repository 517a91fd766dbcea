package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"time"

	"github.com/iotwatch/iotwatch/alert"
	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/pki"
	"github.com/iotwatch/iotwatch/report"
)

func runSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("soak", "soak [-c FILE] --duration D [--log FILE] [--report FILE] [connection flags]", stderr)
	cfgPath := fs.String("c", "", "configuration ([soak] holds the thresholds; [thing] names or match soak a fleet, unless --thing names one)")
	over := addConnFlags(fs)
	things := repeatThing(fs, over)
	duration := fs.Duration("duration", 0, "how long to watch, e.g. 8h (Ctrl+C ends early and still reports)")
	logPath := fs.String("log", "", "append every event to this JSON Lines log (fsynced every second)")
	reportPath := fs.String("report", "", "write the Markdown report here, with .svg and .json beside it")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *duration <= 0 {
		return usagef("--duration is required, e.g. --duration 8h")
	}
	cfg, opts, err := loadConn(*cfgPath, *over)
	if err != nil {
		return err
	}
	pki.WarnKeyFile(stderr, cfg.AWS.Key)
	if err := things.apply(cfg); err != nil {
		return err
	}
	if cfg.Thing.Fleet() && (over.Thing == "" || len(things.names) > 1) {
		return soakFleet(ctx, cfg, opts, fleetRun{duration: *duration, log: *logPath, report: *reportPath}, stdout, stderr)
	}
	mon := monitor.New(monitorOptions(cfg))
	session := sessionOf(cfg)
	mon.Apply(session)
	var log *eventlog.Writer
	if *logPath != "" {
		if log, err = eventlog.Create(*logPath, session); err != nil {
			return err
		}
		defer log.Close()
	}
	conn, err := awsconn.Dial(opts)
	if err != nil {
		return err
	}
	defer conn.Close()
	end := soakUntil(ctx, cfg, conn.Events(), &oneThing{mon: mon, log: log}, session.At.Add(*duration), stderr,
		func(alerts *alert.Alerter, now time.Time) { alerts.Observe(cfg.Thing.Name, mon, now) })
	return finishReport(report.Run{Thing: cfg.Thing.Name, Field: cfg.Plot.Field, Unit: cfg.Plot.Unit, Start: session.At, End: end}, mon, cfg, *reportPath, stdout)
}

// sessionOf is the line that opens a run in the log.
func sessionOf(cfg *config.Config) event.Session {
	s := event.Session{At: time.Now(), Program: programVersion(), Thing: cfg.Thing.Name}
	if data, err := os.ReadFile(cfg.Path); err == nil {
		sum := sha256.Sum256(data)
		s.ConfigDigest = hex.EncodeToString(sum[:])
	}
	return s
}

// programVersion is iotwatch's module version and VCS revision, as built.
func programVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "iotwatch"
	}
	v := "iotwatch " + info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (vcs " + s.Value[:12] + ")"
		}
	}
	return v
}

// record applies an event of the soak's own to the monitor and the log.
func record(mon *monitor.Monitor, log *eventlog.Writer, ev event.Event) {
	mon.Apply(ev)
	if log != nil {
		log.Write(ev)
	}
}

// soakSink is what a soak feeds: one thing's monitor, or a fleet's.
// soakUntil watches events into sink until the deadline or ctx ends, with
// alerts observed at each tick and the progress line on a terminal, and
// ends the run with an alive line, synced; it returns the run's end.
func soakUntil(ctx context.Context, cfg *config.Config, events <-chan event.Event, sink soakSink, deadline time.Time,
	stderr io.Writer, observe func(*alert.Alerter, time.Time)) time.Time {
	alerts, stopAlerts := startAlerts(cfg, stderr)
	defer stopAlerts()
	progress := progressOut(stderr)
	watchSoak(ctx, events, sink, deadline, progress, func(now time.Time) { observe(alerts, now) })
	if progress != nil {
		fmt.Fprintln(progress) // the report's lines start below the progress line
	}
	end := event.Alive{At: time.Now()}
	sink.record(end) // the run's last line is its end
	sink.sync()
	return end.At
}

type soakSink interface {
	record(ev event.Event)
	// tick runs the dropout detector; true when a dropout opened.
	tick(now time.Time) bool
	progress(now time.Time) string
	sync()
}

// oneThing is the single configured thing's monitor and the log.
type oneThing struct {
	mon *monitor.Monitor
	log *eventlog.Writer
}

func (o *oneThing) record(ev event.Event) { record(o.mon, o.log, ev) }

func (o *oneThing) tick(now time.Time) bool {
	before := o.mon.DropoutCount()
	o.mon.Tick(now)
	return o.mon.DropoutCount() != before
}

func (o *oneThing) progress(now time.Time) string {
	return fmt.Sprintf("reports %d  dropouts %d  availability %s  link %s", o.mon.Counts.Reports, o.mon.DropoutCount(), percent(o.mon.Availability(now)), o.mon.Link.State)
}

func (o *oneThing) sync() {
	if o.log != nil {
		o.log.Sync()
	}
}

// watchSoak feeds events to the sink until the deadline or ctx ends,
// ticking the dropout detector, observing for alerts and printing progress.
func watchSoak(ctx context.Context, events <-chan event.Event, sink soakSink, deadline time.Time, progress io.Writer, observe func(time.Time)) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	lastPrint := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			sink.record(ev)
		case now := <-tick.C:
			opened := sink.tick(now)
			observe(now)
			if opened {
				sink.sync() // a dropout is never left in a buffer
			}
			if progress != nil && now.Sub(lastPrint) >= time.Second {
				lastPrint = now
				fmt.Fprintf(progress, "\r%s left  %s   ", time.Until(deadline).Round(time.Second), sink.progress(now))
			}
		}
	}
}

// progressOut is stderr when it is a terminal, else nil (no progress line).
func progressOut(stderr io.Writer) io.Writer {
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		return f
	}
	return nil
}

// percent shows an availability, "–" before anything was observed.
func percent(p float64, _, _ time.Duration) string {
	if math.IsNaN(p) {
		return "–"
	}
	return fmt.Sprintf("%.3f%%", p)
}
