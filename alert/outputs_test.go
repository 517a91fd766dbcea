package alert

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/config"
)

// lines collects what an Alerter logs.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) add(s string) { l.mu.Lock(); l.all = append(l.all, s); l.mu.Unlock() }

func (l *lines) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.all {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// deliver raises alerts through rule and waits for the outputs to finish.
func deliver(t *testing.T, rule config.Alert, o Options, alerts ...Alert) *lines {
	t.Helper()
	log := &lines{}
	o.Rules, o.Log = []config.Alert{rule}, log.add
	a := New(o)
	a.Raise(alerts...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.Close(ctx)
	return log
}

var sample = []Alert{
	{At: t0, Thing: "esp32-000", Kind: DropoutOpened, Message: "device silent since 03:00:00 (silence)"},
	{At: t0.Add(time.Second), Thing: "esp32-001", Kind: Reboot, Message: "device rebooted"},
}

func decodeAll(t *testing.T, r io.Reader) []Alert {
	t.Helper()
	var out []Alert
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var a Alert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("not an alert: %q: %v", sc.Text(), err)
		}
		out = append(out, a)
	}
	return out
}

func sameAlerts(t *testing.T, got, want []Alert) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d alerts %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if !got[i].At.Equal(want[i].At) || got[i].Thing != want[i].Thing || got[i].Kind != want[i].Kind || got[i].Message != want[i].Message {
			t.Errorf("alert %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestCommandGetsJSONOnStdin(t *testing.T) {
	file := filepath.Join(t.TempDir(), "alerts.jsonl")
	log := deliver(t, config.Alert{Command: []string{"sh", "-c", "cat >> " + file}}, Options{}, sample...)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sameAlerts(t, decodeAll(t, f), sample)
	if log.count("alert: esp32-000 dropout_opened") != 1 || log.count("alert: esp32-001 reboot") != 1 {
		t.Errorf("each alert is logged once: %v", log.all)
	}
}

func TestHTTPPost(t *testing.T) {
	var mu sync.Mutex
	var got []Alert
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with %q", r.Method, r.Header.Get("Content-Type"))
		}
		mu.Lock()
		got = append(got, decodeAll(t, r.Body)...)
		mu.Unlock()
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("not loopback: %s", srv.URL)
	}
	deliver(t, config.Alert{URL: srv.URL + "/hook"}, Options{}, sample...)
	mu.Lock()
	defer mu.Unlock()
	sameAlerts(t, got, sample)
}

func TestBellRingsPerAlert(t *testing.T) {
	var bell strings.Builder
	deliver(t, config.Alert{Bell: true, On: []string{"reboot"}}, Options{Bell: &bell}, sample...)
	if bell.String() != "\a" {
		t.Fatalf("bell %q: one ring for the one reboot", bell.String())
	}
}

func TestRateLimitedAlertsAreCounted(t *testing.T) {
	file := filepath.Join(t.TempDir(), "alerts.jsonl")
	var burst []Alert
	for i := range 5 {
		burst = append(burst, Alert{At: t0.Add(time.Duration(i) * 10 * time.Second), Thing: "a", Kind: Reboot, Message: "rebooted"})
	}
	burst = append(burst, Alert{At: t0.Add(2 * time.Minute), Thing: "a", Kind: Reboot, Message: "rebooted"})
	deliver(t, config.Alert{Command: []string{"sh", "-c", "cat >> " + file}, Every: config.Duration{Duration: time.Minute}}, Options{}, burst...)
	f, _ := os.Open(file)
	defer f.Close()
	got := decodeAll(t, f)
	if len(got) != 2 || got[0].Suppressed != 0 || got[1].Suppressed != 4 {
		t.Fatalf("delivered %+v: want the first and one after a minute counting 4 held back", got)
	}
}

// TestFailingOutputsReportedOnce: a POST to a closed port and a command
// that fails are each reported once, with the reason, however many alerts
// they fail; the other output of the rule still delivers.
func TestFailingOutputsReportedOnce(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var bell strings.Builder
	var alerts []Alert
	for i := range 4 {
		alerts = append(alerts, Alert{At: t0, Thing: "t" + string(rune('0'+i)), Kind: Rejection, Message: "rejected"})
	}
	log := deliver(t, config.Alert{Bell: true, URL: url, Command: []string{"sh", "-c", "echo no disk >&2; exit 3"}}, Options{Bell: &bell}, alerts...)
	if n := log.count("output POST " + url + " failed"); n != 1 {
		t.Errorf("POST failure reported %d times: %v", n, log.all)
	}
	if n := log.count("failed: exit status 3: no disk"); n != 1 {
		t.Errorf("command failure reported %d times: %v", n, log.all)
	}
	if bell.String() != "\a\a\a\a" {
		t.Errorf("bell %q", bell.String())
	}
}

// TestSlowOutputNeverBlocks: an output stuck on each alert fills its
// queue; Raise goes on returning, the overflow is reported once, and the
// stuck deliveries end at the timeout.
func TestSlowOutputNeverBlocks(t *testing.T) {
	log := &lines{}
	a := New(Options{Rules: []config.Alert{{Command: []string{"sleep", "30"}, Every: config.Duration{Duration: time.Nanosecond}}},
		Log: log.add, Queue: 2, Timeout: 100 * time.Millisecond})
	for i := range 20 {
		a.Raise(Alert{At: t0.Add(time.Duration(i) * time.Second), Thing: "a", Kind: Reboot, Message: "x"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.Close(ctx)
	if n := log.count("is behind"); n != 1 {
		t.Errorf("overflow reported %d times: %v", n, log.all)
	}
	if n := log.count("failed"); n != 1 {
		t.Errorf("the timeouts reported %d times: %v", n, log.all)
	}
}

// TestDesktopNotification runs the real notify-send against a
// notification server on a private session bus.
func TestDesktopNotification(t *testing.T) {
	if _, err := exec.LookPath("notify-send"); err != nil {
		t.Skip("notify-send is not installed (apt install libnotify-bin)")
	}
	dir := t.TempDir()
	got, ready := filepath.Join(dir, "notifications"), filepath.Join(dir, "address")
	cmd := exec.Command("dbus-run-session", "--", "/usr/bin/python3", "testdata/notifyd.py", got, ready)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); cmd.Wait() })
	var addr []byte
	for deadline := time.Now().Add(20 * time.Second); len(addr) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the notification server did not start (python3-dbus and python3-gi installed?)")
		}
		addr, _ = os.ReadFile(ready)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", string(addr))
	log := deliver(t, config.Alert{Notify: true}, Options{}, sample...)
	if log.count("failed") != 0 {
		t.Fatalf("log: %v", log.all)
	}
	data, _ := os.ReadFile(got)
	want := "iotwatch\tiotwatch: esp32-000 dropout_opened\tdevice silent since 03:00:00 (silence)\n" +
		"iotwatch\tiotwatch: esp32-001 reboot\tdevice rebooted\n"
	if string(data) != want {
		t.Fatalf("notifications:\n%s\nwant:\n%s", data, want)
	}
}
