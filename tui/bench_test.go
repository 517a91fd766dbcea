package tui

import (
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/iotwatch/iotwatch/event"
)

// benchView measures Update (one report) + View at 160×50 after history of
// the given length at the given rate; View must stay flat as history grows.
func benchView(b *testing.B, span, every time.Duration) {
	end := t0.Add(span)
	m := New(Options{Conn: newFakeConn(), Thing: "esp32", Window: time.Hour, Monitor: testMonitor, Now: func() time.Time { return end },
		Memory: func() uint64 { return 0 }})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
	m = next.(Model)
	mon := m.Monitor()
	i := 0
	for at := t0; at.Before(end); at = at.Add(every) {
		i++
		mon.Apply(event.ShadowDoc{At: at, Kind: event.DocAccepted, Version: int64(i), Reported: map[string]any{"temp": 20 + float64(i%300)/10, "seq": float64(i)}})
	}
	ev := eventsMsg{event.ShadowDoc{At: end, Kind: event.DocAccepted, Version: int64(i + 1), Reported: map[string]any{"temp": 21.0, "seq": float64(i + 1)}}}
	b.ResetTimer()
	for range b.N {
		next, _ := m.Update(ev)
		_ = next.(Model).View()
	}
}

func BenchmarkView1h10Hz(b *testing.B) { benchView(b, time.Hour, 100*time.Millisecond) }
func BenchmarkView7d1Hz(b *testing.B)  { benchView(b, 7*24*time.Hour, time.Second) }
