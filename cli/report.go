package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/pipeline"
	"github.com/iotwatch/iotwatch/report"
)

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", "report [-c FILE] [--report FILE] LOG", stderr)
	cfgPath := fs.String("c", "", "configuration for the thresholds and plotted field (default: [soak] defaults); its [thing] name picks that thing of the log")
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
	r, err := pipeline.Replay(path, pipeline.Options{Monitor: monitorOptions(cfg), Thing: fallback})
	if err != nil {
		return err
	}
	for _, p := range r.Problems {
		fmt.Fprintln(stderr, "warning:", p)
	}
	if r.Torn {
		fmt.Fprintln(stderr, "note: the last line was cut short (the soak was killed); it was skipped")
	}
	switch {
	case r.Lines == 0:
		return fmt.Errorf("%s holds no events: is it the file soak --log or watch --log wrote?", path)
	case r.Overlap != "":
		return fmt.Errorf("%s: %s; their lines cannot be told apart, so no report is made: give each run its own --log", path, r.Overlap)
	}
	things, fleet, err := reportedThings(r.Pipeline, cfg, *cfgPath, path)
	if err != nil {
		return err
	}
	run := report.Run{Field: cfg.Plot.Field, Unit: cfg.Plot.Unit, Start: r.First, End: r.Last}
	return finishThings(r.Pipeline, things, fleet, cfg, run, outcome{}, *reportPath, stdout)
}

// reportedThings are the things of the log the report is about: a
// configuration's one thing (which the log must hold), else every thing
// the log holds (a fleet report when there are several).
func reportedThings(p *pipeline.Pipeline, cfg *config.Config, cfgPath, path string) ([]string, bool, error) {
	held := p.Things()
	want := cfg.Thing.Name
	if cfgPath == "" || cfg.Thing.Fleet() || want == "" {
		return held, p.Fleet(), nil
	}
	if p.Monitor(want) == nil {
		return nil, false, fmt.Errorf("%s holds no line of thing %q that %s names (it holds %s): give the configuration of the run that wrote it, or leave -c out",
			path, want, cfgPath, strings.Join(held, ", "))
	}
	return []string{want}, false, nil
}
