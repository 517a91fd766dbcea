// Package tui is iotwatch's terminal UI (Bubble Tea) on top of monitor: it
// shows the thing's shadow, plots a field, sends desired changes from keys.
// It reaches the connection only through Conn; it imports config, event,
// monitor and shadow, and only cli imports it.
package tui

import (
	"context"
	"fmt"
	"runtime/metrics"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textarea"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/pipeline"
)

// Conn is what the UI needs of the connection.
type Conn interface {
	Events() <-chan event.Event
	UpdateDesired(ctx context.Context, patch map[string]any) (string, error)
	Get(ctx context.Context) error
}

// DemoKey is a demo-only key that injects a fault.
type DemoKey struct {
	Key, Help string
	Do        func()
}

// Options configures the UI.
type Options struct {
	Conn     Conn
	Endpoint string
	Thing    string
	Unit     string
	Window   time.Duration
	Monitor  monitor.Options
	Controls []config.Control
	Demo     []DemoKey
	Now      func() time.Time // injected in tests
	Memory   func() uint64    // heap in use; injected in tests
	Warnings []string         // put in the event log at start, e.g. a key others may read
	// Mon is the thing's monitor when the fleet screen already keeps one
	// (and applies its events); nil: Pipeline's, else a new one from Monitor.
	Mon *monitor.Monitor
	// Pipeline routes the events to the thing's monitor and the event log
	// (watch --log); nil: a pipeline of its own without a log.
	Pipeline *pipeline.Pipeline
	// Observe is called after events are applied and after each tick
	// (alerts); nil: nothing.
	Observe func(thing string, m *monitor.Monitor, now time.Time)
	// Jobs is AWS IoT's control plane for the jobs pane (J) and the
	// fleet's job column; nil: neither.
	Jobs JobsSource
}

// windows are the plot window presets of keys 1–6.
var windows = []time.Duration{time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 8 * 24 * time.Hour}

// Model is the root model.
type Model struct {
	o             Options
	mon           *monitor.Monitor
	keys          KeyMap
	help          help.Model
	styles        Styles
	editor        textarea.Model
	editFrom      map[string]any // the desired state the editor started from
	editErr       string
	pane          paneKind
	confirm       *confirmation // a question waiting for y or n
	focusLog      bool          // tab: ↑/↓ page the log instead of moving the table's cursor
	cursor        int           // the table's selected row (0: the first field)
	docs          docHistory    // the shadow's versions, for the document pane
	docScroll     int           // first line of the document shown
	topics        topics        // the raw-topics pane
	jobs          JobsModel     // the jobs pane (J)
	width, height int
	window        time.Duration
	paused        bool
	logPin        int // 0 follows new events; else the entry number shown last
	logRows       int // rows of the event log in the last frame
	logShown      int // entries the event log showed in the last frame
	pausedAt      time.Time
	now           time.Time
	tag           int
	frame         int // spinner frame, advanced by the redraw tick
	status        string
	fading        fading           // a status line that goes by itself
	plotted       []string         // fields on the plot, the first on the y axis
	snap          monitor.Snapshot // what the last frame was built from
	cells         [][]string       // the table's text in the frame being built
	builtAt       time.Time        // the now of the last frame
	view          string
}

// New builds the UI model.
func New(o Options) Model {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Memory == nil {
		o.Memory = heapInUse
	}
	if o.Window == 0 {
		o.Window = 10 * time.Minute
	}
	ed := textarea.New()
	ed.Placeholder = `{"led": true}`
	ed.SetHeight(editorRows)
	mon := o.Mon
	switch {
	case mon != nil:
		o.Pipeline = nil // the fleet screen's pipeline applied its events
	case o.Pipeline != nil:
		mon = o.Pipeline.Monitor(o.Thing)
	default:
		mon = monitor.New(o.Monitor)
		o.Pipeline = pipeline.Single(mon, o.Thing)
	}
	m := Model{o: o, mon: mon, keys: DefaultKeyMap(o.Controls, o.Demo), help: help.New(),
		styles: DefaultStyles(), editor: ed, window: o.Window, width: 80, height: 24, now: o.Now()}
	m.plotted = []string{m.mon.Field()}
	m.topics = newTopics()
	m.jobs = NewJobsModel(o.Jobs, o.Thing, m.styles)
	m.keys.setLinkUp(false)
	for _, w := range o.Warnings {
		m.mon.Warn(m.now, w)
	}
	m.render()
	return m
}

// heapInUse is runtime.MemStats.HeapInuse read from runtime/metrics, which,
// unlike ReadMemStats, does not stop the world at every frame.
func heapInUse() uint64 {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(samples)
	return samples[0].Value.Uint64() + samples[1].Value.Uint64()
}

// Monitor exposes the state, for tests and the caller's exit summary.
func (m Model) Monitor() *monitor.Monitor { return m.mon }

// Thing is the thing the screen shows.
func (m Model) Thing() string { return m.o.Thing }

// openedAs is the screen as the fleet screen opens it: its tick loop
// tagged apart from those of screens opened before, its desired keys on
// as its monitor's link is (no link event comes for a link already up).
func (m Model) openedAs(tag int) Model {
	m.tag = tag
	m.keys.setLinkUp(m.mon.Link.State == event.LinkUp)
	return m
}

// ticks is whether tick is of this screen's loop.
func (m Model) ticks(tick tickMsg) bool { return tick.tag == m.tag }

// atRest is whether nothing of the screen's own is open for esc to close
// (the fleet screen's esc then goes back to the fleet).
func (m Model) atRest() bool { return !m.help.ShowAll && m.pane == paneLog && m.confirm == nil }

func (m Model) Init() tea.Cmd {
	return tea.Batch(waitForEvents(m.o.Conn.Events()), m.nextTick())
}

func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	before, dataChanged := m.shown(), false
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width
	case tea.KeyMsg:
		dataChanged = m.pane == paneEditor || m.pane == paneTopics || m.pane == paneJobs // typed text and the pane's cursor are not in shown()
		m, cmd = m.handleKey(msg)
	case eventsMsg:
		m.handleEvents(msg)
		dataChanged = true
		cmd = waitForEvents(m.o.Conn.Events())
	case streamClosedMsg:
		m.status = "connection closed"
	case tickMsg:
		if msg.tag != m.tag {
			return m, nil
		}
		dropouts := m.mon.DropoutCount()
		m.now = m.o.Now()
		m.mon.Tick(m.now)
		m.observe()
		// ages are shown in whole seconds: a frame a second old is rebuilt,
		// one an event built within the second is not (one frame a second
		// at one report a second, not two)
		dataChanged = m.mon.DropoutCount() != dropouts || m.now.Sub(m.builtAt) >= time.Second
		m.status = m.fading.after(m.status, m.now)
		if m.animating() {
			m.frame++
		}
		cmd = m.nextTick()
	case statusMsg:
		m.status = string(msg)
	case desiredResultMsg:
		if msg.err != nil {
			m.status = msg.err.Error()
		}
	case rawSubscribedMsg:
		m.rawSubscribed(msg)
		dataChanged = true
	case gotShadowMsg:
		m.gotShadow(msg.err)
		dataChanged = true
	case jobsMsg, jobsTickMsg:
		m.jobs, cmd = m.jobs.Update(msg, m.tag, m.pane == paneJobs, m.o.Now())
		dataChanged = true
	}
	if dataChanged || m.shown() != before {
		m.render()
	}
	return m, cmd
}

// shownState is everything besides the monitor's data that the frame
// depends on; the frame is rebuilt only when it or the data changed.
type shownState struct {
	width, height, logPin, frame int
	window                       time.Duration
	cursor, docScroll            int
	paused, help, focusLog       bool
	pane                         paneKind
	confirm                      *confirmation
	editErr, status, plotted     string
}

func (m *Model) shown() shownState {
	return shownState{width: m.width, height: m.height, logPin: m.logPin, frame: m.frame,
		window: m.window, paused: m.paused, help: m.help.ShowAll, cursor: m.cursor, docScroll: m.docScroll, focusLog: m.focusLog,
		pane: m.pane, confirm: m.confirm, editErr: m.editErr, status: m.status, plotted: strings.Join(m.plotted, " ")}
}

// fadeAfter is how long a demo key's status line stays: it says what the
// key started (the event log says how it went), so it goes long before
// "device drops for 30 s" has ended.
const fadeAfter = 5 * time.Second

// fading is a status line and when it goes.
type fading struct {
	text  string
	until time.Time
}

// after is the status line at now: "" once the fading one's time is up.
func (f fading) after(status string, now time.Time) string {
	if status == f.text && !now.Before(f.until) {
		return ""
	}
	return status
}

// nextTick is the redraw tick: at the spinner's pace while it turns, else
// at the next whole second (ages, the dropout detector).
func (m *Model) nextTick() tea.Cmd {
	if m.animating() {
		return tick(m.tag, redrawEvery)
	}
	return tick(m.tag, untilNextSecond(m.o.Now()))
}

// animating is true while a spinner turns: a desired value is pending.
func (m *Model) animating() bool {
	for _, p := range m.snap.Pending {
		if p.Rejected == "" {
			return true
		}
	}
	return false
}

func (m *Model) handleEvents(events eventsMsg) {
	for _, ev := range events {
		if m.o.Pipeline != nil {
			m.o.Pipeline.Apply(ev)
		}
		switch ev := ev.(type) {
		case event.Link:
			m.keys.setLinkUp(ev.State == event.LinkUp)
		case event.ShadowDoc:
			m.docs.add(ev)
		case event.Deleted:
			m.docs.reset()
		case event.Raw:
			m.topics.add(ev)
		}
	}
	m.now = m.o.Now()
	m.observe()
}

func (m *Model) observe() {
	if m.o.Observe != nil {
		m.o.Observe(m.o.Thing, m.mon, m.now)
	}
}

// scrollLog moves the event log a page older (-1) or newer (+1); paging
// past the newest entry follows new events again.
func (m *Model) scrollLog(direction int) {
	total, kept := m.snap.EventsLogged, len(m.snap.Events)
	page := max(1, m.logShown-1) // the entry at the top stays in view
	if kept <= m.logRows {
		m.logPin = 0
		return
	}
	pin := m.logPin
	if pin == 0 {
		pin = total
	}
	pin += direction * page
	oldest := total - kept + m.logRows - 1 // the pinned view's bottom entry at the top of the log
	switch {
	case pin >= total:
		m.logPin = 0
	case pin < oldest:
		m.logPin = oldest
	default:
		m.logPin = pin
	}
}

func (m Model) handleKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	switch {
	case msg.Type == tea.KeyCtrlC: // quits even from the editor and the filter prompt
		return m, tea.Quit
	case m.confirm != nil:
		return m.answer(msg)
	case m.pane == paneEditor:
		return m.handleEditorKey(msg)
	case m.pane == paneTopics:
		if next, cmd, done := m.handleTopicsKey(msg); done {
			return next, cmd
		}
	case m.pane == paneJobs && m.jobs.Handles(msg):
		var cmd tea.Cmd
		m.jobs, cmd = m.jobs.Update(msg, m.tag, true, m.now)
		return m, cmd
	}
	m.status = ""
	switch {
	case key.Matches(msg, m.keys.Quit):
		return m, tea.Quit
	case key.Matches(msg, m.keys.Help):
		m.help.ShowAll = !m.help.ShowAll
	case key.Matches(msg, m.keys.Close):
		m.closeTop()
	case key.Matches(msg, m.keys.Get):
		m.status = "getting the shadow…"
		return m, getShadow(m.o.Thing, m.o.Conn)
	case key.Matches(msg, m.keys.Window):
		m.window = nextWindow(m.window, msg.String())
	case key.Matches(msg, m.keys.Pause):
		m.paused, m.pausedAt = !m.paused, m.now
	case key.Matches(msg, m.keys.Clear):
		m.mon.ClearHistory()
	case key.Matches(msg, m.keys.Soak):
		m.toggle(paneSoak)
	case key.Matches(msg, m.keys.Document):
		m.toggle(paneDoc)
	case key.Matches(msg, m.keys.Jobs.Toggle):
		return m.toggleJobs()
	case key.Matches(msg, m.keys.Topics):
		if m.pane == paneTopics {
			m.pane = paneLog
			return m, nil
		}
		return m.openTopics()
	case key.Matches(msg, m.keys.LogOlder):
		m.scrollLog(-1)
	case key.Matches(msg, m.keys.LogNewer):
		m.scrollLog(+1)
	case key.Matches(msg, m.keys.LogFollow):
		m.logPin = 0
	case key.Matches(msg, m.keys.Export):
		return m, exportCSV(m.mon, m.plotted[0], m.window, m.now)
	case key.Matches(msg, m.keys.Edit):
		return m.openEditor()
	case key.Matches(msg, m.keys.ClearDesired):
		m.askClearDesired()
	case key.Matches(msg, m.keys.Focus):
		m.focusLog = !m.focusLog
	case key.Matches(msg, m.keys.Up), key.Matches(msg, m.keys.Down):
		m.move(msg)
	case key.Matches(msg, m.keys.Plot):
		m.togglePlotted()
	default:
		return m.handleControlKey(msg)
	}
	return m, nil
}

// closeTop closes what esc closes: the full help, else the open pane.
func (m *Model) closeTop() {
	if m.help.ShowAll {
		m.help.ShowAll = false
		return
	}
	m.pane = paneLog
}

// toggle opens a pane in place of the event log, or closes it.
func (m *Model) toggle(p paneKind) {
	if m.pane == p {
		m.pane = paneLog
		return
	}
	m.pane = p
}

// move is ↑/↓: the table's cursor, or a page of the log when it has focus.
func (m *Model) move(msg tea.KeyMsg) {
	step := 1
	if key.Matches(msg, m.keys.Up) {
		step = -1
	}
	switch {
	case m.pane == paneDoc:
		m.docScroll = max(0, m.docScroll+step)
		return
	case m.focusLog:
		m.scrollLog(step)
		return
	}
	m.cursor = max(0, min(m.cursor+step, len(m.tableKeys())-1))
}

// handleControlKey runs a [[control]] or demo key; the UI's own keys never
// reach it.
func (m Model) handleControlKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	for i, b := range m.keys.Controls {
		if key.Matches(msg, b) {
			patch := controlPatch(m.o.Controls[i], m.snap)
			return m, sendDesired(m.o.Thing, m.o.Conn, patch)
		}
	}
	for i, b := range m.keys.Demo {
		if key.Matches(msg, b) {
			m.status = "demo: " + m.o.Demo[i].Help
			m.fading = fading{m.status, m.now.Add(fadeAfter)}
			return m, runDemo(m.o.Demo[i].Do)
		}
	}
	for _, b := range m.keys.needsLink() {
		if pressed(msg, b) {
			m.status = fmt.Sprintf("%s: not sent, iotwatch's link is %s; it waits for the connection", b.Help().Desc, m.snap.Link.State)
		}
	}
	return m, nil
}

func nextWindow(cur time.Duration, pressed string) time.Duration {
	if pressed >= "1" && pressed <= "6" {
		return windows[pressed[0]-'1']
	}
	for i, w := range windows {
		if w == cur {
			return windows[(i+1)%len(windows)]
		}
	}
	return windows[0]
}

// paneKind is what sits beside or under the state table.
type paneKind uint8

const (
	paneLog paneKind = iota
	paneEditor
	paneSoak
	paneDoc
	paneTopics
	paneJobs
)

// gotShadow logs the outcome of a get the user asked for.
func (m *Model) gotShadow(err error) {
	m.status = ""
	if err != nil {
		m.status = "get: " + err.Error()
		return
	}
	m.mon.Note(m.o.Now(), "shadow got again on request (g)")
}

// togglePlotted plots the selected row's field, or takes it off the plot.
func (m *Model) togglePlotted() {
	keys := m.tableKeys()
	if m.cursor >= len(keys) {
		return
	}
	field := keys[m.cursor]
	if i := slices.Index(m.plotted, field); i >= 0 {
		if len(m.plotted) == 1 {
			m.status = field + " is the only plotted field: plot another first"
			return
		}
		m.plotted = slices.Delete(m.plotted, i, i+1)
		return
	}
	switch {
	case !m.snap.Numeric(field):
		m.status = field + " is not a number: only numeric fields can be plotted"
	case len(m.plotted) == maxPlotted:
		m.status = fmt.Sprintf("%d fields plotted already: enter on one of them takes it off", maxPlotted)
	default:
		m.plotted = append(m.plotted, field)
	}
}
