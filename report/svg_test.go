package report

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/monitor"
)

// TestSVGJoinsReportsAndLabelsTheChart: six reports over 600 columns are
// one line, a dropout splits it and is labelled; five y labels, the unit,
// dates for a run over a day.
func TestSVGJoinsReportsAndLabelsTheChart(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	points := make([]float64, 600)
	for i := range points {
		points[i] = math.NaN()
	}
	for _, i := range []int{0, 100, 200, 300, 400, 500} {
		points[i] = 20 + float64(i)/100
	}
	run := Run{Thing: "t", Field: "temp", Unit: "°C", Start: t0, End: t0.Add(6 * time.Second)}
	svg := string(SVG(run, points, nil))
	if n := strings.Count(svg, "<polyline"); n != 1 {
		t.Errorf("%d polylines for six contiguous reports, want 1", n)
	}
	if n := len(regexp.MustCompile(`text-anchor="end" dominant-baseline="middle"`).FindAllString(svg, -1)); n != 5 {
		t.Errorf("%d y labels, want 5", n)
	}
	if !strings.Contains(svg, "temp (°C)") || strings.Count(svg, `stroke="#e4e4e4"`) < 10 {
		t.Error("no unit in the title or no gridlines")
	}
	drop := []monitor.Dropout{{Start: t0.Add(2500 * time.Millisecond), End: t0.Add(3900 * time.Millisecond), Cause: "silence"}}
	split := string(SVG(run, points, drop))
	if n := strings.Count(split, "<polyline"); n != 2 || !strings.Contains(split, ">dropout 1.4s<") {
		t.Errorf("a dropout between reports: %d polylines, label present %v", n, strings.Contains(split, ">dropout"))
	}
	long := run
	long.End = t0.Add(50 * time.Hour)
	if svg := string(SVG(long, points, nil)); !strings.Contains(svg, ">Dec 1 10:00<") || !strings.Contains(svg, ">Dec 3 12:00<") {
		t.Error("a run over a day has no dates on its axis")
	}
}
