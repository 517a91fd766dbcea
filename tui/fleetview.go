package tui

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/iotwatch/iotwatch/monitor"
)

// fleetRow is one thing's line, read from its monitor once a frame.
type fleetRow struct {
	name                   string
	state                  monitor.DeviceState
	last                   time.Time
	dropouts               int
	open                   bool // the last dropout is still open
	avail                  float64
	availKnown             bool // it has reported: else availability is "–"
	reboots, lost, pending int
	value                  string // the plotted field's last reported value
}

// sortKind is the order of the rows; o cycles it.
type sortKind uint8

const (
	sortWorst sortKind = iota
	sortName
	sortAge
	sortAvailability
	sortKinds
)

func (s sortKind) String() string {
	return [...]string{"worst first", "name", "oldest report", "availability"}[s]
}

// badness ranks states for worst-first: offline, late, unknown, online.
var badness = map[monitor.DeviceState]int{monitor.DeviceOffline: 3, monitor.DeviceLate: 2, monitor.DeviceUnknown: 1}

func (s sortKind) compare(a, b fleetRow) int {
	switch s {
	case sortWorst:
		return cmp.Or(-cmp.Compare(badness[a.state], badness[b.state]), -cmp.Compare(a.dropouts, b.dropouts),
			cmp.Compare(a.avail, b.avail), -cmp.Compare(a.lost, b.lost), -cmp.Compare(a.reboots, b.reboots), cmp.Compare(a.name, b.name))
	case sortAge:
		return cmp.Or(a.last.Compare(b.last), cmp.Compare(a.name, b.name))
	case sortAvailability:
		return cmp.Or(cmp.Compare(a.avail, b.avail), cmp.Compare(a.name, b.name))
	}
	return cmp.Compare(a.name, b.name)
}

func rowOf(name string, mon *monitor.Monitor, field string, now time.Time) fleetRow {
	r := fleetRow{name: name, state: mon.Device(now), last: mon.LastReport(), reboots: mon.Counts.Reboots, lost: mon.Counts.LostReports, value: "—"}
	if v, ok := mon.Reported[field].(float64); ok {
		r.value = fmt.Sprintf("%.2f", v)
	}
	d := mon.Dropouts()
	r.dropouts = len(d)
	r.open = len(d) > 0 && d[len(d)-1].End.IsZero()
	var observed time.Duration
	r.avail, observed, _ = mon.Availability(now)
	r.availKnown = observed > 0 && mon.Counts.Reports > 0 && !math.IsNaN(r.avail)
	for _, p := range mon.Pending {
		if p.Rejected == "" {
			r.pending++
		}
	}
	return r
}

// render builds the frame: header, column titles, the rows that fit,
// status and help.
func (m *FleetModel) render() {
	m.rows = m.rows[:0]
	for t, mon := range m.things {
		if m.matchesFilter(t) {
			m.rows = append(m.rows, rowOf(t, mon, m.field(), m.now))
		}
	}
	slices.SortFunc(m.rows, m.order.compare)
	if i := slices.IndexFunc(m.rows, func(r fleetRow) bool { return r.name == m.selected }); i >= 0 {
		m.cursor = i // the thing the user chose stays selected as the rows move
	}
	m.cursor = max(0, min(m.cursor, len(m.rows)-1))
	footer := m.fleetFooter()
	// the header says which rows are shown, so the rows that fit are
	// counted with a header of as many lines as it will have
	m.list = max(0, m.height-lipgloss.Height(m.fleetHeader(len(m.rows)))-lipgloss.Height(footer)-1)
	m.top = max(0, min(m.top, m.cursor), m.cursor-m.list+1)
	header := m.fleetHeader(m.list)
	cols := m.columns()
	lines := []string{m.styles.Label.Render(cols.title())}
	for i := m.top; i < len(m.rows) && i < m.top+m.list; i++ {
		lines = append(lines, m.rowLine(cols, m.rows[i], i == m.cursor))
	}
	body := padRows(strings.Join(lines, "\n"), m.list+1)
	m.view = clip(header+"\n"+body+"\n"+footer, m.width, m.height)
}

// listRows is how many rows the last frame showed (a page).
func (m *FleetModel) listRows() int { return max(1, m.list) }

// fleetHeader counts the things shown by state, says the order, the
// sparkline's span and which rows list fits, flowed into the lines the
// width needs.
func (m *FleetModel) fleetHeader(list int) string {
	count := map[monitor.DeviceState]int{}
	for _, r := range m.rows {
		count[r.state]++
	}
	things := fmt.Sprintf("%d things", len(m.things))
	if len(m.rows) != len(m.things) {
		things = fmt.Sprintf("%d of %d things", len(m.rows), len(m.things))
	}
	parts := []string{m.styles.Title.Render("iotwatch fleet"), m.o.Single.Endpoint, things,
		m.styles.Good.Render(fmt.Sprintf("%d online", count[monitor.DeviceOnline]))}
	for _, st := range []struct {
		state monitor.DeviceState
		style lipgloss.Style
	}{{monitor.DeviceLate, m.styles.Warn}, {monitor.DeviceOffline, m.styles.Bad}, {monitor.DeviceUnknown, m.styles.Muted}} {
		if n := count[st.state]; n > 0 {
			parts = append(parts, st.style.Render(fmt.Sprintf("%d %s", n, st.state)))
		}
	}
	line2 := []string{"order: " + m.order.String(), m.sparkTitle()}
	if list < len(m.rows) {
		line2 = append(line2, fmt.Sprintf("%d–%d of %d", m.top+1, min(m.top+list, len(m.rows)), len(m.rows)))
	}
	if len(m.marked) > 0 {
		line2 = append(line2, fmt.Sprintf("%d marked", len(m.marked)))
	}
	if f := m.filter.Value(); f != "" && !m.filtering {
		line2 = append(line2, fmt.Sprintf("filter %q", f))
	}
	for i, p := range line2 {
		line2[i] = m.styles.Muted.Render(p)
	}
	header := flowWith(parts, m.width, " · ") + "\n" + flowWith(line2, m.width, " · ")
	if note := m.jobs.headerNote(m.styles, m.width); note != "" {
		header += "\n" + note
	}
	return header
}

// sparkSpan is the time the sparklines show: the window, or while the
// screen has watched for less, the time it watched (in the coarse
// history's 10 s), so that a new fleet's lines fill their width.
func (m *FleetModel) sparkSpan() time.Duration {
	window := m.o.Single.Window
	if m.since.IsZero() {
		return window
	}
	return min(window, max(10*time.Second, m.now.Sub(m.since).Truncate(10*time.Second)+10*time.Second))
}

func (m *FleetModel) sparkTitle() string {
	if span := m.sparkSpan(); span < m.o.Single.Window {
		return fmt.Sprintf("%s over the %s watched (of %s)", m.field(), windowLabel(span), windowLabel(m.o.Single.Window))
	}
	return fmt.Sprintf("%s over %s", m.field(), windowLabel(m.o.Single.Window))
}

func (m *FleetModel) field() string {
	if f := m.o.Single.Monitor.Field; f != "" {
		return f
	}
	return "temp"
}

func (m *FleetModel) fleetFooter() string {
	var status string
	switch {
	case m.confirm != nil:
		status = m.styles.Warn.Render(fmt.Sprintf("%s on %d marked things? (y/n)", m.confirm.label, len(m.confirm.patches)))
	case m.filtering:
		status = m.filter.View()
	case m.status != "":
		status = m.styles.Muted.Render(m.status)
	}
	help := m.help.ShortHelpView(m.keys.ShortHelp())
	if m.help.ShowAll {
		help = wrappedHelp(m.help, m.keys.FullHelp(), m.width)
	}
	return strings.Join(nonEmpty(status, help), "\n") // no status: its row is the list's
}

// fleetColumns are the widths of the name, the sparkline and the job
// column with its separator (0: no control plane to ask); the other columns
// are fixed.
type fleetColumns struct{ name, spark, job int }

const (
	fixedColumns = 2 + 1 + 7 + 1 + 6 + 1 + 7 + 1 + 1 + 4 + 1 + 6 + 1 + 4 + 1 + 4 + 1 + 4 // mark, state, age, value, counts and gaps
	sparkMin     = 12                                                                    // narrower shows too few buckets to read a trend
	sparkMax     = 60                                                                    // wider only repeats the coarse history's buckets
	nameMin      = 8
)

// columns fit the names, up to 32 cells, and the sparkline, at least
// sparkMin: on a narrow terminal long names give way (cut at their start:
// things differ at their end).
func (m *FleetModel) columns() fleetColumns {
	name := len("thing")
	for _, r := range m.rows {
		name = max(name, ansi.StringWidth(r.name))
	}
	job, sparkLeast := m.jobColumn()
	name = max(nameMin, min(name, 32, m.width-fixedColumns-sparkLeast-job))
	return fleetColumns{name: name, spark: min(sparkMax, max(sparkLeast, m.width-fixedColumns-name-job)), job: job}
}

// jobColumn is the job column's width with its separator and the
// sparkline's least width beside it: whole when the width has room, else
// narrow beside a narrower sparkline.
func (m *FleetModel) jobColumn() (job, sparkLeast int) {
	switch {
	case m.jobs.source == nil:
		return 0, sparkMin
	case m.width-fixedColumns-nameMin-sparkMin >= jobColumnWide:
		return jobColumnWide, sparkMin
	}
	return jobColumnNarrow, sparkMinNarrow
}

func (c fleetColumns) title() string {
	return "  " + pad("thing", c.name) + " " + pad("state", 7) + " " + fmt.Sprintf("%6s", "last") + " " + fmt.Sprintf("%7s", "value") + " " +
		pad("", c.spark) + " " + fmt.Sprintf("%4s %6s %4s %4s %4s", "drop", "avail", "boot", "lost", "pend") + c.jobTitle()
}

func (c fleetColumns) jobTitle() string {
	if c.job == 0 {
		return ""
	}
	return " " + pad("job", c.job-1)
}

func (m *FleetModel) rowLine(c fleetColumns, r fleetRow, selected bool) string {
	mark := "  "
	if m.marked[r.name] {
		mark = "✓ "
	}
	if selected {
		mark = string([]rune(mark)[0]) + "▶"
	}
	age := "—"
	if !r.last.IsZero() {
		age = shortAge(m.now.Sub(r.last))
	}
	state := m.stateStyle(r.state).Render(pad(r.state.String(), 7))
	drops := fmt.Sprintf("%4d", r.dropouts)
	if r.open {
		drops = m.styles.Bad.Render(drops)
	}
	avail := "–"
	if r.availKnown {
		avail = fmt.Sprintf("%.1f%%", r.avail)
	}
	line := mark + pad(truncateLeft(r.name, c.name), c.name) + " " + state + " " + fmt.Sprintf("%6s", age) + " " + fmt.Sprintf("%7s", truncate(r.value, 7)) + " " +
		pad(sparkline(m.things[r.name].Series(m.field(), m.sparkSpan(), c.spark, m.now)), c.spark) + " " +
		drops + fmt.Sprintf(" %6s %4d %4d %4d", avail, r.reboots, r.lost, r.pending)
	if c.job > 0 {
		line += " " + m.jobs.cell(m.styles, r.name, c.job-1)
	}
	if selected {
		return m.styles.Label.Render(line)
	}
	return line
}

func (m *FleetModel) stateStyle(s monitor.DeviceState) lipgloss.Style {
	switch s {
	case monitor.DeviceOnline:
		return m.styles.Good
	case monitor.DeviceLate:
		return m.styles.Warn
	case monitor.DeviceOffline:
		return m.styles.Bad
	}
	return m.styles.Muted
}

// shortAge is an age in at most 8 cells: 3s, 4m05s, 2h10m, 3d4h.
func shortAge(d time.Duration) string {
	d = d.Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws values as block heights by their own range, a space
// where nothing was reported (a dropout shows as a gap).
func sparkline(values []float64) string {
	var b strings.Builder
	for _, v := range normalize01(values) {
		if math.IsNaN(v) {
			b.WriteByte(' ')
			continue
		}
		b.WriteRune(sparkBlocks[min(len(sparkBlocks)-1, int(v*float64(len(sparkBlocks))))])
	}
	return b.String()
}
