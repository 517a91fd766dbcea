package monitor

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// maxJobs bounds the executions a monitor keeps: a week's soak of a thing
// polled every 10 s sees a handful; a runaway job loop must not grow it.
// The oldest queued are forgotten first.
const maxJobs = 256

// jobs is what the monitor knows of the thing's AWS IoT Jobs executions.
type jobs struct {
	answered bool                          // the control plane answered at least once
	latest   map[string]event.JobExecution // by job id, the latest state seen
	forgot   int                           // executions dropped by the bound
}

// applyJobs takes a control plane's answer: each execution's latest state.
// An execution the answer no longer lists (deleted with its job) keeps its
// last state: it was seen, and how it ended is what the run knows.
func (m *Monitor) applyJobs(j event.Jobs) {
	if m.jobs.latest == nil {
		m.jobs.latest = map[string]event.JobExecution{}
	}
	m.jobs.answered = true
	for _, x := range j.Executions {
		before, known := m.jobs.latest[x.JobID]
		if known && before.Status == x.Status {
			m.jobs.latest[x.JobID] = x
			continue
		}
		m.jobs.latest[x.JobID] = x
		sev := Info
		switch {
		case x.Status == "SUCCEEDED":
			sev = Good
		case x.Terminal():
			sev = Bad
		}
		m.log(j.At, sev, "job %s %s%s", x.JobID, x.Status, detailsText(x.StatusDetails))
	}
	for len(m.jobs.latest) > maxJobs {
		oldest := slices.MinFunc(slices.Collect(maps.Values(m.jobs.latest)), func(a, b event.JobExecution) int {
			return cmp.Or(a.QueuedAt.Compare(b.QueuedAt), cmp.Compare(a.JobID, b.JobID))
		})
		delete(m.jobs.latest, oldest.JobID)
		m.jobs.forgot++
	}
}

// detailsText is statusDetails as " (k=v, …)", sorted; "" without any.
func detailsText(d map[string]string) string {
	if len(d) == 0 {
		return ""
	}
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(d)) {
		kv = append(kv, k+"="+d[k])
	}
	return " (" + strings.Join(kv, ", ") + ")"
}

// JobStats are a run's job executions. Stats.Jobs is nil when no control
// plane ever answered: nothing is known of jobs, which is not zero of them.
type JobStats struct {
	Executions int            // executions seen
	ByStatus   map[string]int // by their latest status (terminal or not at the end)
	// Succeeded is the number of executions whose QUEUED → SUCCEEDED time
	// is known; ToSucceededP50 and Max are nothing at 0.
	Succeeded                      int
	ToSucceededP50, ToSucceededMax time.Duration
	// NotSucceeded are the executions not SUCCEEDED by the end (failed,
	// rejected, timed out, canceled, removed, or still QUEUED or
	// IN_PROGRESS), by job id.
	NotSucceeded []JobNote
	// SilentDuring are executions during which the device went silent: a
	// dropout overlapped the time from its start (IN_PROGRESS) to its end
	// (or to the end of the run while it is not over).
	SilentDuring []JobNote
	Forgotten    int // executions beyond the monitor's bound, not counted
}

// JobNote names one execution and what is said of it.
type JobNote struct {
	JobID  string
	Status string
	Text   string // e.g. "reason=sha256 mismatch", or the dropout's start and length
}

// jobStats are the statistics of the executions seen, at now.
func (m *Monitor) jobStats(now time.Time) *JobStats {
	if !m.jobs.answered {
		return nil
	}
	s := &JobStats{ByStatus: map[string]int{}, Forgotten: m.jobs.forgot}
	var took []time.Duration
	for _, id := range slices.Sorted(maps.Keys(m.jobs.latest)) {
		x := m.jobs.latest[id]
		s.Executions++
		s.ByStatus[x.Status]++
		if x.Status == "SUCCEEDED" {
			if !x.QueuedAt.IsZero() && !x.LastUpdatedAt.Before(x.QueuedAt) {
				took = append(took, x.LastUpdatedAt.Sub(x.QueuedAt))
			}
		} else {
			text := strings.TrimPrefix(strings.TrimSuffix(detailsText(x.StatusDetails), ")"), " (")
			if !x.Terminal() {
				text = strings.TrimPrefix(text+"; not over when the run ended", "; ")
			}
			s.NotSucceeded = append(s.NotSucceeded, JobNote{JobID: id, Status: x.Status, Text: text})
		}
		if d, ok := m.silentDuring(x, now); ok {
			s.SilentDuring = append(s.SilentDuring, JobNote{JobID: id, Status: x.Status,
				Text: fmt.Sprintf("silent from %s for %s (%s)", d.Start.UTC().Format(time.RFC3339), d.Duration(now).Round(time.Second), d.Cause)})
		}
	}
	if s.Succeeded = len(took); len(took) > 0 {
		slices.Sort(took)
		s.ToSucceededP50, s.ToSucceededMax = took[len(took)/2], took[len(took)-1]
	}
	return s
}

// silentDuring is the first dropout that overlapped the execution's time
// in progress. The service's times are placed on iotwatch's clock as they
// are (a skew beyond 5 s makes the verdict INCONCLUSIVE anyway): a device
// cannot start an execution while it is away, so only a dropout after its
// start can overlap it.
func (m *Monitor) silentDuring(x event.JobExecution, now time.Time) (Dropout, bool) {
	if x.StartedAt.IsZero() {
		return Dropout{}, false
	}
	over := now
	if x.Terminal() && !x.LastUpdatedAt.IsZero() {
		over = x.LastUpdatedAt
	}
	for _, d := range m.s.dropouts {
		end := d.End
		if end.IsZero() {
			end = now
		}
		if d.Start.Before(over) && end.After(x.StartedAt) {
			return d, true
		}
	}
	return Dropout{}, false
}
