package report

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/monitor"
)

const (
	svgW, svgH   = 900, 300
	padL, padR   = 60, 20
	padT, padB   = 20, 40
	plotW, plotH = svgW - padL - padR, svgH - padT - padB
)

// SVG draws the field over the run with dropouts shaded; points holds one
// mean per horizontal pixel column group (NaN where nothing was reported).
func SVG(run Run, points []float64, dropouts []monitor.Dropout) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", svgW, svgH)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="white" stroke="#888"/>`+"\n", padL, padT, plotW, plotH)
	span := run.End.Sub(run.Start)
	x := func(t time.Time) float64 {
		return padL + float64(plotW)*float64(t.Sub(run.Start))/float64(max(span, 1))
	}
	for _, d := range dropouts {
		start, end := d.Start, d.End
		if end.IsZero() {
			end = run.End
		}
		if start.Before(run.Start) {
			start = run.Start // the device was silent before the run began
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#f4a6a6" opacity="0.6"><title>dropout %s (%s)</title></rect>`+"\n",
			x(start), padT, math.Max(1, x(end)-x(start)), plotH, dur(d.Duration(run.End)), d.Cause)
	}
	lo, hi := bounds(points)
	y := func(v float64) float64 { return padT + float64(plotH)*(1-(v-lo)/(hi-lo)) }
	for _, path := range segments(points) {
		var pts []string
		for _, i := range path {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", padL+float64(plotW)*float64(i)/float64(max(len(points)-1, 1)), y(points[i])))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="%s"/>`+"\n", strings.Join(pts, " "))
	}
	fmt.Fprintf(&b, `<text x="5" y="%d">%.2f</text><text x="5" y="%d">%.2f</text>`+"\n", padT+10, hi, padT+plotH, lo)
	fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text><text x="%d" y="%d" text-anchor="end">%s</text>`+"\n",
		padL, svgH-15, run.Start.UTC().Format("2006-01-02 15:04:05"), svgW-padR, svgH-15, run.End.UTC().Format("2006-01-02 15:04:05 UTC"))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n</svg>\n", svgW/2, svgH-15, escape(run.Field))
	return []byte(b.String())
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
	if hi == lo {
		hi = lo + 1
	}
	return lo, hi
}

// segments splits the indexes of non-NaN points into runs, so gaps stay gaps.
func segments(points []float64) [][]int {
	var out [][]int
	var cur []int
	for i, v := range points {
		if math.IsNaN(v) {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, i)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
