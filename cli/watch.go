package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/pipeline"
	"github.com/iotwatch/iotwatch/tui"
)

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("watch", "[watch] [-c FILE] [--log FILE] [--csv FILE] [--no-color] [--thing NAME]... [connection flags]", stderr)
	cfgPath := fs.String("c", "", "configuration (default ./iotwatch.toml, then $XDG_CONFIG_HOME/iotwatch/config.toml)")
	over := addConnFlags(fs)
	things := repeatThing(fs, over)
	noColor := fs.Bool("no-color", false, "no colours (also NO_COLOR)")
	logPath := fs.String("log", "", "append every event to this JSON Lines log (fsynced every second)")
	csvPath := fs.String("csv", "", "on exit, write the plotted field's reports, each once, to this CSV file")
	endpointURL := endpointURLFlag(fs)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	cfg, opts, err := loadConn(*cfgPath, *over)
	if err != nil {
		return err
	}
	if err := things.apply(cfg); err != nil {
		return err
	}
	if err := tui.CheckControls(cfg.Control, nil); err != nil {
		return fmt.Errorf("%s: %w", cfg.Path, err)
	}
	warnings := cfg.Warnings() // also in the TUI's event log, as the screen hides stderr
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	single := tui.Options{Endpoint: fmt.Sprintf("%s:%d", cfg.AWS.Endpoint, cfg.AWS.Port), Thing: cfg.Thing.Name, Unit: cfg.Plot.Unit,
		Window: cfg.Plot.Window.Duration, Controls: cfg.Control, Monitor: monitorOptions(cfg), Warnings: warnings}
	single.Jobs = watchJobs(ctx, cfg) // the jobs pane (J) and the fleet's job column
	if len(cfg.Alert) > 0 {
		alerts, stop := startWatchAlerts(cfg)
		defer stop()
		single.Observe = alerts.observe
	}
	if cfg.Thing.Fleet() && (len(cfg.Thing.Names) > 1 || cfg.Thing.Match != "") {
		if *csvPath != "" {
			return usagef("--csv is for one thing: open the thing from the fleet screen and export its plot with x")
		}
		return watchFleet(ctx, cfg, opts, single, *logPath, *endpointURL, *noColor, stderr)
	}
	session := sessionOf(cfg) // before Dial: the log's run starts before its first event
	log, err := openLog(*logPath, eventlog.Header{}, stderr)
	if err != nil {
		return err
	}
	conn, err := awsconn.Dial(opts)
	if err != nil {
		return err
	}
	defer conn.Close()
	teeLog, closeLog := watchLog(log)
	defer closeLog()
	p := pipeline.New(pipeline.Options{Monitor: single.Monitor, Log: teeLog, LogFailed: log.failed})
	p.Open(session)
	started := time.Now()
	single.Conn, single.Pipeline = conn, p
	final, err := runTUI(ctx, single, *noColor)
	p.Apply(closing(ctx, err)) // the UI is done with the pipeline
	if err != nil || *csvPath == "" || final.Monitor() == nil {
		return err
	}
	return writeCSV(*csvPath, final.Monitor(), started, time.Now())
}

// closing is the closing line of a watch: quit by the user, stopped by a
// signal, or ended by the UI's error.
func closing(ctx context.Context, err error) event.End {
	now := time.Now()
	switch {
	case err != nil:
		return event.End{At: now, Reason: event.EndError, Error: err.Error()}
	case ctx.Err() != nil:
		if name, ok := pipeline.Signal(ctx); ok {
			return event.End{At: now, Reason: event.EndSignal, Signal: name}
		}
	}
	return event.End{At: now, Reason: event.EndCompleted}
}

// watchLog is a watch's log, written off the UI's goroutine (nil without
// a file), and what closes it: the lines still queued are written first.
func watchLog(log *soakLog) (pipeline.Log, func()) {
	if log.log() == nil {
		return nil, func() {}
	}
	a := pipeline.NewAsync(log)
	return a, func() {
		if err := a.Close(); err != nil {
			log.failed(err)
		}
	}
}

// writeCSV writes the plotted field's reports from start to end as they
// came, each once (as the TUI's x does; at most a day).
func writeCSV(path string, mon *monitor.Monitor, start, end time.Time) error {
	span := min(max(end.Sub(start).Truncate(time.Second), time.Second), 24*time.Hour)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := mon.WriteReportsCSV(f, mon.Field(), span, end); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
