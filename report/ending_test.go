package report

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/monitor"
)

var healthy = monitor.Stats{EverConnected: true, Span: 100 * time.Second, Observed: 100 * time.Second, Availability: 100, Reports: 100}

// Case 7: a run stopped before its duration is INCONCLUSIVE unless it
// already failed; case 8: a log without its closing line too.
func TestEndingDecides(t *testing.T) {
	th := Thresholds{MaxGap: 30 * time.Second, MaxBlind: 5}
	failing := healthy
	failing.Dropouts = []monitor.Dropout{{Start: t0}}
	cases := []struct {
		name   string
		st     monitor.Stats
		ending Ending
		want   Outcome
		rule   string
	}{
		{"completed", healthy, Ending{Reason: event.EndCompleted, At: t0.Add(8 * time.Hour), Planned: 8 * time.Hour}, Pass, "reported throughout"},
		{"SIGTERM after 3 s of 8h", healthy, Ending{Reason: event.EndSignal, Signal: "SIGTERM", At: t0.Add(3 * time.Second), Planned: 8 * time.Hour}, Inconclusive, "stopped by SIGTERM at 2026-11-25T10:00:03Z, 3s into its planned 8h0m0s"},
		{"SIGTERM but already failed", failing, Ending{Reason: event.EndSignal, Signal: "SIGTERM", At: t0.Add(3 * time.Second), Planned: 8 * time.Hour}, Fail, "1 dropouts > max_dropouts 0"},
		{"Ctrl+C without a duration", healthy, Ending{Reason: event.EndSignal, Signal: "SIGINT", At: t0.Add(time.Second)}, Pass, "reported throughout"},
		{"log cut short", healthy, Ending{Cut: true, At: t0.Add(time.Minute)}, Inconclusive, "without the run's closing line"},
		{"error", healthy, Ending{Reason: event.EndError, Error: "certificate expired", At: t0.Add(time.Minute)}, Inconclusive, "by an error: certificate expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := JudgeRun(c.st, Run{Start: t0, Thresholds: th, Ending: c.ending})
			if v.Outcome != c.want || !strings.Contains(v.Rule, c.rule) {
				t.Fatalf("%s: %s", v.Outcome, v.Rule)
			}
		})
	}
}

// Case 6: a skew beyond MaxSkew is INCONCLUSIVE, and said.
func TestSkewBeyondTheBoundIsInconclusive(t *testing.T) {
	st := healthy
	st.Skew = monitor.Skew{Known: true, Offset: -30 * time.Second, Documents: 40}
	v := JudgeRun(st, Run{Thresholds: Thresholds{MaxBlind: 5}})
	if v.Outcome != Inconclusive || !strings.Contains(v.Rule, "30s behind the service's, more than 5s") {
		t.Fatalf("%s: %s", v.Outcome, v.Rule)
	}
	st.Skew.Offset = 4 * time.Second
	if v := JudgeRun(st, Run{Thresholds: Thresholds{MaxBlind: 5}}); v.Outcome != Pass {
		t.Fatalf("4 s: %s: %s", v.Outcome, v.Rule)
	}
}

// Cases 8 and 16: what the run could not log or see is in both renderings.
func TestReportsSayWhatWasNotSeen(t *testing.T) {
	st := healthy
	st.Foreign, st.Dropped, st.Rejections = 49, 7, 3
	st.Unheard = monitor.Unheard{Stalled: 40 * time.Second, Stalls: 1, Deaf: 5 * time.Second, DeafSpells: 1, Dropped: 2 * time.Second}
	st.Skew = monitor.Skew{Known: true, Offset: 1500 * time.Millisecond, Documents: 9}
	st.AnnouncedInterval, st.Threshold = time.Hour, 30*time.Second
	run := Run{Thing: "t1", Start: t0, End: t0.Add(time.Minute), Thresholds: Thresholds{MaxGap: 30 * time.Second},
		Ending:     Ending{Reason: event.EndSignal, Signal: "SIGTERM", At: t0.Add(time.Minute), Planned: time.Hour},
		LogFailure: &LogFailure{At: t0.Add(10 * time.Second), Err: "no space left on device", Lost: 120}}
	v := JudgeRun(st, run)
	md := string(Markdown(run, st, v, ""))
	for _, want := range []string{"| reports written by another client (device disconnected) | 49 |", "7 events dropped", "| rejections | 3 |",
		"40s in 1 stall(s)", "5s in 1 spell(s)", "1.5s (from 9 documents", "stopped by SIGTERM", "no space left on device): 120 events are missing",
		"announced interval_s 1h0m0s, longer than max_gap 30s"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	var js map[string]any
	if err := json.Unmarshal(JSON(run, st, v), &js); err != nil {
		t.Fatal(err)
	}
	ended := js["ended"].(map[string]any)
	if js["foreign_reports"] != 49.0 || js["dropped_events"] != 7.0 || js["rejections"] != 3.0 || js["stalled_s"] != 40.0 || js["deaf_s"] != 5.0 ||
		js["skew_s"] != 1.5 || js["announced_interval_s"] != 3600.0 || ended["reason"] != "signal" || ended["signal"] != "SIGTERM" || ended["early"] != true ||
		js["log_failure"].(map[string]any)["lost_events"] != 120.0 {
		t.Fatalf("json %v", js)
	}
}

// Availability without a report is "–" and null, never a plausible figure.
func TestAvailabilityWithoutReportsIsADash(t *testing.T) {
	st := healthy
	st.Reports, st.Availability = 0, math.NaN()
	run := Run{Thing: "t1", Start: t0, End: t0.Add(time.Minute)}
	v := JudgeRun(st, run)
	if md := string(Markdown(run, st, v, "")); !strings.Contains(md, "| availability (of the time watched) | – |") {
		t.Fatalf("markdown:\n%s", md)
	}
	var js map[string]any
	json.Unmarshal(JSON(run, st, v), &js)
	if js["availability_pct"] != nil || js["skew_s"] != nil || js["log_failure"] != nil {
		t.Fatalf("json %v", js)
	}
	things := []Thing{{Run: run, Stats: st, Verdict: v}}
	if md := string(FleetMarkdown(t0, t0.Add(time.Minute), Thresholds{}, "", things, FleetVerdict(things))); !strings.Contains(md, "| 0 | 0 | – |") {
		t.Fatalf("fleet markdown:\n%s", md)
	}
}

func TestDiffThresholds(t *testing.T) {
	got := DiffThresholds(Thresholds{MaxGap: 30 * time.Second, MaxBlind: 5}, Thresholds{MaxGap: 10 * time.Second, MaxBlind: 5})
	if len(got) != 1 || got[0] != "max_gap 30s (the run had 10s)" {
		t.Fatalf("%q", got)
	}
}
