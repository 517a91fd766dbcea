package report

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/monitor"
)

// BenchmarkSevenDayReplay writes 7 days of 1 Hz reports to a log, reads it
// back, replays it through the monitor and renders the report: the time and
// the heap in use at the end (target ≤ 60 MB).
func BenchmarkSevenDayReplay(b *testing.B) {
	path := filepath.Join(b.TempDir(), "week.jsonl")
	w, err := eventlog.Create(path, event.Session{At: t0, Program: "bench", Thing: "esp32"})
	if err != nil {
		b.Fatal(err)
	}
	w.Write(event.Link{At: t0, State: event.LinkUp})
	for i := range 604800 {
		w.Write(event.ShadowDoc{At: t0.Add(time.Duration(i) * time.Second), Kind: event.DocAccepted, Version: int64(i + 1),
			Reported: map[string]any{"temp": 20 + float64(i%600)/20, "seq": float64(i + 1), "interval_s": 1.0}})
	}
	w.Close()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		m := monitor.New(testOptions)
		var end time.Time
		n := 0
		if _, err := eventlog.Scan(path, func(ev event.Event) { m.Apply(ev); end = ev.Time(); n++ }); err != nil || n != 604802 {
			b.Fatalf("scan: %v (%d events)", err, n)
		}
		run := Run{Thing: "esp32", Field: "temp", Start: t0, End: end}
		st := m.Stats(end)
		Markdown(run, st, Judge(st, Thresholds{}), "week.svg")
		SVG(run, m.Series("temp", end.Sub(t0), 600, end), st.Dropouts)
		b.ReportMetric(time.Since(start).Seconds(), "report-s")
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heapMB-after")
		b.ReportMetric(peakRSSMB(), "peakRSS-MB")
		runtime.KeepAlive(m)
	}
}

// peakRSSMB is the process's peak resident set size (Linux VmHWM).
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")))
			return float64(n) / 1024
		}
	}
	return 0
}
