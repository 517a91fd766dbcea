package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/report"
)

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", "report [-c FILE] [--report FILE] LOG", stderr)
	cfgPath := fs.String("c", "", "configuration for the thresholds and plotted field (default: [soak] defaults)")
	reportPath := fs.String("report", "", "write the Markdown report here, with .svg and .json beside it")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give the event log written by --log")
	}
	cfg := config.Default()
	if *cfgPath != "" {
		loaded, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		cfg = loaded
	}
	mon := monitor.New(monitorOptions(cfg))
	var fleet *fleetMonitors // a fleet soak's log: its first line is a session without a thing
	var first, last time.Time
	thing := ""
	log, err := eventlog.Scan(fs.Arg(0), func(ev event.Event) {
		if first.IsZero() {
			first = ev.Time()
			if s, ok := ev.(event.Session); ok && s.Thing == "" {
				fleet = newFleetMonitors(monitorOptions(cfg), s)
			}
		}
		last = later(last, ev.Time())
		if fleet != nil {
			fleet.Apply(ev)
			return
		}
		if s, ok := ev.(event.Session); ok && thing == "" {
			thing = s.Thing
		}
		mon.Apply(ev)
	})
	if err != nil {
		return err
	}
	for _, p := range log.Problems {
		fmt.Fprintln(stderr, "warning:", p)
	}
	if log.Torn {
		fmt.Fprintln(stderr, "note: the last line was cut short (the soak was killed); it was skipped")
	}
	if first.IsZero() {
		return fmt.Errorf("%s holds no events", fs.Arg(0))
	}
	if fleet != nil {
		return finishFleetReport(fleet, report.Run{Field: cfg.Plot.Field, Unit: cfg.Plot.Unit, Start: first, End: last}, cfg, *reportPath, stdout)
	}
	// Without -c the log's sessions name the thing, else the log's file name.
	switch {
	case cfg.Thing.Name != "" && thing != "" && thing != cfg.Thing.Name:
		fmt.Fprintf(stderr, "warning: %s watched thing %q, %s names %q\n", fs.Arg(0), thing, cfg.Path, cfg.Thing.Name)
	case cfg.Thing.Name != "":
	case thing != "":
		cfg.Thing.Name = thing
	default:
		cfg.Thing.Name = filepath.Base(fs.Arg(0))
	}
	run := report.Run{Thing: cfg.Thing.Name, Field: cfg.Plot.Field, Unit: cfg.Plot.Unit, Start: first, End: last}
	return finishReport(run, mon, cfg, *reportPath, stdout)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
