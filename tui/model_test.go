package tui

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/monitor"
)

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	lipgloss.SetHasDarkBackground(true)
	os.Exit(m.Run())
}

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// fakeConn is a recorded event source that remembers the patches sent.
type fakeConn struct {
	events  chan event.Event
	mu      sync.Mutex
	patches []map[string]any
}

func newFakeConn() *fakeConn { return &fakeConn{events: make(chan event.Event, 64)} }

func (f *fakeConn) Events() <-chan event.Event { return f.events }
func (f *fakeConn) Get(context.Context) error  { return nil }
func (f *fakeConn) UpdateDesired(_ context.Context, patch map[string]any) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.patches = append(f.patches, patch)
	return "tok", nil
}

// SubscribeRaw refuses filters under forbidden/, as a policy would.
func (f *fakeConn) SubscribeRaw(filter string) error {
	if strings.HasPrefix(filter, "forbidden/") {
		return fmt.Errorf("subscription to %s refused (code 0x80): the policy does not allow iot:Subscribe on it", filter)
	}
	return nil
}

func (f *fakeConn) UnsubscribeRaw(string) error { return nil }

func (f *fakeConn) sent() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.patches...)
}

// testMonitor are config.Default's monitor values, as cli builds them.
var testMonitor = monitor.Options{Field: "temp", DropoutAfter: 2.5}

func newModel(conn *fakeConn) Model {
	return New(Options{Conn: conn, Endpoint: "localhost:8883", Thing: "esp32-pico", Unit: "°C", Window: time.Minute, Monitor: testMonitor,
		Controls: config.DefaultControls(), Now: func() time.Time { return t0.Add(25*time.Second + 500*time.Millisecond) },
		Memory: func() uint64 { return 8 << 20 }})
}

func reports(n int) eventsMsg {
	evs := eventsMsg{event.Link{At: t0, State: event.LinkUp}}
	for i := 1; i <= n; i++ {
		evs = append(evs, event.ShadowDoc{At: t0.Add(time.Duration(i) * time.Second), Kind: event.DocAccepted, Version: int64(i),
			Reported: map[string]any{"temp": 20 + float64(i)/10, "seq": float64(i), "led": false, "interval_s": 1.0}})
	}
	return evs
}

func update(m Model, msg tea.Msg) Model {
	next, _ := m.Update(msg)
	return next.(Model)
}

func TestViewSizes(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 50}} {
		m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m = update(m, reports(25))
		view := m.View()
		lines := strings.Split(view, "\n")
		if len(lines) > size[1] {
			t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
		}
		for _, want := range []string{"esp32-pico", "link up", "device online", "temp (°C) over 1m ", "last 22.50", "reports 25", "toggle LED", "just now"} {
			if !strings.Contains(view, want) {
				t.Errorf("%dx%d: view lacks %q:\n%s", size[0], size[1], want, view)
			}
		}
		for i, l := range lines {
			if w := lipgloss.Width(l); w > size[0] {
				t.Errorf("%dx%d: line %d is %d wide: %q", size[0], size[1], i, w, l)
			}
		}
	}
}

func TestControlKeySendsAndSettles(t *testing.T) {
	conn := newFakeConn()
	m := update(newModel(conn), reports(3))
	next, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'l'}})
	m = next.(Model)
	if cmd == nil {
		t.Fatal("no command for the LED key")
	}
	cmd()
	if got := conn.sent(); len(got) != 1 || got[0]["led"] != true {
		t.Fatalf("patches: %v", got)
	}
	m = update(m, eventsMsg{event.DesiredSent{At: t0.Add(4 * time.Second), ClientToken: "tok", Patch: map[string]any{"led": true}}})
	if !strings.Contains(m.View(), "pending true") {
		t.Fatalf("no pending value:\n%s", m.View())
	}
	m = update(m, eventsMsg{event.ShadowDoc{At: t0.Add(4*time.Second + 35*time.Millisecond), Kind: event.DocAccepted, Version: 9, Reported: map[string]any{"led": true}}})
	if !strings.Contains(m.View(), "device applied led = true in 35ms") {
		t.Fatalf("round trip not shown:\n%s", m.View())
	}
}

func TestControlsDisabledWhileLinkDown(t *testing.T) {
	conn := newFakeConn()
	m := newModel(conn)
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'l'}})
	if cmd != nil || strings.Contains(m.View(), "toggle LED") {
		t.Fatal("desired keys active before the link is up")
	}
}

func TestEditorValidates(t *testing.T) {
	conn := newFakeConn()
	m := update(newModel(conn), reports(1))
	m = update(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'e'}})
	m = update(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("[1]")})
	next, _ := m.Update(tea.KeyMsg{Type: tea.KeyCtrlS})
	m = next.(Model)
	if !strings.Contains(m.View(), "not a JSON object") {
		t.Fatalf("invalid patch accepted:\n%s", m.View())
	}
	m.editor.SetValue(`{"setpoint": 22}`)
	next, cmd := m.Update(tea.KeyMsg{Type: tea.KeyCtrlS})
	if cmd == nil || next.(Model).pane == paneEditor {
		t.Fatal("valid patch not sent")
	}
	cmd()
	if got := conn.sent(); len(got) != 1 || got[0]["setpoint"] != 22.0 {
		t.Fatalf("patches: %v", got)
	}
}

func TestControlPatches(t *testing.T) {
	mon := monitor.New(testMonitor)
	mon.Apply(event.ShadowDoc{At: t0, Kind: event.DocAccepted, Version: 1, Reported: map[string]any{"led": true, "setpoint": 21.0, "interval_s": 5.0}})
	cases := []struct {
		c    config.Control
		want any
	}{
		{config.Control{Field: "led", Action: "toggle"}, false},
		{config.Control{Field: "setpoint", Action: "step", Step: 0.5}, 21.5},
		{config.Control{Field: "interval_s", Action: "cycle", Values: []any{int64(1), int64(5), int64(10)}}, 10.0},
		{config.Control{Field: "interval_s", Action: "cycle", Values: []any{int64(1), int64(2)}}, 1.0},
		{config.Control{Field: "mode", Action: "set", Value: "eco"}, "eco"},
	}
	for _, c := range cases {
		if got := controlPatch(c.c, mon.Snapshot(t0))[c.c.Field]; got != c.want {
			t.Errorf("%+v: %v, want %v", c.c, got, c.want)
		}
	}
}

// TestProgramFlow runs the real Bubble Tea program with teatest.
func TestProgramFlow(t *testing.T) {
	conn := newFakeConn()
	tm := teatest.NewTestModel(t, newModel(conn), teatest.WithInitialTermSize(100, 30))
	for _, ev := range reports(5) {
		conn.events <- ev
	}
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return strings.Contains(string(b), "reports 5") },
		teatest.WithDuration(10*time.Second))
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'?'}})
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return strings.Contains(string(b), "re-get shadow") },
		teatest.WithDuration(10*time.Second))
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'q'}})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	if final := tm.FinalModel(t).(Model); final.Monitor().Counts.Reports != 5 {
		t.Fatalf("final reports %d", final.Monitor().Counts.Reports)
	}
}

func TestSoakPanelAndExport(t *testing.T) {
	t.Chdir(t.TempDir())
	m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 120, Height: 40})
	m = update(m, reports(20))
	m = update(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'s'}})
	if !strings.Contains(m.View(), "soak statistics") || !strings.Contains(m.View(), "availability 100.000%") {
		t.Fatalf("soak panel:\n%s", m.View())
	}
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'x'}})
	msg, ok := cmd().(statusMsg)
	if !ok || !strings.HasPrefix(string(msg), "exported iotwatch-temp-") {
		t.Fatalf("export: %v", msg)
	}
	data, err := os.ReadFile(strings.TrimPrefix(string(msg), "exported "))
	if err != nil || !strings.HasPrefix(string(data), "time,temp\n") || strings.Count(string(data), "\n") < 15 {
		t.Fatalf("csv (%v):\n%s", err, data)
	}
}

func rejections(from, to int) eventsMsg {
	var evs eventsMsg
	for i := from; i <= to; i++ {
		evs = append(evs, event.Rejected{At: t0.Add(time.Duration(i) * time.Second), Op: "update", Code: 400, Message: fmt.Sprintf("note-%03d", i)})
	}
	return evs
}

// logRows counts the event log's entries in a frame: the lines with a time.
func logRows(view string) int {
	n := 0
	for _, line := range strings.Split(view, "\n") {
		if regexp.MustCompile(`\d{2}:\d{2}:\d{2} `).MatchString(line) {
			n++
		}
	}
	return n
}

// notes lists the rejection notes visible in a frame, top to bottom.
func notes(view string) []string { return regexp.MustCompile(`note-\d{3}`).FindAllString(view, -1) }

func TestEventLogPagesBackAndHoldsItsPlace(t *testing.T) {
	m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 160, Height: 50})
	m = update(m, rejections(1, 100))
	following := notes(m.View())
	if len(following) < 10 || following[len(following)-1] != "note-100" || strings.Contains(m.View(), "newer") {
		t.Fatalf("the log does not follow the newest entry:\n%s", m.View())
	}
	m = update(m, tea.KeyMsg{Type: tea.KeyPgUp})
	paged, pagedRows := notes(m.View()), logRows(m.View())
	if paged[len(paged)-1] >= "note-100" || !strings.Contains(m.View(), "newer (pgdn, end follows)") {
		t.Fatalf("pgup did not page back:\n%s", m.View())
	}
	m = update(m, rejections(101, 110))
	if held := notes(m.View()); !slices.Equal(held, paged) {
		t.Fatalf("new entries moved a paged-back log: %v, was %v", held, paged)
	}
	if want := fmt.Sprintf("▼ %d newer", 110-parseNote(paged[len(paged)-1])); !strings.Contains(m.View(), want) {
		t.Fatalf("no %q line:\n%s", want, m.View())
	}
	for range 50 {
		m = update(m, tea.KeyMsg{Type: tea.KeyPgUp})
	}
	// A full page: as many log rows as the page paged back to (the
	// monitor's own lines, such as a dropout, count as rows too).
	if top := notes(m.View()); top[0] != "note-001" || logRows(m.View()) != pagedRows {
		t.Fatalf("paging back stops at %v (%d rows), want a full page of %d from note-001", top, logRows(m.View()), pagedRows)
	}
	m = update(m, tea.KeyMsg{Type: tea.KeyEnd})
	if now := notes(m.View()); now[len(now)-1] != "note-110" || strings.Contains(m.View(), "newer (pgdn") {
		t.Fatalf("end does not follow the newest entry again:\n%s", m.View())
	}
	m = update(m, tea.KeyMsg{Type: tea.KeyPgUp})
	for range 50 {
		m = update(m, tea.KeyMsg{Type: tea.KeyPgDown})
	}
	if strings.Contains(m.View(), "newer (pgdn") {
		t.Fatal("paging down past the newest entry does not follow again")
	}
}

func parseNote(note string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(note, "note-"))
	return n
}

func TestFullHelpWrapsToTheWidth(t *testing.T) {
	for _, width := range []int{80, 160} {
		m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: width, Height: 40})
		m = update(m, reports(3))
		m = update(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("?")})
		view := m.View()
		for _, want := range []string{"toggle LED", "re-get shadow", "export plot CSV", "follow new events", `q\s+quit`, `esc\s+close help`, "shadow document", "raw topics"} {
			if !regexp.MustCompile(want).MatchString(view) {
				t.Errorf("%d columns: full help lacks %q:\n%s", width, want, view)
			}
		}
		for _, line := range strings.Split(view, "\n") {
			if lipgloss.Width(line) > width || strings.Contains(line, "…") && strings.Contains(line, "export") {
				t.Errorf("%d columns: help line cut: %q", width, line)
			}
		}
	}
}

// TestWideCharactersStayWhole renders keys and values wider than their
// columns in accented and CJK text: every line stays valid UTF-8 and
// within the terminal.
func TestWideCharactersStayWhole(t *testing.T) {
	m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 80, Height: 24})
	m = update(m, eventsMsg{event.Link{At: t0, State: event.LinkUp}, event.ShadowDoc{At: t0.Add(time.Second), Kind: event.DocAccepted, Version: 1,
		Reported: map[string]any{strings.Repeat("温度", 10): strings.Repeat("温度", 20), strings.Repeat("é", 30): strings.Repeat("é", 40)}}})
	view := m.View()
	for _, want := range []string{`(温度){5,}温?… `, `é{20,}… `, `(温度){6,}温?…`, `é{20,}…`} {
		if !regexp.MustCompile(want).MatchString(view) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	for i, l := range strings.Split(view, "\n") {
		if !utf8.ValidString(l) || lipgloss.Width(l) > 80 {
			t.Errorf("line %d is invalid UTF-8 or wider than 80: %q", i, l)
		}
	}
}

func TestControlsOnTheUIsOwnKeysAreRefused(t *testing.T) {
	for _, k := range []string{"end", "pgup", "q", "?", "1", "g"} {
		err := CheckControls([]config.Control{{Key: "l", Field: "led", Action: "toggle"}, {Key: k, Field: "led", Action: "toggle"}}, nil)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf(`[[control]] #2 (key %q)`, k)) || !strings.Contains(err.Error(), "choose another") {
			t.Errorf("control on %q: %v", k, err)
		}
	}
	if err := CheckControls(config.DefaultControls(), []DemoKey{{Key: "D"}}); err != nil {
		t.Errorf("default controls refused: %v", err)
	}
	if err := CheckControls([]config.Control{{Key: "D", Field: "led", Action: "toggle"}}, []DemoKey{{Key: "D"}}); err == nil {
		t.Error("a control on a demo key was accepted")
	}
}

// TestGlobalKeyNeverFiresAControl binds a control to End past the check:
// End follows the log and sends nothing.
func TestGlobalKeyNeverFiresAControl(t *testing.T) {
	conn := newFakeConn()
	m := New(Options{Conn: conn, Thing: "t", Controls: []config.Control{{Key: "end", Field: "led", Action: "toggle"}}})
	m = update(m, reports(3))
	if _, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEnd}); cmd != nil {
		cmd()
	}
	if got := conn.sent(); len(got) != 0 {
		t.Fatalf("End sent %v", got)
	}
}

// TestRendersOnlyWhenSomethingShownChanged counts frames through the memory
// gauge, which every frame reads: ticks within one second, keys that match
// nothing and an idle editor-less screen build no frame; a new second, an
// event and a key that changes the screen do.
func TestRendersOnlyWhenSomethingShownChanged(t *testing.T) {
	now, frames := t0, 0
	m := New(Options{Conn: newFakeConn(), Thing: "t", Controls: config.DefaultControls(),
		Now: func() time.Time { return now }, Memory: func() uint64 { frames++; return 1 }})
	m = update(m, reports(3))
	steps := []struct {
		name    string
		msg     tea.Msg
		advance time.Duration
		frames  int
	}{
		{"tick in the same second", tickMsg{m.tag}, 200 * time.Millisecond, 0},
		{"another tick in the same second", tickMsg{m.tag}, 200 * time.Millisecond, 0},
		{"a key bound to nothing", tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'z'}}, 0, 0},
		{"tick into the next second", tickMsg{m.tag}, 700 * time.Millisecond, 1},
		{"an event", eventsMsg{event.ShadowDoc{At: t0.Add(5 * time.Second), Kind: event.DocAccepted, Version: 9, Reported: map[string]any{"temp": 1.0}}}, 0, 1},
		{"help opens", tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'?'}}, 0, 1},
		{"the window changes", tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'3'}}, 0, 1},
		// at one report a second, its frame is the second's: the tick does
		// not build another one (idle cost: one frame a second, not two)
		{"a report", eventsMsg{event.ShadowDoc{At: t0.Add(6 * time.Second), Kind: event.DocAccepted, Version: 10, Reported: map[string]any{"temp": 2.0}}}, 300 * time.Millisecond, 1},
		{"tick into the next second, the report's frame 0.7 s old", tickMsg{m.tag}, 700 * time.Millisecond, 0},
		{"tick with the frame a second old", tickMsg{m.tag}, 300 * time.Millisecond, 1},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		frames = 0
		m = update(m, s.msg)
		if frames != s.frames {
			t.Errorf("%s: %d frames built, want %d", s.name, frames, s.frames)
		}
	}
}

// TestLongLogLinesWrap: an entry longer than the log's width continues on
// the next rows, indented under its text, and nothing of it is cut.
func TestLongLogLinesWrap(t *testing.T) {
	long := "cannot connect: the server's certificate is not signed by [aws] ca: use AmazonRootCA1.pem for AWS, the lab's ca.pem for iotwatch serve"
	for _, width := range []int{80, 160} {
		m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: width, Height: 24})
		m = update(m, eventsMsg{event.Link{At: t0, State: event.LinkConnecting}, event.Link{At: t0, State: event.LinkDown, Err: long[len("cannot connect: "):]}})
		var joined []string
		col := -1
		for _, l := range strings.Split(m.View(), "\n") {
			if lipgloss.Width(l) > width {
				t.Errorf("%d: line wider than the terminal: %q", width, l)
			}
			if i := strings.Index(l, "10:00:00 cannot"); i >= 0 && col < 0 {
				col = ansi.StringWidth(l[:i])
				joined = append(joined, strings.TrimPrefix(ansi.Cut(l, col, width), "10:00:00 "))
			} else if rest := ansi.Cut(l, max(col, 0), width); col >= 0 && strings.HasPrefix(rest, "         ") && len(joined) > 0 {
				joined = append(joined, strings.TrimSpace(rest))
			} else if col >= 0 {
				break
			}
		}
		if got := strings.Join(joined, " "); !strings.Contains(got, long) {
			t.Errorf("%d: the entry reads %q", width, got)
		}
	}
}

// TestWarningsInEventLog: warnings the command passes (a private key others
// may read) show in the event log, where the full screen hides stderr.
func TestWarningsInEventLog(t *testing.T) {
	m := New(Options{Conn: newFakeConn(), Endpoint: "localhost:8883", Thing: "esp32-pico", Window: time.Minute,
		Now: func() time.Time { return t0 }, Memory: func() uint64 { return 8 << 20 },
		Warnings: []string{"private key /k/device.key is readable by other users (mode 0644): run chmod 600 /k/device.key"}})
	m = update(m, tea.WindowSizeMsg{Width: 200, Height: 40})
	if v := m.View(); !strings.Contains(v, "run chmod 600 /k/device.key") {
		t.Fatalf("no warning in the event log:\n%s", v)
	}
}

// TestExportWritesEachReportOnce: reports every 5 s at odd fractions of a
// second, exported with x: one row each, at the second it came, with its
// value (the plot's means at window/points steps put each in two rows).
func TestExportWritesEachReportOnce(t *testing.T) {
	t.Chdir(t.TempDir())
	m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 80, Height: 24})
	evs := eventsMsg{event.Link{At: t0.Add(-time.Minute), State: event.LinkUp}}
	var want []string
	for i := range 10 {
		at := t0.Add(time.Duration(i*5-30)*time.Second + time.Duration(100*i)*time.Millisecond)
		v := 14.5 + float64(i)/100
		evs = append(evs, event.ShadowDoc{At: at, Kind: event.DocAccepted, Version: int64(i + 1),
			Reported: map[string]any{"temp": v, "seq": float64(i + 1), "interval_s": 5.0}})
		want = append(want, at.Truncate(time.Second).Format(time.RFC3339)+","+strconv.FormatFloat(v, 'f', -1, 64))
	}
	m = update(m, evs)
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'x'}})
	msg, ok := cmd().(statusMsg)
	if !ok {
		t.Fatalf("export: %v", msg)
	}
	data, err := os.ReadFile(strings.TrimPrefix(string(msg), "exported "))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSpace(string(data)), "\n"); !slices.Equal(got, append([]string{"time,temp"}, want...)) {
		t.Fatalf("csv:\n%s\nwant:\n%s", data, strings.Join(want, "\n"))
	}
}

// TestNoAvailabilityWithoutReports: watched for 25 s with the link up and
// no report (a thing name with a typo): availability is "–", not 100 %,
// in the header and the soak statistics.
func TestNoAvailabilityWithoutReports(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 50}} {
		m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m = update(m, eventsMsg{event.Link{At: t0, State: event.LinkUp}})
		m, _ = press(m, "s")
		if v := m.View(); !strings.Contains(v, "reports 0 ") || !strings.Contains(v, "avail –") || !strings.Contains(v, "availability –") {
			t.Errorf("%v: availability shown without a report:\n%s", size, v)
		}
	}
}

// TestHeaderSaysTheThingIsNotRegistered: the control plane's answer that the
// thing is not in the registry stays in the header, at 80x24 too.
func TestHeaderSaysTheThingIsNotRegistered(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 50}} {
		m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m = update(m, eventsMsg{event.Link{At: t0, State: event.LinkUp},
			event.Unregistered{At: t0, Thing: "esp32-picco", Suggestion: "esp32-pico"}})
		header := strings.Join(strings.Split(m.View(), "\n")[:5], "\n")
		if !strings.Contains(header, "thing esp32-picco is not in the registry (did you mean esp32-pico?)") {
			t.Errorf("%v: header without the registry's answer:\n%s", size, m.View())
		}
	}
}
