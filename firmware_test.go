package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
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
	"github.com/iotwatch/iotwatch/shadow"
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
	linkUp    chan struct{} // closed once the observer is connected
	mu        sync.Mutex
	docs      []event.ShadowDoc // update/documents "current" and get answers
}

func newFWRig(t testing.TB, shadow string) *fwRig {
	r := &fwRig{dir: t.TempDir(), shadow: shadow, linkUp: make(chan struct{})}
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
	_, bench := t.(*testing.B) // benchmarks measure the broker, past AWS's rate limits
	srv, err := localiot.New(localiot.Options{Listen: addr, PKIDir: r.dir, DataDir: filepath.Join(r.dir, "data"), Unthrottled: bench})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	r.srv = srv
	t.Cleanup(func() { srv.Close() })
}

func (r *fwRig) collect() {
	up := false
	for ev := range r.obs.Events() {
		if l, ok := ev.(event.Link); ok && l.State == event.LinkUp && !up {
			up = true
			close(r.linkUp)
		}
		if doc, ok := ev.(event.ShadowDoc); ok && doc.Kind == event.DocCurrent {
			r.mu.Lock()
			r.docs = append(r.docs, doc)
			r.mu.Unlock()
		}
	}
}

// startHost runs fw-host with the device certificate and ca as trust
// anchor; extra flags follow the usual ones.
func (r *fwRig) startHost(t testing.TB, bin, ca string, intervalS int, extra ...string) {
	_, port, _ := strings.Cut(r.addr, ":")
	r.host = fwHostCommand(bin, r.dir, port, fwThing, ca, intervalS, r.shadow)
	r.host.Args = append(r.host.Args, extra...)
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
	for _, field := range []string{"temp", "uptime_s", "interval_s", "led", "setpoint", "rssi", "heap_used", "fw", "reset_reason", "dropped", "get_unanswered"} {
		if _, ok := first.Reported[field]; !ok {
			t.Errorf("report lacks %q: %v", field, first.Reported)
		}
	}
	// Linux has no fixed heap: fw-host reports its free, minimum and
	// largest-block figures as null, which the shadow stores as no key at
	// all (a null deletes a reported key), never as a made-up number
	// (issue 21 saw the host's free RAM clamped to 4294967295).
	for _, field := range []string{"heap_free", "heap_min_free", "heap_largest_block"} {
		if v, ok := first.Reported[field]; ok && v != nil {
			t.Errorf("fw-host reported %s = %v, a figure it does not have", field, v)
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

// waitObserver waits until the observer can send requests.
func (r *fwRig) waitObserver(t testing.TB) {
	t.Helper()
	select {
	case <-r.linkUp:
	case <-time.After(10 * time.Second):
		t.Fatal("the observer did not connect within 10 s")
	}
}

// The firmware's limits rest on the largest documents the shadow service
// sends for an 8 KB state (firmware/lib/iotcore/core.h lists them): every
// shape fits AWS's 128 KB message, which fw-host takes, and a state held in
// a few long values fits the ESP32 build's 20 KB.
func TestFirmwareLimitsCoverTheLargestShadowDocuments(t *testing.T) {
	now := time.Unix(1764633600, 0)
	token := strings.Repeat("t", 64)
	for _, c := range []struct {
		shape   string
		desired func(n int) string
		start   int // above the largest n that fits
		limit   int
	}{
		{"one long string", func(n int) string { return `{"note":"` + strings.Repeat("x", n) + `"}` }, 8200, 20480},
		{"small keys", func(n int) string {
			keys := make([]string, n)
			for i := range keys {
				keys[i] = fmt.Sprintf(`"%03x":0`, i)
			}
			return "{" + strings.Join(keys, ",") + "}"
		}, 1030, 128 * 1024},
		{"one long array", func(n int) string {
			return `{"a":[` + strings.TrimSuffix(strings.Repeat("0,", n), ",") + `]}`
		}, 4100, 128 * 1024},
	} {
		t.Run(c.shape, func(t *testing.T) {
			// The largest n the service accepts: its delta, then its get.
			for n := c.start; n > 0; n-- {
				res := shadow.Update(shadow.Shadow{}, []byte(`{"state":{"desired":`+c.desired(n)+`},"clientToken":"`+token+`"}`), now)
				if res.Accepted == nil {
					continue
				}
				if n == c.start {
					t.Fatalf("n = %d already fits: start higher", n)
				}
				get := shadow.Get(res.Next, []byte(`{}`), fwThing, now)
				t.Logf("%s (n = %d): delta %d bytes, get/accepted %d bytes", c.shape, n, len(res.Delta), len(get.Accepted))
				if len(get.Accepted) > c.limit || len(res.Delta) > c.limit {
					t.Fatalf("the largest documents exceed the %d-byte limit", c.limit)
				}
				return
			}
			t.Fatal("no size fits")
		})
	}
}

// esp32MaxPayload is the ESP32 build's limit on one message (kMaxPayload in
// firmware/src/main.cpp): the tests run fw-host at the board's size.
const esp32MaxPayload = "20480"

// waitLog waits until fw-host's stderr holds want at least n times.
func (r *fwRig) waitLog(t testing.TB, want string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for strings.Count(r.stderr.String(), want) < n {
		if time.Now().After(deadline) {
			t.Fatalf("fw-host did not log %q %d times within %s:\n%s", want, n, timeout, r.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A desired section that fills AWS's 8 KB state reaches the device in its
// get/accepted (~16 KB with the delta and metadata) and applies, within the
// ESP32 build's buffer.
func TestFirmwareHostAppliesAFullSizeDesiredSection(t *testing.T) {
	bin := buildFirmwareHost(t, true)
	r := newFWRig(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// {"desired":{"led":true,"note":"…","setpoint":22.5}} is 50 bytes plus the note.
	note := strings.Repeat("x", 8192-50)
	r.waitObserver(t)
	if _, err := r.obs.UpdateDesired(ctx, map[string]any{"led": true, "setpoint": 22.5, "note": note}); err != nil {
		t.Fatal(err)
	}
	r.startHost(t, bin, filepath.Join(r.dir, pki.CACertFile), 1, "--max-payload", esp32MaxPayload)
	doc, _ := r.waitDoc(t, "the full-size desired applied", 0, 10*time.Second, func(d event.ShadowDoc) bool {
		return hasSeq(d) && d.Reported["setpoint"] == 22.5 && d.Reported["led"] == true
	})
	if !reflect.DeepEqual(doc.Reported["ignored"], []any{"note"}) || doc.Reported["dropped"] != 0.0 {
		t.Fatalf("reported ignored = %v, dropped = %v; want [note] and 0", doc.Reported["ignored"], doc.Reported["dropped"])
	}
	if _, ok := doc.Desired["note"]; ok {
		t.Fatal("the device did not delete the unknown desired key")
	}
	if log := r.stderr.String(); strings.Contains(log, "dropped") {
		t.Fatalf("fw-host dropped a message:\n%s", log)
	}
}

// The largest document AWS can send for an 8 KB state: one long array, whose
// per-element metadata makes the get/accepted ~118 KB. fw-host takes it at
// its default (AWS's 128 KB message limit).
func TestFirmwareHostTakesTheLargestGetAccepted(t *testing.T) {
	bin := buildFirmwareHost(t, true)
	r := newFWRig(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// {"desired":{"a":[0,…],"setpoint":23}} is 33 bytes plus two per element.
	zeros := make([]any, (8192-33)/2)
	for i := range zeros {
		zeros[i] = 0
	}
	r.waitObserver(t)
	if _, err := r.obs.UpdateDesired(ctx, map[string]any{"setpoint": 23.0, "a": zeros}); err != nil {
		t.Fatal(err)
	}
	r.startHost(t, bin, filepath.Join(r.dir, pki.CACertFile), 1)
	doc, _ := r.waitDoc(t, "setpoint 23 applied from the largest get/accepted", 0, 10*time.Second, func(d event.ShadowDoc) bool {
		return hasSeq(d) && d.Reported["setpoint"] == 23.0
	})
	if doc.Reported["dropped"] != 0.0 || !reflect.DeepEqual(doc.Reported["ignored"], []any{"a"}) {
		t.Fatalf("reported dropped = %v, ignored = %v; want 0 and [a]", doc.Reported["dropped"], doc.Reported["ignored"])
	}
}

// A delta over the device's limit is dropped, counted and followed by a get;
// while the answer is too large as well the gets are spaced out, and the
// first one that fits carries the desired state the delta had.
func TestFirmwareHostRecoversADroppedDeltaWithAGet(t *testing.T) {
	bin := buildFirmwareHost(t, true)
	r := newFWRig(t, "")
	// No periodic reports: only a get's answer or a delta makes the device report.
	r.startHost(t, bin, filepath.Join(r.dir, pki.CACertFile), 3600, "--max-payload", esp32MaxPayload)
	first, _ := r.waitDoc(t, "a first report", 0, 10*time.Second, hasSeq)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// 600 small keys: ~5.4 KB of state, but their metadata makes the delta
	// ~25 KB and the get/accepted ~31 KB, over the board's 20 KB.
	patch := map[string]any{"setpoint": 30.0}
	clear := map[string]any{}
	for i := range 600 {
		patch[fmt.Sprintf("k%03d", i)] = 0
		clear[fmt.Sprintf("k%03d", i)] = nil
	}
	if _, err := r.obs.UpdateDesired(ctx, patch); err != nil {
		t.Fatal(err)
	}
	r.waitLog(t, "over the "+esp32MaxPayload+"-byte limit", 2, 10*time.Second) // the delta, then the get's answer
	if strings.Count(r.stderr.String(), "requesting the shadow again") < 2 {
		t.Fatalf("fw-host did not ask for the shadow after each drop:\n%s", r.stderr)
	}
	// The keys go, and reported already shows setpoint 30, so the shadow
	// sends no delta: only the device's next get can tell it about 30.
	if err := r.obs.Update(ctx, map[string]any{"state": map[string]any{"desired": clear, "reported": map[string]any{"setpoint": 30.0}}}); err != nil {
		t.Fatal(err)
	}
	doc, _ := r.waitDoc(t, "setpoint 30 applied from a get", 0, 30*time.Second, func(d event.ShadowDoc) bool {
		return seqOf(d) > seqOf(first) && d.Reported["setpoint"] == 30.0
	})
	t.Logf("%v messages dropped before a get's answer fitted", doc.Reported["dropped"])
	if dropped, _ := doc.Reported["dropped"].(float64); dropped < 2 {
		t.Fatalf("reported dropped = %v, want at least 2 (the delta and a get's answer)", doc.Reported["dropped"])
	}
}

// On port 443 AWS IoT takes MQTT only from a client that asks for
// x-amzn-mqtt-ca by ALPN; the emulator's listener (any port) negotiates it,
// and refuses a protocol it does not know, so the flag is shown to be sent.
func TestFirmwareHostOverALPN(t *testing.T) {
	bin := buildFirmwareHost(t, true)
	r := newFWRig(t, "")
	r.startHost(t, bin, filepath.Join(r.dir, pki.CACertFile), 1, "--alpn", "x-amzn-mqtt-ca")
	r.waitDoc(t, "a report over ALPN x-amzn-mqtt-ca", 0, 10*time.Second, hasSeq)
	if !strings.Contains(r.stderr.String(), " ALPN x-amzn-mqtt-ca, report every") {
		t.Fatalf("fw-host did not say it uses ALPN:\n%s", r.stderr)
	}
	r.stopHost(t)

	bogus := newFWRig(t, "")
	bogus.startHost(t, bin, filepath.Join(bogus.dir, pki.CACertFile), 1, "--alpn", "not-mqtt")
	bogus.waitLog(t, "retry 2 in", 1, 10*time.Second)
	if n := bogus.count(); n != 0 {
		t.Fatalf("a client asking for ALPN not-mqtt got through (%d documents)", n)
	}
}

// With NTP blocked the device waits, then sets its clock from the build
// time and connects (the fallback is 30 s on the board; 2 s here).
func TestFirmwareHostFallsBackToTheBuildTime(t *testing.T) {
	bin := buildFirmwareHost(t, true)
	r := newFWRig(t, "")
	r.startHost(t, bin, filepath.Join(r.dir, pki.CACertFile), 1, "--clock", "ntp-blocked", "--clock-fallback", "2")
	r.waitDoc(t, "a report after the clock fallback", 0, 15*time.Second, hasSeq)
	log := r.stderr.String()
	waiting := strings.Index(log, "waiting for the time before TLS")
	fallback := strings.Index(log, "no NTP answer in 2 s: clock set from the firmware's build time")
	connected := strings.Index(log, "connected and subscribed")
	if waiting < 0 || fallback < waiting || connected < fallback {
		t.Fatalf("want the wait, then the fallback, then the connection:\n%s", log)
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
	other := t.TempDir()
	if err := pki.Init(other, pki.InitOptions{Thing: fwThing}); err != nil {
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
		{"key of another device", append(base, "--key", filepath.Join(other, pki.DeviceKeyFile)), 2, ": does not belong to the device certificate"},
		{"key as certificate", append(base, "--cert", filepath.Join(dir, pki.DeviceKeyFile)), 2, "--cert " + filepath.Join(dir, pki.DeviceKeyFile) + ": is not an X.509 certificate"},
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

// linkCutter forwards loopback TCP to target and can cut every connection
// through it at once: the network fault that makes a device reconnect.
type linkCutter struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	cuts  int
}

func newLinkCutter(t *testing.T, target string) *linkCutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &linkCutter{ln: ln}
	t.Cleanup(func() { ln.Close(); c.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return c
}

func (c *linkCutter) port() string {
	_, port, _ := net.SplitHostPort(c.ln.Addr().String())
	return port
}

// cut closes every open connection; it returns whether there was one.
func (c *linkCutter) cut() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	had := len(c.conns) > 0
	c.conns = nil
	if had {
		c.cuts++
	}
	return had
}

// soakWithReconnects soaks fw-host (with extra flags) for duration while
// its link is cut every few seconds, under a [soak] that judges the heap
// trend alone, and returns soak's exit code and its JSON summary.
func soakWithReconnects(t *testing.T, bin string, duration time.Duration, extra ...string) (int, report.Summary, string) {
	dir := soakLab(t)
	config, _ := os.ReadFile(filepath.Join(dir, "watch.toml"))
	port := regexp.MustCompile(`port = (\d+)`).FindSubmatch(config)[1]
	// Dropouts and gaps are what the cuts make, not what this soak judges.
	config = append(config, []byte(`
[soak]
interval = "1s"
dropout_after = 1000
max_dropouts = 1000
min_availability = 0
max_gap = "10m"
max_blind = 100
max_heap_loss_per_reconnect = 16384
`)...)
	configPath := filepath.Join(dir, "leak.toml")
	os.WriteFile(configPath, config, 0o644)
	cutter := newLinkCutter(t, "127.0.0.1:"+string(port))
	host := fwHostCommand(bin, dir, cutter.port(), "esp32-soak", filepath.Join(dir, pki.CACertFile), 1, "")
	host.Args = append(host.Args, extra...)
	stderr := &lockedBuffer{}
	host.Stderr = stderr
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Process.Kill(); host.Wait() })
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(4 * time.Second):
				cutter.cut()
			}
		}
	}()
	code, stdout, errOut := run(t, "soak", "-c", configPath, "--duration", duration.String(), "--report", filepath.Join(dir, "soak.md"))
	var sum report.Summary
	data, _ := os.ReadFile(filepath.Join(dir, "soak.json"))
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatalf("no soak.json: %v\n%s\n%s", err, stdout, errOut)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "soak.md"))
	return code, sum, stdout + errOut + "\n" + string(md) + "\nfw-host:\n" + stderr.String()
}

// Issue 23 item 9: heap lost on every reconnect is the classic field
// failure. fw-host --leak-per-reconnect holds 256 KB more on every connect;
// soaked with its link cut every 4 s, soak FAILs it on the heap trend, and
// the clean build PASSes the same soak. heap_used (fw-host has no fixed
// heap) is what the trend follows; heap_free and the other two are null.
func TestSoakFailsAFirmwareThatLeaksOnReconnect(t *testing.T) {
	bin := buildFirmwareHost(t, true)
	for _, c := range []struct {
		name string
		leak string
		code int
	}{{"clean", "0", 0}, {"leaking", "262144", 1}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, sum, out := soakWithReconnects(t, bin, 30*time.Second, "--leak-per-reconnect", c.leak)
			v := sum.Vitals
			loss := "–"
			if v.HeapLossPerReconnect != nil {
				loss = strconv.FormatFloat(*v.HeapLossPerReconnect, 'f', 0, 64)
			}
			t.Logf("%s: exit %d, %s, heap lost per reconnect %s B over %d reconnects (%s)", c.name, code, sum.Verdict, loss, v.Reconnects, v.Field)
			if v.Field != "heap_used" || v.HeapLossPerReconnect == nil || v.Reconnects < 2 {
				t.Fatalf("no heap trend from the reconnects:\n%s", out)
			}
			if code != c.code {
				t.Fatalf("soak exit %d, want %d:\n%s", code, c.code, out)
			}
			if c.code == 1 && (len(sum.Reasons) != 1 || !strings.Contains(sum.Reasons[0], "> max_heap_loss_per_reconnect 16384 B")) {
				t.Fatalf("want the heap trend as the one reason: %q", sum.Reasons)
			}
			if strings.Contains(out, "e+09") {
				t.Fatalf("a clamped heap figure in the output:\n%s", out)
			}
		})
	}
}

// Issue 23 item 4: on the board a get/accepted too large for a slow link
// closes the connection (lwmqtt cannot drain it within its 5 s window), and
// re-getting it on every connect was a loop no connection survived.
// fw-host --oversize disconnect does what the board does with a document
// over its 20 KB (600 small desired keys: ~5.4 KB of state, whose metadata
// makes the get/accepted ~31 KB, leaving room in the 8 KB state for the
// reports); after two connections lost with the get unanswered the device
// reports, says so in get_unanswered, and stays connected.
func TestFirmwareHostEndsAGetItCannotTakeInAReportedState(t *testing.T) {
	bin := buildFirmwareHost(t, true)
	r := newFWRig(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	patch := map[string]any{"setpoint": 23.0}
	for i := range 600 {
		patch[fmt.Sprintf("k%03d", i)] = 0
	}
	r.waitObserver(t)
	if _, err := r.obs.UpdateDesired(ctx, patch); err != nil {
		t.Fatal(err)
	}
	r.startHost(t, bin, filepath.Join(r.dir, pki.CACertFile), 1, "--max-payload", esp32MaxPayload, "--oversize", "disconnect")
	r.waitLog(t, "connection lost before the shadow's get was answered (2 in a row)", 1, 20*time.Second)
	r.waitLog(t, "not asking for the whole shadow", 1, 20*time.Second)
	first, next := r.waitDoc(t, "a report saying the get went unanswered", 0, 10*time.Second, func(d event.ShadowDoc) bool {
		return hasSeq(d) && d.Reported["get_unanswered"] == 2.0
	})
	connects := strings.Count(r.stderr.String(), "connected and subscribed")
	time.Sleep(5 * time.Second)
	last, _ := r.waitDoc(t, "reports on the same connection", next, 5*time.Second, func(d event.ShadowDoc) bool {
		return seqOf(d) >= seqOf(first)+3
	})
	if n := strings.Count(r.stderr.String(), "connected and subscribed"); n != connects {
		t.Fatalf("still reconnecting: %d connects, then %d:\n%s", connects, n, r.stderr)
	}
	if last.Reported["setpoint"] == 23.0 {
		t.Fatal("the desired state of a document never received was applied")
	}
	t.Logf("connected %d times, then stayed up: seq %d → %d with get_unanswered %v", connects, seqOf(first), seqOf(last), last.Reported["get_unanswered"])
}
