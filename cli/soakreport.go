package cli

// What soak and report share: the monitor a configuration asks for, and the
// report files with the verdict's exit status.

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/report"
)

func monitorOptions(cfg *config.Config) monitor.Options {
	return monitor.Options{Field: cfg.Plot.Field, Interval: cfg.Soak.Interval.Duration, DropoutAfter: cfg.Soak.DropoutAfter}
}

// finishReport prints or writes the report and fails when a threshold is breached.
func finishReport(run report.Run, mon *monitor.Monitor, cfg *config.Config, path string, stdout io.Writer) error {
	st := mon.Stats(run.End)
	verdict := report.Judge(st, report.Thresholds{MaxDropouts: cfg.Soak.MaxDropouts,
		MinAvailability: cfg.Soak.MinAvailability, MaxGap: cfg.Soak.MaxGap.Duration})
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
	if !verdict.Pass {
		fmt.Fprintf(stdout, "soak FAILED: %s\n", strings.Join(verdict.Reasons, "; "))
		return errSilentFailure
	}
	return nil
}

func baseName(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}
