package monitor

import (
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// testOptions are config.Default's values (monitor may not import config).
var testOptions = Options{Field: "temp", DropoutAfter: 2.5}

func report(at time.Time, version int64, fields map[string]any) event.ShadowDoc {
	return event.ShadowDoc{At: at, Kind: event.DocAccepted, Version: version, Reported: fields}
}

func lastEntry(m *Monitor) string { e := m.Events(); return e[len(e)-1].Text }

func TestReportsSeqAndReboot(t *testing.T) {
	m := New(testOptions)
	seqs := []float64{1, 2, 5, 6, 1, 2}
	for i, s := range seqs {
		m.Apply(report(t0.Add(time.Duration(i)*time.Second), int64(i+1), map[string]any{"seq": s, "temp": 20 + s, "reset_reason": "SW"}))
	}
	if m.Counts.Reports != 6 || m.Counts.LostReports != 2 || m.Counts.Reboots != 1 {
		t.Fatalf("counts %+v", m.Counts)
	}
	if !strings.Contains(lastEntryWith(m, "rebooted"), "reset reason SW") {
		t.Fatalf("events: %v", m.Events())
	}
}

func lastEntryWith(m *Monitor, s string) string {
	for _, e := range m.Events() {
		if strings.Contains(e.Text, s) {
			return e.Text
		}
	}
	return ""
}

func TestOutOfOrderAndGet(t *testing.T) {
	m := New(testOptions)
	m.Apply(event.ShadowDoc{At: t0, Kind: event.DocGet, Version: 5, Desired: map[string]any{"led": true}, Reported: map[string]any{"led": false}, Delta: map[string]any{"led": true}})
	m.Apply(event.ShadowDoc{At: t0, Kind: event.DocDelta, Version: 3, Delta: map[string]any{"x": 1.0}})
	if m.Delta["led"] != true || m.Version != 5 {
		t.Fatalf("stale delta applied: %+v", m.Delta)
	}
	m.Apply(event.ShadowDoc{At: t0, Kind: event.DocCurrent, Version: 6, Desired: map[string]any{"led": true}, Reported: map[string]any{"led": true}})
	if m.Delta != nil || m.Reported["led"] != true {
		t.Fatalf("documents: %+v %+v", m.Delta, m.Reported)
	}
}

func TestPendingRoundTripAndRejection(t *testing.T) {
	m := New(testOptions)
	m.Apply(event.DesiredSent{At: t0, ClientToken: "a", Patch: map[string]any{"led": true}})
	m.Apply(report(t0.Add(40*time.Millisecond), 1, map[string]any{"led": false}))
	if m.Pending["led"] == nil {
		t.Fatal("pending cleared by a different value")
	}
	m.Apply(report(t0.Add(60*time.Millisecond), 2, map[string]any{"led": true}))
	if m.Pending["led"] != nil || len(m.RoundTrip) != 1 || m.RoundTrip[0] != 60*time.Millisecond {
		t.Fatalf("round trip: %v %v", m.Pending, m.RoundTrip)
	}
	m.Apply(event.DesiredSent{At: t0, ClientToken: "b", Patch: map[string]any{"setpoint": 500.0}})
	m.Apply(event.Rejected{At: t0, Op: "update", Code: 400, Message: "Invalid JSON", ClientToken: "b"})
	if m.Pending["setpoint"].Rejected != "400 Invalid JSON" || m.Counts.Rejections != 1 {
		t.Fatalf("rejection: %+v", m.Pending["setpoint"])
	}
	if m.RoundTripPercentile(50) != 60*time.Millisecond {
		t.Fatal("percentile")
	}
}

func TestDeviceState(t *testing.T) {
	m := New(testOptions)
	if m.Device(t0) != DeviceUnknown {
		t.Fatal("unknown before anything")
	}
	m.Apply(report(t0, 1, map[string]any{"interval_s": 2.0}))
	cases := []struct {
		after time.Duration
		want  DeviceState
	}{{time.Second, DeviceOnline}, {4 * time.Second, DeviceLate}, {6 * time.Second, DeviceOffline}}
	for _, c := range cases {
		if got := m.Device(t0.Add(c.after)); got != c.want {
			t.Errorf("after %s: %s, want %s", c.after, got, c.want)
		}
	}
	m.Apply(event.Presence{At: t0.Add(time.Second), EventType: "disconnected", ClientID: "d", VersionNumber: 1, DisconnectReason: "DUPLICATE_CLIENTID"})
	if m.Device(t0.Add(time.Second)) != DeviceOffline || lastEntryWith(m, "kicking each other off") == "" {
		t.Fatalf("presence: %s %s", m.Device(t0.Add(time.Second)), lastEntry(m))
	}
	m.Apply(event.Presence{At: t0.Add(2 * time.Second), EventType: "connected", ClientID: "d", VersionNumber: 1})
	if m.Presence.EventType != "disconnected" {
		t.Fatal("late connected event of the same session overrode the disconnect")
	}
}

func TestSeriesKeepsGaps(t *testing.T) {
	m := New(testOptions)
	for s := 0; s < 60; s++ {
		if s >= 20 && s < 40 {
			continue // the device was silent
		}
		m.Apply(report(t0.Add(time.Duration(s)*time.Second), int64(s+1), map[string]any{"temp": float64(s)}))
	}
	now := t0.Add(60 * time.Second)
	series := m.Series("temp", time.Minute, 60, now)
	if math.IsNaN(series[10]) || !math.IsNaN(series[30]) || series[10] != 10 {
		t.Fatalf("series: %v", series)
	}
	sum := m.Summarize("temp", time.Minute, now)
	if sum.Min != 0 || sum.Max != 59 || sum.N != 40 || sum.Last != 59 {
		t.Fatalf("summary %+v", sum)
	}
	for _, window := range []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} {
		if s := m.Series("temp", window, 100, now); len(s) != 100 || math.IsNaN(s[99]) {
			t.Errorf("window %s: last point NaN", window)
		}
	}
	m.ClearHistory()
	if !math.IsNaN(m.Series("temp", time.Minute, 10, now)[9]) {
		t.Fatal("clear kept samples")
	}
}

func TestBounded(t *testing.T) {
	m := New(Options{DropoutAfter: 2.5, MaxEvents: 50, MaxFields: 3})
	for i := range 10000 {
		m.Apply(event.Malformed{At: t0, Topic: "x", Err: "bad"})
		m.Apply(report(t0.Add(time.Duration(i)*time.Second), int64(i+1), map[string]any{"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}))
	}
	if len(m.Events()) != 50 || len(m.history) != 3 || m.Counts.Malformed != 10000 {
		t.Fatalf("events %d fields %d", len(m.Events()), len(m.history))
	}
}

func typical(i int) event.ShadowDoc {
	return report(t0.Add(time.Duration(i)*time.Second), int64(i+1), map[string]any{"temp": 20 + float64(i%100)/10,
		"seq": float64(i + 1), "uptime_s": float64(i), "interval_s": 1.0, "led": true, "setpoint": 21.0,
		"rssi": -60.0, "heap_free": 180000.0, "fw": "1.0.0", "reset_reason": "POWERON"})
}

// BenchmarkApplyReport: ingest of typical device reports (target ≥ 200k msg/s).
func BenchmarkApplyReport(b *testing.B) {
	m := New(testOptions)
	docs := make([]event.ShadowDoc, 1024)
	for i := range docs {
		docs[i] = typical(i)
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		d := docs[i%len(docs)]
		d.Version = int64(i + 1)
		m.Apply(d)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkSevenDays: 604,800 reports at 1 Hz; heap in use after (target ≤ 60 MB RSS).
func BenchmarkSevenDays(b *testing.B) {
	for range b.N {
		m := New(testOptions)
		for i := range 604800 {
			m.Apply(typical(i))
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heapMB")
		b.ReportMetric(rssMB(), "rssMB")
		runtime.KeepAlive(m)
	}
}

// rssMB reads the process's resident set size (Linux).
func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if kb, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")))
			return float64(n) / 1024
		}
	}
	return 0
}

// TestRepeatedConnectFailuresAreLoggedOnce: a first connection failing the
// same way at every attempt is one line; a new reason is another.
func TestRepeatedConnectFailuresAreLoggedOnce(t *testing.T) {
	m := New(Options{})
	m.Apply(event.Link{At: t0, State: event.LinkConnecting})
	for i := 1; i <= 5; i++ {
		m.Apply(event.Link{At: t0.Add(time.Duration(i) * time.Second), State: event.LinkDown, Attempt: i, Err: "wrong CA"})
		m.Apply(event.Link{At: t0.Add(time.Duration(i) * time.Second), State: event.LinkConnecting, Attempt: i + 1})
	}
	m.Apply(event.Link{At: t0.Add(9 * time.Second), State: event.LinkDown, Attempt: 7, Err: "refused"})
	m.Apply(event.Link{At: t0.Add(10 * time.Second), State: event.LinkUp})
	var got []string
	for _, e := range m.Events() {
		got = append(got, e.Text)
	}
	want := []string{"cannot connect: wrong CA", "cannot connect: refused", "connected"}
	if !slices.Equal(got, want) {
		t.Fatalf("log %q, want %q", got, want)
	}
}

func TestFormatNumberDropsBinaryNoise(t *testing.T) {
	for v, want := range map[float64]string{(10.02 + 10.04) / 2: "10.03", 20.1: "20.1", 1e-7: "0.0000001", -40: "-40", 123456.789: "123456.789", 0.1 + 0.2: "0.3"} {
		if got := FormatNumber(v); got != want {
			t.Errorf("FormatNumber(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestNoShadowYetIsSaidOnce(t *testing.T) {
	m := New(Options{DropoutAfter: 2.5})
	for i := range 3 {
		m.Apply(event.Rejected{At: t0.Add(time.Duration(i) * time.Second), Op: "get", Code: 404, Message: "No shadow exists with name: 't'"})
	}
	m.Apply(event.ShadowDoc{At: t0.Add(4 * time.Second), Kind: event.DocGet, Version: 1, Reported: map[string]any{"seq": 1.0}})
	m.Apply(event.Deleted{At: t0.Add(5 * time.Second), Version: 1})
	m.Apply(event.Rejected{At: t0.Add(6 * time.Second), Op: "get", Code: 404})
	n := 0
	for _, e := range m.Events() {
		if strings.HasPrefix(e.Text, "no shadow yet") {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("said %d times, want once before the shadow existed and once after it was deleted", n)
	}
}

// TestTakeoverIsTheDropoutsCause: a client that takes the device's client
// id kicks it (DUPLICATE_CLIENTID, arriving after the taker's connect, so
// late) and then leaves cleanly; the dropout that follows is the
// takeover's, not CLIENT_INITIATED_DISCONNECT, until the device reports.
func TestTakeoverIsTheDropoutsCause(t *testing.T) {
	m := New(testOptions)
	m.Apply(report(t0, 1, map[string]any{"interval_s": 1.0}))
	m.Apply(event.Presence{At: t0.Add(time.Second), EventType: "connected", ClientID: "d", VersionNumber: 2})
	m.Apply(event.Presence{At: t0.Add(time.Second), EventType: "disconnected", ClientID: "d", VersionNumber: 1, DisconnectReason: "DUPLICATE_CLIENTID"})
	m.Apply(event.Presence{At: t0.Add(4 * time.Second), EventType: "disconnected", ClientID: "d", VersionNumber: 2, DisconnectReason: "CLIENT_INITIATED_DISCONNECT"})
	st := m.Snapshot(t0.Add(5 * time.Second))
	if len(st.Dropouts) != 1 || st.Dropouts[0].Cause != "DUPLICATE_CLIENTID" {
		t.Fatalf("dropouts %+v, want one caused by DUPLICATE_CLIENTID", st.Dropouts)
	}
	m.Apply(report(t0.Add(6*time.Second), 2, map[string]any{"interval_s": 1.0}))
	m.Apply(event.Presence{At: t0.Add(8 * time.Second), EventType: "disconnected", ClientID: "d", VersionNumber: 3, DisconnectReason: "CONNECTION_LOST"})
	st = m.Snapshot(t0.Add(9 * time.Second))
	if len(st.Dropouts) != 2 || st.Dropouts[1].Cause != "CONNECTION_LOST" {
		t.Fatalf("dropouts %+v, want the next one caused by CONNECTION_LOST", st.Dropouts)
	}
}
