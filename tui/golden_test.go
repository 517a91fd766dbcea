package tui

import (
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/iotwatch/iotwatch/event"
)

// goldenScreens are the screens pinned as whole frames, each built from a
// model that has the terminal's size.
var goldenScreens = []struct {
	name  string
	build func(m Model) Model
}{
	{"pending", func(m Model) Model {
		m = update(m, reports(25))
		return update(m, eventsMsg{
			event.DesiredSent{At: t0.Add(25 * time.Second), ClientToken: "x", Patch: map[string]any{"setpoint": 22.5}},
			event.Presence{At: t0.Add(20 * time.Second), ClientID: "esp32-pico", EventType: "connected", VersionNumber: 1},
		})
	}},
	{"link-down", func(m Model) Model {
		return update(m, eventsMsg{event.Link{At: t0, State: event.LinkConnecting}, event.Link{At: t0.Add(time.Second), State: event.LinkDown,
			Err: "the server's certificate is not signed by [aws] ca: use AmazonRootCA1.pem for AWS, the lab's ca.pem for iotwatch serve"}})
	}},
	{"help", func(m Model) Model {
		m, _ = press(update(m, demoReports(20)), "?")
		return m
	}},
	{"editor", func(m Model) Model {
		m = update(m, demoReports(20))
		m = update(m, eventsMsg{event.ShadowDoc{At: t0.Add(29 * time.Second), Kind: event.DocAccepted, Version: 21,
			Desired: map[string]any{"led": true, "setpoint": 21.0}}})
		m, _ = press(m, "e")
		m.editor.SetValue("{\n  \"led\": true,\n  \"setpoint\": 21,\n}")
		m, _ = press(m, "ctrl+s")
		return m
	}},
	{"soak", func(m Model) Model {
		m, _ = press(update(m, demoReports(20)), "s")
		return m
	}},
	{"document", func(m Model) Model {
		m = update(m, demoReports(3))
		meta := func(ts float64) map[string]any { return map[string]any{"led": map[string]any{"timestamp": ts}} }
		m = update(m, eventsMsg{
			event.ShadowDoc{At: t0.Add(4 * time.Second), Kind: event.DocGet, Version: 3, Timestamp: 1764064804,
				Desired: map[string]any{"led": false}, Reported: map[string]any{"led": false, "temp": 20.3}, DesiredMetadata: meta(1764064800), ReportedMetadata: meta(1764064803)},
			event.ShadowDoc{At: t0.Add(5 * time.Second), Kind: event.DocCurrent, Version: 4, Timestamp: 1764064805,
				Desired: map[string]any{"led": true}, Reported: map[string]any{"led": false, "temp": 20.3}, DesiredMetadata: meta(1764064805), ReportedMetadata: meta(1764064803)},
			event.ShadowDoc{At: t0.Add(6 * time.Second), Kind: event.DocCurrent, Version: 5, Timestamp: 1764064806,
				Desired: map[string]any{"led": true}, Reported: map[string]any{"led": true, "temp": 20.4}, DesiredMetadata: meta(1764064805), ReportedMetadata: meta(1764064806)},
		})
		m, _ = press(m, "d")
		return m
	}},
	{"topics", func(m Model) Model {
		m = update(m, demoReports(3))
		m, _ = press(m, "t")
		m = run(press(typeText(m, "$aws/things/+/shadow/#"), "enter"))
		m = run(press(typeText(m, "/forbidden/#"), "enter"))
		var raws eventsMsg
		for i := range 8 {
			raws = append(raws, event.Raw{At: t0.Add(time.Duration(18+i) * time.Second), Filter: "$aws/things/+/shadow/#",
				Topic: "$aws/things/esp32-pico/shadow/update/accepted", Payload: []byte(fmt.Sprintf(`{"state":{"reported":{"temp":20.%d,"seq":%d}},"version":%d}`, i, i, i))})
		}
		raws = append(raws, event.Raw{At: t0.Add(22 * time.Second), Filter: "$aws/things/+/shadow/#", Topic: "$aws/things/esp32-pico/shadow/update/delta", Payload: []byte(`{"state":{"led":true},"version":9}`)})
		m, _ = press(update(m, raws), "j")
		return m
	}},
	{"three-series", func(m Model) Model {
		m, _ = press(update(m, demoReports(20)), "down", "enter", "down", "down", "down", "down", "enter") // heap_free, rssi
		return m
	}},
	{"window-24h", func(m Model) Model {
		m, _ = press(update(m, demoReports(20)), "5")
		return m
	}},
	{"paused-three-series", func(m Model) Model { // the title flows, nothing cut
		m, _ = press(update(m, demoReports(20)), "down", "enter", "down", "down", "down", "down", "enter", "p")
		return update(m, demoReportsFrom(21, 5, 30))
	}},
	{"log-paged-wrapped", func(m Model) Model { // whole entries
		var evs eventsMsg
		for i := 1; i <= 30; i++ {
			evs = append(evs, event.Rejected{At: t0.Add(time.Duration(i) * time.Second), Op: "update", Code: 400,
				Message: "the state document is not what the service takes, as it says at length " + fmt.Sprintf("note-%03d", i)})
		}
		m, _ = press(update(update(m, demoReports(20)), evs), "pgup")
		return m
	}},
	{"no-reports", func(m Model) Model { // availability "–"
		return update(m, eventsMsg{event.Link{At: t0, State: event.LinkUp}})
	}},
	{"desired-cleared", func(m Model) Model { // "cleared", no refusal left
		m = update(m, reports(3))
		return update(m, eventsMsg{
			event.DesiredSent{At: t0.Add(4 * time.Second), ClientToken: "a", Patch: map[string]any{"setpoint": 40.0}},
			event.ShadowDoc{At: t0.Add(5 * time.Second), Kind: event.DocAccepted, Version: 5,
				Desired: map[string]any{"setpoint": 21.0}, Reported: map[string]any{"setpoint": 21.0}},
			event.DesiredSent{At: t0.Add(6 * time.Second), ClientToken: "b", Patch: map[string]any{"setpoint": nil}},
		})
	}},
}

// TestGoldenViews pins whole frames at 80×24 and 160×50 (go test ./tui
// -update rewrites testdata/TestGoldenViews/*; look at each before
// committing).
func TestGoldenViews(t *testing.T) {
	for _, screen := range goldenScreens {
		for _, size := range [][2]int{{80, 24}, {160, 50}} {
			t.Run(fmt.Sprintf("%s/%dx%d", screen.name, size[0], size[1]), func(t *testing.T) {
				m := screen.build(update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: size[0], Height: size[1]}))
				golden.RequireEqual(t, []byte(m.View()))
			})
		}
	}
}
