package tui

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// column widths of the state table: each fits its longest cell, between
// the minimum and the maximum, and the widest give way when the table does
// not fit (a reported fw string stays whole at 80 columns).
var (
	columnNames = []string{"key", "reported", "desired", "delta", "age / pending"}
	columnMin   = []int{8, 8, 7, 5, 13}
	columnMax   = []int{26, 32, 24, 16, 48}
)

// tableKeys are every field of the shadow, and those with a desired value
// on its way, sorted.
func (m *Model) tableKeys() []string {
	keys := map[string]bool{}
	for _, mp := range []map[string]any{m.snap.Reported, m.snap.Desired, m.snap.Delta} {
		for k := range mp {
			keys[k] = true
		}
	}
	for k := range m.snap.Pending {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// tableCells are the table's text, a header row then one row per field;
// made once a frame (the layout asks for the table's width several times).
func (m *Model) tableCells() [][]string {
	if m.cells != nil {
		return m.cells
	}
	m.cells = [][]string{append([]string{"  " + columnNames[0]}, columnNames[1:]...)}
	for i, k := range m.tableKeys() {
		m.cells = append(m.cells, []string{m.marks(i, k) + k, cell(m.snap.Reported, k), cell(m.snap.Desired, k), cell(m.snap.Delta, k), m.fieldState(k)})
	}
	return m.cells
}

// marks are the row's two-cell gutter: the cursor (while the table has
// focus) and, in its series colour, whether the field is plotted.
func (m *Model) marks(row int, field string) string {
	cursor, plotted := " ", " "
	if row == m.cursor && !m.focusLog {
		cursor = "›"
	}
	if i := slices.Index(m.plotted, field); i >= 0 {
		plotted = m.seriesStyle(i).Render("●")
	}
	return cursor + plotted
}

// columnWidths fit the cells into width cells (columns joined by a space).
func columnWidths(cells [][]string, width int) []int {
	w := append([]int(nil), columnMin...)
	for _, row := range cells {
		for i, c := range row {
			w[i] = max(w[i], min(ansi.StringWidth(c), columnMax[i]))
		}
	}
	for total(w)+len(w)-1 > width {
		widest := 0
		for i := range w {
			if w[i]-columnMin[i] > w[widest]-columnMin[widest] {
				widest = i
			}
		}
		if w[widest] <= columnMin[widest] {
			break
		}
		w[widest]--
	}
	return w
}

func total(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// tableWidth is the table's width beside the pane on a wide terminal: what
// it needs, leaving the event log a third of the width (40 columns at least).
func (m *Model) tableWidth() int {
	w := columnWidths(m.tableCells(), m.width-max(40, m.width/3))
	return total(w) + len(w) - 1
}

// tableRows renders the table at the width it is shown at.
func (m *Model) tableRows() []string {
	width := m.width
	if m.width >= wideFrom {
		width = m.tableWidth()
	}
	cells := m.tableCells()
	w := columnWidths(cells, width)
	s := m.styles
	styles := []func(...string) string{s.Plain.Render, s.Reported.Render, s.Desired.Render, s.Plain.Render, s.Plain.Render}
	rows := make([]string, len(cells))
	for r, row := range cells {
		parts := make([]string, len(row))
		for i, c := range row {
			parts[i] = pad(c, w[i])
			if r > 0 {
				parts[i] = styles[i](parts[i])
			}
		}
		rows[r] = strings.TrimRight(strings.Join(parts, " "), " ")
		if r == 0 {
			rows[r] = s.Label.Render(rows[r])
		}
	}
	return rows
}

// fitTable shows the header and as many rows as fit in n, scrolled to keep
// the cursor in view; a cut table says which rows it shows.
func (m *Model) fitTable(rows []string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(rows) <= n {
		return strings.Join(rows, "\n")
	}
	fields, shown := len(rows)-1, max(0, n-1)
	if shown == 0 {
		return rows[0] + m.styles.Muted.Render(fmt.Sprintf("  ↕ %d hidden", fields))
	}
	top := max(0, min(m.cursor-shown/2, fields-shown))
	header := rows[0] + m.styles.Muted.Render(fmt.Sprintf("  ↕ %d–%d of %d", top+1, top+shown, fields))
	return strings.Join(append([]string{header}, rows[1+top:1+top+shown]...), "\n")
}

func (m *Model) fieldState(k string) string {
	if p, ok := m.snap.Pending[k]; ok {
		switch text := m.snap.PendingText[k]; {
		case p.Settled():
			return m.styles.Bad.Render(text) // the spinner stops: waiting changes nothing
		case text != "":
			return m.styles.Warn.Render(fmt.Sprintf("pending %v: %s", p.Value, text))
		}
		frame := spinnerFrames[m.frame%len(spinnerFrames)]
		return m.styles.Warn.Render(fmt.Sprintf("%s pending %v (%s)", frame, p.Value, m.now.Sub(p.SentAt).Round(100*time.Millisecond)))
	}
	if at, ok := m.snap.FieldAt[k]; ok {
		return m.styles.Muted.Render(ago(m.now.Sub(at)))
	}
	return ""
}

// spinnerFrames animate pending values on the redraw tick.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func cell(mp map[string]any, k string) string {
	v, ok := mp[k]
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}
