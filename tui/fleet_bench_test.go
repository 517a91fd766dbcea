package tui

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/iotwatch/iotwatch/event"
)

// fleetOf builds a fleet screen of n things at 160×50 with span of 1 Hz
// reports each (the monitors fed directly, as the event Cmd would), the
// clock at the end.
func fleetOf(n int, span time.Duration) FleetModel {
	end := t0.Add(span)
	var things []string
	for i := range n {
		things = append(things, fmt.Sprintf("esp32-%04d", i))
	}
	m := NewFleet(FleetOptions{Conn: newFakeFleet(), Things: things, Single: Options{Window: 10 * time.Minute, Monitor: testMonitor,
		Now: func() time.Time { return end }, Memory: func() uint64 { return 0 }}})
	m = fleetUpdate(m, tea.WindowSizeMsg{Width: 160, Height: 50})
	for i, th := range things {
		mon := m.Monitor(th)
		seq := 0
		for at := t0; at.Before(end); at = at.Add(time.Second) {
			seq++
			if i%50 == 7 && seq%600 < 30 { // one thing in fifty drops 30 s every 10 min
				continue
			}
			mon.Apply(event.ShadowDoc{At: at, Thing: th, Kind: event.DocAccepted, Version: int64(seq),
				Reported: map[string]any{"temp": 20 + float64((seq+i)%300)/10, "seq": float64(seq), "interval_s": 1.0}})
		}
		mon.Tick(end)
	}
	return m
}

// BenchmarkFleetView1000 is a frame of the fleet screen at 160×50 with
// 1,000 things (a tick: every detector, rows, sort, the sparklines shown);
// target ≤ 5 ms. BenchmarkView1h10Hz is the single-thing baseline.
func BenchmarkFleetView1000(b *testing.B) {
	m := fleetOf(1000, 10*time.Minute)
	b.ResetTimer()
	for range b.N {
		m.dirty = true
		m = fleetUpdate(m, fleetTickMsg{m.tag})
		_ = m.View()
	}
}

// BenchmarkFleetRSS24h feeds 1,000 things a day of 1 Hz reports
// (accelerated: straight into the monitors) and reports the process's RSS
// and the heap in use after it; target ≤ 300 MB RSS. IOTWATCH_FLEET_THINGS
// and IOTWATCH_FLEET_HOURS shrink it for a quick look.
func BenchmarkFleetRSS24h(b *testing.B) {
	things, hours := envInt("IOTWATCH_FLEET_THINGS", 1000), envInt("IOTWATCH_FLEET_HOURS", 24)
	for range b.N {
		m := fleetOf(things, time.Duration(hours)*time.Hour)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(rssBytes())/(1<<20), "RSS-MB")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		b.ReportMetric(float64(ms.HeapInuse)/float64(things)/1024, "heap-KB/thing")
		runtime.KeepAlive(m)
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// rssBytes is the resident set size from /proc (0 where there is none).
func rssBytes() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
