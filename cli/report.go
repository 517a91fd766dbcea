package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/pipeline"
	"github.com/iotwatch/iotwatch/report"
)

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", "report [-c FILE] [--report FILE] LOG", stderr)
	cfgPath := fs.String("c", "", "configuration: its [thing] name picks that thing of the log, its [soak] replaces the thresholds the log's session lines recorded (the report names those that differ)")
	reportPath := fs.String("report", "", "write the Markdown report here, with .svg and .json beside it")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give the event log written by --log")
	}
	if err := checkReportPath(*reportPath); err != nil {
		return err
	}
	path := fs.Arg(0)
	cfg := config.Default()
	if *cfgPath != "" {
		loaded, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		cfg = loaded
	}
	// A log from before session lines names no thing: -c's, else the file's name.
	fallback := cfg.Thing.Name
	if fallback == "" {
		fallback = filepath.Base(path)
	}
	// The monitors replay with the interval and thresholds the run
	// recorded, unless -c gives others.
	var recorded *eventlog.Settings
	judged := cfg
	r, err := pipeline.Replay(path, func(runs *eventlog.Log) pipeline.Options {
		if recorded = runs.LastRun().Header.Settings; *cfgPath == "" && recorded != nil {
			judged = withSettings(cfg, recorded)
		}
		return pipeline.Options{Monitor: monitorOptions(judged), Thing: fallback}
	})
	if err != nil {
		return err
	}
	for _, p := range r.Log.Problems {
		fmt.Fprintln(stderr, "warning:", p)
	}
	if r.Log.Torn {
		fmt.Fprintln(stderr, "note: the last line was cut short (the soak was killed); it was skipped")
	}
	switch {
	case r.Lines == 0:
		return fmt.Errorf("%s holds no events: is it the file soak --log or watch --log wrote?", path)
	case len(r.Log.Overlaps) > 0:
		return fmt.Errorf("%s: %s; their figures cannot be told apart, so no report is made: give each run its own --log", path, r.Log.Overlaps[0])
	}
	things, fleet, err := reportedThings(r, cfg, *cfgPath, path)
	if err != nil {
		return err
	}
	run := report.Run{Field: cfg.Plot.Field, Unit: cfg.Plot.Unit, Start: r.First, End: r.Last,
		Thresholds: thresholds(judged), ThresholdsFrom: thresholdsFrom(cfg)}
	if *cfgPath == "" && recorded != nil {
		run.ThresholdsFrom = "recorded by the run in " + path
	}
	return finish(r.Pipeline, things, fleet, run, func(thing string, tr report.Run) report.Run {
		return ownRun(r.Log, thing, tr, *cfgPath != "")
	}, *reportPath, streams{stdout, stderr})
}

// ownRun is a thing's report run with what its last run in the log says:
// how it ended (a log without the run's closing line was cut short), and,
// when -c's thresholds judge it, which of them differ from the run's own.
func ownRun(log *eventlog.Log, thing string, r report.Run, overridden bool) report.Run {
	var last *eventlog.RunInfo
	for i := range log.Runs {
		if run := log.Runs[i]; slices.Contains(run.Things, thing) || (!run.Fleet && len(run.Things) == 0) {
			last = &log.Runs[i]
		}
	}
	if last == nil {
		return r // a log from before session lines
	}
	if last.End == nil {
		r.Ending = report.Ending{Cut: true, At: last.Last, Planned: last.Header.Planned}
	} else {
		e := last.End
		r.Ending = report.Ending{Reason: e.Reason, Signal: e.Signal, Error: e.Error, At: e.At, Planned: last.Header.Planned}
	}
	if overridden && last.Header.Settings != nil {
		own := thresholds(withSettings(config.Default(), last.Header.Settings))
		if diff := report.DiffThresholds(r.Thresholds, own); len(diff) > 0 {
			r.Notes = append(r.Notes, "-c's thresholds differ from the run's: "+strings.Join(diff, ", "))
		}
	}
	return r
}

// reportedThings are the things of the log the report is about: a
// configuration's one thing (which the log must hold), else every thing
// the log holds (a fleet report when it is a fleet's log or holds several).
func reportedThings(r *pipeline.Replayed, cfg *config.Config, cfgPath, path string) ([]string, bool, error) {
	held := r.Things()
	want := cfg.Thing.Name
	if cfgPath == "" || cfg.Thing.Fleet() || want == "" {
		return held, r.Log.Fleet(), nil
	}
	if r.Monitor(want) == nil {
		return nil, false, fmt.Errorf("%s holds no line of thing %q that %s names (it holds %s): give the configuration of the run that wrote it, or leave -c out",
			path, want, cfgPath, strings.Join(held, ", "))
	}
	return []string{want}, false, nil
}
