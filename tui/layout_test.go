package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/iotwatch/iotwatch/event"
)

// demoReports are reports like the simulator's, all ten fields, with a
// silence of 8 s (a dropout) after the tenth.
func demoReports(n int) eventsMsg {
	evs := eventsMsg{event.Link{At: t0, State: event.LinkUp},
		event.Presence{At: t0, ClientID: "esp32-pico", EventType: "connected", VersionNumber: 1}}
	at := t0
	for i := 1; i <= n; i++ {
		at = at.Add(time.Second)
		if i == 11 {
			at = at.Add(8 * time.Second)
		}
		evs = append(evs, event.ShadowDoc{At: at, Kind: event.DocAccepted, Version: int64(i), Reported: map[string]any{
			"temp": 20 + float64(i%7)/10, "seq": float64(i), "uptime_s": at.Sub(t0).Seconds(), "interval_s": 1.0, "led": false,
			"setpoint": 21.0, "rssi": -60.0, "heap_free": 182000.0, "fw": "iotwatch-sim/0.1.0", "reset_reason": "POWERON"}})
	}
	return evs
}

// TestLayoutGivesEveryRowAJob: at every size the frame is exactly the
// terminal's height with the footer's "? help" and "q quit" on the last
// row; the header's device state, link and version are whole; the table
// shows every field with the device's fw string uncut; the log has rows.
func TestLayoutGivesEveryRowAJob(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {100, 30}, {120, 40}, {160, 50}, {200, 60}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			m = update(m, demoReports(20))
			lines := strings.Split(m.View(), "\n")
			if len(lines) != size[1] {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), size[1], m.View())
			}
			if last := lines[len(lines)-1]; !strings.HasSuffix(last, "? help • q quit") {
				t.Errorf("footer %q", last)
			}
			for _, want := range []string{"device online (last report", "link up", "v20", "round trip p50", "mem 8.0 MB",
				"iotwatch-sim/0.1.0", "heap_free", "uptime_s", "10:00:19 dropout ended after 9s"} {
				if !strings.Contains(m.View(), want) {
					t.Errorf("lacks %q:\n%s", want, m.View())
				}
			}
			if strings.Contains(m.View(), "more fields") {
				t.Errorf("the table is cut:\n%s", m.View())
			}
		})
	}
}

// TestStripAndAxisShareTheColumns: the dropout strip and the time axis are
// as wide as the plot's data, however many ✖ the strip holds.
func TestStripAndAxisShareTheColumns(t *testing.T) {
	for _, width := range []int{80, 160} {
		m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: width, Height: 30})
		m = update(m, demoReports(20))
		var strip, axis string
		for _, l := range strings.Split(m.View(), "\n") {
			switch {
			case strings.Contains(l, "✖"):
				strip = l
			case strings.Contains(l, "──") && strings.Contains(l, ":"):
				axis = l
			}
		}
		if strip == "" || axis == "" {
			t.Fatalf("%d: no strip or axis:\n%s", width, m.View())
		}
		end := ansi.StringWidth(strings.TrimRight(strip, " "))
		if got := ansi.StringWidth(axis); got != end || end != width-12+8 {
			t.Errorf("%d: strip ends at column %d, axis at %d, data at %d", width, end, got, width-12+8)
		}
	}
}

// TestLongWindowsKeepTheirHeight: 6h, 24h and 8d windows are named so,
// keep the plot's rows although the reports fill one column, and put the
// date on the axis.
func TestLongWindowsKeepTheirHeight(t *testing.T) {
	for key, label := range map[string]string{"4": "6h", "5": "24h", "6": "8d"} {
		m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 80, Height: 24})
		m = update(m, demoReports(20))
		m = update(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(key)})
		view := m.View()
		if !strings.Contains(view, "temp (°C) over "+label+" ") || strings.Contains(view, "h0m0s") {
			t.Errorf("%s: title:\n%s", label, view)
		}
		if rows := strings.Count(view, "┤") + strings.Count(view, "┼"); rows < 3 {
			t.Errorf("%s: plot of %d rows:\n%s", label, rows, view)
		}
		if !strings.Contains(view, "Nov 25 10:00") {
			t.Errorf("%s: no date on the axis:\n%s", label, view)
		}
	}
}

// TestPanesKeepTheTable: at 80×24 the editor and the soak statistics sit
// under the table and the table keeps its rows (the plot gives way first).
func TestPanesKeepTheTable(t *testing.T) {
	for _, key := range []string{"e", "s"} {
		m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 80, Height: 24})
		m = update(m, reports(5))
		m = update(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(key)})
		view := m.View()
		for _, want := range []string{"key ", "interval_s", "led", "seq", "temp ", "┤"} {
			if !strings.Contains(view, want) {
				t.Errorf("%s: lacks %q:\n%s", key, want, view)
			}
		}
		if h := lipgloss.Height(view); h != 24 {
			t.Errorf("%s: %d rows", key, h)
		}
	}
}

// TestLogPagesAt80x24: the log gets rows at 80×24 and paging back shows
// older entries there too.
func TestLogPagesAt80x24(t *testing.T) {
	m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 80, Height: 24})
	m = update(m, reports(5))
	m = update(m, rejections(1, 100))
	if shown := notes(m.View()); len(shown) < 3 || shown[len(shown)-1] != "note-100" {
		t.Fatalf("log rows %v:\n%s", shown, m.View())
	}
	m = update(m, tea.KeyMsg{Type: tea.KeyPgUp})
	if paged := notes(m.View()); len(paged) < 2 || paged[len(paged)-1] >= "note-100" || !strings.Contains(m.View(), "newer (pgdn") {
		t.Fatalf("paged %v:\n%s", paged, m.View())
	}
}

// TestNoRowLeftEmpty: on a wide terminal with few log entries the plot
// takes the rows the log does not fill; no run of blank rows is left
// between the table and the footer.
func TestNoRowLeftEmpty(t *testing.T) {
	m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 160, Height: 50})
	m = update(m, demoReports(20))
	lines := strings.Split(m.View(), "\n")
	blank := 0
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			blank++
		}
	}
	if blank > 1 {
		t.Fatalf("%d blank rows of %d:\n%s", blank, len(lines), m.View())
	}
}

// TestWrappedEntriesShowWhole: at 80×24 entries that wrap to two rows are
// shown whole, following and paged back: every entry's head has its end
// (the note) and every note its head.
func TestWrappedEntriesShowWhole(t *testing.T) {
	var evs eventsMsg
	for i := 1; i <= 30; i++ {
		evs = append(evs, event.Rejected{At: t0.Add(time.Duration(i) * time.Second), Op: "update", Code: 400,
			Message: "the state document is not what the service takes, as it says at length " + fmt.Sprintf("note-%03d", i)})
	}
	m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 80, Height: 24})
	m = update(update(m, demoReports(20)), evs)
	for _, what := range []string{"following", "paged", "paged twice"} {
		heads := strings.Count(m.View(), "update rejected: 400")
		if shown := notes(m.View()); heads == 0 || len(shown) != heads {
			t.Errorf("%s: %d entry heads, notes %v:\n%s", what, heads, shown, m.View())
		}
		if what != "following" && !strings.Contains(m.View(), "newer (pgdn") {
			t.Errorf("%s: no newer line:\n%s", what, m.View())
		}
		m = update(m, tea.KeyMsg{Type: tea.KeyPgUp})
	}
}

// TestHeaderWholeAt80x24: nothing above the plot is cut at 80×24, paused
// with three series (the longest title) or with one of large values.
func TestHeaderWholeAt80x24(t *testing.T) {
	for _, keys := range [][]string{{"down", "enter", "down", "down", "down", "down", "enter", "p"}, {"down", "enter", "up", "enter", "p", "2"}} {
		m := update(newModel(newFakeConn()), tea.WindowSizeMsg{Width: 80, Height: 24})
		m, _ = press(update(m, demoReports(20)), keys...)
		head := m.View()[:strings.Index(m.View(), "┤")]
		for _, want := range []string{"PAUSED", "over ", "mem 8.0 MB", "v20", "device online"} {
			if !strings.Contains(head, want) || strings.Contains(head, "…") {
				t.Errorf("%v: the header lacks %q or is cut:\n%s", keys, want, m.View())
			}
		}
	}
}
