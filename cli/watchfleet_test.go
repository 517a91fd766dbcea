package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/monitor"
)

// TestWatchAlertsLogAndDeliver: in watch, a dropout's alert goes to the
// thing's event log and to the command; a failing output's report reaches
// the event log too (the screen hides stderr), once.
func TestWatchAlertsLogAndDeliver(t *testing.T) {
	out := filepath.Join(t.TempDir(), "alerts.jsonl")
	cfg := &config.Config{Alert: []config.Alert{
		{On: []string{"dropout_opened"}, Command: []string{"sh", "-c", "cat >> " + out}, Every: config.Duration{Duration: time.Minute}},
		{On: []string{"dropout_opened"}, Command: []string{"false"}, Every: config.Duration{Duration: time.Minute}},
	}}
	w, stop := startWatchAlerts(cfg)
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	m := monitor.New(monitorOptions(config.Default()))
	for i := range 3 {
		m.Apply(event.ShadowDoc{At: t0.Add(time.Duration(i) * time.Second), Thing: "esp32-004", Kind: event.DocAccepted, Version: int64(i + 1),
			Reported: map[string]any{"seq": float64(i + 1), "interval_s": 1.0}})
	}
	m.Tick(t0.Add(10 * time.Second))
	w.observe("esp32-004", m, t0.Add(10*time.Second))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logText(m), "alert: output command false failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no failure in the event log:\n%s", logText(m))
		}
		time.Sleep(20 * time.Millisecond)
		w.observe("esp32-004", m, t0.Add(11*time.Second))
	}
	stop()
	data, _ := os.ReadFile(out)
	if !strings.Contains(string(data), `"kind":"dropout_opened"`) || !strings.Contains(string(data), `"thing":"esp32-004"`) {
		t.Fatalf("command got %q", data)
	}
	if log := logText(m); strings.Count(log, "alert: esp32-004 dropout_opened: device silent since") != 1 || strings.Count(log, "failed") != 1 {
		t.Fatalf("event log:\n%s", log)
	}
}

func logText(m *monitor.Monitor) string {
	var b strings.Builder
	for _, e := range m.Events() {
		b.WriteString(e.Text + "\n")
	}
	return b.String()
}
