package tui

import (
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/iotwatch/iotwatch/event"
)

// The screen tells the truth (issue 9): no number before there is data,
// pending values that will not arrive say why, the delta follows
// update/documents, and the device is unknown while iotwatch is offline.
func TestViewTellsTheTruth(t *testing.T) {
	m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 160, Height: 50})
	view := m.View()
	for _, want := range []string{"avail –", "round trip p50 –", "last –  min –  max –  mean –", "device unknown"} {
		if !strings.Contains(view, want) {
			t.Errorf("before any data, lacks %q", want)
		}
	}
	for _, placeholder := range []string{"0.00", "100.00%", "p50 0s"} {
		if strings.Contains(view, placeholder) {
			t.Errorf("before any data, shows %q", placeholder)
		}
	}

	m = update(m, reports(25))
	at := t0.Add(25 * time.Second)
	m = update(m, eventsMsg{
		event.DesiredSent{At: at, ClientToken: "x", Patch: map[string]any{"interval_s": 0.0}},
		event.ShadowDoc{At: at, Kind: event.DocAccepted, Version: 26, Desired: map[string]any{"interval_s": 0.0}},
		// The device keeps 1 and writes it back to desired.
		event.ShadowDoc{At: at.Add(100 * time.Millisecond), Kind: event.DocAccepted, Version: 27,
			Reported: map[string]any{"interval_s": 1.0}, Desired: map[string]any{"interval_s": 1.0}},
		// Someone else wants the LED on: the delta shows without a re-get.
		event.ShadowDoc{At: at.Add(200 * time.Millisecond), Kind: event.DocCurrent, Version: 28,
			Desired: map[string]any{"interval_s": 1.0, "led": true}, Reported: map[string]any{"interval_s": 1.0, "led": false, "seq": 25.0, "temp": 22.5}},
	})
	view = m.View()
	row := regexp.MustCompile(`interval_s .*`).FindString(view)
	if !strings.Contains(row, "refused by the device") || strings.ContainsAny(row, strings.Join(spinnerFrames, "")) {
		t.Errorf("refused row: %q", row)
	}
	if !strings.Contains(view, "desired interval_s = 0 refused by the device (kept 1)") {
		t.Errorf("the log does not say it was refused:\n%s", view)
	}
	if !regexp.MustCompile(`led\s+false\s+true\s+true`).MatchString(view) {
		t.Errorf("no delta for led:\n%s", view)
	}

	m = update(m, eventsMsg{event.Link{At: at.Add(300 * time.Millisecond), State: event.LinkDown, Err: "EOF"}})
	if view = m.View(); !strings.Contains(view, "device unknown") || strings.Contains(view, "device late") || strings.Contains(view, "device online") {
		t.Errorf("while iotwatch's link is down: %s", strings.SplitN(view, "\n", 2)[0])
	}
}
