package event

import "time"

// Jobs is what AWS IoT Jobs' control plane answered about one thing's job
// executions (ListJobExecutionsForThing, each execution's statusDetails from
// DescribeJobExecution): a soak polls it and logs a snapshot when it
// changed. A thing that has none answers an empty list, which is not the
// same as no answer at all (no Jobs event: the soak knows nothing of jobs).
type Jobs struct {
	At         time.Time
	Thing      string
	Executions []JobExecution
}

// JobExecution is one of a thing's job executions as the service states it.
type JobExecution struct {
	JobID         string
	Status        string // as AWS names it: QUEUED, IN_PROGRESS, SUCCEEDED, FAILED, REJECTED, TIMED_OUT, CANCELED, REMOVED
	StatusDetails map[string]string
	QueuedAt      time.Time
	StartedAt     time.Time // zero until the device started it
	LastUpdatedAt time.Time
}

// Terminal says whether the execution can no longer change: every state
// but QUEUED and IN_PROGRESS.
func (e JobExecution) Terminal() bool { return e.Status != "QUEUED" && e.Status != "IN_PROGRESS" }

func (e Jobs) Time() time.Time { return e.At }
