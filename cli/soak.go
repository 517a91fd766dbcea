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
	cfgPath := fs.String("c", "", "configuration ([soak] holds the thresholds)")
	over := addConnFlags(fs)
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
	alerts, stopAlerts := startAlerts(cfg, stderr)
	defer stopAlerts()
	progress := progressOut(stderr)
	watchSoak(ctx, conn, mon, log, session.At.Add(*duration), progress, func(now time.Time) { alerts.Observe(cfg.Thing.Name, mon, now) })
	if progress != nil {
		fmt.Fprintln(progress) // the report's lines start below the progress line
	}
	end := event.Alive{At: time.Now()}
	record(mon, log, end) // the run's last line is its end
	if log != nil {
		log.Sync()
	}
	return finishReport(report.Run{Thing: cfg.Thing.Name, Field: cfg.Plot.Field, Unit: cfg.Plot.Unit, Start: session.At, End: end.At}, mon, cfg, *reportPath, stdout)
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

// watchSoak feeds events to the monitor and the log until the deadline or
// ctx ends, ticking the dropout detector, observing for alerts and
// printing progress.
func watchSoak(ctx context.Context, conn *awsconn.Conn, mon *monitor.Monitor, log *eventlog.Writer, deadline time.Time, progress io.Writer, observe func(time.Time)) {
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
		case ev, ok := <-conn.Events():
			if !ok {
				return
			}
			record(mon, log, ev)
		case now := <-tick.C:
			before := mon.DropoutCount()
			mon.Tick(now)
			observe(now)
			if log != nil && mon.DropoutCount() != before {
				log.Sync() // a dropout is never left in a buffer
			}
			if progress != nil && now.Sub(lastPrint) >= time.Second {
				lastPrint = now
				fmt.Fprintf(progress, "\r%s left  reports %d  dropouts %d  availability %s  link %s   ",
					time.Until(deadline).Round(time.Second), mon.Counts.Reports, mon.DropoutCount(), percent(mon.Availability(now)), mon.Link.State)
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
