package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/monitor"
)

// TestJobsVerdict: require_jobs_succeeded FAILs a run with an execution not
// SUCCEEDED by the end (naming it, and an unfinished one as such), is
// INCONCLUSIVE when no control plane answered, and without it jobs decide
// nothing.
func TestJobsVerdict(t *testing.T) {
	watched := monitor.Stats{EverConnected: true, Span: 100 * time.Second, Observed: 100 * time.Second, Availability: 100, Reports: 100}
	ok := &monitor.JobStats{Executions: 2, ByStatus: map[string]int{"SUCCEEDED": 2}, Succeeded: 2}
	failed := &monitor.JobStats{Executions: 3, ByStatus: map[string]int{"SUCCEEDED": 1, "FAILED": 1, "IN_PROGRESS": 1}, Succeeded: 1,
		NotSucceeded: []monitor.JobNote{{JobID: "ota-1", Status: "FAILED", Text: "reason=sha256 mismatch"}, {JobID: "ota-2", Status: "IN_PROGRESS", Text: "not over when the run ended"}}}
	none := &monitor.JobStats{ByStatus: map[string]int{}}
	cases := []struct {
		name    string
		jobs    *monitor.JobStats
		require bool
		want    Outcome
		reasons []string
		rule    string
	}{
		{"all succeeded", ok, true, Pass, nil, "all 2 job executions seen SUCCEEDED"},
		{"answered, no executions", none, true, Pass, nil, ""},
		{"a failure and an unfinished one", failed, true, Fail, []string{
			"job ota-1 FAILED (reason=sha256 mismatch), not SUCCEEDED (require_jobs_succeeded)",
			"job ota-2 IN_PROGRESS (not over when the run ended), not SUCCEEDED (require_jobs_succeeded)"}, "broke a threshold"},
		{"failures without the key", failed, false, Pass, nil, ""},
		{"no control plane answered, required", nil, true, Inconclusive, nil, "no AWS IoT Jobs control plane answered"},
		{"no control plane answered, not required", nil, false, Pass, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := watched
			st.Jobs = c.jobs
			v := Judge(st, Thresholds{MinAvailability: 99, MaxBlind: 5, RequireJobsSucceeded: c.require})
			if v.Outcome != c.want || !strings.Contains(v.Rule, c.rule) || strings.Join(v.Reasons, "\n") != strings.Join(c.reasons, "\n") {
				t.Errorf("%s: %s\n%q", v.Outcome, v.Rule, v.Reasons)
			}
		})
	}
}

// TestJobsSection: the JSON's jobs is null without an answer and the
// Markdown has no Jobs section; with one, both hold the counts, the
// durations and the call-outs.
func TestJobsSection(t *testing.T) {
	run := Run{Thing: "fl-2", Start: t0, End: t0.Add(time.Minute)}
	st := monitor.Stats{EverConnected: true}
	var s struct {
		Jobs *JobsJSON `json:"jobs"`
	}
	data := JSON(run, st, Verdict{})
	if err := json.Unmarshal(data, &s); err != nil || s.Jobs != nil || !strings.Contains(string(data), `"jobs": null`) {
		t.Fatalf("jobs without an answer: %v\n%s", err, data)
	}
	if md := string(Markdown(run, st, Verdict{}, "")); strings.Contains(md, "## Jobs") {
		t.Errorf("a Jobs section without an answer:\n%s", md)
	}
	st.Jobs = &monitor.JobStats{Executions: 3, ByStatus: map[string]int{"SUCCEEDED": 2, "FAILED": 1}, Succeeded: 2,
		ToSucceededP50: 4 * time.Second, ToSucceededMax: 9 * time.Second,
		NotSucceeded: []monitor.JobNote{{JobID: "rollout-1", Status: "FAILED", Text: "reason=injected"}},
		SilentDuring: []monitor.JobNote{{JobID: "rollout-0", Status: "SUCCEEDED", Text: "silent from 2026-11-25T10:00:20Z for 12s (silence)"}}}
	if err := json.Unmarshal(JSON(run, st, Verdict{}), &s); err != nil || s.Jobs == nil || *s.Jobs.ToSucceededMaxS != 9 ||
		s.Jobs.ByStatus["FAILED"] != 1 || s.Jobs.NotSucceeded[0].JobID != "rollout-1" || s.Jobs.SilentDuringJobs[0].JobID != "rollout-0" {
		t.Errorf("jobs: %v %+v", err, s.Jobs)
	}
	md := string(Markdown(run, st, Verdict{}, ""))
	for _, want := range []string{"## Jobs", "| by final state | 2 SUCCEEDED, 1 FAILED |", "| QUEUED → SUCCEEDED p50 / max | 4s / 9s |",
		"| rollout-1 | FAILED | reason=injected |", "Went silent after starting an update", "| rollout-0 | SUCCEEDED | silent from"} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in:\n%s", want, md)
		}
	}
	fleet := string(FleetMarkdown(t0, t0.Add(time.Minute), Thresholds{RequireJobsSucceeded: true}, "x", []Thing{{Run: run, Stats: st}}, Verdict{}))
	if !strings.Contains(fleet, "### Jobs") || !strings.Contains(fleet, "require_jobs_succeeded") {
		t.Errorf("fleet report:\n%s", fleet)
	}
}
