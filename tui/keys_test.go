package tui

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/iotwatch/iotwatch/event"
)

func press(m Model, keys ...string) (Model, tea.Cmd) {
	var cmd tea.Cmd
	for _, k := range keys {
		msg := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		switch k {
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "down":
			msg = tea.KeyMsg{Type: tea.KeyDown}
		case "tab":
			msg = tea.KeyMsg{Type: tea.KeyTab}
		case "ctrl+s":
			msg = tea.KeyMsg{Type: tea.KeyCtrlS}
		}
		var next tea.Model
		next, cmd = m.Update(msg)
		m = next.(Model)
	}
	return m, cmd
}

// run runs a command and feeds its message back, as the program does.
func run(m Model, cmd tea.Cmd) Model {
	if cmd == nil {
		return m
	}
	return update(m, cmd())
}

func TestGetIsLogged(t *testing.T) {
	m := update(newModel(newFakeConn()), reports(3))
	m = run(press(m, "g"))
	if !strings.Contains(m.View(), "shadow got again on request (g)") {
		t.Fatalf("g left no trace:\n%s", m.View())
	}
}

// TestKeysSayWhyNothingHappensWhileTheLinkIsDown: l, e, g and C send
// nothing and the status line says why.
func TestKeysSayWhyNothingHappensWhileTheLinkIsDown(t *testing.T) {
	conn := newFakeConn()
	m := update(newModel(conn), eventsMsg{event.Link{At: t0, State: event.LinkDown, Err: "connection refused"}})
	for _, k := range []string{"l", "e", "g", "C"} {
		next, cmd := press(m, k)
		if cmd != nil || next.pane != paneLog {
			t.Errorf("%s acted while the link is down", k)
		}
		if !strings.Contains(next.View(), "not sent, iotwatch's link is down") {
			t.Errorf("%s: no reason shown:\n%s", k, next.View())
		}
	}
}

func TestEscClosesHelpThenPanes(t *testing.T) {
	m := update(newModel(newFakeConn()), reports(3))
	m, _ = press(m, "s", "?")
	if !m.help.ShowAll || m.pane != paneSoak {
		t.Fatal("help or soak panel did not open")
	}
	m, _ = press(m, "esc")
	if m.help.ShowAll || m.pane != paneSoak || strings.Contains(m.View(), "esc close help") {
		t.Fatalf("esc did not close the help first:\n%s", m.View())
	}
	m, _ = press(m, "esc")
	if m.pane != paneLog || strings.Contains(m.View(), "soak statistics") {
		t.Fatalf("esc did not close the soak panel:\n%s", m.View())
	}
}

func TestParsePatchNamesThePosition(t *testing.T) {
	cases := []struct{ text, want string }{
		{`{"led": tru}`, `line 1, column 12: invalid character '}' in literal true (expecting 'e')`},
		{"{\n  \"led\": true,\n  \"setpoint\": 21,\n}", `line 4, column 1: invalid character '}' looking for beginning of object key string (a trailing comma: JSON allows none before })`},
		{"{\n  \"led\": true\n  \"x\": 1}", `line 3, column 3: invalid character '"' after object key:value pair`},
		{`{"led": true`, `line 1, column 13: the JSON ends before the object is closed`},
		{`[1]`, `line 1, column 1: not a JSON object but an array`},
		{`  "on"`, `line 1, column 3: not a JSON object but a string`},
		{`{"a": 1} {"b": 2}`, `line 1, column 10: text after the JSON object`},
		{"  \n ", `empty: write the desired values`},
		{`{"温度": 1, "x": ?}`, `line 1, column 16: invalid character '?'`},
	}
	for _, c := range cases {
		_, err := parsePatch(c.text)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q…", c.text, err, c.want)
		}
	}
}

// TestEditorStartsFromDesired: the editor holds the desired state as
// pretty JSON; a changed value, a new key, a null and a deleted key become
// the patch, unchanged keys stay out of it.
func TestEditorStartsFromDesired(t *testing.T) {
	conn := newFakeConn()
	m := update(newModel(conn), reports(3))
	m = update(m, eventsMsg{event.ShadowDoc{At: t0.Add(4 * time.Second), Kind: event.DocGet, Version: 4,
		Desired: map[string]any{"led": true, "setpoint": 21.0, "mode": "eco", "interval_s": 1.0}}})
	m, _ = press(m, "e")
	want := "{\n  \"interval_s\": 1,\n  \"led\": true,\n  \"mode\": \"eco\",\n  \"setpoint\": 21\n}"
	if got := m.editor.Value(); got != want {
		t.Fatalf("editor starts with %q, want %q", got, want)
	}
	m.editor.SetValue(`{"interval_s": 1, "led": null, "setpoint": 22.5, "fan": "auto"}`)
	m, cmd := press(m, "ctrl+s")
	run(m, cmd)
	got := conn.sent()
	if len(got) != 1 || !maps.EqualFunc(got[0], map[string]any{"led": nil, "setpoint": 22.5, "fan": "auto", "mode": nil}, func(a, b any) bool { return a == b }) {
		t.Fatalf("patches %v", got)
	}
	m, _ = press(m, "e", "ctrl+s")
	if !strings.Contains(m.View(), "nothing changed") {
		t.Fatalf("an unchanged document was sent:\n%s", m.View())
	}
}

func TestClearDesiredAsksFirst(t *testing.T) {
	conn := newFakeConn()
	m := update(newModel(conn), reports(3))
	m = update(m, eventsMsg{event.ShadowDoc{At: t0.Add(4 * time.Second), Kind: event.DocGet, Version: 4,
		Desired: map[string]any{"led": true, "setpoint": 21.0}}})
	m, cmd := press(m, "C")
	if cmd != nil || !strings.Contains(m.View(), "clear all of desired (led, setpoint)? y/n") {
		t.Fatalf("no question:\n%s", m.View())
	}
	m, cmd = press(m, "n")
	if cmd != nil || len(conn.sent()) != 0 || !strings.Contains(m.View(), "cancelled") {
		t.Fatalf("n did not cancel:\n%s", m.View())
	}
	m, _ = press(m, "C")
	m, cmd = press(m, "y")
	run(m, cmd)
	if got := conn.sent(); len(got) != 1 || len(got[0]) != 2 || got[0]["led"] != nil || got[0]["setpoint"] != nil {
		t.Fatalf("patches %v", got)
	}
}

// TestPlotAnyField: enter on a numeric row adds it to the plot (each with
// its colour's legend, the first on the axis, the others scaled), on a
// plotted row takes it off; text rows and a fourth series are refused.
func TestPlotAnyField(t *testing.T) {
	m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 100, Height: 30})
	m = update(m, demoReports(20))
	// rows: fw heap_free interval_s led reset_reason rssi seq setpoint temp uptime_s
	m, _ = press(m, "down", "enter")
	if !strings.Contains(m.View(), "━ temp (°C) 20–20.6  ━ heap_free 182000 scaled  over 1m") {
		t.Fatalf("heap_free not plotted beside temp:\n%s", m.View())
	}
	m, _ = press(m, "down", "down", "enter")
	if !strings.Contains(m.View(), "led is not a number") || len(m.plotted) != 2 {
		t.Fatalf("a boolean was plotted: %v\n%s", m.plotted, m.View())
	}
	m, _ = press(m, "down", "down", "enter", "down", "enter")
	if len(m.plotted) != 3 || !strings.Contains(m.View(), "3 fields plotted already") {
		t.Fatalf("plotted %v:\n%s", m.plotted, m.View())
	}
	m, _ = press(m, "k", "k", "k", "k", "k", "enter")
	if strings.Join(m.plotted, " ") != "temp rssi" {
		t.Fatalf("enter on heap_free did not take it off: %v", m.plotted)
	}
	for _, l := range strings.Split(m.View(), "\n") {
		if strings.Contains(l, "●") && !strings.Contains(l, "temp") && !strings.Contains(l, "rssi") {
			t.Errorf("a field not plotted is marked: %q", l)
		}
	}
}

// TestTabGivesTheLogTheArrows: with the log focused, ↑ pages it back and
// the table's cursor mark is gone.
func TestTabGivesTheLogTheArrows(t *testing.T) {
	m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 160, Height: 50})
	m = update(m, rejections(1, 100))
	m, _ = press(m, "tab", "k")
	if !strings.Contains(m.View(), "newer (pgdn, end follows)") || strings.Contains(m.View(), "›") {
		t.Fatalf("↑ with the log focused:\n%s", m.View())
	}
}

// TestDocumentPane: d shows the whole document (state, metadata with
// timestamps, version) and the history of versions as diffs by section.
func TestDocumentPane(t *testing.T) {
	m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 160, Height: 50})
	meta := func(ts float64) map[string]any { return map[string]any{"led": map[string]any{"timestamp": ts}} }
	m = update(m, eventsMsg{event.Link{At: t0, State: event.LinkUp},
		event.ShadowDoc{At: t0.Add(time.Second), Kind: event.DocGet, Version: 7, Timestamp: 1764064801,
			Desired: map[string]any{"led": false}, Reported: map[string]any{"led": false, "cfg": map[string]any{"mode": "eco"}},
			DesiredMetadata: meta(1764064800), ReportedMetadata: meta(1764064800)},
		event.ShadowDoc{At: t0.Add(2 * time.Second), Kind: event.DocCurrent, Version: 8,
			Desired: map[string]any{"led": true}, Reported: map[string]any{"led": false, "cfg": map[string]any{"mode": "eco"}},
			DesiredMetadata: meta(1764064802), ReportedMetadata: meta(1764064800)},
		event.ShadowDoc{At: t0.Add(2 * time.Second), Kind: event.DocDelta, Version: 8, Delta: map[string]any{"led": true}},
		event.ShadowDoc{At: t0.Add(3 * time.Second), Kind: event.DocCurrent, Version: 11,
			Desired: map[string]any{"led": true}, Reported: map[string]any{"led": true, "fan": 2.0},
			DesiredMetadata: meta(1764064802), ReportedMetadata: meta(1764064803)},
	})
	m, _ = press(m, "d")
	view := m.View()
	for _, want := range []string{"shadow document v11", `"state": {`, `"desired": {`, `"metadata": {`, `"timestamp": 1764064803`, `"version": 11`,
		"v11 10:00:03 reported: cfg.mode − \"eco\", fan + 2, led false → true", "v9–v10 not seen",
		"v8 10:00:02 desired: led false → true", "v7 10:00:01: first version seen"} {
		if !strings.Contains(view, want) {
			t.Errorf("lacks %q:\n%s", want, view)
		}
	}
	m, _ = press(m, "esc")
	if strings.Contains(m.View(), "shadow document") {
		t.Fatal("esc did not close the document")
	}
}

func typeText(m Model, text string) Model {
	for _, r := range text {
		m = update(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return m
}

// TestRawTopicsPane: t asks for a filter, enter subscribes; topics are
// listed with their count, rate and last payload, the selected one's JSON
// pretty-printed; a refused filter is shown with the reason.
func TestRawTopicsPane(t *testing.T) {
	m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 120, Height: 40})
	m = update(m, reports(3))
	m, _ = press(m, "t")
	m = typeText(m, "lab/#")
	m = run(press(m, "enter"))
	m = typeText(m, "/forbidden/#")
	m = run(press(m, "enter"))
	var raws eventsMsg
	for i := range 5 {
		raws = append(raws, event.Raw{At: t0.Add(20*time.Second + time.Duration(i)*time.Second), Filter: "lab/#", Topic: "lab/b", Payload: []byte(fmt.Sprintf(`{"n":%d,"ok":true}`, i))})
	}
	raws = append(raws, event.Raw{At: t0.Add(25 * time.Second), Filter: "lab/#", Topic: "lab/a", Payload: []byte("plain text")})
	m = update(m, raws)
	m, _ = press(m, "down")
	view := m.View()
	for _, want := range []string{"subscribed: lab/#", "subscription to forbidden/# refused (code 0x80)",
		`lab/a`, `plain text`, `› lab/b`, "     5   0.5/s 10:00:24  {\"n\":4,\"ok\":true}", "{\n  \"n\": 4,\n  \"ok\": true\n}"} {
		if !strings.Contains(view, want) {
			t.Errorf("lacks %q:\n%s", want, view)
		}
	}
	m = run(press(m, "u"))
	if !strings.Contains(m.View(), "subscribed: nothing yet") {
		t.Errorf("u did not unsubscribe:\n%s", m.View())
	}
}

// TestHelpAndReadmeListEveryKey: every binding of the KeyMap is in the full
// help, and the README's key table names each of its keys.
func TestHelpAndReadmeListEveryKey(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []help.KeyMap{DefaultKeyMap(nil, nil), DefaultFleetKeyMap(nil), DefaultJobsKeyMap()} {
		var inHelp []key.Binding
		for _, group := range k.FullHelp() {
			inHelp = append(inHelp, group...)
		}
		v := reflect.ValueOf(k)
		for i := range v.NumField() {
			b, ok := v.Field(i).Interface().(key.Binding)
			if !ok {
				continue
			}
			name := fmt.Sprintf("%s.%s", v.Type().Name(), v.Type().Field(i).Name)
			if !slices.ContainsFunc(inHelp, func(h key.Binding) bool { return slices.Equal(h.Keys(), b.Keys()) }) {
				t.Errorf("%s (%v) is not in the full help", name, b.Keys())
			}
			for _, key := range b.Keys() {
				if written, ok := map[string]string{"up": "↑", "down": "↓", "pgdown": "pgdn", " ": "space"}[key]; ok {
					key = written
				}
				if !strings.Contains(string(readme), "`"+key+"`") && !(key >= "1" && key <= "6") {
					t.Errorf("%s: the README does not name `%s`", name, key)
				}
			}
		}
	}
}

// TestCtrlCQuitsFromAnywhere: in the editor and at the topic filter prompt
// ctrl+c quits rather than being typed.
func TestCtrlCQuitsFromAnywhere(t *testing.T) {
	for _, open := range []string{"e", "t"} {
		m, _ := press(update(newModel(newFakeConn()), reports(3)), open)
		_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyCtrlC})
		if cmd == nil {
			t.Fatalf("%s: ctrl+c did nothing", open)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("%s: ctrl+c did not quit", open)
		}
	}
}

// TestClearedDesiredLeavesNoRefusal: a setpoint the device refused (kept
// 21), then desired cleared: the log says "setpoint cleared" (never
// <nil>) and the row no longer says the device refused it.
func TestClearedDesiredLeavesNoRefusal(t *testing.T) {
	m := update(newModel(newFakeConn()), reports(3))
	m = update(m, eventsMsg{
		event.DesiredSent{At: t0.Add(4 * time.Second), ClientToken: "a", Patch: map[string]any{"setpoint": 40.0}},
		event.ShadowDoc{At: t0.Add(5 * time.Second), Kind: event.DocAccepted, Version: 5,
			Desired: map[string]any{"setpoint": 21.0, "led": true}, Reported: map[string]any{"setpoint": 21.0, "led": true}},
	})
	if !strings.Contains(m.View(), "refused by the device (kept 21)") {
		t.Fatalf("no refusal:\n%s", m.View())
	}
	m = update(m, eventsMsg{event.DesiredSent{At: t0.Add(6 * time.Second), ClientToken: "b", Patch: map[string]any{"setpoint": nil, "led": nil}}})
	view := m.View()
	if strings.Contains(view, "<nil>") || !strings.Contains(view, "desired led cleared, setpoint cleared sent") {
		t.Errorf("the log does not say what was cleared:\n%s", view)
	}
	if strings.Contains(view, "refused by the device (kept 21)") && !strings.Contains(view, "desired setpoint = 40 refused") {
		t.Errorf("the row still says refused:\n%s", view)
	}
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, "setpoint") && strings.Contains(l, "refused by the device") && !strings.Contains(l, "desired setpoint = 40") {
			t.Errorf("the setpoint row still says refused: %q", l)
		}
	}
}

// TestDemoStatusGoes: a demo key's status line says what it started and
// goes after a few seconds (it stayed after the 30 s dropout had ended).
func TestDemoStatusGoes(t *testing.T) {
	now := t0
	dropped := make(chan bool, 1)
	m := New(Options{Conn: newFakeConn(), Thing: "t", Now: func() time.Time { return now }, Memory: func() uint64 { return 1 },
		Demo: []DemoKey{{Key: "D", Help: "device drops for 30 s", Do: func() { dropped <- true }}}})
	m = update(m, reports(3))
	m, cmd := press(m, "D")
	run(m, cmd)
	if !<-dropped || !strings.Contains(m.View(), "demo: device drops for 30 s") {
		t.Fatalf("no demo status:\n%s", m.View())
	}
	for range 3 {
		now = now.Add(time.Second)
		m = update(m, tickMsg{m.tag})
	}
	if !strings.Contains(m.View(), "demo: device drops for 30 s") {
		t.Fatalf("the status went at once:\n%s", m.View())
	}
	for range 30 {
		now = now.Add(time.Second)
		m = update(m, tickMsg{m.tag})
	}
	if strings.Contains(m.View(), "demo: device drops") {
		t.Fatalf("the status stays:\n%s", m.View())
	}
}

// TestRawTopicsEnterTakesThePlaceholder: enter on the empty filter prompt
// subscribes to the filter it shows in grey ("subscribed: nothing yet"
// with no word was all it did).
func TestRawTopicsEnterTakesThePlaceholder(t *testing.T) {
	m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 80, Height: 24})
	m = update(m, reports(3))
	m, _ = press(m, "t")
	if !strings.Contains(m.View(), "$aws/things/+/shadow/#") {
		t.Fatalf("no placeholder:\n%s", m.View())
	}
	m = run(press(m, "enter"))
	if !strings.Contains(m.View(), "subscribed: $aws/things/+/shadow/#") {
		t.Fatalf("enter on the placeholder subscribed to nothing:\n%s", m.View())
	}
}
