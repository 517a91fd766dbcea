package monitor

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// exec is an execution queued at t0+q s, started at t0+s s (never when
// negative), last updated at t0+u s.
func exec(id, status string, q, s, u int, details ...string) event.JobExecution {
	x := event.JobExecution{JobID: id, Status: status, QueuedAt: t0.Add(time.Duration(q) * time.Second), LastUpdatedAt: t0.Add(time.Duration(u) * time.Second)}
	if s >= 0 {
		x.StartedAt = t0.Add(time.Duration(s) * time.Second)
	}
	if len(details) == 2 {
		x.StatusDetails = map[string]string{details[0]: details[1]}
	}
	return x
}

// TestJobStats: counts by latest status, QUEUED → SUCCEEDED times, the
// executions not succeeded by the end (the unfinished ones said so), and
// the executions during which the device went silent, from a device that
// reports every second and falls silent from 40 s to 60 s.
func TestJobStats(t *testing.T) {
	cases := []struct {
		name         string
		answers      [][]event.JobExecution // one per poll, at 10 s, 20 s, …
		want         *JobStats
		silentTexted bool
	}{
		{name: "no control plane answered: nothing known, not zero", answers: nil, want: nil},
		{name: "answered, no executions", answers: [][]event.JobExecution{{}},
			want: &JobStats{ByStatus: map[string]int{}}},
		{name: "all succeeded: p50 and max of QUEUED → SUCCEEDED",
			answers: [][]event.JobExecution{
				{exec("a", "QUEUED", 0, -1, 0), exec("b", "IN_PROGRESS", 0, 2, 3)},
				{exec("a", "SUCCEEDED", 0, 5, 9), exec("b", "SUCCEEDED", 0, 2, 12), exec("c", "SUCCEEDED", 1, 2, 4)},
			},
			want: &JobStats{Executions: 3, ByStatus: map[string]int{"SUCCEEDED": 3}, Succeeded: 3, ToSucceededP50: 9 * time.Second, ToSucceededMax: 12 * time.Second}},
		{name: "a failure with its reason, one still queued, one in progress at the end",
			answers: [][]event.JobExecution{
				{exec("f", "FAILED", 0, 1, 3, "reason", "sha256 mismatch"), exec("q", "QUEUED", 2, -1, 2), exec("p", "IN_PROGRESS", 2, 3, 3, "step", "download")},
			},
			want: &JobStats{Executions: 3, ByStatus: map[string]int{"FAILED": 1, "QUEUED": 1, "IN_PROGRESS": 1}, NotSucceeded: []JobNote{
				{JobID: "f", Status: "FAILED", Text: "reason=sha256 mismatch"},
				{JobID: "p", Status: "IN_PROGRESS", Text: "step=download; not over when the run ended"},
				{JobID: "q", Status: "QUEUED", Text: "not over when the run ended"},
			}, SilentDuring: []JobNote{{JobID: "p", Status: "IN_PROGRESS"}}}, silentTexted: true},
		{name: "the device went silent after starting (40–60 s), the execution timed out meanwhile",
			answers: [][]event.JobExecution{
				{exec("ota", "IN_PROGRESS", 30, 38, 38)},
				{exec("ota", "TIMED_OUT", 30, 38, 55)},
			},
			want: &JobStats{Executions: 1, ByStatus: map[string]int{"TIMED_OUT": 1},
				NotSucceeded: []JobNote{{JobID: "ota", Status: "TIMED_OUT"}},
				SilentDuring: []JobNote{{JobID: "ota", Status: "TIMED_OUT"}}}, silentTexted: true},
		{name: "silent before it started, and after it succeeded: not during",
			answers: [][]event.JobExecution{
				{exec("early", "SUCCEEDED", 0, 5, 30), exec("late", "SUCCEEDED", 60, 62, 64)},
			},
			want: &JobStats{Executions: 2, ByStatus: map[string]int{"SUCCEEDED": 2}, Succeeded: 2, ToSucceededP50: 30 * time.Second, ToSucceededMax: 30 * time.Second}},
		{name: "in progress through the silence, succeeded after it",
			answers: [][]event.JobExecution{
				{exec("ota", "SUCCEEDED", 30, 35, 70)},
			},
			want: &JobStats{Executions: 1, ByStatus: map[string]int{"SUCCEEDED": 1}, Succeeded: 1, ToSucceededP50: 40 * time.Second, ToSucceededMax: 40 * time.Second,
				SilentDuring: []JobNote{{JobID: "ota", Status: "SUCCEEDED"}}}, silentTexted: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := newScript(testOptions)
			for i := 1; i <= 80; i++ {
				sc.advance(time.Second)
				if i <= 40 || i > 60 {
					sc.report()
				}
				if n := i/10 - 1; i%10 == 0 && n < len(c.answers) {
					sc.m.Apply(event.Jobs{At: sc.now, Thing: "t", Executions: c.answers[n]})
				}
			}
			got := sc.m.Stats(sc.now).Jobs
			if c.silentTexted {
				for i, n := range got.SilentDuring {
					if want := "silent from 2026-11-25T10:00:40Z for 21s (silence)"; n.Text != want {
						t.Errorf("silent note %q, want %q", n.Text, want)
					}
					got.SilentDuring[i].Text = ""
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %s\nwant %s", show(got), show(c.want))
			}
		})
	}
}

func show(s *JobStats) string {
	if s == nil {
		return "nil"
	}
	return fmt.Sprintf("%+v", *s)
}

// TestJobsBounded: a runaway stream of jobs keeps the newest maxJobs,
// counting those forgotten.
func TestJobsBounded(t *testing.T) {
	m := New(testOptions)
	for i := range maxJobs + 10 {
		m.Apply(event.Jobs{At: t0.Add(time.Duration(i) * time.Second), Thing: "t",
			Executions: []event.JobExecution{exec(fmt.Sprintf("j%04d", i), "SUCCEEDED", i, i, i+1)}})
	}
	st := m.Stats(t0.Add(time.Hour)).Jobs
	if st.Executions != maxJobs || st.Forgotten != 10 || st.ByStatus["SUCCEEDED"] != maxJobs {
		t.Fatalf("%d executions kept, %d forgotten", st.Executions, st.Forgotten)
	}
	if _, kept := m.jobs.latest["j0009"]; kept {
		t.Error("the oldest execution was kept")
	}
}
