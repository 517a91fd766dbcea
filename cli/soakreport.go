package cli

// What soak and report share: the monitor a configuration asks for, the
// verdict's thresholds, and the report files with the verdict's exit status.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/monitor"
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
		MaxGap: cfg.Soak.MaxGap.Duration, MaxBlind: cfg.Soak.MaxBlind,
		Vitals: report.VitalsThresholds{MaxHeapLossPerReconnect: cfg.Soak.MaxHeapLossPerReconnect, MaxHeapLossPerHour: cfg.Soak.MaxHeapLossPerHour}}
}

// errInconclusive ends soak and report with status 3: iotwatch did not
// watch enough of the run to give a verdict.
var errInconclusive = errors.New("inconclusive")

// finishReport prints or writes the report; its error carries the verdict's
// exit status.
func finishReport(run report.Run, mon *monitor.Monitor, cfg *config.Config, path string, stdout io.Writer) error {
	run.Thresholds, run.ThresholdsFrom = thresholds(cfg), thresholdsFrom(cfg)
	st, verdict := report.Evaluate(mon, run.End, run.Thresholds)
	svgName := ""
	if path != "" {
		base := strings.TrimSuffix(path, ".md")
		svgName = base + ".svg"
		points := mon.Series(run.Field, max(run.End.Sub(run.Start), time.Second), 600, run.End)
		files := map[string][]byte{base + ".svg": report.SVG(run, points, st.Dropouts),
			base + ".json": report.JSON(run, st, verdict)}
		for name, data := range files {
			if err := os.WriteFile(name, data, 0o644); err != nil {
				return err
			}
		}
	}
	md := report.Markdown(run, st, verdict, baseName(svgName))
	if path != "" {
		if err := os.WriteFile(path, md, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "report written to %s\n", path)
	} else {
		stdout.Write(md)
	}
	return verdictExit(verdict, stdout)
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
		return errSilentFailure
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
