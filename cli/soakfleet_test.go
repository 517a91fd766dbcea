package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/devicesim"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/internal/testkit"
	"github.com/iotwatch/iotwatch/report"
)

// fleetTimeline is a minute of three things as awsconn.Fleet delivers it:
// a and b named (a session line each), c found later (its first event
// names it); b silent for 10 s, a's connection down for 2 s.
func fleetTimeline(t0 time.Time) []event.Event {
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	doc := func(s float64, thing string, seq int) event.ShadowDoc {
		ts := map[string]any{"timestamp": float64(at(s).Unix())}
		return event.ShadowDoc{At: at(s), Thing: thing, Kind: event.DocCurrent, Version: int64(seq),
			Reported:         map[string]any{"seq": float64(seq), "temp": 20 + float64(seq%5)},
			ReportedMetadata: map[string]any{"seq": ts, "temp": ts}}
	}
	evs := []event.Event{event.Link{At: at(0.1), State: event.LinkUp, Things: []string{"a", "b"}}}
	for i := 1; i <= 60; i++ {
		s := float64(i)
		if i < 41 || i > 42 {
			evs = append(evs, doc(s, "a", i))
		}
		if i < 20 || i > 29 {
			evs = append(evs, doc(s+0.2, "b", i))
		}
		if i >= 30 {
			evs = append(evs, doc(s+0.4, "c", i-29))
		}
		switch i {
		case 40:
			evs = append(evs, event.Link{At: at(40.5), State: event.LinkDown, Err: "EOF", Things: []string{"a"}})
		case 42:
			evs = append(evs, event.Link{At: at(42.5), State: event.LinkUp, Attempt: 1, Things: []string{"a"}})
		}
	}
	return append(evs, event.Alive{At: at(61)})
}

// TestFleetReplayAgreesWithLive: the timeline fed live (ticks every 250 ms,
// every line to the log) and the report rebuilt from that log give the same
// report and summary, byte for byte.
func TestFleetReplayAgreesWithLive(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cfg := config.Default()
	session := event.Session{At: t0, Program: "iotwatch test"}
	logPath := filepath.Join(dir, "fleet.jsonl")
	log, err := eventlog.Create(logPath, session)
	if err != nil {
		t.Fatal(err)
	}
	sink := &fleetSink{fm: newFleetMonitors(monitorOptions(cfg), session), log: log}
	for _, th := range []string{"a", "b"} {
		sink.record(event.Session{At: t0, Program: session.Program, Thing: th})
	}
	now := t0
	for _, ev := range fleetTimeline(t0) {
		for ; now.Before(ev.Time()); now = now.Add(250 * time.Millisecond) {
			sink.tick(now)
		}
		sink.record(ev)
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	logged, _ := os.ReadFile(logPath)
	for i, l := range strings.Split(strings.TrimSpace(string(logged)), "\n") {
		named := strings.Contains(l, `"thing":"`) || strings.Contains(l, `"things":["`)
		if named == (strings.Contains(l, `"type":"alive"`) || i == 0) {
			t.Errorf("line %d: only the fleet's session and alive lines may name no thing: %s", i+1, l)
		}
	}
	end := t0.Add(61 * time.Second)
	var liveOut bytes.Buffer
	liveErr := finishFleetReport(sink.fm, report.Run{Field: cfg.Plot.Field, Unit: cfg.Plot.Unit, Start: t0, End: end}, cfg, filepath.Join(dir, "live.md"), &liveOut)
	if liveErr != errSilentFailure {
		t.Fatalf("live: %v, want the exit of FAIL\n%s", liveErr, liveOut.String())
	}
	code, stdout, stderr := run(t, "report", "--report", filepath.Join(dir, "replay.md"), logPath)
	if code != 1 {
		t.Fatalf("report exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, ext := range []string{".json", ".md", "-b.svg"} {
		live, _ := os.ReadFile(filepath.Join(dir, "live"+ext))
		replay, _ := os.ReadFile(filepath.Join(dir, "replay"+ext))
		if ext == ".md" { // the sections link their own chart files
			replay = bytes.ReplaceAll(replay, []byte("replay-"), []byte("live-"))
		}
		if len(live) == 0 || !bytes.Equal(live, replay) {
			t.Errorf("live and replay %s differ:\n%s\n---\n%s", ext, live, replay)
		}
	}
	var sum report.FleetSummary
	data, _ := os.ReadFile(filepath.Join(dir, "live.json"))
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	got := map[string]report.Summary{}
	var order []string
	for _, s := range sum.Things {
		got[s.Thing] = s
		order = append(order, s.Thing)
	}
	if sum.Verdict != "FAIL" || !slices.Equal(order, []string{"b", "a", "c"}) {
		t.Fatalf("fleet %s, things %v; want FAIL with b first:\n%s", sum.Verdict, order, data)
	}
	if b := got["b"]; b.Verdict != "FAIL" || b.Dropouts != 1 || b.BlindS > 0.15 {
		t.Errorf("b: %+v, want FAIL by its one dropout, blind only before the first connect", b)
	}
	if a := got["a"]; a.Verdict != "PASS" || a.Dropouts != 0 || a.BlindS < 2.05 || a.BlindS > 2.15 {
		t.Errorf("a: %+v, want PASS, blind 2.1 s (its link down, and before the first connect), no dropout", a)
	}
	if c := got["c"]; c.Verdict != "PASS" || c.Reports != 31 || !c.Start.Equal(t0.Add(30400*time.Millisecond)) {
		t.Errorf("c: %+v, want PASS from its first report (31 reports)", c)
	}
}

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
