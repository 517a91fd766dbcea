package cli

// What soak and report share: the monitor a configuration asks for, the
// verdict's thresholds, how the run ended, and the report files (one thing
// or a fleet) with the verdict's exit status.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/pipeline"
	"github.com/iotwatch/iotwatch/report"
)

// monitorOptions and thresholds are the one place a configuration becomes
// the monitor's options and the verdict's thresholds.
func monitorOptions(cfg *config.Config) monitor.Options {
	return monitor.Options{Field: cfg.Plot.Field, Interval: cfg.Soak.Interval.Duration, DropoutAfter: cfg.Soak.DropoutAfter}
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
		MaxGap: cfg.Soak.MaxGap.Duration, MaxBlind: cfg.Soak.MaxBlind}
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

// outcome is what a run's statistics do not hold: how it ended (a live
// run; a replay knows only its log) and whether its log failed.
type outcome struct {
	end      pipeline.End
	deadline time.Time
	log      *soakLog
}

// judge is the verdict given how the run ended: one stopped before its
// deadline saw only part of what it was to watch, so it is INCONCLUSIVE
// unless it already FAILed.
func (o outcome) judge(v report.Verdict, start time.Time) report.Verdict {
	if !o.end.Early || v.Outcome == report.Fail {
		return v
	}
	rule := o.stopped(start) + ": the rest of the run was not watched"
	if v.Outcome == report.Inconclusive {
		rule += "; and " + v.Rule
	}
	return report.Verdict{Outcome: report.Inconclusive, Rule: rule}
}

func (o outcome) stopped(start time.Time) string {
	return fmt.Sprintf("the run was stopped by %s at %s, %s into its %s (--duration)", o.end.Why, o.end.At.UTC().Format(time.RFC3339),
		o.end.At.Sub(start).Round(time.Second), o.deadline.Sub(start).Round(time.Second))
}

// notes are what the report says about the run itself.
func (o outcome) notes(start time.Time) []string {
	var out []string
	if o.end.Early {
		out = append(out, "The "+o.stopped(start)[4:]+".")
	}
	if n := o.log.note(); n != "" {
		out = append(out, n)
	}
	return out
}

// finish evaluates the pipeline's things at run.End (a fleet's, or the one
// thing's) and prints or writes the report; its error carries the
// verdict's exit status.
func finish(p *pipeline.Pipeline, cfg *config.Config, run report.Run, o outcome, path string, stdout io.Writer) error {
	return finishThings(p, p.Things(), p.Fleet(), cfg, run, o, path, stdout)
}

// finishThings reports things of p: as a fleet, or the one thing.
func finishThings(p *pipeline.Pipeline, things []string, fleet bool, cfg *config.Config, run report.Run, o outcome, path string, stdout io.Writer) error {
	run.Thresholds, run.ThresholdsFrom = thresholds(cfg), thresholdsFrom(cfg)
	var parts []report.Thing
	for _, t := range things {
		r := run
		r.Thing = t
		if s := p.Start(t); !s.IsZero() && fleet {
			r.Start = s
		}
		st, v := report.Evaluate(p.Monitor(t), run.End, run.Thresholds)
		parts = append(parts, report.Thing{Run: r, Stats: st, Verdict: o.judge(v, run.Start)})
	}
	notes := o.notes(run.Start)
	if !fleet {
		return writeReport(parts[0], p.Monitor(things[0]), notes, path, stdout)
	}
	report.WorstFirst(parts)
	return writeFleetReport(p, parts, run, notes, path, stdout)
}

// writeReport prints or writes one thing's report.
func writeReport(t report.Thing, mon *monitor.Monitor, notes []string, path string, stdout io.Writer) error {
	svgName := ""
	files := map[string][]byte{}
	if path != "" {
		base := strings.TrimSuffix(path, ".md")
		svgName = base + ".svg"
		files[svgName] = report.SVG(t.Run, chart(mon, t.Run), t.Stats.Dropouts)
		files[base+".json"] = withJSONNotes(report.JSON(t.Run, t.Stats, t.Verdict), notes)
	}
	md := withNotes(report.Markdown(t.Run, t.Stats, t.Verdict, baseName(svgName)), notes)
	return emit(md, files, path, t.Verdict, stdout)
}

// writeFleetReport prints or writes a fleet's report, with one chart per
// thing (<report>-<thing>.svg) linked from its section.
func writeFleetReport(p *pipeline.Pipeline, things []report.Thing, run report.Run, notes []string, path string, stdout io.Writer) error {
	v := report.FleetVerdict(things)
	files := map[string][]byte{}
	if path != "" {
		base := strings.TrimSuffix(path, ".md")
		for i, t := range things {
			name := base + "-" + t.Run.Thing + ".svg"
			files[name] = report.SVG(t.Run, chart(p.Monitor(t.Run.Thing), t.Run), t.Stats.Dropouts)
			things[i].SVGName = baseName(name)
		}
		files[base+".json"] = withJSONNotes(report.FleetJSON(run.Start, run.End, things, v), notes)
	}
	md := withNotes(report.FleetMarkdown(run.Start, run.End, run.Thresholds, run.ThresholdsFrom, things, v), notes)
	return emit(md, files, path, v, stdout)
}

// chart is the plotted field over a thing's run, for its SVG.
func chart(mon *monitor.Monitor, run report.Run) []float64 {
	return mon.Series(run.Field, max(run.End.Sub(run.Start), time.Second), 600, run.End)
}

// emit writes the files and the Markdown to path, or prints the Markdown,
// then the verdict's line.
func emit(md []byte, files map[string][]byte, path string, v report.Verdict, stdout io.Writer) error {
	if path == "" {
		stdout.Write(md)
		return verdictExit(v, stdout)
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

// rulesHeading starts the report's last section; notes go before it.
const rulesHeading = "\n## How the verdict is decided"

// withNotes puts what iotwatch says about its own run in the Markdown,
// before the rules.
func withNotes(md []byte, notes []string) []byte {
	if len(notes) == 0 {
		return md
	}
	var b bytes.Buffer
	b.WriteString("\n## About this run\n\n")
	for _, n := range notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	i := bytes.Index(md, []byte(rulesHeading))
	if i < 0 {
		return append(md, b.Bytes()...)
	}
	return append(append(append([]byte{}, md[:i]...), b.Bytes()...), md[i:]...)
}

// withJSONNotes adds "notes" to a summary object.
func withJSONNotes(summary []byte, notes []string) []byte {
	if len(notes) == 0 {
		return summary
	}
	body := bytes.TrimRight(summary, "\n")
	if !bytes.HasSuffix(body, []byte("}")) {
		return summary
	}
	list, _ := json.MarshalIndent(notes, "  ", "  ")
	body = bytes.TrimRight(body[:len(body)-1], "\n ")
	return append(append(body, []byte(",\n  \"notes\": ")...), append(list, []byte("\n}\n")...)...)
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
