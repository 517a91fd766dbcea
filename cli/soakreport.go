package cli

// What soak and report share: the monitor a configuration asks for, the
// verdict's thresholds, how the run ended, and the report files (one thing
// or a fleet) with the verdict's exit status.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/pipeline"
	"github.com/iotwatch/iotwatch/report"
)

// monitorOptions and thresholds are the one place a configuration becomes
// the monitor's options and the verdict's thresholds.
func monitorOptions(cfg *config.Config) monitor.Options {
	return monitor.Options{Field: cfg.Plot.Field, Interval: cfg.Soak.Interval.Duration, DropoutAfter: cfg.Soak.DropoutAfter,
		MaxGap: cfg.Soak.MaxGap.Duration}
}

// thresholdsFrom says where the thresholds come from, for the report.
func thresholdsFrom(cfg *config.Config) string {
	switch {
	case cfg.Path == "":
		return "iotwatch's defaults: no configuration given"
	case !cfg.SoakGiven:
		return "iotwatch's defaults: " + cfg.Path + " has no [soak]"
	}
	return "[soak] of " + cfg.Path
}

func thresholds(cfg *config.Config) report.Thresholds {
	return report.Thresholds{MaxDropouts: cfg.Soak.MaxDropouts, MinAvailability: cfg.Soak.MinAvailability,
		MaxGap: cfg.Soak.MaxGap.Duration, MaxBlind: cfg.Soak.MaxBlind,
		Vitals:               report.VitalsThresholds{MaxHeapLossPerReconnect: cfg.Soak.MaxHeapLossPerReconnect, MaxHeapLossPerHour: cfg.Soak.MaxHeapLossPerHour},
		RequireJobsSucceeded: cfg.Soak.RequireJobsSucceeded}
}

// settingsOf are the [soak] settings a run records on its session lines.
func settingsOf(cfg *config.Config) *eventlog.Settings {
	s := cfg.Soak
	return &eventlog.Settings{Interval: eventlog.Seconds(s.Interval.Duration), DropoutAfter: s.DropoutAfter, MaxDropouts: s.MaxDropouts,
		MinAvailability: s.MinAvailability, MaxGap: eventlog.Seconds(s.MaxGap.Duration), MaxBlind: s.MaxBlind, RequireJobsSucceeded: s.RequireJobsSucceeded}
}

// withSettings is cfg with a run's recorded [soak] settings.
func withSettings(cfg *config.Config, s *eventlog.Settings) *config.Config {
	c := *cfg
	c.Soak.Interval.Duration, c.Soak.DropoutAfter, c.Soak.MaxDropouts = time.Duration(s.Interval), s.DropoutAfter, s.MaxDropouts
	c.Soak.MinAvailability, c.Soak.MaxGap.Duration, c.Soak.MaxBlind = s.MinAvailability, time.Duration(s.MaxGap), s.MaxBlind
	c.Soak.RequireJobsSucceeded = s.RequireJobsSucceeded
	return &c
}

// errFail and errInconclusive end soak and report with the verdict's exit
// status (1, 3) once the verdict's line is printed.
var (
	errFail         = errors.New("soak failed")
	errInconclusive = errors.New("inconclusive")
)

// checkReportPath finds before the run whether the report's files can be
// written, so that a run of hours does not end without its report.
func checkReportPath(path string) error {
	if path == "" {
		return nil
	}
	base := strings.TrimSuffix(path, ".md")
	for _, name := range []string{path, base + ".svg", base + ".json"} {
		if err := checkWritable(name); err != nil {
			return fmt.Errorf("--report %s: %w: give a path in a directory you can write", path, err)
		}
	}
	return nil
}

// checkWritable opens an existing file for writing, or creates and removes
// a file beside a new one.
func checkWritable(name string) error {
	if st, err := os.Stat(name); err == nil {
		if st.IsDir() {
			return fmt.Errorf("%s is a directory", name)
		}
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return f.Close()
	}
	f, err := os.CreateTemp(filepath.Dir(name), ".iotwatch-check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// finish evaluates things of p at run.End (with how the run ended and
// what its log could not hold) and prints or writes the report, as a fleet
// or the one thing; its error carries the verdict's exit status. runOf
// gives a thing's own run (its start, ending, thresholds) where a log's
// runs differ; nil: run for all.
func finish(p *pipeline.Pipeline, things []string, fleet bool, run report.Run, runOf func(thing string, r report.Run) report.Run, path string, out streams) error {
	var parts []report.Thing
	for _, t := range things {
		r := run
		r.Thing = t
		if s := p.Start(t); !s.IsZero() && fleet {
			r.Start = s
		}
		if runOf != nil {
			r = runOf(t, r)
		}
		st, v := report.EvaluateRun(p.Monitor(t), r)
		parts = append(parts, report.Thing{Run: r, Stats: st, Verdict: v})
	}
	if !fleet {
		return writeReport(parts[0], p.Monitor(things[0]), path, out)
	}
	report.WorstFirst(parts)
	return writeFleetReport(p, parts, run, path, out)
}

// writeReport prints or writes one thing's report.
func writeReport(t report.Thing, mon *monitor.Monitor, path string, out streams) error {
	svgName := ""
	files := map[string][]byte{}
	if path != "" {
		base := strings.TrimSuffix(path, ".md")
		svgName = base + ".svg"
		files[svgName] = report.SVG(t.Run, chart(mon, t.Run), t.Stats.Dropouts)
		files[base+".json"] = report.JSON(t.Run, t.Stats, t.Verdict)
	}
	md := report.Markdown(t.Run, t.Stats, t.Verdict, baseName(svgName))
	return emit(md, files, path, t.Verdict, out)
}

// writeFleetReport prints or writes a fleet's report, with one chart per
// thing (<report>-<thing>.svg) linked from its section.
func writeFleetReport(p *pipeline.Pipeline, things []report.Thing, run report.Run, path string, out streams) error {
	v := report.FleetVerdict(things)
	files := map[string][]byte{}
	if path != "" {
		base := strings.TrimSuffix(path, ".md")
		for i, t := range things {
			name := base + "-" + t.Run.Thing + ".svg"
			files[name] = report.SVG(t.Run, chart(p.Monitor(t.Run.Thing), t.Run), t.Stats.Dropouts)
			things[i].SVGName = baseName(name)
		}
		files[base+".json"] = report.FleetJSON(run.Start, run.End, things, v)
	}
	md := report.FleetMarkdown(run.Start, run.End, run.Thresholds, run.ThresholdsFrom, things, v)
	return emit(md, files, path, v, out)
}

// chart is the plotted field over a thing's run, for its SVG.
func chart(mon *monitor.Monitor, run report.Run) []float64 {
	return mon.Series(run.Field, max(run.End.Sub(run.Start), time.Second), 600, run.End)
}

// streams are a command's standard output and error.
type streams struct{ stdout, stderr io.Writer }

// emit writes the files and the Markdown to path, or prints the Markdown,
// then the verdict's line: on stderr when the Markdown is on stdout, so
// that "report LOG > r.md" keeps the Markdown alone.
func emit(md []byte, files map[string][]byte, path string, v report.Verdict, out streams) error {
	stdout := out.stdout
	if path == "" {
		stdout.Write(md)
		return verdictExit(v, out.stderr)
	}
	files[path] = md
	for name, data := range files {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "report written to %s\n", path)
	return verdictExit(v, stdout)
}

// verdictExit prints the verdict's line; its error carries the exit status.
func verdictExit(verdict report.Verdict, stdout io.Writer) error {
	switch verdict.Outcome {
	case report.Fail:
		why := verdict.Rule
		if len(verdict.Reasons) > 0 {
			why = strings.Join(verdict.Reasons, "; ")
		}
		fmt.Fprintf(stdout, "soak FAILED: %s\n", why)
		return errFail
	case report.Inconclusive:
		fmt.Fprintf(stdout, "soak INCONCLUSIVE: %s\n", verdict.Rule)
		return errInconclusive
	}
	fmt.Fprintf(stdout, "soak PASSED: %s\n", verdict.Rule)
	return nil
}

func baseName(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}
