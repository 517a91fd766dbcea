package main

// The 16 cases of issue 19 (the soak verdict, round 2), each with the real
// binary, the real emulator (one serve shared by the cases, each case its
// own things) and devices made of mosquitto_pub -l whose reports are
// written at exact times. Durations and thresholds are scaled down (a
// soak of seconds, max_gap of seconds) so the file runs in about a minute.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/internal/testkit"
	"github.com/iotwatch/iotwatch/report"
)

// caseLab is the shared lab: the built binary, certificates, one serve
// (MQTT and the control plane).
type caseLab struct {
	dir, bin, addr, api, port string
	out                       *lockedBuffer
	serve                     *exec.Cmd
	err                       error
}

var (
	sharedLab  caseLab
	sharedOnce sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedLab.serve != nil {
		sharedLab.serve.Process.Kill()
		sharedLab.serve.Wait()
	}
	if sharedLab.dir != "" {
		os.RemoveAll(sharedLab.dir)
	}
	os.Exit(code)
}

// lab starts the shared lab once; each case runs in parallel on its own
// things.
func lab(t *testing.T) *caseLab {
	t.Helper()
	t.Parallel()
	sharedOnce.Do(func() { sharedLab.err = sharedLab.start() })
	if sharedLab.err != nil {
		t.Fatalf("lab: %v\n%s", sharedLab.err, sharedLab.out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve's output:\n%s", sharedLab.out)
		}
	})
	return &sharedLab
}

func (l *caseLab) start() error {
	var err error
	if l.dir, err = os.MkdirTemp("", "iotwatch-cases-"); err != nil {
		return err
	}
	l.out = &lockedBuffer{}
	l.bin = filepath.Join(l.dir, "iotwatch")
	if b, err := exec.Command("go", "build", "-o", l.bin, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v %s", err, b)
	}
	if b, err := exec.Command(l.bin, "certs", "init", "--dir", l.dir, "--thing", "c0").CombinedOutput(); err != nil {
		return fmt.Errorf("certs: %v %s", err, b)
	}
	l.addr, l.api = testkit.FreeAddr(&testing.T{}), testkit.FreeAddr(&testing.T{})
	_, l.port, _ = strings.Cut(l.addr, ":")
	l.serve = exec.Command(l.bin, "serve", "--listen", l.addr, "--api-listen", l.api, "--pki", l.dir, "--data", filepath.Join(l.dir, "data"))
	l.serve.Stdout, l.serve.Stderr = l.out, l.out
	if err := l.serve.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(l.out.String(), "emulator on") {
		if time.Now().After(deadline) {
			return fmt.Errorf("serve never listened")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// config writes a watch configuration for [thing] (a line such as
// `name = "c1"` or `match = "c5-*"`) with a [soak] table, in dir.
func (l *caseLab) config(t *testing.T, dir, thing, soak string) string {
	t.Helper()
	text := fmt.Sprintf("[aws]\nendpoint = \"127.0.0.1\"\nport = %s\ncert = %q\nkey = %q\nca = %q\n\n[thing]\n%s\n\n[soak]\n%s\n",
		l.port, filepath.Join(l.dir, "monitor.pem"), filepath.Join(l.dir, "monitor.key"), filepath.Join(l.dir, "ca.pem"), thing, soak)
	path := filepath.Join(dir, "watch.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// device is a client of mosquitto_pub -l: each line written is one publish
// to the thing's shadow update topic, at once. Its client id is the thing's
// name (so its lifecycle events are the thing's) unless another is given.
type device struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.WriteCloser
}

func (l *caseLab) device(t *testing.T, thing, clientID string) *device {
	t.Helper()
	if clientID == "" {
		clientID = thing
	}
	host, port, _ := strings.Cut(l.addr, ":")
	cmd := exec.Command("mosquitto_pub", "-h", host, "-p", port, "--cafile", filepath.Join(l.dir, "ca.pem"),
		"--cert", filepath.Join(l.dir, "monitor.pem"), "--key", filepath.Join(l.dir, "monitor.key"), "-i", clientID,
		"-q", "1", "-t", "$aws/things/"+thing+"/shadow/update", "-l")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = l.out, l.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return &device{t: t, cmd: cmd, in: in}
}

// report publishes a report of the reported fields (JSON object members).
func (d *device) report(fields string) {
	fmt.Fprintf(d.in, "{\"state\":{\"reported\":{%s}}}\n", fields)
}

// kill ends the device's connection without a DISCONNECT (CONNECTION_LOST).
func (d *device) kill() { d.cmd.Process.Kill(); d.cmd.Wait() }

// every calls fn(i) at start + i × step for i in [from, to), in its own
// goroutine; the returned channel closes after the last.
func every(start time.Time, step time.Duration, from, to int, fn func(i int)) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := from; i < to; i++ {
			time.Sleep(time.Until(start.Add(time.Duration(i) * step)))
			fn(i)
		}
	}()
	return done
}

// soak is a run of the binary's soak in dir: its exit status, output and
// JSON summary (a fleet's is read with fleetSummary).
type soakRun struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	dir  string
	name string
}

func (l *caseLab) soak(t *testing.T, dir, name string, args ...string) *soakRun {
	t.Helper()
	r := &soakRun{out: &lockedBuffer{}, dir: dir, name: name}
	r.cmd = exec.Command(l.bin, append([]string{"soak", "--report", filepath.Join(dir, name+".md")}, args...)...)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.cmd.Process.Kill() })
	return r
}

// startSoak writes a case's configuration ([thing] line, [soak] text) in
// dir and starts its soak for duration, logging to dir/name.jsonl.
func (l *caseLab) startSoak(t *testing.T, dir, name, thing, soak, duration string, args ...string) (*soakRun, string) {
	t.Helper()
	log := filepath.Join(dir, name+".jsonl")
	return l.soak(t, dir, name, append([]string{"-c", l.config(t, dir, thing, soak), "--duration", duration, "--log", log}, args...)...), log
}

// wait waits for the soak and returns its exit status.
func (r *soakRun) wait() int {
	r.cmd.Wait()
	return r.cmd.ProcessState.ExitCode()
}

func summaryOf(t *testing.T, path string) report.Summary {
	t.Helper()
	var s report.Summary
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &s) != nil {
		t.Fatalf("summary %s: %v %s", path, err, data)
	}
	return s
}

func fleetSummaryOf(t *testing.T, path string) (report.FleetSummary, map[string]report.Summary) {
	t.Helper()
	var s report.FleetSummary
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &s) != nil {
		t.Fatalf("fleet summary %s: %v %s", path, err, data)
	}
	by := map[string]report.Summary{}
	for _, th := range s.Things {
		by[th.Thing] = th
	}
	return s, by
}

// runBin runs the binary to its end: exit status and combined output.
func (l *caseLab) runBin(args ...string) (int, string) {
	cmd := exec.Command(l.bin, args...)
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

// waitLine waits until the file holds a line containing s.
func waitLine(t *testing.T, path, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if f, err := os.Open(path); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if strings.Contains(sc.Text(), s) {
					f.Close()
					return
				}
			}
			f.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never held %q", path, s)
}

// linkUp waits until a soak's log says its link is up: the timeline of the
// case starts there.
func linkUp(t *testing.T, log string) time.Time {
	t.Helper()
	waitLine(t, log, `"state":"up"`)
	return time.Now()
}

// reporting has a device report seq and temp every step until the test ends.
func reporting(t *testing.T, d *device, step time.Duration) {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for seq := 1; ; seq++ {
			select {
			case <-stop:
				return
			case <-time.After(step):
			}
			d.report(fmt.Sprintf(`"seq":%d,"temp":%d`, seq, 20+seq%5))
		}
	}()
}

// Case 7: a soak stopped before --duration by SIGTERM, SIGINT or SIGHUP
// is INCONCLUSIVE (exit 3) and says when and by which signal.
func TestCase07StoppedEarly(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	// max_blind: a first connect slowed by a loaded machine is not what this
	// case is about (the blind rule comes before the early stop's).
	cfg := l.config(t, dir, `name = "c7"`, "max_blind = 60")
	reporting(t, l.device(t, "c7", ""), 300*time.Millisecond)
	var wg sync.WaitGroup
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := sig.String()[:4]
			log := filepath.Join(dir, name+".jsonl")
			r := l.soak(t, dir, name, "-c", cfg, "--duration", "8h", "--log", log)
			linkUp(t, log)
			time.Sleep(2 * time.Second)
			r.cmd.Process.Signal(sig)
			code := r.wait()
			sum := summaryOf(t, filepath.Join(dir, name+".json"))
			want := map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGHUP: "SIGHUP"}[sig]
			md, _ := os.ReadFile(filepath.Join(dir, name+".md"))
			if code != 3 || sum.Verdict != "INCONCLUSIVE" || sum.Pass || !strings.Contains(sum.Rule, "stopped by "+want) ||
				!strings.Contains(string(md), "stopped by "+want) || !strings.Contains(r.out.String(), "soak INCONCLUSIVE") {
				t.Errorf("%s: exit %d, %s: %s\n%s", want, code, sum.Verdict, sum.Rule, r.out)
			}
		}()
	}
	wg.Wait()
}

// Case 9: two things' runs appended to one log are reported as a fleet,
// each with its own lines: t1 never reported (FAIL), t2 did (PASS).
func TestCase09TwoThingsInOneLog(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "both.jsonl")
	first := l.soak(t, dir, "c9a", "-c", l.config(t, dir, `name = "c9a"`, "max_blind = 60"), "--duration", "3s", "--log", log)
	if code := first.wait(); code != 1 {
		t.Fatalf("c9a never reports: exit %d, want FAIL\n%s", code, first.out)
	}
	reporting(t, l.device(t, "c9b", ""), 300*time.Millisecond)
	second := l.soak(t, dir, "c9b", "-c", l.config(t, dir, `name = "c9b"`, "max_blind = 60"), "--duration", "4s", "--log", log)
	if code := second.wait(); code != 0 {
		t.Fatalf("c9b reports: exit %d, want PASS\n%s", code, second.out)
	}
	code, out := l.runBin("report", "--report", filepath.Join(dir, "both.md"), log)
	fleet, by := fleetSummaryOf(t, filepath.Join(dir, "both.json"))
	if code != 1 || fleet.Verdict != "FAIL" || len(by) != 2 || by["c9a"].Verdict != "FAIL" || by["c9a"].Reports != 0 ||
		by["c9b"].Verdict != "PASS" || by["c9b"].Reports == 0 {
		t.Fatalf("report: exit %d, fleet %s, things %+v\n%s", code, fleet.Verdict, by, out)
	}
	// -c for a thing the log does not hold: an error, and nothing written.
	code, out = l.runBin("report", "-c", l.config(t, t.TempDir(), `name = "c9z"`, ""), "--report", filepath.Join(dir, "z.md"), log)
	if _, err := os.Stat(filepath.Join(dir, "z.md")); code != 4 || err == nil || !strings.Contains(out, `holds no line of thing "c9z"`) {
		t.Fatalf("report -c of another thing: exit %d (report written: %v)\n%s", code, err == nil, out)
	}
	// -c for one of its things: that thing's report alone.
	code, out = l.runBin("report", "-c", l.config(t, t.TempDir(), `name = "c9b"`, "max_blind = 60"), log)
	if code != 0 || !strings.Contains(out, "# Soak report: c9b") {
		t.Fatalf("report -c of c9b: exit %d\n%s", code, out)
	}
}

// Case 11: iotwatch itself stopped (SIGSTOP) while the device reports every
// second: blind time, not a dropout (the reports queued meanwhile arrive at
// once after it; the monitor places them by their metadata).
func TestCase11IotwatchFrozen(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	reporting(t, l.device(t, "c11", ""), time.Second)
	r, log := l.startSoak(t, dir, "c11", `name = "c11"`, "max_blind = 70", "14s")
	linkUp(t, log)
	time.Sleep(3 * time.Second)
	r.cmd.Process.Signal(syscall.SIGSTOP)
	time.Sleep(6 * time.Second)
	r.cmd.Process.Signal(syscall.SIGCONT)
	code := r.wait()
	sum := summaryOf(t, filepath.Join(dir, "c11.json"))
	if code != 0 || sum.Dropouts != 0 || sum.BlindS < 5.5 {
		t.Fatalf("exit %d, %s (%s), %d dropouts, blind %.1f s; want PASS with the 6 s stall blind\n%s", code, sum.Verdict, sum.Rule, sum.Dropouts, sum.BlindS, r.out)
	}
	if code, again := l.runBin("report", "-c", filepath.Join(dir, "watch.toml"), log); code != 0 {
		t.Fatalf("report of the log: exit %d\n%s", code, again)
	}
}

// Case 13: errors are exit 4, never 1 (FAIL); an unwritable --report is
// found before the run.
func TestCase13ErrorsAreNotFail(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	cfg := l.config(t, dir, `name = "c13"`, "")
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, nil, 0o644)
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[soak]\nmax_gap = 5\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"soak", "-c", cfg, "--duration", "1h", "--report", "/nonexistent/dir/r.md"}, "--report /nonexistent/dir/r.md"},
		{[]string{"soak", "-c", cfg, "--duration", "1h", "--log", "/nonexistent/dir/r.jsonl"}, "--log"},
		{[]string{"soak", "-c", bad, "--duration", "1h"}, "bad.toml"},
		{[]string{"report", filepath.Join(dir, "missing.jsonl")}, "no such file"},
		{[]string{"report", empty}, "holds no events"},
		{[]string{"report", "-c", bad, empty}, "bad.toml"},
	} {
		start := time.Now()
		code, out := l.runBin(c.args...)
		if code != 4 || !strings.Contains(out, c.want) || time.Since(start) > 10*time.Second {
			t.Errorf("%v: exit %d after %s, want 4 naming %q\n%s", c.args, code, time.Since(start).Round(time.Millisecond), c.want, out)
		}
	}
	if _, out := l.runBin("soak", "--help"); !strings.Contains(out, "0 PASS, 1 FAIL, 3 INCONCLUSIVE, 2 usage error") {
		t.Errorf("soak --help does not list the exit statuses:\n%s", out)
	}
}

// Case 14: a second soak on a log another is writing is refused at start;
// a log two runs of one thing wrote at once is refused by report.
func TestCase14TwoSoaksOfOneThingOnOneLog(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	cfg := l.config(t, dir, `name = "c14"`, "")
	reporting(t, l.device(t, "c14", ""), 300*time.Millisecond)
	log := filepath.Join(dir, "one.jsonl")
	a := l.soak(t, dir, "a", "-c", cfg, "--duration", "4s", "--log", log)
	linkUp(t, log)
	if code, out := l.runBin("soak", "-c", cfg, "--duration", "4s", "--log", log); code != 4 || !strings.Contains(out, "another iotwatch is writing this log") {
		t.Fatalf("a second soak on the same log: exit %d\n%s", code, out)
	}
	a.wait()
	// Two runs at once on logs of their own, their lines then put in one
	// file in time order, as two writers appending to it would.
	b1 := l.soak(t, dir, "b1", "-c", cfg, "--duration", "4s", "--log", filepath.Join(dir, "b1.jsonl"))
	b2 := l.soak(t, dir, "b2", "-c", cfg, "--duration", "4s", "--log", filepath.Join(dir, "b2.jsonl"))
	b1.wait()
	b2.wait()
	merged := mergeLogs(t, filepath.Join(dir, "b1.jsonl"), filepath.Join(dir, "b2.jsonl"))
	path := filepath.Join(dir, "merged.jsonl")
	os.WriteFile(path, []byte(merged), 0o644)
	code, out := l.runBin("report", "--report", filepath.Join(dir, "m.md"), path)
	if _, err := os.Stat(filepath.Join(dir, "m.md")); code != 4 || err == nil || !strings.Contains(out, "at the same time") {
		t.Fatalf("report of two runs at once: exit %d (report written: %v)\n%s", code, err == nil, out)
	}
}

// mergeLogs interleaves the lines of logs by their time.
func mergeLogs(t *testing.T, paths ...string) string {
	t.Helper()
	type line struct {
		at   string
		text string
	}
	var all []line
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var l struct {
				Time string `json:"time"`
			}
			json.Unmarshal([]byte(text), &l)
			all = append(all, line{l.Time, text})
		}
	}
	slices.SortStableFunc(all, func(a, b line) int { return strings.Compare(a.at, b.at) })
	var b strings.Builder
	for _, l := range all {
		b.WriteString(l.text + "\n")
	}
	return b.String()
}

// Case 15: a fleet logged by watch --log (the real TUI in tmux) is
// reported as a fleet, each thing with its own reports; one thing's watch
// log is that thing's report. Both logs end with the run's closing line.
func TestCase15FleetLoggedByWatch(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	cfg := l.config(t, dir, `name = "c15a"`, "max_blind = 60")
	reporting(t, l.device(t, "c15a", ""), 300*time.Millisecond)
	reporting(t, l.device(t, "c15b", ""), 300*time.Millisecond)
	fleetLog, singleLog := filepath.Join(dir, "fleet.jsonl"), filepath.Join(dir, "single.jsonl")
	for _, w := range []struct{ log, args, wait string }{
		{fleetLog, "--thing c15a --thing c15b", `"thing":"c15b","kind":"documents"`},
		{singleLog, "", `"thing":"c15a","kind":"documents"`},
	} {
		l.watch(t, cfg+" "+w.args+" --log "+w.log, func() { waitLine(t, w.log, w.wait); time.Sleep(2 * time.Second) })
	}
	code, out := l.runBin("report", "--report", filepath.Join(dir, "w.md"), fleetLog)
	fleet, by := fleetSummaryOf(t, filepath.Join(dir, "w.json"))
	if len(by) != 2 || by["c15a"].Reports < 3 || by["c15b"].Reports < 3 || strings.Contains(out, "never reported") {
		t.Fatalf("report of a fleet's watch log: exit %d, fleet %s, things %+v\n%s", code, fleet.Verdict, by, out)
	}
	code, out = l.runBin("report", "--report", filepath.Join(dir, "s.md"), singleLog)
	if sum := summaryOf(t, filepath.Join(dir, "s.json")); sum.Thing != "c15a" || sum.Reports < 3 {
		t.Fatalf("report of one thing's watch log: exit %d, %+v\n%s", code, sum, out)
	}
	for _, log := range []string{fleetLog, singleLog} {
		data, _ := os.ReadFile(log)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if last := lines[len(lines)-1]; !strings.Contains(last, `"type":"end"`) || !strings.Contains(last, `"reason":"completed"`) {
			t.Errorf("%s ends with %s, not the run's closing line", log, last)
		}
	}
}

// watch runs the binary's watch with args in a tmux of its own while
// during runs, then quits it with q and waits for it to end.
func (l *caseLab) watch(t *testing.T, args string, during func()) {
	sock := fmt.Sprintf("iotwatch-case-%d-%d", os.Getpid(), time.Now().UnixNano())
	tmux := func(args ...string) error {
		return exec.Command("tmux", append([]string{"-L", sock}, args...)...).Run()
	}
	if err := tmux("new-session", "-d", "-x", "120", "-y", "40", l.bin+" watch -c "+args); err != nil {
		t.Fatalf("tmux: %v", err)
	}
	t.Cleanup(func() { tmux("kill-server") })
	during()
	tmux("send-keys", "q")
	deadline := time.Now().Add(10 * time.Second)
	for tmux("has-session") == nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
}

// line publishes a whole update document as it is.
func (d *device) line(doc string) { fmt.Fprintln(d.in, doc) }

// Case 1: one report, then a silence past max_gap with the connection open:
// FAIL, never PASS.
func TestCase01OneReportThenSilence(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	d := l.device(t, "c1", "")
	r, log := l.startSoak(t, dir, "c1", `name = "c1"`, "max_gap = \"3s\"\nmax_blind = 60", "9s")
	linkUp(t, log)
	time.Sleep(time.Second)
	d.report(`"seq":1,"temp":20`)
	code := r.wait()
	sum := summaryOf(t, filepath.Join(dir, "c1.json"))
	if code != 1 || sum.Verdict != "FAIL" || sum.Reports != 1 {
		t.Fatalf("one report, then silent for 7 s: exit %d, %s (%s), %d reports\n%s", code, sum.Verdict, sum.Rule, sum.Reports, r.out)
	}
}

// Case 2: two devices with one timeline (interval_s 60, max_gap 3 s): the
// one silent to the end FAILs as the one that reported once more does.
func TestCase02SilenceOpenAtTheEnd(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	a, b := l.device(t, "c2a", ""), l.device(t, "c2b", "")
	r, log := l.startSoak(t, dir, "c2", "name = \"c2a\"\nnames = [\"c2a\", \"c2b\"]", "max_gap = \"3s\"\nmax_blind = 60", "10s")
	start := linkUp(t, log)
	<-every(start, time.Second, 1, 4, func(i int) {
		a.report(fmt.Sprintf(`"seq":%d,"interval_s":60`, i))
		b.report(fmt.Sprintf(`"seq":%d,"interval_s":60`, i))
	})
	time.Sleep(time.Until(start.Add(8500 * time.Millisecond)))
	b.report(`"seq":4,"interval_s":60`)
	code := r.wait()
	_, by := fleetSummaryOf(t, filepath.Join(dir, "c2.json"))
	if code != 1 || by["c2a"].Verdict != "FAIL" || by["c2b"].Verdict != "FAIL" {
		t.Fatalf("exit %d; c2a (silent to the end) %s: %s; c2b %s: %s\n%s", code, by["c2a"].Verdict, by["c2a"].Rule, by["c2b"].Verdict, by["c2b"].Rule, r.out)
	}
}

// Case 3: a device that announces interval_s 3600 and dies: its silence is
// judged by max_gap, and the soak says the interval is longer than it.
func TestCase03AnnouncedIntervalThenDead(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	d := l.device(t, "c3", "")
	r, log := l.startSoak(t, dir, "c3", `name = "c3"`, "max_gap = \"3s\"\nmax_blind = 60", "10s")
	start := linkUp(t, log)
	<-every(start, time.Second, 1, 4, func(i int) { d.report(fmt.Sprintf(`"seq":%d,"interval_s":3600`, i)) })
	code := r.wait()
	sum := summaryOf(t, filepath.Join(dir, "c3.json"))
	if code != 1 || sum.Verdict != "FAIL" || sum.AnnouncedIntervalS == nil || !strings.Contains(r.out.String(), "interval_s 1h0m0s") {
		t.Fatalf("dead for 6 s after announcing 1 h: exit %d, %s (%s), announced %v\n%s", code, sum.Verdict, sum.Rule, sum.AnnouncedIntervalS, r.out)
	}
}

// Case 4: the device is killed; a backend client writes to its shadow every
// second: those reports are not the device's.
func TestCase04OtherClientsReports(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	d := l.device(t, "c4", "")
	r, log := l.startSoak(t, dir, "c4", `name = "c4"`, "max_dropouts = 1\nmin_availability = 95\nmax_blind = 60", "12s")
	start := linkUp(t, log)
	<-every(start, time.Second, 1, 3, func(i int) { d.report(fmt.Sprintf(`"seq":%d,"temp":20`, i)) })
	d.kill()
	backend := l.device(t, "c4", "c4-backend")
	<-every(time.Now(), time.Second, 1, 9, func(i int) { backend.report(fmt.Sprintf(`"temp":%d`, 20+i)) })
	code := r.wait()
	sum := summaryOf(t, filepath.Join(dir, "c4.json"))
	if code != 1 || sum.Verdict != "FAIL" || sum.ForeignReports < 5 {
		t.Fatalf("device dead after 3 s, a backend writing: exit %d, %s (%s), %d foreign reports\n%s", code, sum.Verdict, sum.Rule, sum.ForeignReports, r.out)
	}
}

// Case 5: a fleet soaked by match lists the registry's things at start: a
// thing silent for its first seconds is watched from the first second.
func TestCase05MatchListsThingsAtStart(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	// Enrol c5-000 and c5-001 in the registry (sim --fleet does, through
	// the control plane), then let mosquitto_pub play them.
	dev := filepath.Join(dir, "device.toml")
	os.WriteFile(dev, []byte(fmt.Sprintf("[aws]\nendpoint = \"127.0.0.1\"\nport = %s\ncert = %q\nkey = %q\nca = %q\n\n[thing]\nname = \"c5\"\n",
		l.port, filepath.Join(l.dir, "device.pem"), filepath.Join(l.dir, "device.key"), filepath.Join(l.dir, "ca.pem"))), 0o644)
	sim := exec.Command(l.bin, "sim", "-c", dev, "--fleet", "2", "--interval", "1s", "--endpoint-url", "https://"+l.api, "--ca-bundle", filepath.Join(l.dir, "ca.pem"))
	sim.Stdout, sim.Stderr = l.out, l.out
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(l.out.String(), "connected client=c5-001 ") || !strings.Contains(l.out.String(), "connected client=c5-000 ") {
		if time.Now().After(deadline) {
			t.Fatal("sim --fleet never connected c5-000 and c5-001")
		}
		time.Sleep(50 * time.Millisecond)
	}
	sim.Process.Kill()
	sim.Wait()
	late, prompt := l.device(t, "c5-000", ""), l.device(t, "c5-001", "")
	reporting(t, prompt, time.Second)
	r, log := l.startSoak(t, dir, "c5", "name = \"c5\"\nmatch = \"c5-*\"", "max_gap = \"3s\"\nmax_blind = 60", "12s",
		"--endpoint-url", "https://"+l.api)
	waitLine(t, log, `"type":"link"`)
	start := time.Now()
	<-every(start, time.Second, 6, 12, func(i int) { late.report(fmt.Sprintf(`"seq":%d`, 100+i)) })
	code := r.wait()
	fleet, by := fleetSummaryOf(t, filepath.Join(dir, "c5.json"))
	if c := by["c5-000"]; code != 1 || c.Verdict != "FAIL" || !c.Start.Equal(fleet.Start) {
		t.Fatalf("c5-000 silent for 6 s, then reporting: exit %d, %s (%s), its run from %s (the fleet's from %s)\n%s", code, c.Verdict, c.Rule, c.Start, fleet.Start, r.out)
	}
	if c := by["c5-001"]; c.Verdict != "PASS" {
		t.Fatalf("c5-001 reported throughout: %s (%s)", c.Verdict, c.Rule)
	}
}

// Case 6: a log whose iotwatch times are 30 s behind the service's: the
// skew is measured and the report is INCONCLUSIVE, saying why.
func TestCase06ClockSkew(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	reporting(t, l.device(t, "c6", ""), time.Second)
	log := filepath.Join(dir, "c6.jsonl")
	cfg := l.config(t, dir, `name = "c6"`, "max_blind = 60")
	if code := l.soak(t, dir, "c6", "-c", cfg, "--duration", "6s", "--log", log).wait(); code != 0 {
		t.Fatalf("the soak itself: exit %d", code)
	}
	data, _ := os.ReadFile(log)
	var shifted strings.Builder
	for _, text := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(text), &line); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"time", "since"} { // iotwatch's clock; shadow_time and metadata are the service's
			if v, ok := line[k].(string); ok {
				at, _ := time.Parse(time.RFC3339Nano, v)
				line[k] = at.Add(-30 * time.Second).Format(time.RFC3339Nano)
			}
		}
		b, _ := json.Marshal(line)
		shifted.Write(append(b, '\n'))
	}
	slow := filepath.Join(dir, "slow.jsonl")
	os.WriteFile(slow, []byte(shifted.String()), 0o644)
	code, out := l.runBin("report", "--report", filepath.Join(dir, "slow.md"), slow)
	sum := summaryOf(t, filepath.Join(dir, "slow.json"))
	if code != 3 || sum.SkewS == nil || *sum.SkewS > -25 || !strings.Contains(sum.Rule, "clock") {
		t.Fatalf("iotwatch 30 s slow: exit %d, %s (%s), skew %v\n%s", code, sum.Verdict, sum.Rule, sum.SkewS, out)
	}
}

// Case 8: the log on a full disk (a 24 KiB tmpfs, or /dev/full when no
// tmpfs can be mounted): said at once, the verdict from memory (the device
// died: FAIL), and the cut log's report is not a PASS.
func TestCase08FullDisk(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	os.Mkdir(full, 0o755)
	log := filepath.Join(full, "c8.jsonl")
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24k", "tmpfs", full).Run(); err != nil {
		log = "/dev/full"
	} else {
		t.Cleanup(func() { exec.Command("umount", full).Run() })
	}
	d := l.device(t, "c8", "")
	pad := strings.Repeat("x", 600)
	r := l.soak(t, dir, "c8", "-c", l.config(t, dir, `name = "c8"`, "max_blind = 60"), "--duration", "9s", "--log", log)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(l.out.String(), "connected client=iotwatch-c8-") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	<-every(time.Now(), 100*time.Millisecond, 1, 30, func(i int) { d.report(fmt.Sprintf(`"seq":%d,"pad":%q`, i, pad)) })
	d.kill()
	code := r.wait()
	sum := summaryOf(t, filepath.Join(dir, "c8.json"))
	if code != 1 || sum.Verdict != "FAIL" || sum.LogFailure == nil || !strings.Contains(r.out.String(), "the event log "+log+" failed at") {
		t.Fatalf("log on a full disk, device dead: exit %d, %s (%s), log failure %+v\n%s", code, sum.Verdict, sum.Rule, sum.LogFailure, r.out)
	}
	if log == "/dev/full" {
		return // nothing to read back
	}
	kept := filepath.Join(dir, "kept.jsonl")
	data, _ := os.ReadFile(log)
	os.WriteFile(kept, data, 0o644)
	code, out := l.runBin("report", "--report", filepath.Join(dir, "kept.md"), kept)
	if again := summaryOf(t, filepath.Join(dir, "kept.json")); code == 0 || again.Verdict == "PASS" {
		t.Fatalf("report of the cut log: exit %d, %s (%s)\n%s", code, again.Verdict, again.Rule, out)
	}
}

// Case 10: report without -c judges by the thresholds the run recorded;
// with -c it says which differ.
func TestCase10ReportUsesTheRunsThresholds(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	d := l.device(t, "c10", "")
	r, log := l.startSoak(t, dir, "c10", `name = "c10"`, "max_gap = \"3s\"\nmax_blind = 60", "11s")
	start := linkUp(t, log)
	// interval_s 10: the defaults' threshold is 25 s; a gap of 5 s breaks max_gap 3 s alone.
	<-every(start, time.Second, 1, 4, func(i int) { d.report(fmt.Sprintf(`"seq":%d,"interval_s":10`, i)) })
	<-every(start, time.Second, 8, 11, func(i int) { d.report(fmt.Sprintf(`"seq":%d,"interval_s":10`, i)) })
	if code := r.wait(); code != 1 {
		t.Fatalf("the soak: exit %d, want FAIL\n%s", code, r.out)
	}
	if code, out := l.runBin("report", log); code != 1 || !strings.Contains(out, "max_gap 3s") {
		t.Fatalf("report without -c: exit %d\n%s", code, out)
	}
	defaults := l.config(t, t.TempDir(), `name = "c10"`, "")
	text, _ := os.ReadFile(defaults)
	os.WriteFile(defaults, []byte(strings.Replace(string(text), "[soak]", "", 1)), 0o644)
	if code, out := l.runBin("report", "-c", defaults, log); code != 0 || !strings.Contains(out, "max_gap 30s (the run had 3s)") {
		t.Fatalf("report -c with the defaults: exit %d\n%s", code, out)
	}
}

// Case 16: rejections and locally dropped events are in the Markdown and
// the JSON.
func TestCase16RejectionsInTheReport(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	d := l.device(t, "c16", "")
	r, log := l.startSoak(t, dir, "c16", `name = "c16"`, "max_blind = 60", "5s")
	start := linkUp(t, log)
	<-every(start, 500*time.Millisecond, 1, 8, func(i int) {
		d.report(fmt.Sprintf(`"seq":%d`, i))
		if i == 4 {
			d.line(`{"state":{"reported":1}}`)
		}
	})
	r.wait()
	md, _ := os.ReadFile(filepath.Join(dir, "c16.md"))
	raw, _ := os.ReadFile(filepath.Join(dir, "c16.json"))
	sum := summaryOf(t, filepath.Join(dir, "c16.json"))
	if sum.Rejections != 1 || !strings.Contains(string(md), "| rejections | 1 |") || !strings.Contains(string(md), "events dropped") ||
		!strings.Contains(string(raw), `"dropped_events": 0`) {
		t.Fatalf("rejections %d\n%s\n%s", sum.Rejections, md, raw)
	}
}

// Case 12: iotwatch deaf: its certificate's policy denies iot:Receive on
// update/accepted and update/documents (subscriptions succeed); the device
// reports every second. The periodic get sees the version move: blind
// (deaf), never the device's dropout.
func TestCase12IotwatchDeaf(t *testing.T) {
	l := lab(t)
	dir := t.TempDir()
	aws := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", "https://" + l.api, "--ca-bundle", filepath.Join(l.dir, "ca.pem"),
			"--profile", "iotwatch-local", "--output", "json", "iot"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE="+filepath.Join(l.dir, "aws-config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(l.dir, "aws-credentials"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws iot %v: %v %s", args, err, out)
		}
		return out
	}
	var cert struct {
		CertificateArn string `json:"certificateArn"`
		CertificatePem string `json:"certificatePem"`
		KeyPair        struct {
			PrivateKey string `json:"PrivateKey"`
		} `json:"keyPair"`
	}
	if err := json.Unmarshal(aws("create-keys-and-certificate", "--set-as-active"), &cert); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect","iot:Publish","iot:Subscribe","iot:Receive"],"Resource":"*"},` +
		`{"Effect":"Deny","Action":"iot:Receive","Resource":["arn:aws:iot:*:*:topic/$aws/things/c12/shadow/update/accepted","arn:aws:iot:*:*:topic/$aws/things/c12/shadow/update/documents"]}]}`
	aws("create-policy", "--policy-name", "c12-deaf", "--policy-document", policy)
	aws("attach-policy", "--policy-name", "c12-deaf", "--target", cert.CertificateArn)
	os.WriteFile(filepath.Join(dir, "deaf.pem"), []byte(cert.CertificatePem), 0o644)
	os.WriteFile(filepath.Join(dir, "deaf.key"), []byte(cert.KeyPair.PrivateKey), 0o600)
	cfg := l.config(t, dir, `name = "c12"`, "max_gap = \"4s\"\nmax_blind = 50")
	text, _ := os.ReadFile(cfg)
	text = []byte(strings.NewReplacer(filepath.Join(l.dir, "monitor.pem"), filepath.Join(dir, "deaf.pem"), filepath.Join(l.dir, "monitor.key"), filepath.Join(dir, "deaf.key")).Replace(string(text)))
	os.WriteFile(cfg, text, 0o644)

	reporting(t, l.device(t, "c12", ""), time.Second)
	log := filepath.Join(dir, "c12.jsonl")
	r := l.soak(t, dir, "c12", "-c", cfg, "--duration", "12s", "--log", log)
	code := r.wait()
	sum := summaryOf(t, filepath.Join(dir, "c12.json"))
	if code != 3 || sum.Verdict != "INCONCLUSIVE" || sum.Dropouts != 0 || sum.DeafS < 8 {
		t.Fatalf("deaf iotwatch, device reporting: exit %d, %s (%s), %d dropouts, deaf %.1f s\n%s", code, sum.Verdict, sum.Rule, sum.Dropouts, sum.DeafS, r.out)
	}
}
