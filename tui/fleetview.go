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
	r.avail, _, _ = mon.Availability(now)
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
	header, footer := m.fleetHeader(), m.fleetFooter()
	list := max(0, m.height-lipgloss.Height(header)-lipgloss.Height(footer)-1)
	m.top = max(0, min(m.top, m.cursor), m.cursor-list+1)
	cols := m.columns()
	lines := []string{m.styles.Label.Render(cols.title())}
	for i := m.top; i < len(m.rows) && i < m.top+list; i++ {
		lines = append(lines, m.rowLine(cols, m.rows[i], i == m.cursor))
	}
	body := padRows(strings.Join(lines, "\n"), list+1)
	m.view = clip(header+"\n"+body+"\n"+footer, m.width, m.height)
}

// listRows is how many rows the last frame showed (a page).
func (m *FleetModel) listRows() int { return max(1, m.height-6) }

func (m *FleetModel) fleetHeader() string {
	count := map[monitor.DeviceState]int{}
	for _, r := range m.rows {
		count[r.state]++
	}
	parts := []string{m.styles.Title.Render("iotwatch fleet"), m.o.Single.Endpoint,
		fmt.Sprintf("%d things", len(m.things)),
		m.styles.Good.Render(fmt.Sprintf("%d online", count[monitor.DeviceOnline])),
		m.styles.Warn.Render(fmt.Sprintf("%d late", count[monitor.DeviceLate])),
		m.styles.Bad.Render(fmt.Sprintf("%d offline", count[monitor.DeviceOffline]))}
	if n := count[monitor.DeviceUnknown]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d unknown", n))
	}
	line2 := []string{"order: " + m.order.String(), fmt.Sprintf("%s over %s", m.field(), windowLabel(m.o.Single.Window))}
	if len(m.marked) > 0 {
		line2 = append(line2, fmt.Sprintf("%d marked", len(m.marked)))
	}
	if f := m.filter.Value(); f != "" && !m.filtering {
		line2 = append(line2, fmt.Sprintf("filter %q: %d shown", f, len(m.rows)))
	}
	return strings.Join(parts, " · ") + "\n" + m.styles.Muted.Render(strings.Join(line2, " · "))
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
	default:
		status = m.styles.Muted.Render(m.status)
	}
	if m.help.ShowAll {
		return status + "\n" + wrappedHelp(m.help, m.keys.FullHelp(), m.width)
	}
	return status + "\n" + m.help.ShortHelpView(m.keys.ShortHelp())
}

// fleetColumns are the widths of the name and the sparkline; the other
// columns are fixed.
type fleetColumns struct{ name, spark int }

const (
	fixedColumns = 2 + 1 + 7 + 1 + 8 + 1 + 8 + 1 + 1 + 5 + 1 + 7 + 1 + 4 + 1 + 5 + 1 + 4 // mark, state, age, value, counts and gaps
	sparkMax     = 60                                                                    // wider only repeats the coarse history's buckets
)

func (m *FleetModel) columns() fleetColumns {
	name := len("thing")
	for _, r := range m.rows {
		name = max(name, ansi.StringWidth(r.name))
	}
	name = min(name, 32, max(8, m.width/4))
	return fleetColumns{name: name, spark: min(sparkMax, max(4, m.width-fixedColumns-name))}
}

func (c fleetColumns) title() string {
	return "  " + pad("thing", c.name) + " " + pad("state", 7) + " " + fmt.Sprintf("%8s", "last") + " " + fmt.Sprintf("%8s", "value") + " " +
		pad("", c.spark) + " " + fmt.Sprintf("%5s %7s %4s %5s %4s", "drops", "avail", "boot", "lost", "pend")
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
	drops := fmt.Sprintf("%5d", r.dropouts)
	if r.open {
		drops = m.styles.Bad.Render(drops)
	}
	line := mark + pad(r.name, c.name) + " " + state + " " + fmt.Sprintf("%8s", age) + " " + fmt.Sprintf("%8s", truncate(r.value, 8)) + " " +
		sparkline(m.things[r.name].Series(m.field(), m.o.Single.Window, c.spark, m.now)) + " " +
		drops + fmt.Sprintf(" %6.2f%% %4d %5d %4d", r.avail, r.reboots, r.lost, r.pending)
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
