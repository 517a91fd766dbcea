package tui

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/guptarohit/asciigraph"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/monitor"
)

// View only returns the frame render() built when something changed.
func (m Model) View() string { return m.view }

// render rebuilds the frame from the state.
func (m *Model) render() {
	header := m.header()
	footer := m.footer()
	rest := m.height - lipgloss.Height(header) - lipgloss.Height(footer)
	table := m.table()
	plotHeight := max(3, rest-lipgloss.Height(table)-6)
	if m.width >= 120 {
		plotHeight = max(3, rest/2-3)
	}
	plot := m.plot(plotHeight)
	body := lipgloss.JoinVertical(lipgloss.Left, plot, m.lower(table, rest-lipgloss.Height(plot)))
	frame := lipgloss.JoinVertical(lipgloss.Left, header, clip(body, m.width, rest), footer)
	m.view = clip(frame, m.width, m.height)
}

// clip cuts the frame to the terminal: no wrapped line, no scrolled top.
func clip(s string, width, height int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > height {
		lines = lines[:height]
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(strings.TrimRight(l, " "), width, "…")
	}
	return strings.Join(lines, "\n")
}

func (m *Model) header() string {
	s := m.styles
	link := m.mon.Link
	linkText := s.Warn.Render(link.State.String())
	switch link.State {
	case event.LinkUp:
		linkText = s.Good.Render("up")
	case event.LinkDown:
		linkText = s.Bad.Render("down: " + link.Err)
	case event.LinkConnecting:
		if link.Attempt > 0 {
			linkText = s.Warn.Render(fmt.Sprintf("reconnecting (attempt %d)", link.Attempt))
		}
	}
	dev := m.mon.Device(m.now)
	devStyle := map[monitor.DeviceState]lipgloss.Style{monitor.DeviceOnline: s.Good, monitor.DeviceLate: s.Warn, monitor.DeviceOffline: s.Bad}[dev]
	if dev == monitor.DeviceUnknown {
		devStyle = s.Muted
	}
	age := "no report yet"
	if last := m.mon.LastReport(); !last.IsZero() {
		age = "last report " + ago(m.now.Sub(last))
	}
	line1 := fmt.Sprintf("%s  %s @ %s   link %s   device %s (%s)   v%d", s.Title.Render("iotwatch"),
		s.Label.Render(m.o.Thing), m.o.Endpoint, linkText, devStyle.Render(dev.String()), age, m.mon.Version)
	c := m.mon.Counts
	avail, observed, _ := m.mon.Availability(m.now)
	line2 := s.Muted.Render(fmt.Sprintf("reports %d  dropouts %d  avail %s  lost %d  reboots %d  rejected %d  malformed %d  dropped %d  round trip p50 %s  mem %.1f MB",
		c.Reports, m.mon.DropoutCount(), figure(observed > 0, "%.2f%%", avail), c.LostReports, c.Reboots, c.Rejections, c.Malformed, c.Dropped,
		figure(len(m.mon.RoundTrip) > 0, "%s", m.mon.RoundTripPercentile(50).Round(time.Millisecond)), float64(m.o.Memory())/(1<<20)))
	return line1 + "\n" + line2
}

// figure formats a value, or shows "–" while there is no data for it: never
// a number that looks real (0.00, 0s, 100 %) before anything was measured.
func figure(known bool, format string, args ...any) string {
	if !known {
		return "–"
	}
	return fmt.Sprintf(format, args...)
}

func ago(d time.Duration) string {
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	}
	return d.Round(time.Second).String() + " ago"
}

func (m *Model) plot(height int) string {
	field := m.mon.Field()
	at := m.now
	if m.paused {
		at = m.pausedAt
	}
	width := max(10, m.width-12)
	series := m.mon.Series(field, m.window, width, at)
	sum := m.mon.Summarize(field, m.window, at)
	title := fmt.Sprintf("%s (%s) over %s   last %s  min %s  max %s  mean %s", field, m.o.Unit, m.window, figure(sum.HasLast, "%.2f", sum.Last),
		figure(sum.N > 0, "%.2f", sum.Min), figure(sum.N > 0, "%.2f", sum.Max), figure(sum.N > 0, "%.2f", sum.Mean))
	if m.paused {
		title += "   " + m.styles.Warn.Render("PAUSED")
	}
	if sum.N == 0 || allNaN(series) {
		return m.styles.Label.Render(title) + "\n" + m.styles.Muted.Render(fmt.Sprintf("waiting for %s reports…", field)) + strings.Repeat("\n", height)
	}
	graph := asciigraph.Plot(series, asciigraph.Height(height), asciigraph.Width(width))
	return m.styles.Label.Render(title) + "\n" + graph + "\n" + m.timeline(graph, series, at) + "\n" + m.timeAxis(graph, at)
}

// timeline is a strip under the plot: reports (▀), dropouts (✖), nothing ( ).
func (m *Model) timeline(graph string, series []float64, end time.Time) string {
	offset := axisOffset(graph)
	if offset < 0 {
		return ""
	}
	start := end.Add(-m.window)
	step := m.window / time.Duration(len(series))
	var b strings.Builder
	for i, v := range series {
		from, to := start.Add(time.Duration(i)*step), start.Add(time.Duration(i+1)*step)
		switch {
		case inDropout(m.mon.Dropouts(), from, to, end):
			b.WriteString(m.styles.Bad.Render("✖"))
		case !math.IsNaN(v):
			b.WriteString(m.styles.Good.Render("▀"))
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Repeat(" ", offset) + b.String()
}

func inDropout(dropouts []monitor.Dropout, from, to, now time.Time) bool {
	for i := len(dropouts) - 1; i >= 0; i-- {
		d := dropouts[i]
		end := d.End
		if end.IsZero() {
			end = now
		}
		if d.Start.Before(to) && end.After(from) {
			return true
		}
		if end.Before(from) {
			return false
		}
	}
	return false
}

// axisOffset is the column where the plot's data starts, or -1.
func axisOffset(graph string) int {
	first := strings.SplitN(graph, "\n", 2)[0]
	axis := strings.IndexAny(first, "┤┼")
	if axis < 0 {
		return -1
	}
	return lipgloss.Width(first[:axis]) + 1
}

// timeAxis labels the plot's wall-clock span under its data columns.
func (m *Model) timeAxis(graph string, end time.Time) string {
	offset := axisOffset(graph)
	if offset < 0 {
		return ""
	}
	width := lipgloss.Width(strings.SplitN(graph, "\n", 2)[0]) - offset
	layout := "15:04:05"
	if m.window > 24*time.Hour {
		layout = "Jan 2 15:04"
	}
	left, right := end.Add(-m.window).Format(layout), end.Format(layout)
	gap := max(1, width-len(left)-len(right))
	return m.styles.Muted.Render(strings.Repeat(" ", offset) + left + strings.Repeat("─", gap) + right)
}

func allNaN(xs []float64) bool {
	for _, x := range xs {
		if !math.IsNaN(x) {
			return false
		}
	}
	return true
}

// table lists every field: reported, desired, delta, age, pending.
func (m *Model) table() string {
	s := m.styles
	keys := map[string]bool{}
	for _, mp := range []map[string]any{m.mon.Reported, m.mon.Desired, m.mon.Delta} {
		for k := range mp {
			keys[k] = true
		}
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	rows := []string{s.Label.Render(fmt.Sprintf("%-14s %-14s %-12s %-10s %s", "key", "reported", "desired", "delta", "age / pending"))}
	for _, k := range names {
		rows = append(rows, fmt.Sprintf("%-14s %s %s %-10s %s", trunc(k, 14),
			s.Reported.Render(fmt.Sprintf("%-14s", cell(m.mon.Reported, k, 14))),
			s.Desired.Render(fmt.Sprintf("%-12s", cell(m.mon.Desired, k, 12))), cell(m.mon.Delta, k, 10), m.fieldState(k)))
	}
	return strings.Join(rows, "\n")
}

func (m *Model) fieldState(k string) string {
	if p, ok := m.mon.Pending[k]; ok {
		switch text := m.mon.PendingText(p, m.now); {
		case p.Settled():
			return m.styles.Bad.Render(text) // the spinner stops: waiting changes nothing
		case text != "":
			return m.styles.Warn.Render(fmt.Sprintf("pending %v: %s", p.Value, text))
		}
		frame := spinnerFrames[m.frame%len(spinnerFrames)]
		return m.styles.Warn.Render(fmt.Sprintf("%s pending %v (%s)", frame, p.Value, m.now.Sub(p.SentAt).Round(100*time.Millisecond)))
	}
	if at, ok := m.mon.FieldAt[k]; ok {
		return m.styles.Muted.Render(ago(m.now.Sub(at)))
	}
	return ""
}

// spinnerFrames animate pending values on the redraw tick.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func cell(mp map[string]any, k string, width int) string {
	v, ok := mp[k]
	if !ok {
		return ""
	}
	return trunc(fmt.Sprint(v), width)
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// tableWidth fits the state table's columns.
const tableWidth = 76

// lower is the state table beside (wide) or above (narrow) the event log.
func (m *Model) lower(table string, height int) string {
	if m.editing {
		msg := m.styles.Muted.Render("desired patch as JSON — ctrl+s send, esc cancel")
		if m.editErr != "" {
			msg = m.styles.Bad.Render(m.editErr)
		}
		return lipgloss.JoinVertical(lipgloss.Left, m.editor.View(), msg)
	}
	if m.showSoak {
		return m.soakPanel()
	}
	if m.width >= 120 {
		left := lipgloss.NewStyle().Width(tableWidth).Render(table)
		return lipgloss.JoinHorizontal(lipgloss.Top, left, m.eventLog(height, m.width-tableWidth))
	}
	return lipgloss.JoinVertical(lipgloss.Left, table, m.eventLog(height-lipgloss.Height(table), m.width))
}

// eventLog shows the newest entries, or, once paged back, holds the same
// entries in place while new ones arrive below, with a line saying how many.
func (m *Model) eventLog(height, width int) string {
	m.logRows = height
	if height < 1 {
		return ""
	}
	events, total := m.mon.Events(), m.mon.EventsLogged()
	first := total - len(events) // entry number before events[0]
	end, rows := total, height
	if m.logPin > 0 {
		end, rows = max(min(m.logPin, total), first+1), height-1
	}
	var lines []string
	for _, e := range events[max(0, end-rows-first) : end-first] {
		style := map[monitor.Severity]lipgloss.Style{monitor.Info: m.styles.Muted, monitor.Good: m.styles.Good, monitor.Warn: m.styles.Warn, monitor.Bad: m.styles.Bad}[e.Severity]
		lines = append(lines, style.Render(trunc(e.At.Format("15:04:05")+" "+e.Text, max(10, width-1))))
	}
	if m.logPin > 0 {
		lines = append(lines, m.styles.Label.Render(trunc(fmt.Sprintf("▼ %d newer (pgdn, end follows)", total-end), max(10, width-1))))
	}
	return strings.Join(lines, "\n")
}

func (m *Model) footer() string {
	status := ""
	if m.status != "" {
		status = m.styles.Warn.Render(m.status) + "\n"
	}
	if m.help.ShowAll {
		return status + m.fullHelp()
	}
	return status + m.help.View(m.keys)
}

// fullHelp lays the key groups out in as many rows as the width needs,
// where bubbles/help would cut the groups that do not fit.
func (m *Model) fullHelp() string {
	wide := m.help
	wide.Width = 0
	var rows []string
	var row [][]key.Binding
	for _, group := range m.keys.FullHelp() {
		if len(row) > 0 && lipgloss.Width(wide.FullHelpView(append(row, group))) > m.width {
			rows = append(rows, wide.FullHelpView(row))
			row = nil
		}
		row = append(row, group)
	}
	return strings.Join(append(rows, wide.FullHelpView(row)), "\n")
}

// soakPanel shows the soak statistics in place of the table and log.
func (m *Model) soakPanel() string {
	st := m.mon.Stats(m.now)
	gaps, trips := st.LongestGap > 0, st.RoundTrips > 0
	lines := []string{m.styles.Label.Render("soak statistics (s closes)"),
		fmt.Sprintf("observed %s   blind %s   availability %s", st.Observed.Round(time.Second), st.Blind.Round(time.Second), figure(st.Observed > 0, "%.3f%%", st.Availability)),
		fmt.Sprintf("dropouts %d   longest gap %s   MTBF %s", len(st.Dropouts), figure(gaps, "%s", st.LongestGap.Round(time.Millisecond)), figure(len(st.Dropouts) > 0, "%s", st.MTBF.Round(time.Second))),
		fmt.Sprintf("gap p50 %s   p95 %s   p99 %s", figure(gaps, "%s", st.GapP50.Round(time.Millisecond)), figure(gaps, "%s", st.GapP95.Round(time.Millisecond)), figure(gaps, "%s", st.GapP99.Round(time.Millisecond))),
		fmt.Sprintf("reboots %d   lost reports %d   device reconnects %d", st.Reboots, st.LostReports, st.DeviceReconnects),
		fmt.Sprintf("desired round trip p50 %s   p95 %s", figure(trips, "%s", st.RoundTripP50.Round(time.Millisecond)), figure(trips, "%s", st.RoundTripP95.Round(time.Millisecond)))}
	for i := max(0, len(st.Dropouts)-5); i < len(st.Dropouts); i++ {
		d := st.Dropouts[i]
		lines = append(lines, m.styles.Bad.Render(fmt.Sprintf("  dropout %s for %s (%s)", d.Start.Format("15:04:05"), d.Duration(m.now).Round(100*time.Millisecond), d.Cause)))
	}
	return strings.Join(lines, "\n")
}
