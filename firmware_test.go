package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/devicesim"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/localiot"
	"github.com/iotwatch/iotwatch/pki"
	"github.com/iotwatch/iotwatch/report"
)

// The firmware's portable core, built as the Linux program fw-host, against
// the emulator over real TLS, observed through awsconn as iotwatch sees it.

const fwThing = "pico-fw"

// buildFirmwareHost builds fw-host with the firmware's own Makefile (a no-op
// when it is up to date) and returns its path. Tests take the ASan/UBSan
// build (a sanitizer report fails the run through the exit code); the
// benchmark takes the optimized one.
func buildFirmwareHost(t testing.TB, sanitized bool) string {
	t.Helper()
	target := "build/fw-host"
	if sanitized {
		target = "build/fw-host-asan"
	}
	out, err := exec.Command("make", "-C", "firmware", target).CombinedOutput()
	if err != nil {
		t.Fatalf("building firmware/%s failed (it needs g++, libmosquitto-dev and libcjson-dev: `make deps` installs them): %v\n%s", target, err, out)
	}
	bin, err := filepath.Abs(filepath.Join("firmware", target))
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// fwRig is the emulator (shadows kept in a data directory, as `serve
// --data` does), an observer with the monitor certificate, and fw-host.
type fwRig struct {
	dir, addr string
	shadow    string // "" for the classic shadow
	srv       *localiot.Server
	obs       *awsconn.Conn
	host      *exec.Cmd
	stderr    *lockedBuffer
	exited    chan error
	mu        sync.Mutex
	docs      []event.ShadowDoc // update/documents "current" and get answers
}

func newFWRig(t testing.TB, shadow string) *fwRig {
	r := &fwRig{dir: t.TempDir(), shadow: shadow}
	if err := pki.Init(r.dir, pki.InitOptions{Thing: fwThing}); err != nil {
		t.Fatal(err)
	}
	r.startEmulator(t, "127.0.0.1:0")
	r.addr = r.srv.Addr()
	o := connFor(t, r.dir, r.addr, "monitor", "iotwatch-fw-test", fwThing)
	o.Shadow = shadow
	obs, err := awsconn.Dial(o)
	if err != nil {
		t.Fatal(err)
	}
	r.obs = obs
	t.Cleanup(obs.Close)
	go r.collect()
	return r
}

func (r *fwRig) startEmulator(t testing.TB, addr string) {
	srv, err := localiot.New(localiot.Options{Listen: addr, PKIDir: r.dir, DataDir: filepath.Join(r.dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	r.srv = srv
	t.Cleanup(func() { srv.Close() })
}

func (r *fwRig) collect() {
	for ev := range r.obs.Events() {
		if doc, ok := ev.(event.ShadowDoc); ok && doc.Kind == event.DocCurrent {
			r.mu.Lock()
			r.docs = append(r.docs, doc)
			r.mu.Unlock()
		}
	}
}

// startHost runs fw-host with the device certificate and ca as trust anchor.
func (r *fwRig) startHost(t testing.TB, bin, ca string, intervalS int) {
	_, port, _ := strings.Cut(r.addr, ":")
	r.host = fwHostCommand(bin, r.dir, port, fwThing, ca, intervalS, r.shadow)
	r.stderr = &lockedBuffer{}
	r.host.Stderr = r.stderr
	if err := r.host.Start(); err != nil {
		t.Fatal(err)
	}
	r.exited = make(chan error, 1)
	go func() { r.exited <- r.host.Wait() }()
	t.Cleanup(func() {
		r.host.Process.Kill()
		if t.Failed() {
			t.Logf("fw-host stderr:\n%s", r.stderr)
		}
	})
}

// fwHostCommand runs fw-host as thing with the device certificate of the
// lab in dir and ca as its trust anchor.
func fwHostCommand(bin, dir, port, thing, ca string, intervalS int, shadow string) *exec.Cmd {
	return exec.Command(bin, "--endpoint", "127.0.0.1", "--port", port, "--thing", thing,
		"--cert", filepath.Join(dir, pki.DeviceCertFile), "--key", filepath.Join(dir, pki.DeviceKeyFile),
		"--ca", ca, "--interval", strconv.Itoa(intervalS), "--shadow", shadow)
}

// stopHost sends SIGTERM and returns the exit code.
func (r *fwRig) stopHost(t testing.TB) int {
	r.host.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.exited:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(5 * time.Second):
		t.Fatal("fw-host did not stop within 5 s of SIGTERM")
		return -1
	}
}

// waitDoc returns the first document from index from on that satisfies ok,
// and the index after it.
func (r *fwRig) waitDoc(t testing.TB, what string, from int, timeout time.Duration, ok func(event.ShadowDoc) bool) (event.ShadowDoc, int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		docs := r.docs
		r.mu.Unlock()
		for i := from; i < len(docs); i++ {
			if ok(docs[i]) {
				return docs[i], i + 1
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("never saw %s within %s", what, timeout)
	return event.ShadowDoc{}, 0
}

func (r *fwRig) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.docs)
}

func seqOf(doc event.ShadowDoc) int {
	seq, _ := doc.Reported["seq"].(float64)
	return int(seq)
}

func hasSeq(doc event.ShadowDoc) bool { return seqOf(doc) > 0 }

func TestFirmwareHostReportsAppliesAndReconnects(t *testing.T) {
	bin := buildFirmwareHost(t, true)
	r := newFWRig(t, "")
	r.startHost(t, bin, filepath.Join(r.dir, pki.CACertFile), 1)

	// Reports arrive every second with seq counting up by one.
	first, next := r.waitDoc(t, "a first report", 0, 10*time.Second, hasSeq)
	for want := seqOf(first) + 1; want <= seqOf(first)+3; want++ {
		var doc event.ShadowDoc
		doc, next = r.waitDoc(t, "the next report", next, 3*time.Second, hasSeq)
		if seqOf(doc) != want {
			t.Fatalf("seq %d after %d, want %d", seqOf(doc), want-1, want)
		}
	}
	for _, field := range []string{"temp", "uptime_s", "interval_s", "led", "setpoint", "rssi", "heap_free", "fw", "reset_reason"} {
		if _, ok := first.Reported[field]; !ok {
			t.Errorf("report lacks %q: %v", field, first.Reported)
		}
	}

	// Desired values are applied and reported within one interval (1 s).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sentAt := time.Now()
	if _, err := r.obs.UpdateDesired(ctx, map[string]any{"setpoint": 23.5, "led": true, "interval_s": 2}); err != nil {
		t.Fatal(err)
	}
	applied, next := r.waitDoc(t, "the desired values reported", next, 5*time.Second, func(d event.ShadowDoc) bool {
		return d.Reported["setpoint"] == 23.5 && d.Reported["led"] == true && d.Reported["interval_s"] == 2.0
	})
	roundTrip := applied.At.Sub(sentAt)
	t.Logf("desired → applied → reported round trip: %s", roundTrip.Round(time.Microsecond))
	if roundTrip > time.Second {
		t.Fatalf("desired applied after %s, more than one report interval", roundTrip)
	}

	// The new interval is in use: the next periodic reports are 2 s apart.
	a, next := r.waitDoc(t, "a periodic report", next, 5*time.Second, hasSeq)
	b, next := r.waitDoc(t, "the next periodic report", next, 5*time.Second, hasSeq)
	if gap := b.At.Sub(a.At); gap < 1500*time.Millisecond || gap > 3*time.Second {
		t.Fatalf("reports %s apart after interval_s became 2", gap)
	}

	// Invalid values are refused: reported keeps the values in use, desired
	// is corrected to them, and the unknown key is reported as ignored.
	if _, err := r.obs.UpdateDesired(ctx, map[string]any{"setpoint": 500, "interval_s": 0.5, "led": "on", "colour": "red"}); err != nil {
		t.Fatal(err)
	}
	corrected, next := r.waitDoc(t, "desired corrected by the device", next, 5*time.Second, func(d event.ShadowDoc) bool {
		_, colour := d.Desired["colour"]
		return !colour && d.Desired["setpoint"] == 23.5 && d.Desired["interval_s"] == 2.0 && d.Desired["led"] == true
	})
	if !reflect.DeepEqual(corrected.Reported["ignored"], []any{"colour"}) {
		t.Errorf("reported ignored = %v, want [colour]", corrected.Reported["ignored"])
	}
	if corrected.Reported["setpoint"] != 23.5 || corrected.Reported["interval_s"] != 2.0 || corrected.Reported["led"] != true {
		t.Fatalf("invalid desired values were applied: %v", corrected.Reported)
	}

	// A desired section larger than the device's MQTT buffer is refused
	// cleanly: logged, and the device goes on reporting.
	if _, err := r.obs.UpdateDesired(ctx, map[string]any{"note": strings.Repeat("x", 5000)}); err != nil {
		t.Fatal(err)
	}
	next = r.count()
	r.waitDoc(t, "reports after an oversized delta", next, 5*time.Second, hasSeq)
	if !strings.Contains(r.stderr.String(), "over the 4096-byte limit; ignored") {
		t.Fatalf("fw-host did not log the oversized delta:\n%s", r.stderr)
	}
	if _, err := r.obs.UpdateDesired(ctx, map[string]any{"note": nil}); err != nil {
		t.Fatal(err)
	}

	// The emulator stops for 3 s: fw-host backs off, reconnects and goes on
	// with the same seq count (it did not reboot).
	last, _ := r.waitDoc(t, "a report before the restart", next, 5*time.Second, hasSeq)
	r.srv.Close()
	time.Sleep(3 * time.Second)
	r.startEmulator(t, r.addr)
	restartedAt := time.Now()
	resumed, _ := r.waitDoc(t, "a report after the restart", r.count(), 30*time.Second, func(d event.ShadowDoc) bool {
		return seqOf(d) > seqOf(last)
	})
	t.Logf("reporting again %s after the emulator came back; seq %d → %d", resumed.At.Sub(restartedAt).Round(time.Millisecond), seqOf(last), seqOf(resumed))
	// Not a reboot: uptime went on (a reboot restarts seq and uptime), and
	// seq grew by no more than the 2 s interval allows, plus the report
	// that follows each connect's get.
	elapsed := resumed.At.Sub(last.At).Seconds()
	upLast, _ := last.Reported["uptime_s"].(float64)
	upResumed, _ := resumed.Reported["uptime_s"].(float64)
	if upResumed < upLast+elapsed-2 {
		t.Fatalf("uptime_s %v → %v over %.1f s: the device restarted", upLast, upResumed, elapsed)
	}
	if float64(seqOf(resumed)-seqOf(last)) > elapsed/2+2 {
		t.Fatalf("seq %d → %d over %.1f s at one report every 2 s", seqOf(last), seqOf(resumed), elapsed)
	}
	log := r.stderr.String()
	if !strings.Contains(log, "disconnected") || !strings.Contains(log, "retry 1 in") || !strings.Contains(log, "failed") {
		t.Fatalf("fw-host did not log the disconnect and its backoff:\n%s", log)
	}

	if code := r.stopHost(t); code != 0 {
		t.Fatalf("fw-host exit code %d after SIGTERM, want 0", code)
	}
	if !strings.Contains(r.stderr.String(), "stopped: ") {
		t.Fatalf("fw-host did not print its final counts:\n%s", r.stderr)
	}
}

// TestSoakOfTheFirmware soaks fw-host with `iotwatch soak`: a frozen device
// (SIGSTOP for 4 s) is one dropout, a killed and restarted one is a dropout
// opened by its lifecycle event plus a reboot, and nothing else is counted.
func TestSoakOfTheFirmware(t *testing.T) {
	bin := buildFirmwareHost(t, true)
	dir := soakLab(t)
	config, _ := os.ReadFile(filepath.Join(dir, "watch.toml"))
	port := regexp.MustCompile(`port = (\d+)`).FindSubmatch(config)[1]
	start := func() *exec.Cmd {
		cmd := fwHostCommand(bin, dir, string(port), "esp32-soak", filepath.Join(dir, pki.CACertFile), 1, "")
		if err := cmd.Start(); err != nil {
			t.Error(err) // not Fatal: called from the fault script's goroutine too
			return cmd
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	go func() {
		host := start()
		if host.Process == nil {
			return
		}
		time.Sleep(4 * time.Second)
		host.Process.Signal(syscall.SIGSTOP)
		time.Sleep(4 * time.Second)
		host.Process.Signal(syscall.SIGCONT)
		time.Sleep(3 * time.Second)
		host.Process.Kill()
		start()
	}()

	logPath := filepath.Join(dir, "soak.jsonl")
	code, stdout, stderr := run(t, "soak", "-c", filepath.Join(dir, "watch.toml"), "--duration", "16s", "--log", logPath, "--report", filepath.Join(dir, "soak.md"))
	if code != 1 {
		t.Fatalf("soak exit %d, want 1 (dropouts breach max_dropouts 0)\n%s\n%s", code, stdout, stderr)
	}
	var sum report.Summary
	data, _ := os.ReadFile(filepath.Join(dir, "soak.json"))
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	avail := "–" // null until something was observed
	if sum.AvailabilityPct != nil {
		avail = strconv.FormatFloat(*sum.AvailabilityPct, 'f', 1, 64) + "%"
	}
	t.Logf("soak of fw-host: %d reports, %d dropouts, longest gap %.1f s, %d reboots, %d lost, availability %s",
		sum.Reports, sum.Dropouts, sum.LongestGapS, sum.Reboots, sum.LostReports, avail)
	if sum.Dropouts != 2 || sum.Reboots != 1 || sum.LostReports != 0 || sum.LongestGapS < 3.5 || sum.Reports < 8 {
		t.Fatalf("want 2 dropouts, 1 reboot, no lost reports, a gap over 3.5 s: %+v\n%s", sum, stdout)
	}
}

func TestFirmwareHostOnANamedShadow(t *testing.T) {
	bin := buildFirmwareHost(t, true)
	r := newFWRig(t, "env")
	r.startHost(t, bin, filepath.Join(r.dir, pki.CACertFile), 1)
	_, next := r.waitDoc(t, "a report to the named shadow", 0, 10*time.Second, hasSeq)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.obs.UpdateDesired(ctx, map[string]any{"led": true}); err != nil {
		t.Fatal(err)
	}
	r.waitDoc(t, "led applied on the named shadow", next, 5*time.Second, func(d event.ShadowDoc) bool {
		return d.Reported["led"] == true
	})
}

func TestFirmwareHostRefusesAnUnknownServer(t *testing.T) {
	bin := buildFirmwareHost(t, true)
	r := newFWRig(t, "")
	other := t.TempDir()
	if err := pki.Init(other, pki.InitOptions{Thing: fwThing}); err != nil {
		t.Fatal(err)
	}
	r.startHost(t, bin, filepath.Join(other, pki.CACertFile), 1)
	time.Sleep(3 * time.Second)
	if n := r.count(); n != 0 {
		t.Fatalf("fw-host reported through a server its CA does not vouch for (%d documents)", n)
	}
	if log := r.stderr.String(); !strings.Contains(log, "certificate verify failed") || !strings.Contains(log, "retry 2 in") {
		t.Fatalf("fw-host did not say why the connection failed and that it retries:\n%s", log)
	}
	if code := r.stopHost(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}

func TestFirmwareHostFlags(t *testing.T) {
	bin := buildFirmwareHost(t, true)
	dir := t.TempDir()
	if err := pki.Init(dir, pki.InitOptions{Thing: fwThing}); err != nil {
		t.Fatal(err)
	}
	files := []string{"--cert", filepath.Join(dir, pki.DeviceCertFile), "--key", filepath.Join(dir, pki.DeviceKeyFile), "--ca", filepath.Join(dir, pki.CACertFile)}
	base := append([]string{"--endpoint", "127.0.0.1", "--port", "1", "--thing", fwThing}, files...)
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"--help"}, 0, "usage: fw-host"},
		{"unknown flag", append(base, "--verbose"), 2, "unknown flag --verbose"},
		{"missing thing", files, 2, "--endpoint is required"},
		{"bad interval", append(base, "--interval", "0"), 2, "--interval 0: must be a whole number from 1 to 3600"},
		{"missing key file", append(base, "--key", "/nonexistent/device.key"), 2, "--key /nonexistent/device.key: cannot read it"},
		{"bad thing", append(base, "--thing", "my thing"), 2, "--thing must be 1 to 128"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := exec.Command(bin, c.args...).CombinedOutput()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			}
			if code != c.code || !strings.Contains(string(out), c.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, c.code, c.want, out)
			}
			if strings.Contains(string(out), "PRIVATE KEY") {
				t.Fatal("fw-host printed a private key")
			}
		})
	}
}

// BenchmarkFirmwareRoundTrip measures desired → emulator → device applies →
// reported back to the monitor on loopback, for fw-host and, side by side as
// the baseline, the Go simulated device (bench/firmware.sh prints the ratio;
// target p50 ≤ 5 ms, p99 ≤ 20 ms).
func BenchmarkFirmwareRoundTrip(b *testing.B) {
	for _, device := range []string{"fw-host", "devicesim"} {
		b.Run("device="+device, func(b *testing.B) {
			r := newFWRig(b, "")
			if device == "fw-host" {
				r.startHost(b, buildFirmwareHost(b, false), filepath.Join(r.dir, pki.CACertFile), 3600)
			} else {
				ctx, cancel := context.WithCancel(context.Background())
				b.Cleanup(cancel)
				sim := devicesim.New(devicesim.Options{Conn: connFor(b, r.dir, r.addr, "device", fwThing, fwThing), Interval: time.Hour})
				go sim.Run(ctx)
			}
			r.waitDoc(b, "the device's first report", 0, 10*time.Second, hasSeq)
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			rtts := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				value := float64(i%100) + 0.5
				from := r.count()
				start := time.Now()
				if _, err := r.obs.UpdateDesired(ctx, map[string]any{"setpoint": value}); err != nil {
					b.Fatal(err)
				}
				doc, _ := r.waitDoc(b, "the setpoint applied", from, 10*time.Second, func(d event.ShadowDoc) bool {
					return d.Reported["setpoint"] == value
				})
				rtts = append(rtts, doc.At.Sub(start))
			}
			slices.Sort(rtts)
			b.ReportMetric(float64(rtts[len(rtts)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(rtts[len(rtts)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
