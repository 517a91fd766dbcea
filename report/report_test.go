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

// testOptions are config.Default's monitor values (report may not import config).
var testOptions = monitor.Options{Field: "temp", DropoutAfter: 2.5}

func scripted() (Run, monitor.Stats, []float64) {
	m := monitor.New(testOptions)
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

func TestJudgeRules(t *testing.T) {
	watched := monitor.Stats{EverConnected: true, Span: 100 * time.Second, Observed: 100 * time.Second, Availability: 100, Reports: 100}
	with := func(f func(*monitor.Stats)) monitor.Stats { s := watched; f(&s); return s }
	th := Thresholds{MaxDropouts: 0, MinAvailability: 99, MaxGap: 30 * time.Second, MaxBlind: 5}
	cases := []struct {
		name string
		st   monitor.Stats
		want Outcome
		rule string
	}{
		{"watched and there", watched, Pass, "iotwatch watched 100.0% of the run"},
		{"never connected", monitor.Stats{Span: time.Minute, Blind: time.Minute}, Inconclusive, "never connected"},
		{"blind too long", with(func(s *monitor.Stats) { s.Blind, s.Unwatched = 3*time.Second, 3*time.Second }), Inconclusive, "for 6.0% of the run (blind 3s, not running 3s), more than max_blind 5%"},
		{"blind within the limit", with(func(s *monitor.Stats) { s.Blind = 5 * time.Second }), Pass, "watched 95.0%"},
		{"dropout seen while mostly blind", with(func(s *monitor.Stats) { s.Blind, s.Dropouts = 90*time.Second, []monitor.Dropout{{}} }), Fail, "1 dropouts > max_dropouts 0"},
		{"never reported", with(func(s *monitor.Stats) { s.Reports = 0 }), Fail, "never reported"},
		{"never reported, mostly blind", with(func(s *monitor.Stats) { s.Reports, s.Blind = 0, 50*time.Second }), Inconclusive, "max_blind"},
		{"nothing observed", with(func(s *monitor.Stats) { s.Observed, s.Availability, s.Blind = 0, math.NaN(), s.Span }), Inconclusive, "max_blind"},
	}
	for _, c := range cases {
		v := Judge(c.st, th)
		if v.Outcome != c.want || v.Pass != (c.want == Pass) || !strings.Contains(v.Rule, c.rule) {
			t.Errorf("%s: %s %q", c.name, v.Outcome, v.Rule)
		}
	}
	if Inconclusive.ExitCode() != 3 || Fail.ExitCode() != 1 || Pass.ExitCode() != 0 {
		t.Fatal("exit codes")
	}
}

func TestNoPlaceholderFigures(t *testing.T) {
	st := monitor.New(testOptions).Stats(t0)
	v := Judge(st, Thresholds{})
	md := string(Markdown(Run{Thing: "t", Start: t0, End: t0}, st, v, ""))
	for _, want := range []string{"**INCONCLUSIVE**", "| availability (of the time watched) | – |", "| MTBF | – |", "| desired round trip p50 / p95 | – |"} {
		if !strings.Contains(md, want) {
			t.Errorf("lacks %q:\n%s", want, md)
		}
	}
	js := string(JSON(Run{}, st, v))
	for _, want := range []string{`"verdict": "INCONCLUSIVE"`, `"availability_pct": null`, `"mtbf_s": null`, `"pass": false`} {
		if !strings.Contains(js, want) {
			t.Errorf("JSON lacks %s:\n%s", want, js)
		}
	}
}

func TestOutputs(t *testing.T) {
	run, st, points := scripted()
	v := Judge(st, Thresholds{MaxDropouts: 0, MinAvailability: 99.9})
	md := string(Markdown(run, st, v, "soak.svg"))
	for _, want := range []string{"# Soak report: esp32", "**FAIL**: the device broke a threshold while iotwatch watched it: 1 dropouts > max_dropouts 0", "## How the verdict is decided", "| dropouts | 1 |", "## Dropouts", "| silence |", "![temp over time](soak.svg)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	var sum Summary
	if err := json.Unmarshal(JSON(run, st, v), &sum); err != nil || sum.Dropouts != 1 || sum.Pass || sum.Verdict != "FAIL" || sum.Reports != 120 || math.Abs(sum.LongestGapS-11) > 0.001 {
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

func TestSVGKeepsADropoutFromBeforeTheRunInside(t *testing.T) {
	run := Run{Thing: "esp32", Field: "temp", Start: t0, End: t0.Add(time.Minute)}
	svg := string(SVG(run, []float64{math.NaN()}, []monitor.Dropout{{Start: t0.Add(-time.Hour), Cause: "silence"}}))
	if !strings.Contains(svg, `<rect x="70.0" y="30" width="810.0"`) {
		t.Fatalf("dropout not clipped to the plot:\n%s", svg)
	}
}
