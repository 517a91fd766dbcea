package tui

import (
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/iotwatch/iotwatch/event"
)

// TestGoldenViews pins whole frames at 80×24 and 160×50 (go test ./tui -update
// rewrites testdata/*.golden; review the diff).
func TestGoldenViews(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 50}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			m = update(m, reports(25))
			m = update(m, eventsMsg{
				event.DesiredSent{At: t0.Add(25 * time.Second), ClientToken: "x", Patch: map[string]any{"setpoint": 22.5}},
				event.Presence{At: t0.Add(20 * time.Second), ClientID: "esp32-pico", EventType: "connected", VersionNumber: 1},
			})
			golden.RequireEqual(t, []byte(m.View()))
		})
	}
}
