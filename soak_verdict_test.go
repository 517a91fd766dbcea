package main

// The soak verdict with the real binary, the real emulator (serve, with its
// data on disk) and the real simulator, in the situations where it used to
// say PASS although the device was dead or was never watched (issue 9).

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/internal/testkit"
	"github.com/iotwatch/iotwatch/report"
)

// verdictLab is a lab directory, the built binary and an emulator process.
type verdictLab struct {
	t              *testing.T
	dir, bin, addr string
	serve          *exec.Cmd
	out            *lockedBuffer // every process's output, shown on failure
}

// newVerdictLab builds iotwatch, makes certificates and points the configs
// at 127.0.0.1; soak adds to watch.toml's [soak].
func newVerdictLab(t *testing.T, soak string) *verdictLab {
	t.Helper()
	t.Parallel() // each waits on its soak's own clock
	l := &verdictLab{t: t, dir: t.TempDir(), addr: testkit.FreeAddr(t), out: &lockedBuffer{}}
	l.bin = filepath.Join(l.dir, "iotwatch")
	if b, err := exec.Command("go", "build", "-o", l.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, b)
	}
	run(t, "certs", "init", "--dir", l.dir, "--thing", "esp32-verdict")
	_, port, _ := strings.Cut(l.addr, ":")
	for _, name := range []string{"watch.toml", "device.toml"} {
		path := filepath.Join(l.dir, name)
		data, _ := os.ReadFile(path)
		text := strings.Replace(strings.Replace(string(data), "port = 8883", "port = "+port, 1), `endpoint = "localhost"`, `endpoint = "127.0.0.1"`, 1)
		if name == "watch.toml" && soak != "" {
			text += "\n[soak]\n" + soak + "\n"
		}
		os.WriteFile(path, []byte(text), 0o644)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process output:\n%s", l.out)
		}
	})
	return l
}

func (l *verdictLab) path(name string) string { return filepath.Join(l.dir, name) }

// start runs the binary in the background until the test ends.
func (l *verdictLab) start(args ...string) *exec.Cmd {
	cmd := exec.Command(l.bin, args...)
	cmd.Stdout, cmd.Stderr = l.out, l.out
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// startServe runs the emulator on the lab's address with its shadows in data.
func (l *verdictLab) startServe(data string) {
	before := strings.Count(l.out.String(), "emulator on")
	l.serve = l.start("serve", "--listen", l.addr, "--pki", l.dir, "--data", l.path(data))
	l.waitFor("the emulator listening", func() bool { return strings.Count(l.out.String(), "emulator on") > before })
}

func (l *verdictLab) stopServe() {
	l.serve.Process.Signal(syscall.SIGTERM)
	l.serve.Wait()
}

func (l *verdictLab) waitFor(what string, ok func() bool) {
	l.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			l.t.Fatalf("never: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reportsLogged counts the device reports in a soak log.
func reportsLogged(path string) int {
	data, _ := os.ReadFile(path)
	return strings.Count(string(data), `"kind":"accepted","version"`)
}

// finish waits for a soak or report process and reads its JSON summary.
func finish(t *testing.T, cmd *exec.Cmd, summary string) (int, report.Summary) {
	t.Helper()
	cmd.Wait()
	var sum report.Summary
	data, err := os.ReadFile(summary)
	if err != nil || json.Unmarshal(data, &sum) != nil {
		t.Fatalf("summary %s: %v %s", summary, err, data)
	}
	return cmd.ProcessState.ExitCode(), sum
}

// reportOf rebuilds the report of a log with the lab's configuration.
func (l *verdictLab) reportOf(log, md string) (int, report.Summary) {
	cmd := exec.Command(l.bin, "report", "-c", l.path("watch.toml"), "--report", l.path(md), log)
	cmd.Stdout, cmd.Stderr = l.out, l.out
	cmd.Start()
	return finish(l.t, cmd, strings.TrimSuffix(l.path(md), ".md")+".json")
}

// Case 1: the emulator stops, the device dies (kill -9) while iotwatch is
// blind, the emulator comes back: the re-get shows the device silent since
// before the cut, so the soak is not PASS.
func TestSoakVerdictDeviceDiesWhileBlind(t *testing.T) {
	l := newVerdictLab(t, "")
	l.startServe("data")
	sim := l.start("sim", "-c", l.path("device.toml"), "--interval", "1s")
	log := l.path("soak.jsonl")
	// Long enough for the reconnect backoff (1, 2, 4, 8 s) on a loaded machine.
	soak := l.start("soak", "-c", l.path("watch.toml"), "--duration", "24s", "--log", log, "--report", l.path("soak.md"))
	l.waitFor("four reports logged", func() bool { return reportsLogged(log) >= 4 })
	l.stopServe()
	sim.Process.Signal(syscall.SIGKILL)
	sim.Wait()
	time.Sleep(2 * time.Second)
	l.startServe("data")
	code, sum := finish(t, soak, l.path("soak.json"))
	if code == 0 || sum.Verdict == "PASS" || sum.Dropouts != 1 {
		t.Fatalf("device dead since the cut: exit %d, %s (%s), %d dropouts", code, sum.Verdict, sum.Rule, sum.Dropouts)
	}
	if code, again := l.reportOf(log, "again.md"); code != 1 || again.Verdict != "FAIL" || again.Dropouts != 1 {
		t.Fatalf("report of the log: exit %d %+v", code, again)
	}
}

// Case 2: the emulator comes back without its data, so the shadow's version
// starts again at 1: every later report still counts.
func TestSoakVerdictShadowVersionGoesBack(t *testing.T) {
	l := newVerdictLab(t, "max_blind = 60")
	l.startServe("data-1")
	l.start("sim", "-c", l.path("device.toml"), "--interval", "1s")
	log := l.path("soak.jsonl")
	soak := l.start("soak", "-c", l.path("watch.toml"), "--duration", "20s", "--log", log, "--report", l.path("soak.md"))
	l.waitFor("four reports logged", func() bool { return reportsLogged(log) >= 4 })
	before := reportsLogged(log)
	l.stopServe()
	l.startServe("data-2")
	code, sum := finish(t, soak, l.path("soak.json"))
	if after := reportsLogged(log); after < before+3 || sum.Reports != after {
		t.Fatalf("%d reports before the reset, %d logged in all, %d counted", before, after, sum.Reports)
	}
	if code != 0 || sum.Verdict != "PASS" || sum.Dropouts != 0 {
		t.Fatalf("exit %d, %s (%s), %d dropouts", code, sum.Verdict, sum.Rule, sum.Dropouts)
	}
	if versions := acceptedVersions(t, log); !wentBack(versions) {
		t.Fatalf("the shadow's versions never went back: %v", versions)
	}
}

// acceptedVersions lists the versions of the reports in a soak log.
func acceptedVersions(t *testing.T, path string) []int64 {
	data, _ := os.ReadFile(path)
	var out []int64
	for _, line := range strings.Split(string(data), "\n") {
		var l struct {
			Kind    string `json:"kind"`
			Version int64  `json:"version"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Kind == "accepted" {
			out = append(out, l.Version)
		}
	}
	return out
}

func wentBack(versions []int64) bool {
	for i := 1; i < len(versions); i++ {
		if versions[i] < versions[i-1] {
			return true
		}
	}
	return false
}

// Case 3: a soak killed with kill -9 and a second one appended to its log:
// the time between them was watched by nobody, and the report says so.
func TestSoakVerdictAppendedRunsLeaveAGap(t *testing.T) {
	l := newVerdictLab(t, "")
	l.startServe("data")
	l.start("sim", "-c", l.path("device.toml"), "--interval", "1s")
	log := l.path("soak.jsonl")
	first := l.start("soak", "-c", l.path("watch.toml"), "--duration", "1h", "--log", log)
	l.waitFor("four reports logged", func() bool { return reportsLogged(log) >= 4 })
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	const gap = 6 * time.Second
	time.Sleep(gap)
	second := l.start("soak", "-c", l.path("watch.toml"), "--duration", "6s", "--log", log, "--report", l.path("second.md"))
	if code, _ := finish(t, second, l.path("second.json")); code != 0 {
		t.Fatalf("the second run alone: exit %d", code)
	}
	code, sum := l.reportOf(log, "both.md")
	// The killed run loses at most its last second or two of lines, the
	// second one takes a moment to start.
	if sum.Runs != 2 || sum.UnwatchedGaps != 1 || sum.UnwatchedS < gap.Seconds() || sum.UnwatchedS > gap.Seconds()+6 {
		t.Fatalf("runs %d, unwatched %.1f s in %d gap(s); the gap was %s", sum.Runs, sum.UnwatchedS, sum.UnwatchedGaps, gap)
	}
	if code != 3 || sum.Verdict != "INCONCLUSIVE" || !strings.Contains(sum.Rule, "not running") {
		t.Fatalf("exit %d, %s: %s", code, sum.Verdict, sum.Rule)
	}
	if sum.AvailabilityPct == nil || *sum.AvailabilityPct != 100 || sum.Dropouts != 0 {
		t.Fatalf("the gap counted against the device: availability %v, %d dropouts", sum.AvailabilityPct, sum.Dropouts)
	}
}

// Case 4: a soak that never connects (the wrong CA) gives no verdict.
func TestSoakVerdictNeverConnected(t *testing.T) {
	l := newVerdictLab(t, "")
	other := t.TempDir()
	run(t, "certs", "init", "--dir", other, "--thing", "esp32-verdict")
	data, _ := os.ReadFile(l.path("watch.toml"))
	os.WriteFile(l.path("watch.toml"), []byte(strings.Replace(string(data), `ca = "ca.pem"`, `ca = "`+filepath.Join(other, "ca.pem")+`"`, 1)), 0o644)
	l.startServe("data")
	soak := exec.Command(l.bin, "soak", "-c", l.path("watch.toml"), "--duration", "3s", "--report", l.path("soak.md"))
	out, _ := soak.CombinedOutput()
	code, sum := finish(t, soak, l.path("soak.json"))
	if code != 3 || sum.Verdict != "INCONCLUSIVE" || sum.Pass || !strings.Contains(string(out), "soak INCONCLUSIVE: iotwatch never connected") {
		t.Fatalf("exit %d, %s:\n%s", code, sum.Verdict, out)
	}
}

// Case 5: a number beyond float64 in the shadow leaves every later document
// readable; it is named as not plottable.
func TestSoakVerdictNumberBeyondFloat64(t *testing.T) {
	l := newVerdictLab(t, "max_blind = 60")
	l.startServe("data")
	l.start("sim", "-c", l.path("device.toml"), "--interval", "1s")
	log := l.path("soak.jsonl")
	soak := l.start("soak", "-c", l.path("watch.toml"), "--duration", "9s", "--log", log, "--report", l.path("soak.md"))
	l.waitFor("two reports logged", func() bool { return reportsLogged(log) >= 2 })
	host, port, _ := strings.Cut(l.addr, ":")
	pub := exec.Command("mosquitto_pub", "-h", host, "-p", port, "--cafile", l.path("ca.pem"), "--cert", l.path("monitor.pem"),
		"--key", l.path("monitor.key"), "-i", "verdict-pub", "-q", "1", "-t", "$aws/things/esp32-verdict/shadow/update",
		"-m", `{"state":{"reported":{"big":1e400}}}`)
	if b, err := pub.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, b)
	}
	code, sum := finish(t, soak, l.path("soak.json"))
	if sum.Malformed != 0 || strings.Join(sum.NotPlottable, ",") != "big" || code != 0 {
		t.Fatalf("exit %d, %d malformed, not plottable %v (%s)", code, sum.Malformed, sum.NotPlottable, sum.Rule)
	}
	data, _ := os.ReadFile(log)
	after := string(data)[strings.Index(string(data), "1e400"):]
	if strings.Count(after, `"kind":"documents"`) < 3 || strings.Contains(after, `"type":"malformed"`) {
		t.Fatalf("documents after the big number: %d, malformed lines: %v", strings.Count(after, `"kind":"documents"`), strings.Contains(after, `"type":"malformed"`))
	}
	if code, again := l.reportOf(log, "again.md"); code != 0 || again.Malformed != 0 || again.Reports != sum.Reports {
		t.Fatalf("report of the log: exit %d %+v", code, again)
	}
}

// A log written before schema 1 still gives its report.
func TestReportOfALogFromBeforeTheSchema(t *testing.T) {
	code, stdout, stderr := run(t, "report", "eventlog/testdata/v0-sample.jsonl")
	for _, want := range []string{"| reports | 6 |", "| dropouts | 1 |", "MQTT_KEEP_ALIVE_TIMEOUT", "a log from before session lines"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("lacks %q", want)
		}
	}
	if code != 1 || t.Failed() {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// Connected, but the device never reports: FAIL, not PASS.
func TestSoakVerdictDeviceNeverReports(t *testing.T) {
	l := newVerdictLab(t, "max_blind = 50") // a slow first connect is not what this is about
	l.startServe("data")
	soak := exec.Command(l.bin, "soak", "-c", l.path("watch.toml"), "--duration", "4s", "--report", l.path("soak.md"))
	out, _ := soak.CombinedOutput()
	code, sum := finish(t, soak, l.path("soak.json"))
	if code != 1 || sum.Verdict != "FAIL" || sum.Reports != 0 || !strings.Contains(string(out), "never reported") {
		t.Fatalf("exit %d, %s (%s):\n%s", code, sum.Verdict, sum.Rule, out)
	}
}
