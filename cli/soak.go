package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
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
	var log *eventlog.Writer
	if *logPath != "" {
		if log, err = eventlog.Create(*logPath); err != nil {
			return err
		}
		defer log.Close()
	}
	conn, err := awsconn.Dial(opts)
	if err != nil {
		return err
	}
	defer conn.Close()
	mon := monitor.New(monitorOptions(cfg))
	alerts, stopAlerts := startAlerts(cfg, stderr)
	defer stopAlerts()
	start := time.Now()
	watchSoak(ctx, conn, mon, log, start.Add(*duration), progressOut(stderr), func(now time.Time) { alerts.Observe(cfg.Thing.Name, mon, now) })
	end := time.Now()
	if log != nil {
		log.Sync()
	}
	return finishReport(report.Run{Thing: cfg.Thing.Name, Field: cfg.Plot.Field, Unit: cfg.Plot.Unit, Start: start, End: end}, mon, cfg, *reportPath, stdout)
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
			mon.Apply(ev)
			if log != nil {
				log.Write(ev)
			}
		case now := <-tick.C:
			before := mon.DropoutCount()
			mon.Tick(now)
			observe(now)
			if log != nil && mon.DropoutCount() != before {
				log.Sync() // a dropout is never left in a buffer
			}
			if progress != nil && now.Sub(lastPrint) >= time.Second {
				lastPrint = now
				avail, _, _ := mon.Availability(now)
				fmt.Fprintf(progress, "\r%s left  reports %d  dropouts %d  availability %.3f%%  link %s   ",
					time.Until(deadline).Round(time.Second), mon.Counts.Reports, mon.DropoutCount(), avail, mon.Link.State)
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
