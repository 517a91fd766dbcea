package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/pipeline"
)

// FleetConn is what the fleet screen needs of a fleet's connections
// (awsconn.Fleet): one stream of every thing's events, requests by thing.
type FleetConn interface {
	Events() <-chan event.Event
	UpdateDesired(ctx context.Context, thing string, patch map[string]any) (string, error)
	Get(ctx context.Context, thing string) error
}

// FleetOptions configures the fleet screen.
type FleetOptions struct {
	Conn   FleetConn
	Things []string // known at start; a thing whose events arrive later gets its row then
	// Single is the single-thing screen enter opens (Conn, Thing and Mon
	// are set per thing); its Monitor options, with only the plotted
	// field's history at coarse resolution, are every thing's.
	Single Options
	// Pipeline routes the events to each thing's monitor and the event log
	// (watch --log); nil: a fleet pipeline of its own without a log.
	Pipeline *pipeline.Pipeline
}

// FleetModel is the fleet screen: one row per thing.
type FleetModel struct {
	o             FleetOptions
	things        map[string]*monitor.Monitor
	marked        map[string]bool
	keys          FleetKeyMap
	help          help.Model
	styles        Styles
	filter        textinput.Model
	filtering     bool // the filter prompt has the keys
	order         sortKind
	cursor        int       // index in the shown rows
	selected      string    // the thing under the cursor, kept while rows move
	top           int       // first row shown
	list          int       // rows the last frame had room for
	since         time.Time // the first event's time: what the sparklines span until the window is full
	confirm       *fleetConfirm
	focus         *Model // the single-thing screen enter opened; nil: the fleet
	focusTag      int    // tells the tick loops of screens opened one after another apart
	width, height int
	now           time.Time
	tag           int
	dirty         bool // the frame is to be rebuilt
	touched       bool // events arrived since the last frame
	status        string
	rows          []fleetRow // the last frame's, in order
	jobs          fleetJobs  // the job column (fleetjobs.go)
	view          string
}

// fleetConfirm is a desired patch for the marked things waiting for y/n.
type fleetConfirm struct {
	label   string
	patches map[string]map[string]any // by thing
}

// NewFleet builds the fleet screen.
func NewFleet(o FleetOptions) FleetModel {
	if o.Single.Now == nil {
		o.Single.Now = time.Now
	}
	if o.Single.Memory == nil {
		o.Single.Memory = heapInUse
	}
	if o.Single.Window == 0 {
		o.Single.Window = 10 * time.Minute
	}
	f := textinput.New()
	f.Prompt = "/"
	m := FleetModel{o: o, things: map[string]*monitor.Monitor{}, marked: map[string]bool{}, keys: DefaultFleetKeyMap(o.Single.Controls),
		help: help.New(), styles: DefaultStyles(), filter: f, width: 80, height: 24, now: o.Single.Now()}
	if m.o.Pipeline == nil {
		m.o.Pipeline = pipeline.New(pipeline.Options{Monitor: FleetMonitorOptions(o.Single.Monitor), Fleet: true})
	}
	for _, t := range o.Things {
		m.things[t] = m.o.Pipeline.Add(t)
	}
	if len(o.Single.Warnings) > 0 {
		m.status = "warning: " + strings.Join(o.Single.Warnings, "; ")
	}
	m.jobs = newFleetJobs(o.Single.Jobs)
	m.render()
	return m
}

// fleetGapSamples bounds each thing's report gaps kept for the soak
// statistics of its screen (32 KB: its first reports); a day of 1 Hz gaps
// would be 700 KB a thing.
const fleetGapSamples = 4096

// FleetMonitorOptions are a fleet thing's monitor options from the
// single-thing screen's: the plotted field's history alone, coarse, and
// few gaps, so that a thousand fit.
func FleetMonitorOptions(o monitor.Options) monitor.Options {
	field := o.Field
	if field == "" {
		field = "temp"
	}
	o.Fields, o.Coarse, o.MaxGapSamples = []string{field}, true, fleetGapSamples
	return o
}

// Monitor is thing's monitor (nil when unknown), for tests and the exit summary.
func (m FleetModel) Monitor(thing string) *monitor.Monitor { return m.things[thing] }

func (m FleetModel) Init() tea.Cmd {
	return tea.Batch(waitForEvents(m.o.Conn.Events()), fleetTick(m.tag))
}

// fleetTickMsg is the fleet screen's redraw tick.
type fleetTickMsg struct{ tag int }

func fleetTick(tag int) tea.Cmd {
	return tea.Tick(redrawEvery, func(time.Time) tea.Msg { return fleetTickMsg{tag} })
}

func (m FleetModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width
		m.dirty = true
		cmd = m.toFocus(msg)
	case tea.KeyMsg:
		m, cmd = m.handleKey(msg)
		m.dirty = true
	case eventsMsg:
		if m.since.IsZero() {
			m.since = msg[0].Time()
		}
		// The frame waits for the tick: a thousand things report
		// faster than a frame is worth building.
		cmd = tea.Batch(m.route(msg), waitForEvents(m.o.Conn.Events()))
	case streamClosedMsg:
		m.status, m.dirty = "connection closed", true
	case fleetTickMsg:
		if msg.tag != m.tag {
			return m, nil
		}
		m.tickAll()
		m.dirty = m.dirty || m.touched
		m.touched = false
		cmd = tea.Batch(fleetTick(m.tag), m.pollJobs())
	case desiredResultMsg:
		if m.opened(msg.thing) {
			cmd = m.toFocus(msg)
		} else if msg.err != nil {
			m.status, m.dirty = msg.thing+": "+msg.err.Error(), true
		}
	case gotShadowMsg:
		if m.opened(msg.thing) {
			cmd = m.toFocus(msg)
			break
		}
		m.status, m.dirty = "", true
		if msg.err != nil {
			m.status = "get " + msg.thing + ": " + msg.err.Error()
		}
	case fleetJobMsg:
		m.jobs.got(msg, m.o.Single.Now())
		m.dirty = true
	case tickMsg:
		if m.focus == nil || !m.focus.ticks(msg) {
			return m, nil // the loop of a screen closed since
		}
		cmd = m.toFocus(msg)
	default:
		cmd = m.toFocus(msg)
	}
	if m.focus == nil && m.dirty {
		m.render()
		m.dirty = false
	}
	return m, cmd
}

// opened is whether thing's screen is the one open.
func (m *FleetModel) opened(thing string) bool { return m.focus != nil && m.focus.Thing() == thing }

// toFocus passes msg to the single-thing screen when one is open.
func (m *FleetModel) toFocus(msg tea.Msg) tea.Cmd {
	if m.focus == nil {
		return nil
	}
	next, cmd := m.focus.Update(msg)
	inner := next.(Model)
	m.focus = &inner
	return cmd
}

// route applies each event through the pipeline to its things' monitors;
// the open screen's thing also gets its events through that screen.
func (m *FleetModel) route(events eventsMsg) tea.Cmd {
	var mine eventsMsg
	var touched []string
	for _, ev := range events {
		for _, t := range m.o.Pipeline.Apply(ev) {
			if m.things[t] == nil {
				m.things[t] = m.o.Pipeline.Monitor(t)
			}
			if !slices.Contains(touched, t) {
				touched = append(touched, t)
			}
			if m.focus != nil && t == m.focus.o.Thing {
				mine = append(mine, ev)
			}
		}
		switch e := ev.(type) { // about no one thing: the status line says so
		case event.Overflow:
			m.status = fmt.Sprintf("%d events dropped: the local queue was full", e.Count)
		case event.Malformed:
			m.status = fmt.Sprintf("malformed message on %s: %s", e.Topic, e.Err)
		}
	}
	now := m.o.Single.Now()
	m.now = now
	if m.o.Single.Observe != nil {
		for _, t := range touched {
			m.o.Single.Observe(t, m.things[t], now)
		}
	}
	m.touched = true
	if len(mine) > 0 {
		return m.toFocus(mine)
	}
	return nil
}

// tickAll runs the dropout detector of every thing (the open screen ticks
// its own); the frame is rebuilt when a second passed (ages) or events arrived.
func (m *FleetModel) tickAll() {
	now := m.o.Single.Now()
	second := now.Unix() != m.now.Unix()
	m.now = now
	m.dirty = m.dirty || second
	for t, mon := range m.things {
		if m.focus != nil && t == m.focus.o.Thing {
			continue
		}
		mon.Tick(now)
		if m.o.Single.Observe != nil {
			m.o.Single.Observe(t, mon, now)
		}
	}
}

func (m FleetModel) handleKey(msg tea.KeyMsg) (FleetModel, tea.Cmd) {
	switch {
	case msg.Type == tea.KeyCtrlC:
		return m, tea.Quit
	case m.focus != nil:
		return m.handleFocusKey(msg)
	case m.confirm != nil:
		cmd := m.sendConfirmed(msg)
		return m.answer(msg), cmd
	case m.filtering:
		return m.handleFilterKey(msg), nil
	}
	m.status = ""
	switch {
	case key.Matches(msg, m.keys.Quit):
		return m, tea.Quit
	case key.Matches(msg, m.keys.Help):
		m.help.ShowAll = !m.help.ShowAll
	case key.Matches(msg, m.keys.Close):
		m.closeTop()
	case key.Matches(msg, m.keys.Up):
		m.moveTo(m.cursor - 1)
	case key.Matches(msg, m.keys.Down):
		m.moveTo(m.cursor + 1)
	case key.Matches(msg, m.keys.PageUp):
		m.moveTo(m.cursor - m.listRows())
	case key.Matches(msg, m.keys.PageDown):
		m.moveTo(m.cursor + m.listRows())
	case key.Matches(msg, m.keys.Sort):
		m.order = (m.order + 1) % sortKinds
	case key.Matches(msg, m.keys.Filter):
		m.filtering = true
		return m, m.filter.Focus()
	case key.Matches(msg, m.keys.Mark):
		m.toggleMark()
	case key.Matches(msg, m.keys.Get):
		return m, m.getSelected()
	case key.Matches(msg, m.keys.Open):
		return m.open()
	default:
		return m.handleControlKey(msg)
	}
	return m, nil
}

// closeTop is esc: the full help, else the marks, else the filter.
func (m *FleetModel) closeTop() {
	switch {
	case m.help.ShowAll:
		m.help.ShowAll = false
	case len(m.marked) > 0:
		clear(m.marked)
	default:
		m.filter.SetValue("")
	}
}

// handleFocusKey passes keys to the open screen; esc with nothing of that
// screen's own to close goes back to the fleet.
func (m FleetModel) handleFocusKey(msg tea.KeyMsg) (FleetModel, tea.Cmd) {
	if key.Matches(msg, m.keys.Close) && m.focus.atRest() {
		m.focus = nil
		m.dirty = true
		return m, nil
	}
	return m, m.toFocus(msg)
}

func (m FleetModel) handleFilterKey(msg tea.KeyMsg) FleetModel {
	switch msg.Type {
	case tea.KeyEnter:
		m.filtering = false
		m.filter.Blur()
	case tea.KeyEsc:
		m.filtering = false
		m.filter.Blur()
		m.filter.SetValue("")
	default:
		m.filter, _ = m.filter.Update(msg)
	}
	m.cursor, m.top = 0, 0
	return m
}

// moveTo puts the cursor on row i of the shown rows.
func (m *FleetModel) moveTo(i int) {
	m.cursor = max(0, min(i, len(m.rows)-1))
	if m.cursor < len(m.rows) {
		m.selected = m.rows[m.cursor].name
	}
}

func (m *FleetModel) toggleMark() {
	if t := m.current(); t != "" {
		if m.marked[t] {
			delete(m.marked, t)
		} else {
			m.marked[t] = true
		}
		m.moveTo(m.cursor + 1)
	}
}

// current is the thing under the cursor, "" when no row is shown.
func (m *FleetModel) current() string {
	if m.cursor < len(m.rows) {
		return m.rows[m.cursor].name
	}
	return ""
}

// open shows the single-thing screen of the selected row.
func (m FleetModel) open() (FleetModel, tea.Cmd) {
	t := m.current()
	if t == "" {
		return m, nil
	}
	o := m.o.Single
	o.Conn, o.Thing, o.Mon = thingConn{m.o.Conn, t}, t, m.things[t]
	o.Warnings = nil // shown on the fleet screen, not again in the thing's log at every enter
	m.focusTag++
	inner := New(o).openedAs(m.focusTag)
	next, _ := inner.Update(tea.WindowSizeMsg{Width: m.width, Height: m.height})
	inner = next.(Model)
	m.focus = &inner
	return m, inner.nextTick()
}

func (m *FleetModel) getSelected() tea.Cmd {
	t := m.current()
	if t == "" {
		return nil
	}
	m.status = "getting the shadow of " + t + "…"
	return getShadow(t, thingConn{m.o.Conn, t})
}

// handleControlKey sends a [[control]]'s patch to the selected thing, or
// asks first when things are marked: each marked thing gets the patch made
// from its own state (a toggle flips each LED).
func (m FleetModel) handleControlKey(msg tea.KeyMsg) (FleetModel, tea.Cmd) {
	for i, b := range m.keys.Controls {
		if !key.Matches(msg, b) {
			continue
		}
		c := m.o.Single.Controls[i]
		targets := m.markedThings()
		if len(targets) == 0 {
			t := m.current()
			if t == "" {
				return m, nil
			}
			return m, sendDesired(t, thingConn{m.o.Conn, t}, controlPatch(c, m.things[t].Snapshot(m.now)))
		}
		cf := &fleetConfirm{label: b.Help().Desc, patches: map[string]map[string]any{}}
		for _, t := range targets {
			cf.patches[t] = controlPatch(c, m.things[t].Snapshot(m.now))
		}
		m.confirm = cf
		return m, nil
	}
	return m, nil
}

func (m *FleetModel) markedThings() []string {
	out := make([]string, 0, len(m.marked))
	for t := range m.marked {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// answer closes the confirmation; sendConfirmed sends on y.
func (m FleetModel) answer(msg tea.KeyMsg) FleetModel {
	if msg.String() == "y" {
		m.status = fmt.Sprintf("%s: sent to %d things", m.confirm.label, len(m.confirm.patches))
	} else {
		m.status = m.confirm.label + ": not sent"
	}
	m.confirm = nil
	return m
}

func (m FleetModel) sendConfirmed(msg tea.KeyMsg) tea.Cmd {
	if msg.String() != "y" {
		return nil
	}
	var cmds []tea.Cmd
	for t, p := range m.confirm.patches {
		cmds = append(cmds, sendDesired(t, thingConn{m.o.Conn, t}, p))
	}
	return tea.Batch(cmds...)
}

// thingConn is one thing of a fleet as the single-thing screen's Conn. Its
// Events is nil: the fleet screen passes that thing's events on.
type thingConn struct {
	fleet FleetConn
	thing string
}

func (c thingConn) Events() <-chan event.Event { return nil }
func (c thingConn) Get(ctx context.Context) error {
	return c.fleet.Get(ctx, c.thing)
}
func (c thingConn) UpdateDesired(ctx context.Context, patch map[string]any) (string, error) {
	return c.fleet.UpdateDesired(ctx, c.thing, patch)
}

// View is the last frame, or the open single-thing screen.
func (m FleetModel) View() string {
	if m.focus != nil {
		return m.focus.View()
	}
	return m.view
}

// matchesFilter is the filter: a part of the thing's name.
func (m *FleetModel) matchesFilter(thing string) bool {
	return strings.Contains(thing, m.filter.Value())
}
