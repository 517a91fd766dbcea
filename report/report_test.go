package report

import (
	"encoding/json"
	"encoding/xml"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/monitor"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func scripted() (Run, monitor.Stats, []float64) {
	m := monitor.New(monitor.Options{})
	m.Apply(event.Link{At: t0, State: event.LinkUp})
	at, seq := t0, 0.0
	for i := range 120 {
		at = at.Add(time.Second)
		if i == 60 {
			at = at.Add(10 * time.Second) // a dropout
		}
		seq++
		m.Apply(event.ShadowDoc{At: at, Kind: event.DocAccepted, Version: int64(i + 1), Reported: map[string]any{"temp": 20 + float64(i)/10, "seq": seq, "interval_s": 1.0}})
	}
	run := Run{Thing: "esp32", Field: "temp", Start: t0, End: at}
	return run, m.Stats(at), m.Series("temp", at.Sub(t0), 200, at)
}

func TestJudge(t *testing.T) {
	_, st, _ := scripted()
	if v := Judge(st, Thresholds{MaxDropouts: 1, MinAvailability: 90, MaxGap: 30 * time.Second}); !v.Pass {
		t.Fatalf("should pass: %v", v.Reasons)
	}
	v := Judge(st, Thresholds{MaxDropouts: 0, MinAvailability: 99.9, MaxGap: 5 * time.Second})
	if v.Pass || len(v.Reasons) != 3 {
		t.Fatalf("should fail three ways: %v", v.Reasons)
	}
}

func TestOutputs(t *testing.T) {
	run, st, points := scripted()
	v := Judge(st, Thresholds{MaxDropouts: 0, MinAvailability: 99.9})
	md := string(Markdown(run, st, v, "soak.svg"))
	for _, want := range []string{"# Soak report: esp32", "**FAIL: 1 dropouts > max_dropouts 0", "| dropouts | 1 |", "## Dropouts", "| silence |", "![temp over time](soak.svg)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	var sum Summary
	if err := json.Unmarshal(JSON(run, st, v), &sum); err != nil || sum.Dropouts != 1 || sum.Pass || sum.Reports != 120 || math.Abs(sum.LongestGapS-11) > 0.001 {
		t.Fatalf("summary %+v %v", sum, err)
	}
	svg := SVG(run, points, st.Dropouts)
	dec := xml.NewDecoder(strings.NewReader(string(svg)))
	for {
		if _, err := dec.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("SVG is not well-formed XML: %v", err)
			}
			break
		}
	}
	if strings.Count(string(svg), "<polyline") != 2 || !strings.Contains(string(svg), "dropout 11s (silence)") {
		t.Fatalf("SVG lacks the gap or the dropout:\n%s", svg)
	}
}
