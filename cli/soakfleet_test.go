package cli

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/devicesim"
	"github.com/iotwatch/iotwatch/internal/testkit"
	"github.com/iotwatch/iotwatch/report"
)

// TestFleetSoakAgainstEmulator: serve and sim --fleet 5 over TLS on
// 127.0.0.1, one device dropping every 6 s; a fleet soak of the five, by
// [thing] names and by match (found as they report), fails that one and
// passes the others, the fleet FAILs with exit 1, and report rebuilds the
// same verdicts from the log.
func TestFleetSoakAgainstEmulator(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir, "--thing", "esp32-soak")
	api := testkit.FreeAddr(t)
	addr, serveLog := testkit.StartServe(t, Run, "--pki", dir, "--api-listen", api)
	_, port, _ := strings.Cut(addr, ":")
	names := devicesim.FleetNames("esp32-soak", 5)
	quoted, _ := json.Marshal(names)
	watch, _ := os.ReadFile(filepath.Join(dir, "watch.toml"))
	// max_blind: a slow first connect on a loaded machine is not what this test is about.
	for _, f := range []struct{ name, text string }{
		{"device.toml", ""},
		{"names.toml", "names = " + string(quoted)},
		{"match.toml", `match = "esp32-soak-*"`},
	} {
		data := watch
		if f.text == "" {
			data, _ = os.ReadFile(filepath.Join(dir, f.name))
		}
		text := strings.Replace(string(data), "port = 8883", "port = "+port, 1)
		if f.text != "" {
			text = strings.Replace(text, "[thing]\n", "[thing]\n"+f.text+"\n", 1) + "\n[soak]\nmax_blind = 50\n"
		}
		os.WriteFile(filepath.Join(dir, f.name), []byte(text), 0o644)
	}
	ctx, cancel := context.WithCancel(context.Background())
	simDone := make(chan int)
	simLog := &testkit.LockedBuffer{}
	go func() {
		simDone <- Run(ctx, []string{"sim", "-c", filepath.Join(dir, "device.toml"), "--interval", "1s", "--fleet", "5",
			"--fault-random", "drop:3s/every:6s", "--endpoint-url", "https://" + api, "--ca-bundle", filepath.Join(dir, "ca.pem")}, simLog, simLog)
	}()
	defer func() { cancel(); <-simDone }()
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range names {
		for !strings.Contains(serveLog.String(), "connected client="+n+" ") {
			if time.Now().After(deadline) {
				t.Fatalf("%s never connected; sim: %s", n, simLog.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	dropped := ""
	for _, n := range names {
		if strings.Contains(simLog.String(), n+" fleet: fault drop") {
			dropped = n
		}
	}
	if dropped == "" {
		t.Fatalf("sim names no device with the drop fault:\n%s", simLog.String())
	}
	want := map[string]string{}
	for _, n := range names {
		want[n] = "PASS"
	}
	want[dropped], want["fleet"] = "FAIL", "FAIL"

	// names and match in the file, and --thing repeated on the command line
	// (over match.toml, whose match it replaces).
	for _, how := range []string{"names", "match", "flags"} {
		t.Run(how, func(t *testing.T) {
			cfg, logPath, base := filepath.Join(dir, how+".toml"), filepath.Join(dir, how+".jsonl"), filepath.Join(dir, how)
			args := []string{"soak", "-c", cfg, "--duration", "14s", "--log", logPath, "--report", base + ".md"}
			if how == "flags" {
				cfg = filepath.Join(dir, "match.toml")
				args[2] = cfg
				for _, n := range names {
					args = append(args, "--thing", n)
				}
			}
			code, stdout, stderr := run(t, args...)
			if code != 1 || !strings.Contains(stdout, "soak FAILED: "+dropped+": ") {
				t.Fatalf("soak exit %d, want 1 naming %s\n%s\n%s", code, dropped, stdout, stderr)
			}
			live := fleetVerdicts(t, base+".json")
			if !maps.Equal(live, want) {
				t.Fatalf("verdicts %v, want %v\n%s", live, want, stdout)
			}
			md, _ := os.ReadFile(base + ".md")
			if !strings.Contains(string(md), "| ["+dropped+"](#"+dropped+") | FAIL |") || !strings.Contains(string(md), "![temp over time]("+how+"-"+dropped+".svg)") {
				t.Fatalf("the report's table or chart link is missing %s:\n%s", dropped, md)
			}
			if svg, err := os.ReadFile(base + "-" + dropped + ".svg"); err != nil || !strings.Contains(string(svg), "dropout") {
				t.Fatalf("%s's chart shows no dropout: %v", dropped, err)
			}
			code, stdout, _ = run(t, "report", "-c", cfg, "--report", base+"-replay.md", logPath)
			if replay := fleetVerdicts(t, base+"-replay.json"); code != 1 || !maps.Equal(replay, live) {
				t.Fatalf("report from the log: exit %d, verdicts %v, live %v\n%s", code, replay, live, stdout)
			}
		})
	}
}

// fleetVerdicts reads a fleet summary's verdicts by thing, "fleet" for the fleet's.
func fleetVerdicts(t *testing.T, path string) map[string]string {
	t.Helper()
	var sum report.FleetSummary
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{"fleet": sum.Verdict}
	for _, s := range sum.Things {
		out[s.Thing] = s.Verdict
	}
	return out
}
