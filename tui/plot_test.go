package tui

import (
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/monitor"
)

// drawnRows reads back, from a graph's text, the row each point was drawn
// on: asciigraph draws point x in column x as the start of the segment to
// x+1 (─ ╮ ╯, or ╴ before a gap) and in column x-1 as its end (─ ╰ ╭, or
// ╶ after a gap); the first point also marks the axis (┼). It returns the
// y labels, one per row, and for each point the rows found (-1: none).
func drawnRows(t *testing.T, graph string, points int) (labels []float64, rows [][]int) {
	t.Helper()
	lines := strings.Split(graph, "\n")
	offset := axisOffset(graph)
	if offset < 0 {
		t.Fatalf("no y axis:\n%s", graph)
	}
	rows = make([][]int, points)
	for r, line := range lines {
		cells := []rune(line)
		axis := strings.IndexAny(line, "┤┼")
		label, err := strconv.ParseFloat(strings.TrimSpace(line[:axis]), 64)
		if err != nil {
			t.Fatalf("row %d has no label: %q", r, line)
		}
		labels = append(labels, label)
		if cells[offset-1] == '┼' {
			rows[0] = append(rows[0], r)
		}
		for x := 0; x < points && offset+x < len(cells); x++ {
			switch cells[offset+x] {
			case '─':
				rows[x] = append(rows[x], r)
				rows[x+1] = append(rows[x+1], r)
			case '╮', '╯', '╴':
				rows[x] = append(rows[x], r)
			case '╰', '╭', '╶':
				rows[x+1] = append(rows[x+1], r)
			}
		}
	}
	return labels, rows
}

// TestPlotPutsEachPointOnItsNearestLabel draws many random series and
// reads the graph back: every point is drawn on one row, and that row's
// label is the one nearest the point's value (asciigraph v0.10.0 alone
// rounds v·ratio and min·ratio apart and puts points a row off).
func TestPlotPutsEachPointOnItsNearestLabel(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 1))
	for trial := range 500 {
		n := 10 + rng.IntN(60)
		height := 3 + rng.IntN(30)
		base, spread := rng.Float64()*200-100, 1+rng.Float64()*50
		values := make([]float64, n)
		for i := range values {
			values[i] = base + rng.Float64()*spread
			if rng.IntN(8) == 0 && i > 0 && i < n-1 {
				values[i] = math.NaN()
			}
		}
		lo, hi := span(values)
		m := newModel(newFakeConn())
		plots := []monitor.Plot{{Values: values, Summary: monitor.Summary{N: n, Min: lo, Max: hi}}}
		graph := m.graph(plots, height)
		labels, rows := drawnRows(t, graph, n)
		if len(labels) != height {
			t.Fatalf("trial %d: %d rows for a graph of %d:\n%s", trial, len(labels), height, graph)
		}
		if labels[0] != round2(hi) || labels[len(labels)-1] != round2(lo) {
			t.Fatalf("trial %d: labels %v–%v, values %v–%v", trial, labels[len(labels)-1], labels[0], lo, hi)
		}
		for x, v := range values {
			if math.IsNaN(v) {
				continue
			}
			drawn := rows[x]
			if len(drawn) == 0 {
				t.Fatalf("trial %d: point %d (%v) not drawn:\n%s", trial, x, v, graph)
			}
			nearest := 0
			for r, l := range labels {
				if math.Abs(l-v) < math.Abs(labels[nearest]-v) {
					nearest = r
				}
			}
			for _, r := range drawn {
				// labels are printed to 2 decimals: a tie within that is either row
				if math.Abs(labels[r]-v) > math.Abs(labels[nearest]-v)+0.011 {
					t.Fatalf("trial %d: point %d = %.3f drawn on row %d (label %.2f), nearest label %.2f (row %d):\n%s",
						trial, x, v, r, labels[r], labels[nearest], nearest, graph)
				}
			}
		}
	}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// TestHeaderAgreesWithTheAxis: the title's min and max are the axis's
// bottom and top labels, live and paused, and the last value shown while
// paused is one the paused plot holds.
func TestHeaderAgreesWithTheAxis(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 50}} {
		m := sized(newModel(newFakeConn()), size[0], size[1])
		m = update(m, demoReports(20))
		check := func(what string) {
			t.Helper()
			view := m.View()
			title := regexpFind(`min (\S+)  max (\S+)`, view)
			labels := axisLabels(view)
			if title == nil || len(labels) == 0 {
				t.Fatalf("%s %v: no title or axis:\n%s", what, size, view)
			}
			if title[2] != labels[0] || title[1] != labels[len(labels)-1] {
				t.Errorf("%s %v: title min %s max %s, axis %s–%s:\n%s", what, size, title[1], title[2], labels[len(labels)-1], labels[0], view)
			}
		}
		check("live")
		m, _ = press(m, "p")
		m = update(m, demoReportsFrom(21, 10, 30)) // later and higher than anything plotted
		check("paused")
		last := regexpFind(`last (-?[\d.]+)`, m.View())
		v, _ := strconv.ParseFloat(last[1], 64)
		title := regexpFind(`min (\S+)  max (\S+)`, m.View())
		lo, _ := strconv.ParseFloat(title[1], 64)
		hi, _ := strconv.ParseFloat(title[2], 64)
		if v < lo || v > hi {
			t.Errorf("paused %v: last %v outside the plotted %v–%v:\n%s", size, v, lo, hi, m.View())
		}
	}
}

func sized(m Model, w, h int) Model { return update(m, tea.WindowSizeMsg{Width: w, Height: h}) }

// regexpFind is the first match of expr in s with its groups, nil if none.
func regexpFind(expr, s string) []string { return regexp.MustCompile(expr).FindStringSubmatch(s) }

// axisLabels are the plot's y labels, top first.
func axisLabels(view string) []string {
	var out []string
	for _, l := range strings.Split(view, "\n") {
		if m := regexp.MustCompile(`^\s*(-?\d+\.\d+) [┤┼]`).FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// demoReportsFrom are n more reports of the plotted field from seq first
// on, each a second after t0+30s, around base.
func demoReportsFrom(first, n int, base float64) eventsMsg {
	var evs eventsMsg
	for i := range n {
		evs = append(evs, event.ShadowDoc{At: t0.Add(time.Duration(30+i) * time.Second), Kind: event.DocAccepted, Version: int64(first + i),
			Reported: map[string]any{"temp": base + float64(i)/10, "seq": float64(first + i)}})
	}
	return evs
}
