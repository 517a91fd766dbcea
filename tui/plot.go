package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/guptarohit/asciigraph"
	"github.com/muesli/termenv"

	"github.com/iotwatch/iotwatch/monitor"
)

// maxPlotted is how many fields the plot shows together.
const maxPlotted = 3

// seriesColors are the 256-colour indexes of the plotted series, in order,
// shared by the lines (asciigraph) and their legend (lipgloss).
var seriesColors = []uint8{14, 13, 11}

// plotRequests are the series the plot shows: one mean per data column.
func (m *Model) plotRequests() []monitor.PlotRequest {
	at := m.now
	if m.paused {
		at = m.pausedAt
	}
	var out []monitor.PlotRequest
	for _, f := range m.plotted {
		out = append(out, monitor.PlotRequest{Field: f, Window: m.window, Points: plotColumns(m.width), End: at})
	}
	return out
}

// plotColumns is the one column count of the plot's data, its dropout
// strip and its time axis; the rest of the width is the y labels.
func plotColumns(width int) int { return max(10, width-12) }

// plot is height rows: title, graph, dropout strip, time axis.
func (m *Model) plot(height int) string {
	if height <= 0 {
		return ""
	}
	plots := m.snap.Plots
	title := m.plotTitle(plots)
	if !hasData(plots) {
		waiting := m.styles.Muted.Render(fmt.Sprintf("waiting for %s reports…", strings.Join(m.plotted, ", ")))
		return padRows(title+"\n"+waiting, height)
	}
	graph := m.graph(plots, max(1, height-2-lipgloss.Height(title)))
	cols := len(plots[0].Values)
	offset := axisOffset(graph)
	return strings.Join([]string{title, graph, m.timeline(plots, offset), m.timeAxis(plots[0].End, cols, offset)}, "\n")
}

func hasData(plots []monitor.Plot) bool {
	for _, p := range plots {
		if p.Summary.N > 0 && !allNaN(p.Values) {
			return true
		}
	}
	return false
}

// plotTitle names the series and their figures, flowed into as many lines
// as the width needs: nothing of it is cut at 80 columns.
func (m *Model) plotTitle(plots []monitor.Plot) string {
	over := m.styles.Label.Render("over " + windowLabel(m.window))
	paused := ""
	if m.paused {
		paused = m.styles.Warn.Render("PAUSED")
	}
	if len(plots) == 1 {
		p := plots[0]
		sum := p.Summary
		if m.paused { // the value reported now is not on the paused plot: its last point is
			sum.Last, sum.HasLast = lastValue(p.Values)
		}
		name := m.styles.Label.Render(p.Field + m.unitOf(p.Field))
		figures := m.styles.Label.Render(fmt.Sprintf("last %s  min %s  max %s  mean %s", figure(sum.HasLast, "%.2f", sum.Last),
			figure(sum.N > 0, "%.2f", sum.Min), figure(sum.N > 0, "%.2f", sum.Max), figure(sum.N > 0, "%.2f", sum.Mean)))
		return flow([]string{name + " " + over, figures, paused}, m.width)
	}
	items := make([]string, 0, len(plots)+2)
	for i, p := range plots {
		scale := ""
		if i > 0 {
			scale = " scaled"
		}
		items = append(items, m.seriesStyle(i).Render("━ "+p.Field)+m.unitOf(p.Field)+" "+valueRange(p.Summary)+scale)
	}
	return flow(append(items, over, paused), m.width)
}

// valueRange is "min–max" of a series in its shortest form, one value when flat.
func valueRange(s monitor.Summary) string {
	lo, hi := strconv.FormatFloat(s.Min, 'g', 6, 64), strconv.FormatFloat(s.Max, 'g', 6, 64)
	if lo == hi {
		return lo
	}
	return lo + "–" + hi
}

// unitOf is the configured unit, which belongs to the configured field only.
func (m *Model) unitOf(field string) string {
	if field != m.snap.Field || m.o.Unit == "" {
		return ""
	}
	return " (" + m.o.Unit + ")"
}

func (m *Model) seriesStyle(i int) lipgloss.Style {
	return m.styles.Series[i%len(m.styles.Series)]
}

// graph draws the series in rows rows. One series is drawn on its own
// scale; several are each scaled to the plot's height and the y labels are
// the first one's, as the title says. Each value is put on its row here
// (plotRow) and asciigraph draws whole rows 0…rows-1: given the values
// themselves, v0.10.0 computes round(v·ratio) - round(min·ratio), rounding
// twice, and draws points a row off their label.
func (m *Model) graph(plots []monitor.Plot, rows int) string {
	top := max(1, rows-1) // asciigraph draws Height+1 rows
	opts := []asciigraph.Option{asciigraph.Height(top), asciigraph.Width(len(plots[0].Values)),
		asciigraph.LowerBound(0), asciigraph.UpperBound(float64(top))}
	if lipgloss.ColorProfile() != termenv.Ascii {
		colors := make([]asciigraph.AnsiColor, len(plots))
		for i := range plots {
			colors[i] = asciigraph.AnsiColor(seriesColors[i%len(seriesColors)])
		}
		opts = append(opts, asciigraph.SeriesColors(colors...))
	}
	data := make([][]float64, len(plots))
	for i, p := range plots {
		lo, hi := bounds(p)
		data[i] = make([]float64, len(p.Values))
		for x, v := range p.Values {
			data[i][x] = plotRow(v, lo, hi, top)
		}
	}
	lo, hi := bounds(plots[0])
	label := func(row float64) string { return fmt.Sprintf("%.2f", lo+row*(hi-lo)/float64(top)) }
	return asciigraph.PlotMany(data, append(opts, asciigraph.YAxisValueFormatter(label))...)
}

// bounds are the plot's range of a series: its summary's min and max (the
// reports themselves, which the title shows; the columns are means within
// them), widened around a flat line so that it keeps the plot's height.
func bounds(p monitor.Plot) (lo, hi float64) {
	if p.Summary.N == 0 {
		return span(p.Values)
	}
	return widened(p.Summary.Min, p.Summary.Max)
}

// plotRow is the row (0 at the bottom, top at the top) whose label is nearest
// v on a plot from lo to hi; NaN stays NaN (a gap).
func plotRow(v, lo, hi float64, top int) float64 {
	if math.IsNaN(v) {
		return v
	}
	return max(0, min(float64(top), math.Round((v-lo)/(hi-lo)*float64(top))))
}

// span is the range of the values, widened around a flat line so that it
// keeps the plot's height (asciigraph draws a flat series as one row).
func span(values []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if !math.IsNaN(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	return widened(lo, hi)
}

// widened keeps a flat line's plot its height: half a unit either side.
func widened(lo, hi float64) (float64, float64) {
	if hi-lo < 1e-9 {
		return lo - 0.5, hi + 0.5
	}
	return lo, hi
}

// normalize01 maps values onto 0–1 by their own range (a flat line sits at
// the middle); NaN stays NaN.
func normalize01(values []float64) []float64 {
	lo, hi := span(values)
	out := make([]float64, len(values))
	for i, v := range values {
		out[i] = (v - lo) / (hi - lo)
	}
	return out
}

// timeline is a strip under the plot, one cell per data column: reports
// (▀), dropouts (✖), nothing ( ). Each run of one kind is styled once.
func (m *Model) timeline(plots []monitor.Plot, offset int) string {
	if offset < 0 {
		return ""
	}
	p := plots[0]
	start := p.End.Add(-p.Window)
	step := p.Window / time.Duration(len(p.Values))
	cells := make([]rune, len(p.Values))
	for i := range p.Values {
		from, to := start.Add(time.Duration(i)*step), start.Add(time.Duration(i+1)*step)
		switch {
		case inDropout(m.snap.Dropouts, from, to, p.End):
			cells[i] = '✖'
		case reported(plots, i):
			cells[i] = '▀'
		default:
			cells[i] = ' '
		}
	}
	style := map[rune]lipgloss.Style{'✖': m.styles.Bad, '▀': m.styles.Good, ' ': m.styles.Plain}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", offset))
	for i := 0; i < len(cells); {
		j := i
		for j < len(cells) && cells[j] == cells[i] {
			j++
		}
		b.WriteString(style[cells[i]].Render(string(cells[i:j])))
		i = j
	}
	return b.String()
}

func reported(plots []monitor.Plot, i int) bool {
	for _, p := range plots {
		if !math.IsNaN(p.Values[i]) {
			return true
		}
	}
	return false
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

// timeAxis labels cols data columns with wall-clock times: both ends, and
// the middle when there is room; with the date from 6 h windows on.
func (m *Model) timeAxis(end time.Time, cols, offset int) string {
	if offset < 0 {
		return ""
	}
	layout := "15:04:05"
	if m.window >= 6*time.Hour {
		layout = "Jan 2 15:04"
	}
	left, mid, right := end.Add(-m.window).Format(layout), end.Add(-m.window/2).Format(layout), end.Format(layout)
	axis := []rune(strings.Repeat("─", cols))
	place := func(label string, at int) {
		copy(axis[max(0, min(at, cols-len(label))):], []rune(label))
	}
	place(left, 0)
	if cols >= 3*len(mid)+6 {
		place(mid, cols/2-len(mid)/2)
	}
	place(right, cols-len(right))
	return m.styles.Muted.Render(strings.Repeat(" ", offset) + string(axis))
}

// windowLabel names a plot window as people write it: 1m, 10m, 6h, 24h, 8d.
func windowLabel(d time.Duration) string {
	switch {
	case d > 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// lastValue is the last value that is not NaN.
func lastValue(xs []float64) (float64, bool) {
	for i := len(xs) - 1; i >= 0; i-- {
		if !math.IsNaN(xs[i]) {
			return xs[i], true
		}
	}
	return 0, false
}

func allNaN(xs []float64) bool {
	for _, x := range xs {
		if !math.IsNaN(x) {
			return false
		}
	}
	return true
}
