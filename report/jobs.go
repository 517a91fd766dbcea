package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/iotwatch/iotwatch/monitor"
)

// jobStatuses are AWS IoT Jobs' execution states in the order a report
// lists them.
var jobStatuses = []string{"SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT", "CANCELED", "REMOVED", "IN_PROGRESS", "QUEUED"}

// jobsReasons are the executions require_jobs_succeeded fails a run for:
// every one not SUCCEEDED by the end.
func jobsReasons(j *monitor.JobStats, require bool) []string {
	if !require || j == nil {
		return nil
	}
	var out []string
	for _, n := range j.NotSucceeded {
		out = append(out, "job "+n.JobID+" "+n.Status+noteText(n.Text)+", not SUCCEEDED (require_jobs_succeeded)")
	}
	return out
}

func noteText(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// JobsJSON is a thing's job executions, for scripts; null in the summary
// when no control plane answered.
type JobsJSON struct {
	Executions       int            `json:"executions"`
	ByStatus         map[string]int `json:"by_status"`
	Succeeded        int            `json:"succeeded"`
	ToSucceededP50S  *float64       `json:"queued_to_succeeded_p50_s"` // null without a SUCCEEDED execution
	ToSucceededMaxS  *float64       `json:"queued_to_succeeded_max_s"`
	NotSucceeded     []JobNoteJSON  `json:"not_succeeded"`
	SilentDuringJobs []JobNoteJSON  `json:"silent_during_update"`
	Forgotten        int            `json:"forgotten"`
}

// JobNoteJSON is one execution called out.
type JobNoteJSON struct {
	JobID  string `json:"job_id"`
	Status string `json:"status"`
	Text   string `json:"text"`
}

func jobsJSON(j *monitor.JobStats) *JobsJSON {
	if j == nil {
		return nil
	}
	out := &JobsJSON{Executions: j.Executions, ByStatus: j.ByStatus, Succeeded: j.Succeeded, Forgotten: j.Forgotten,
		NotSucceeded: notesJSON(j.NotSucceeded), SilentDuringJobs: notesJSON(j.SilentDuring)}
	if j.Succeeded > 0 {
		out.ToSucceededP50S, out.ToSucceededMaxS = ptr(j.ToSucceededP50.Seconds()), ptr(j.ToSucceededMax.Seconds())
	}
	return out
}

func notesJSON(notes []monitor.JobNote) []JobNoteJSON {
	out := []JobNoteJSON{}
	for _, n := range notes {
		out = append(out, JobNoteJSON{JobID: n.JobID, Status: n.Status, Text: n.Text})
	}
	return out
}

// writeJobs writes the Jobs section (under a heading of level h): the
// counts, the QUEUED → SUCCEEDED times, and the executions not succeeded
// or during which the device went silent. Without an answer from a
// control plane there is no section (nothing is known, which is not zero).
func writeJobs(b *strings.Builder, j *monitor.JobStats, h string) {
	if j == nil {
		return
	}
	fmt.Fprintf(b, "\n%s Jobs\n\n", h)
	var counts []string
	for _, s := range append(slices.Clone(jobStatuses), slices.Sorted(maps.Keys(j.ByStatus))...) {
		if n := j.ByStatus[s]; n > 0 && !slices.Contains(counts, fmt.Sprintf("%d %s", n, s)) {
			counts = append(counts, fmt.Sprintf("%d %s", n, s))
		}
	}
	took := "–"
	if j.Succeeded > 0 {
		took = dur(j.ToSucceededP50) + " / " + dur(j.ToSucceededMax)
	}
	byStatus := strings.Join(counts, ", ")
	if byStatus == "" {
		byStatus = "none"
	}
	fmt.Fprintf(b, "| statistic | value |\n|---|---|\n| executions | %d |\n| by final state | %s |\n| QUEUED → SUCCEEDED p50 / max | %s |\n", j.Executions, byStatus, took)
	if j.Forgotten > 0 {
		fmt.Fprintf(b, "| executions beyond the bound, not counted | %d |\n", j.Forgotten)
	}
	writeNotesTable(b, "Not SUCCEEDED by the end", j.NotSucceeded)
	writeNotesTable(b, "Went silent after starting an update (a dropout during the execution)", j.SilentDuring)
}

func writeNotesTable(b *strings.Builder, title string, notes []monitor.JobNote) {
	if len(notes) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s:\n\n| job | status | |\n|---|---|---|\n", title)
	for _, n := range notes {
		fmt.Fprintf(b, "| %s | %s | %s |\n", n.JobID, n.Status, n.Text)
	}
}
