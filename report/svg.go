package report

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/monitor"
)

const (
	svgW, svgH   = 900, 320
	padL, padR   = 70, 20
	padT, padB   = 30, 50
	plotW, plotH = svgW - padL - padR, svgH - padT - padB
	yLabels      = 5
	xLabels      = 5
)

// SVG draws the field over the run: reports joined where they are
// contiguous (a dropout between two reports leaves a gap), dropouts shaded
// and labelled, gridlines, five y labels with the unit and time labels
// (with dates for runs longer than a day). points holds one mean per
// column group, evenly spread from run.Start to run.End (NaN where nothing
// was reported).
func SVG(run Run, points []float64, dropouts []monitor.Dropout) []byte {
	c := chart{run: run, points: points, dropouts: dropouts}
	c.lo, c.hi = niceBounds(bounds(points))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", svgW, svgH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgW, svgH)
	c.grid(&b)
	c.shadeDropouts(&b)
	c.line(&b)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", padL, padT, plotW, plotH)
	title := escape(run.Field)
	if run.Unit != "" {
		title += " (" + escape(run.Unit) + ")"
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>`+"\n</svg>\n", padL, padT-10, title)
	return []byte(b.String())
}

// chart is one SVG being drawn.
type chart struct {
	run      Run
	points   []float64
	dropouts []monitor.Dropout
	lo, hi   float64
}

func (c *chart) x(t time.Time) float64 {
	span := c.run.End.Sub(c.run.Start)
	return padL + float64(plotW)*float64(t.Sub(c.run.Start))/float64(max(span, 1))
}

func (c *chart) y(v float64) float64 { return padT + float64(plotH)*(1-(v-c.lo)/(c.hi-c.lo)) }

// at is the time of point i.
func (c *chart) at(i int) time.Time {
	span := c.run.End.Sub(c.run.Start)
	return c.run.Start.Add(time.Duration(float64(span) * float64(i) / float64(max(len(c.points)-1, 1))))
}

// grid draws five y levels with their values and five time marks.
func (c *chart) grid(b *strings.Builder) {
	for i := range yLabels {
		v := c.lo + (c.hi-c.lo)*float64(i)/float64(yLabels-1)
		y := c.y(v)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e4e4e4"/>`+"\n", padL, y, padL+plotW, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", padL-6, y, monitor.FormatNumber(v))
	}
	layout := "15:04:05"
	if c.run.End.Sub(c.run.Start) > 24*time.Hour || c.run.Start.UTC().YearDay() != c.run.End.UTC().YearDay() {
		layout = "Jan 2 15:04"
	}
	for i := range xLabels {
		t := c.run.Start.Add(c.run.End.Sub(c.run.Start) * time.Duration(i) / (xLabels - 1))
		x := c.x(t)
		anchor := map[int]string{0: "start", xLabels - 1: "end"}[i]
		if anchor == "" {
			anchor = "middle"
		}
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e4e4e4"/>`+"\n", x, padT, x, padT+plotH)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="%s">%s</text>`+"\n", x, padT+plotH+16, anchor, t.UTC().Format(layout))
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end" fill="#666">UTC, %s to %s</text>`+"\n", padL+plotW, svgH-10,
		c.run.Start.UTC().Format("2006-01-02 15:04:05"), c.run.End.UTC().Format("2006-01-02 15:04:05"))
}

// shadeDropouts shades each dropout and labels it with its length.
func (c *chart) shadeDropouts(b *strings.Builder) {
	for _, d := range c.dropouts {
		start, end := d.Start, d.End
		if end.IsZero() {
			end = c.run.End
		}
		if start.Before(c.run.Start) {
			start = c.run.Start // the device was silent before the run began
		}
		x, w := c.x(start), math.Max(1, c.x(end)-c.x(start))
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#f4a6a6" opacity="0.6"><title>dropout %s (%s)</title></rect>`+"\n",
			x, padT, w, plotH, dur(d.Duration(c.run.End)), escape(d.Cause))
		fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="#b22" font-size="10">dropout %s</text>`+"\n", x+2, padT+12, dur(d.Duration(c.run.End)))
	}
}

// line joins the points of each contiguous stretch; a point alone is a dot.
func (c *chart) line(b *strings.Builder) {
	for _, path := range c.stretches() {
		if len(path) == 1 {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="2" fill="#1f77b4"/>`+"\n", c.x(c.at(path[0])), c.y(c.points[path[0]]))
			continue
		}
		pts := make([]string, len(path))
		for k, i := range path {
			pts[k] = fmt.Sprintf("%.1f,%.1f", c.x(c.at(i)), c.y(c.points[i]))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="%s"/>`+"\n", strings.Join(pts, " "))
	}
}

// stretches splits the indexes of the points that have a value where a
// dropout lies between two of them: empty columns between reports a few
// columns apart are not a gap, a dropout is.
func (c *chart) stretches() [][]int {
	var out [][]int
	var cur []int
	for i, v := range c.points {
		if math.IsNaN(v) {
			continue
		}
		if len(cur) > 0 && c.dropoutBetween(c.at(cur[len(cur)-1]), c.at(i)) {
			out, cur = append(out, cur), nil
		}
		cur = append(cur, i)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func (c *chart) dropoutBetween(from, to time.Time) bool {
	for _, d := range c.dropouts {
		end := d.End
		if end.IsZero() {
			end = c.run.End
		}
		if d.Start.Before(to) && end.After(from) {
			return true
		}
	}
	return false
}

func bounds(points []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range points {
		if !math.IsNaN(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if math.IsInf(lo, 1) {
		return 0, 1
	}
	return lo, hi
}

// niceBounds widens lo..hi to round steps, so the top value sits inside the
// frame and the five labels are round numbers.
func niceBounds(lo, hi float64) (float64, float64) {
	if hi == lo {
		lo, hi = lo-0.5, hi+0.5
	}
	raw := (hi - lo) / float64(yLabels-1)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	lo = math.Floor(lo/step) * step
	for lo+step*float64(yLabels-1) < hi {
		step *= 2
	}
	return lo, lo + step*float64(yLabels-1)
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
