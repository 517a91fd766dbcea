package tui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/event"
)

// fakeFleet is a recorded fleet that remembers the patches sent, by thing.
type fakeFleet struct {
	events  chan event.Event
	mu      sync.Mutex
	patches map[string][]map[string]any
	gets    []string
}

func newFakeFleet() *fakeFleet {
	return &fakeFleet{events: make(chan event.Event, 64), patches: map[string][]map[string]any{}}
}

func (f *fakeFleet) Events() <-chan event.Event { return f.events }
func (f *fakeFleet) Get(_ context.Context, thing string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets = append(f.gets, thing)
	return nil
}
func (f *fakeFleet) UpdateDesired(_ context.Context, thing string, patch map[string]any) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.patches[thing] = append(f.patches[thing], patch)
	return "tok", nil
}

func (f *fakeFleet) sent() map[string][]map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]map[string]any{}
	for k, v := range f.patches {
		out[k] = slices.Clone(v)
	}
	return out
}

var fleetNow = t0.Add(60 * time.Second)

func newFleetModel(conn *fakeFleet, things ...string) FleetModel {
	return NewFleet(FleetOptions{Conn: conn, Things: things, Single: Options{Endpoint: "localhost:8883", Unit: "°C", Window: time.Minute, Monitor: testMonitor,
		Controls: config.DefaultControls(), Now: func() time.Time { return fleetNow }, Memory: func() uint64 { return 8 << 20 }}})
}

// fleetEvents: twelve things reporting every second for a minute, but
// esp32-003 stopped at 20 s (offline, a dropout), esp32-007 at 58 s
// (late), esp32-010 rebooted at 30 s and esp32-005 lost two reports;
// esp32-002 has a desired value pending.
func fleetEvents() eventsMsg {
	var things []string
	for i := range 12 {
		things = append(things, fmt.Sprintf("esp32-%03d", i))
	}
	evs := eventsMsg{event.Link{At: t0, State: event.LinkUp, Things: things}}
	for s := 1; s <= 60; s++ {
		for i, th := range things {
			seq := float64(s)
			switch {
			case th == "esp32-003" && s > 20, th == "esp32-007" && s > 58, th == "esp32-005" && (s == 40 || s == 41):
				continue
			case th == "esp32-010" && s >= 30:
				seq = float64(s - 29)
			}
			evs = append(evs, event.ShadowDoc{At: t0.Add(time.Duration(s) * time.Second), Thing: th, Kind: event.DocAccepted, Version: int64(s),
				Reported: map[string]any{"temp": 20 + 2*math.Sin(float64(s+7*i)/8), "seq": seq, "led": false, "interval_s": 1.0}})
		}
	}
	return append(evs, event.DesiredSent{At: t0.Add(59 * time.Second), Thing: "esp32-002", ClientToken: "x", Patch: map[string]any{"led": true}})
}

func fleetUpdate(m FleetModel, msgs ...tea.Msg) FleetModel {
	for _, msg := range msgs {
		next, _ := m.Update(msg)
		m = next.(FleetModel)
	}
	return m
}

// fleetFeed applies events in batches as the event Cmd would, then ticks
// (the detector finds dropouts, the frame is built).
func fleetFeed(m FleetModel, evs eventsMsg) FleetModel {
	for len(evs) > 0 {
		n := min(maxBatch, len(evs))
		m = fleetUpdate(m, evs[:n])
		evs = evs[n:]
	}
	return fleetUpdate(m, fleetTickMsg{m.tag})
}

func fleetPress(m FleetModel, keys ...string) (FleetModel, tea.Cmd) {
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
		case "space":
			msg = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune(" ")}
		}
		var next tea.Model
		next, cmd = m.Update(msg)
		m = next.(FleetModel)
	}
	return m, cmd
}

// runAll runs a Cmd and the Cmds of a batch, feeding what they return back.
func runAll(m FleetModel, cmd tea.Cmd) FleetModel {
	if cmd == nil {
		return m
	}
	msg := cmd()
	if batch, ok := msg.(tea.BatchMsg); ok {
		for _, c := range batch {
			m = runAll(m, c)
		}
		return m
	}
	return fleetUpdate(m, msg)
}

func fleetThings() []string {
	var out []string
	for i := range 12 {
		out = append(out, fmt.Sprintf("esp32-%03d", i))
	}
	return out
}

// rowNames are the things in the order the frame lists them.
func rowNames(m FleetModel) []string {
	var out []string
	for _, r := range m.rows {
		out = append(out, r.name)
	}
	return out
}

func TestFleetRowsWorstFirstAndOrders(t *testing.T) {
	m := fleetFeed(newFleetModel(newFakeFleet(), fleetThings()...), fleetEvents())
	for _, tc := range []struct {
		order string
		first []string
	}{
		{"worst first", []string{"esp32-003", "esp32-007", "esp32-005", "esp32-010", "esp32-000"}},
		{"name", []string{"esp32-000", "esp32-001", "esp32-002"}},
		{"oldest report", []string{"esp32-003", "esp32-007", "esp32-000"}},
		{"availability", []string{"esp32-003", "esp32-005"}},
	} {
		if m.order.String() != tc.order || !strings.Contains(m.View(), "order: "+tc.order) {
			t.Fatalf("order %s, want %s:\n%s", m.order, tc.order, m.View())
		}
		if got := rowNames(m)[:len(tc.first)]; !slices.Equal(got, tc.first) {
			t.Errorf("%s: rows start %v, want %v", tc.order, got, tc.first)
		}
		m, _ = fleetPress(m, "o")
	}
	r := m.rows[slices.Index(rowNames(m), "esp32-003")]
	if r.state.String() != "offline" || r.dropouts != 1 || !r.open || r.avail > 50 {
		t.Errorf("esp32-003: %+v", r)
	}
	for name, want := range map[string]fleetRow{"esp32-010": {reboots: 1}, "esp32-005": {lost: 2}, "esp32-002": {pending: 1}} {
		got := m.rows[slices.Index(rowNames(m), name)]
		if got.reboots != want.reboots || got.lost != want.lost || got.pending != want.pending {
			t.Errorf("%s: %+v, want reboots %d lost %d pending %d", name, got, want.reboots, want.lost, want.pending)
		}
	}
}

func TestFleetFilter(t *testing.T) {
	m := fleetFeed(newFleetModel(newFakeFleet(), fleetThings()...), fleetEvents())
	m, _ = fleetPress(m, "/", "0", "1")
	if got := rowNames(m); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"esp32-001", "esp32-010", "esp32-011"}) {
		t.Fatalf("filter 01: %v", got)
	}
	m, _ = fleetPress(m, "enter")
	if !strings.Contains(m.View(), `filter "01"`) || !strings.Contains(m.View(), "3 of 12 things") {
		t.Fatalf("filter not shown:\n%s", m.View())
	}
	m, _ = fleetPress(m, "esc")
	if len(m.rows) != 12 {
		t.Fatalf("esc kept the filter: %v", rowNames(m))
	}
}

// TestFleetOpenAndBack: enter opens the selected row's single-thing screen
// on the thing's own monitor, its events go on reaching it, and esc goes
// back to the fleet.
func TestFleetOpenAndBack(t *testing.T) {
	conn := newFakeFleet()
	m := fleetFeed(newFleetModel(conn, fleetThings()...), fleetEvents())
	m, cmd := fleetPress(m, "enter") // the worst: esp32-003
	if m.focus == nil || m.focus.o.Thing != "esp32-003" || cmd == nil {
		t.Fatalf("enter opened %v", m.focus)
	}
	if !strings.Contains(m.View(), "esp32-003") || strings.Contains(m.View(), "iotwatch fleet") {
		t.Fatalf("not the thing's screen:\n%s", m.View())
	}
	m = fleetUpdate(m, eventsMsg{event.ShadowDoc{At: fleetNow, Thing: "esp32-003", Kind: event.DocAccepted, Version: 61,
		Reported: map[string]any{"temp": 25.0, "seq": 61.0}}})
	if got := m.Monitor("esp32-003").Counts.Reports; got != 21 {
		t.Errorf("esp32-003 reports %d, want 21", got)
	}
	m, _ = fleetPress(m, "l") // toggle LED: to this thing
	if m, _ = fleetPress(m, "?"); !m.focus.help.ShowAll {
		t.Fatal("? did not reach the thing's screen")
	}
	m, _ = fleetPress(m, "esc") // closes that screen's help first
	if m.focus == nil {
		t.Fatal("esc left the thing's screen before closing its help")
	}
	m, _ = fleetPress(m, "esc")
	if m.focus != nil || !strings.Contains(m.View(), "iotwatch fleet") {
		t.Fatalf("esc did not go back:\n%s", m.View())
	}
}

// TestFleetControlKeys: a control key sends to the selected thing at
// once; with things marked it asks, then sends each its own patch on y,
// nothing on n.
func TestFleetControlKeys(t *testing.T) {
	for _, tc := range []struct {
		name   string
		keys   []string
		asks   bool
		answer string
		want   map[string]int // patches by thing
	}{
		{"selected", []string{"l"}, false, "", map[string]int{"esp32-003": 1}},
		{"marked yes", []string{"space", "space", "l"}, true, "y", map[string]int{"esp32-003": 1, "esp32-007": 1}},
		{"marked no", []string{"space", "space", "l"}, true, "n", map[string]int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := newFakeFleet()
			m := fleetFeed(newFleetModel(conn, fleetThings()...), fleetEvents())
			m, cmd := fleetPress(m, tc.keys...)
			if asks := m.confirm != nil; asks != tc.asks || asks && !strings.Contains(m.View(), "toggle LED on 2 marked things? (y/n)") {
				t.Fatalf("asks %v, want %v:\n%s", asks, tc.asks, m.View())
			}
			if tc.asks {
				m, cmd = fleetPress(m, tc.answer)
			}
			m = runAll(m, cmd)
			got := map[string]int{}
			for thing, patches := range conn.sent() {
				got[thing] = len(patches)
				if patches[0]["led"] != true {
					t.Errorf("%s got %v", thing, patches[0])
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("sent %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFleetGet: g gets the selected thing's shadow and the status line
// says so until the answer.
func TestFleetGet(t *testing.T) {
	conn := newFakeFleet()
	m := fleetFeed(newFleetModel(conn, fleetThings()...), fleetEvents())
	m, cmd := fleetPress(m, "g")
	if !strings.Contains(m.View(), "getting the shadow of esp32-003…") {
		t.Fatalf("no status:\n%s", m.View())
	}
	m = runAll(m, cmd)
	if strings.Contains(m.View(), "getting the shadow") || !slices.Equal(conn.gets, []string{"esp32-003"}) {
		t.Fatalf("gets %v:\n%s", conn.gets, m.View())
	}
}

// TestFleetThingsAppearAsTheyReport: a thing not listed at start gets its
// row from its first event (discovery by match), its link up as the
// message came over it.
func TestFleetThingsAppearAsTheyReport(t *testing.T) {
	m := fleetFeed(newFleetModel(newFakeFleet(), "esp32-000"), eventsMsg{event.ShadowDoc{At: fleetNow, Thing: "esp32-042", Kind: event.DocAccepted, Version: 1,
		Reported: map[string]any{"temp": 21.0, "seq": 1.0}}})
	if got := rowNames(m); !slices.Contains(got, "esp32-042") || len(got) != 2 {
		t.Fatalf("rows %v", got)
	}
	if got := m.Monitor("esp32-042").Link.State; got != event.LinkUp {
		t.Fatalf("a thing found by its report has link %v: its screen's desired keys would be off", got)
	}
}

// TestFleetGoldenViews pins the fleet screen at 80×24 and 160×50 (go test
// ./tui -update rewrites testdata/TestFleetGoldenViews/*).
func TestFleetGoldenViews(t *testing.T) {
	for _, screen := range []struct {
		name string
		keys []string
		many int // things from manyThings instead of fleetEvents
	}{{"worst-first", nil, 0}, {"marked", []string{"space", "down", "space", "l"}, 0}, {"help", []string{"?"}, 0},
		{"more-than-fit", nil, 60}, {"filtered", []string{"/", "1", "enter"}, 25}} {
		for _, size := range [][2]int{{80, 24}, {160, 50}} {
			t.Run(fmt.Sprintf("%s/%dx%d", screen.name, size[0], size[1]), func(t *testing.T) {
				things, evs := fleetThings(), fleetEvents()
				if screen.many > 0 {
					things, evs = manyThings(screen.many)
				}
				m := fleetUpdate(newFleetModel(newFakeFleet(), things...), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
				m, _ = fleetPress(fleetFeed(m, evs), screen.keys...)
				golden.RequireEqual(t, []byte(m.View()))
			})
		}
	}
}

// TestFleetEventsOfNoThing: what concerns no one thing goes to the status line.
func TestFleetEventsOfNoThing(t *testing.T) {
	for _, tc := range []struct {
		ev     event.Event
		want   string
		things int // a malformed message on a thing's topic is that thing's
	}{
		{event.Overflow{At: fleetNow, Count: 7}, "7 events dropped: the local queue was full", 1},
		{event.Malformed{At: fleetNow, Topic: "$aws/things/x/shadow/update/documents", Err: "not JSON"}, "malformed message on $aws/things/x/shadow/update/documents: not JSON", 2},
	} {
		m := fleetFeed(newFleetModel(newFakeFleet(), "esp32-000"), eventsMsg{tc.ev})
		if !strings.Contains(m.View(), tc.want) || len(m.things) != tc.things {
			t.Errorf("%T: status not %q (%d things):\n%s", tc.ev, tc.want, len(m.things), m.View())
		}
	}
}

// manyThings are n things reporting every second for a minute, named
// "sim-fleet-NN", and one more ("sim-fleet-quiet") that never reports.
func manyThings(n int) ([]string, eventsMsg) {
	var things []string
	for i := range n {
		things = append(things, fmt.Sprintf("sim-fleet-%02d", i))
	}
	evs := eventsMsg{event.Link{At: t0, State: event.LinkUp, Things: append(slices.Clone(things), "sim-fleet-quiet")}}
	for s := 1; s <= 60; s++ {
		for i, th := range things {
			evs = append(evs, event.ShadowDoc{At: t0.Add(time.Duration(s) * time.Second), Thing: th, Kind: event.DocAccepted, Version: int64(s),
				Reported: map[string]any{"temp": 20 + 2*math.Sin(float64(s+7*i)/8), "seq": float64(s), "interval_s": 1.0}})
		}
	}
	return append(things, "sim-fleet-quiet"), evs
}

// TestFleetRowsAt80x24: twenty things fill 80×24 with no blank row; with
// more than fit, the header says which are shown ("1–20 of 26"); a filter
// is counted in the header ("12 of 26 things"); the sparkline has a width
// to read and spans the time watched; a thing with no report shows
// availability "–".
func TestFleetRowsAt80x24(t *testing.T) {
	things, evs := manyThings(19) // and a quiet one: twenty
	m := fleetUpdate(newFleetModel(newFakeFleet(), things...), tea.WindowSizeMsg{Width: 80, Height: 24})
	m = fleetFeed(m, evs)
	lines := strings.Split(m.View(), "\n")
	shown := 0
	for _, l := range lines {
		if strings.Contains(l, "sim-fleet-") {
			shown++
		}
		if strings.TrimSpace(l) == "" {
			t.Errorf("a blank row:\n%s", m.View())
		}
	}
	if shown != 20 || len(lines) != 24 || strings.Contains(m.View(), " of 20") {
		t.Errorf("%d of 20 rows in %d lines:\n%s", shown, len(lines), m.View())
	}
	quiet := lines[slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "sim-fleet-quiet") })]
	if strings.Contains(quiet, "%") || !strings.Contains(quiet, "–") {
		t.Errorf("availability of a thing that never reported: %q", quiet)
	}
	var spark string
	for _, l := range lines {
		if strings.Contains(l, "sim-fleet-00 ") {
			spark = strings.TrimSpace(strings.Map(func(r rune) rune {
				if strings.ContainsRune(string(sparkBlocks), r) {
					return r
				}
				return ' '
			}, l))
		}
	}
	if n := utf8.RuneCountInString(spark); n < sparkMin || strings.Contains(spark, " ") {
		t.Errorf("sparkline %q (%d cells): too narrow or not filled:\n%s", spark, n, m.View())
	}

	things, evs = manyThings(25)
	m = fleetUpdate(newFleetModel(newFakeFleet(), things...), tea.WindowSizeMsg{Width: 80, Height: 24})
	m = fleetFeed(m, evs)
	if !strings.Contains(m.View(), "1–20 of 26") || !strings.Contains(m.View(), "26 things") {
		t.Errorf("26 things: no 1–20 of 26:\n%s", m.View())
	}
	m, _ = fleetPress(m, "/", "1", "enter")
	if !strings.Contains(m.View(), "12 of 26 things") || !strings.Contains(m.View(), "12 online") {
		t.Errorf("filter 1: the header does not count the filtered things:\n%s", m.View())
	}
}

// TestFleetResultsFindTheirThing: a get or a desired change answered for
// one thing while another's screen is open goes to the fleet's status,
// not into the open screen (its log said "shadow got again" for a get it
// never made); the open thing's own results reach its screen.
func TestFleetResultsFindTheirThing(t *testing.T) {
	m := fleetFeed(newFleetModel(newFakeFleet(), fleetThings()...), fleetEvents())
	m, _ = fleetPress(m, "g") // esp32-003's get, answered after enter opened esp32-007's screen
	m, _ = fleetPress(m, "down", "enter")
	if m.focus == nil || m.focus.Thing() != "esp32-007" {
		t.Fatalf("enter opened %v", m.focus)
	}
	m = fleetUpdate(m, gotShadowMsg{"esp32-003", nil}, desiredResultMsg{"esp32-003", errors.New("update rejected: 400 bad")})
	if v := m.View(); strings.Contains(v, "shadow got again") || strings.Contains(v, "400 bad") {
		t.Fatalf("another thing's results in esp32-007's screen:\n%s", v)
	}
	m = fleetUpdate(m, desiredResultMsg{"esp32-007", errors.New("update rejected: 400 mine")})
	if !strings.Contains(m.View(), "400 mine") {
		t.Fatalf("the open thing's result did not reach its screen:\n%s", m.View())
	}
	m, _ = fleetPress(m, "esc")
	if !strings.Contains(m.View(), "esp32-003: update rejected: 400 bad") {
		t.Fatalf("the fleet's status lacks esp32-003's result:\n%s", m.View())
	}
}
