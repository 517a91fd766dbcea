package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/devicesim"
	"github.com/iotwatch/iotwatch/internal/testkit"
	"github.com/iotwatch/iotwatch/report"
)

func TestSoakDetectsInjectedDropout(t *testing.T) {
	dir := testkit.SoakLab(t, Run)
	// A gap of a loaded machine (2.5 × the 1 s interval) is not the
	// injected dropout: the drop opens its dropout by the lifecycle event.
	watch := filepath.Join(dir, "watch.toml")
	cfg, _ := os.ReadFile(watch)
	os.WriteFile(watch, append(cfg, "\n[soak]\ndropout_after = 4\n"...), 0o644)
	_, device, err := loadConn(filepath.Join(dir, "device.toml"), config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim := devicesim.New(devicesim.Options{Conn: device, Interval: time.Second})
	go sim.Run(ctx)
	time.AfterFunc(4*time.Second, func() { sim.Drop(4 * time.Second) })

	logPath, reportPath := filepath.Join(dir, "soak.jsonl"), filepath.Join(dir, "soak.md")
	// The control plane it is given does not answer (no Jobs: see below).
	code, stdout, stderr := run(t, "soak", "-c", filepath.Join(dir, "watch.toml"), "--duration", "13s", "--log", logPath, "--report", reportPath,
		"--endpoint-url", "https://"+testkit.FreeAddr(t))
	if code != 1 || !strings.Contains(stdout, "soak FAILED: 1 dropouts > max_dropouts 0") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var sum report.Summary
	data, _ := os.ReadFile(filepath.Join(dir, "soak.json"))
	if err := json.Unmarshal(data, &sum); err != nil || sum.Dropouts != 1 || sum.Reports < 5 || sum.LongestGapS < 3.5 {
		t.Fatalf("summary %+v %v", sum, err)
	}
	if svg, err := os.ReadFile(filepath.Join(dir, "soak.svg")); err != nil || !strings.Contains(string(svg), "dropout") {
		t.Fatalf("svg: %v", err)
	}
	// No Jobs control plane answers, which the soak says once, and its report knows nothing of jobs (null, no
	// section), which is not zero of them.
	if n := strings.Count(stderr, "warning: no job executions of"); n != 1 || sum.Jobs != nil || !strings.Contains(string(data), `"jobs": null`) {
		t.Fatalf("without a Jobs control plane: %d warnings, jobs %+v\n%s", n, sum.Jobs, stderr)
	}
	// The report says which thresholds decided and where they come from; a
	// configuration without [soak] (device.toml) gets iotwatch's defaults.
	if md, _ := os.ReadFile(reportPath); !strings.Contains(string(md), "Thresholds ([soak] of "+watch+"): max_dropouts 0, min_availability 99.9 %, max_gap 30s, max_blind 5 %.") {
		t.Fatalf("the report does not say which thresholds applied:\n%s", md)
	}
	if _, stdout, _ := run(t, "report", "-c", filepath.Join(dir, "device.toml"), logPath); !strings.Contains(stdout, "Thresholds (iotwatch's defaults: "+filepath.Join(dir, "device.toml")+" has no [soak])") {
		t.Fatalf("a configuration without [soak]:\n%s", stdout)
	}
	// The report rebuilt from the log agrees.
	// Its Markdown alone on stdout ("report LOG > r.md"), the verdict on stderr.
	code, stdout, stderr = run(t, "report", "-c", filepath.Join(dir, "watch.toml"), logPath)
	if code != 1 || !strings.Contains(stdout, "| dropouts | 1 |") || strings.Contains(stdout, "soak FAILED") ||
		!strings.Contains(stderr, "soak FAILED: 1 dropouts > max_dropouts 0") {
		t.Fatalf("report from log: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestSoakUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"soak"}, 2, "--duration is required"},
		{[]string{"report"}, 2, "give the event log"},
		{[]string{"report", "/nonexistent.jsonl"}, 4, "no such file"},
	}
	for _, c := range cases {
		code, _, stderr := run(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d %q", c.args, code, stderr)
		}
	}
}
