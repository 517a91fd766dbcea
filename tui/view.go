package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/iotwatch/iotwatch/monitor"
)

// View only returns the frame render() built when something changed.
func (m Model) View() string { return m.view }

// render rebuilds the frame from a snapshot of the monitor: every view
// reads m.snap, never the monitor itself.
func (m *Model) render() {
	m.builtAt, m.cells = m.now, nil
	m.snap = m.mon.Snapshot(m.now, monitor.Want{Plots: m.plotRequests(), Stats: m.pane == paneSoak})
	header, footer := m.header(), m.footer()
	rest := max(0, m.height-lipgloss.Height(header)-lipgloss.Height(footer))
	frame := header + "\n" + padRows(firstRows(m.body(rest), rest), rest) + "\n" + footer
	m.view = clip(frame, m.width, m.height)
}

// Below the header: the plot on top, the state table and a pane (the
// event log, the editor or the soak statistics) under it (narrow) or side
// by side (wide). The plot keeps at least plotMin rows, the table the rows
// it needs when they fit; the event log grows into what is left.
const (
	plotMin  = 6   // title, three rows of data, the dropout strip, the time axis
	logMin   = 2   // event log rows kept under a narrow table
	wideFrom = 120 // columns from which the table and the pane sit side by side
)

// rows is how the body's rows are shared.
type rows struct{ plot, table, pane int }

// share splits rest rows. tableWant is the table's full height; paneMin
// what the pane needs and paneWant what its content fills; a pane that
// grows (the log) takes up to half of the rows left over, no more than it
// fills, and the plot takes the rest: no row is left empty.
func share(rest, tableWant, paneMin, paneWant int, paneGrows, wide bool) rows {
	if !paneGrows {
		paneWant = paneMin
	}
	if wide {
		lower := max(tableWant, paneMin, min(rest/2, paneWant))
		lower = max(0, min(lower, rest-plotMin))
		return rows{plot: rest - lower, table: min(tableWant, lower), pane: lower}
	}
	r := rows{plot: min(plotMin, rest)}
	r.pane = min(paneMin, rest-r.plot)
	r.table = min(tableWant, rest-r.plot-r.pane)
	extra := rest - r.plot - r.pane - r.table
	grow := min(extra/2, max(0, paneWant-r.pane))
	r.pane += grow
	r.plot += extra - grow
	return r
}

func (m *Model) body(rest int) string {
	switch m.pane {
	case paneDoc:
		return m.documentPane(rest)
	case paneTopics:
		return m.topicsPane(rest)
	case paneJobs:
		return m.jobs.View(m.width, rest, m.now)
	}
	wide := m.width >= wideFrom
	m.cursor = max(0, min(m.cursor, len(m.tableKeys())-1))
	m.cells = nil // made with the cursor in place
	table := m.tableRows()
	paneMin, paneGrows := max(logMin, m.logNeed(m.paneWidth())), true
	switch m.pane {
	case paneEditor:
		paneMin, paneGrows = lipgloss.Height(m.editorPane(m.paneWidth())), false
	case paneSoak:
		paneMin, paneGrows = len(m.soakLines()), false
	}
	r := share(rest, len(table), paneMin, len(m.snap.Events)+1, paneGrows, wide)
	plot := m.plot(r.plot)
	pane := m.paneView(r.pane, m.paneWidth())
	shown := m.fitTable(table, r.table)
	if wide {
		return plot + "\n" + joinColumns(strings.Split(shown, "\n"), m.tableWidth(), strings.Split(pane, "\n"))
	}
	return strings.Join(nonEmpty(plot, shown, pane), "\n")
}

// paneWidth is the pane's width: beside the table on a wide terminal.
func (m *Model) paneWidth() int {
	if m.width >= wideFrom {
		return m.width - m.tableWidth() - 1
	}
	return m.width
}

// paneView is what sits under or beside the table.
func (m *Model) paneView(height, width int) string {
	switch m.pane {
	case paneEditor:
		return m.editorPane(width)
	case paneSoak:
		return strings.Join(m.soakLines(), "\n")
	}
	return m.eventLog(height, width)
}

func nonEmpty(parts ...string) []string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
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

// firstRows is s's first n lines (clip cuts their width in the frame).
func firstRows(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(len(lines), n)], "\n")
}

// padRows fills s with empty lines to n rows, so the footer stays at the bottom.
func padRows(s string, n int) string {
	return s + strings.Repeat("\n", max(0, n-lipgloss.Height(s)))
}

// flow lays items out left to right with two spaces between them, starting
// a new line where the next one does not fit: nothing is cut but an item
// wider than the whole line.
func flow(items []string, width int) string { return flowWith(items, width, "  ") }

// flowWith is flow with sep between the items of a line.
func flowWith(items []string, width int, sep string) string {
	var lines []string
	line := ""
	for _, it := range items {
		if it == "" {
			continue
		}
		it = truncate(it, width)
		switch {
		case line == "":
			line = it
		case ansi.StringWidth(line)+ansi.StringWidth(sep)+ansi.StringWidth(it) <= width:
			line += sep + it
		default:
			lines = append(lines, line)
			line = it
		}
	}
	return strings.Join(append(lines, line), "\n")
}
