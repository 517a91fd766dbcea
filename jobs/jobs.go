// Package jobs is AWS IoT Jobs without IO: jobs and their executions on
// things, the transitions AWS allows a device and an operator, step and
// in-progress timeouts, the order of pending executions and a job's
// process details. localiot serves it over MQTT and HTTPS; it imports only
// the standard library.
//
// Times: AWS's Jobs service sends epoch seconds on MQTT and in its REST
// members; a "minute" is a parameter so that tests can run a step timeout
// of one minute in a fraction of a second.
package jobs

import (
	"fmt"
	"regexp"
	"sort"
	"time"
)

// Status is a job execution's status.
type Status string

// The statuses of AWS's JobExecutionStatus.
const (
	Queued     Status = "QUEUED"
	InProgress Status = "IN_PROGRESS"
	Succeeded  Status = "SUCCEEDED"
	Failed     Status = "FAILED"
	TimedOut   Status = "TIMED_OUT"
	Rejected   Status = "REJECTED"
	Removed    Status = "REMOVED"
	Canceled   Status = "CANCELED"
)

// Statuses lists every execution status in AWS's order.
var Statuses = []Status{Queued, InProgress, Succeeded, Failed, TimedOut, Rejected, Removed, Canceled}

// Terminal reports whether nothing can change the status any more.
func (s Status) Terminal() bool { return s != Queued && s != InProgress }

// Pending reports whether the execution is still the device's to run.
func (s Status) Pending() bool { return !s.Terminal() }

// Job statuses (AWS's JobStatus).
const (
	JobInProgress = "IN_PROGRESS"
	JobCanceled   = "CANCELED"
	JobCompleted  = "COMPLETED"
)

// Job is a job as created: its document goes to every target thing.
type Job struct {
	ID              string            `json:"jobId"`
	Description     string            `json:"description,omitempty"`
	Document        string            `json:"document"`
	Targets         []string          `json:"targets"` // thing names
	TargetSelection string            `json:"targetSelection"`
	Status          string            `json:"status"`
	CreatedAt       time.Time         `json:"createdAt"`
	LastUpdatedAt   time.Time         `json:"lastUpdatedAt"`
	CompletedAt     time.Time         `json:"completedAt,omitzero"`
	InProgressMins  int64             `json:"inProgressTimeoutInMinutes,omitempty"`
	Rollout         map[string]any    `json:"jobExecutionsRolloutConfig,omitempty"`
	PresignExpiry   int64             `json:"presignedUrlExpiresInSec,omitempty"`
	ReasonCode      string            `json:"reasonCode,omitempty"`
	Comment         string            `json:"comment,omitempty"`
	ForceCanceled   bool              `json:"forceCanceled,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
}

// Execution is one job on one thing.
type Execution struct {
	JobID         string            `json:"jobId"`
	Thing         string            `json:"thingName"`
	Status        Status            `json:"status"`
	StatusDetails map[string]string `json:"statusDetails,omitempty"`
	QueuedAt      time.Time         `json:"queuedAt"`
	StartedAt     time.Time         `json:"startedAt,omitzero"`
	LastUpdatedAt time.Time         `json:"lastUpdatedAt"`
	Version       int64             `json:"versionNumber"`
	Number        int64             `json:"executionNumber"`
	// StepDeadline ends the current step (stepTimeoutInMinutes); zero: none.
	StepDeadline time.Time `json:"stepDeadline,omitzero"`
	// JobDeadline ends the whole run (the job's inProgressTimeoutInMinutes,
	// counted from IN_PROGRESS); zero: none.
	JobDeadline   time.Time `json:"jobDeadline,omitzero"`
	ForceCanceled bool      `json:"forceCanceled,omitempty"`
}

// Deadline is the earlier of the step and job deadlines; zero when neither.
func (e Execution) Deadline() time.Time {
	switch {
	case e.StepDeadline.IsZero():
		return e.JobDeadline
	case e.JobDeadline.IsZero() || e.StepDeadline.Before(e.JobDeadline):
		return e.StepDeadline
	}
	return e.JobDeadline
}

// SecondsBeforeTimedOut is AWS's approximateSecondsBeforeTimedOut: nil when
// no timer runs.
func (e Execution) SecondsBeforeTimedOut(now time.Time) *int64 {
	d := e.Deadline()
	if e.Status != InProgress || d.IsZero() {
		return nil
	}
	s := max(int64(d.Sub(now).Seconds()), 0)
	return &s
}

// Code is an error code of the Jobs MQTT API (its REST exceptions differ in
// name only; see RESTType).
type Code string

// AWS's rejection codes.
const (
	InvalidTopic           Code = "InvalidTopic"
	InvalidJSON            Code = "InvalidJson"
	InvalidRequest         Code = "InvalidRequest"
	InvalidStateTransition Code = "InvalidStateTransition"
	ResourceNotFound       Code = "ResourceNotFound"
	VersionMismatch        Code = "VersionMismatch"
	InternalError          Code = "InternalError"
	RequestThrottled       Code = "RequestThrottled"
	TerminalStateReached   Code = "TerminalStateReached"
)

// Error is a refused request; State is the execution's state when AWS sends
// it along (VersionMismatch, InvalidStateTransition).
type Error struct {
	Code    Code
	Message string
	State   *Execution
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

func errorf(code Code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

func withState(err *Error, e Execution) *Error {
	err.State = &e
	return err
}

// Limits from AWS's models.
const (
	MaxStepMinutes  = 10080
	MaxDocument     = 32768
	maxDetailsKey   = 128
	maxDetailsValue = 1024
	maxDetails      = 10
)

var (
	idPattern         = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	detailsKeyPattern = regexp.MustCompile(`^[a-zA-Z0-9:_-]+$`)
)

// ValidJobID reports whether id is a job id AWS accepts.
func ValidJobID(id string) bool { return idPattern.MatchString(id) }

// Start runs a QUEUED execution: IN_PROGRESS, with the step timer and the
// job's in-progress timer (jobMinutes, 0 for none).
func Start(e Execution, details map[string]string, stepMinutes *int64, jobMinutes int64, now time.Time, minute time.Duration) (Execution, *Error) {
	if err := checkStep(stepMinutes); err != nil {
		return e, err
	}
	if err := checkDetails(details); err != nil {
		return e, err
	}
	e.Status, e.StartedAt = InProgress, now
	if jobMinutes > 0 {
		e.JobDeadline = now.Add(time.Duration(jobMinutes) * minute)
	}
	return touch(e, details, stepMinutes, now, minute), nil
}

// UpdateRequest is a device's UpdateJobExecution.
type UpdateRequest struct {
	Status          Status
	StatusDetails   map[string]string // nil: unchanged
	ExpectedVersion *int64
	ExecutionNumber *int64
	StepMinutes     *int64
}

// deviceMay lists the statuses a device may set from each pending status.
var deviceMay = map[Status][]Status{
	Queued:     {InProgress, Succeeded, Failed, Rejected},
	InProgress: {InProgress, Succeeded, Failed, Rejected},
}

// Update applies a device's update to its execution.
func Update(e Execution, req UpdateRequest, jobMinutes int64, now time.Time, minute time.Duration) (Execution, *Error) {
	switch req.Status {
	case InProgress, Succeeded, Failed, Rejected:
	case "":
		return e, errorf(InvalidRequest, "status is required: IN_PROGRESS, SUCCEEDED, FAILED or REJECTED")
	default:
		return e, errorf(InvalidRequest, "status %s cannot be set by a device: give IN_PROGRESS, SUCCEEDED, FAILED or REJECTED", req.Status)
	}
	if req.ExecutionNumber != nil && *req.ExecutionNumber != e.Number {
		return e, errorf(ResourceNotFound, "job %s has no execution number %d on thing %s", e.JobID, *req.ExecutionNumber, e.Thing)
	}
	if req.ExpectedVersion != nil && *req.ExpectedVersion != e.Version {
		return e, withState(errorf(VersionMismatch, "expected version %d, the execution is at version %d", *req.ExpectedVersion, e.Version), e)
	}
	if !allowed(e.Status, req.Status) {
		return e, withState(errorf(InvalidStateTransition, "job execution %s on %s is %s and cannot become %s", e.JobID, e.Thing, e.Status, req.Status), e)
	}
	if err := checkStep(req.StepMinutes); err != nil {
		return e, err
	}
	if err := checkDetails(req.StatusDetails); err != nil {
		return e, err
	}
	if e.Status == Queued && req.Status == InProgress {
		started, _ := Start(e, req.StatusDetails, req.StepMinutes, jobMinutes, now, minute)
		return started, nil
	}
	e.Status = req.Status
	if req.Status.Terminal() {
		e.StepDeadline, e.JobDeadline = time.Time{}, time.Time{}
		req.StepMinutes = nil
	}
	return touch(e, req.StatusDetails, req.StepMinutes, now, minute), nil
}

func allowed(from, to Status) bool {
	for _, s := range deviceMay[from] {
		if s == to {
			return true
		}
	}
	return false
}

// touch records a change: details replaced when given, a new step timer when
// given, one version more.
func touch(e Execution, details map[string]string, stepMinutes *int64, now time.Time, minute time.Duration) Execution {
	if details != nil {
		e.StatusDetails = details
	}
	if stepMinutes != nil {
		e.StepDeadline = now.Add(time.Duration(*stepMinutes) * minute)
	}
	e.LastUpdatedAt = now
	e.Version++
	return e
}

func checkStep(m *int64) *Error {
	if m != nil && (*m < 1 || *m > MaxStepMinutes) {
		return errorf(InvalidRequest, "stepTimeoutInMinutes %d: give 1 to %d", *m, MaxStepMinutes)
	}
	return nil
}

func checkDetails(d map[string]string) *Error {
	if len(d) > maxDetails {
		return errorf(InvalidRequest, "statusDetails has %d entries; AWS keeps at most %d", len(d), maxDetails)
	}
	for k, v := range d {
		if len(k) > maxDetailsKey || !detailsKeyPattern.MatchString(k) {
			return errorf(InvalidRequest, "statusDetails key %q: 1 to %d of a-z A-Z 0-9 : _ -", k, maxDetailsKey)
		}
		if v == "" || len(v) > maxDetailsValue {
			return errorf(InvalidRequest, "statusDetails[%q]: a value of 1 to %d characters", k, maxDetailsValue)
		}
	}
	return nil
}

// Expire times out an IN_PROGRESS execution whose deadline has passed.
func Expire(e Execution, now time.Time) (Execution, bool) {
	d := e.Deadline()
	if e.Status != InProgress || d.IsZero() || now.Before(d) {
		return e, false
	}
	e.Status, e.StepDeadline, e.JobDeadline = TimedOut, time.Time{}, time.Time{}
	e.LastUpdatedAt = now
	e.Version++
	return e, true
}

// Cancel is an operator's CancelJobExecution (or a canceled job reaching
// its executions): QUEUED goes at once, IN_PROGRESS only with force.
func Cancel(e Execution, force bool, expectedVersion *int64, details map[string]string, now time.Time) (Execution, *Error) {
	if e.Status.Terminal() {
		return e, withState(errorf(InvalidStateTransition, "job execution %s on %s is already %s", e.JobID, e.Thing, e.Status), e)
	}
	if e.Status == InProgress && !force {
		return e, withState(errorf(InvalidStateTransition, "job execution %s on %s is IN_PROGRESS: cancel it with force", e.JobID, e.Thing), e)
	}
	if expectedVersion != nil && *expectedVersion != e.Version {
		return e, withState(errorf(VersionMismatch, "expected version %d, the execution is at version %d", *expectedVersion, e.Version), e)
	}
	if details != nil {
		e.StatusDetails = details
	}
	e.ForceCanceled = e.Status == InProgress
	e.Status, e.StepDeadline, e.JobDeadline = Canceled, time.Time{}, time.Time{}
	e.LastUpdatedAt = now
	e.Version++
	return e, nil
}

// Pending splits a thing's executions into IN_PROGRESS and QUEUED, each in
// the order the device takes them: the oldest first.
func Pending(execs []Execution) (inProgress, queued []Execution) {
	for _, e := range execs {
		switch e.Status {
		case InProgress:
			inProgress = append(inProgress, e)
		case Queued:
			queued = append(queued, e)
		}
	}
	order := func(list []Execution, at func(Execution) time.Time) {
		sort.SliceStable(list, func(i, j int) bool {
			if !at(list[i]).Equal(at(list[j])) {
				return at(list[i]).Before(at(list[j]))
			}
			return list[i].JobID < list[j].JobID
		})
	}
	order(inProgress, func(e Execution) time.Time { return e.StartedAt })
	order(queued, func(e Execution) time.Time { return e.QueuedAt })
	return inProgress, queued
}

// Next is the execution $next names: the oldest IN_PROGRESS, else the oldest
// QUEUED.
func Next(execs []Execution) (Execution, bool) {
	inProgress, queued := Pending(execs)
	if len(inProgress) > 0 {
		return inProgress[0], true
	}
	if len(queued) > 0 {
		return queued[0], true
	}
	return Execution{}, false
}

// ProcessDetails counts a job's executions by status (AWS's
// jobProcessDetails).
func ProcessDetails(execs []Execution) map[Status]int {
	n := map[Status]int{}
	for _, e := range execs {
		n[e.Status]++
	}
	return n
}

// Settle derives a job's status from its executions: an IN_PROGRESS job is
// COMPLETED once every execution is terminal.
func Settle(j Job, execs []Execution, now time.Time) (Job, bool) {
	if j.Status != JobInProgress || len(execs) == 0 {
		return j, false
	}
	for _, e := range execs {
		if !e.Status.Terminal() {
			return j, false
		}
	}
	j.Status, j.CompletedAt, j.LastUpdatedAt = JobCompleted, now, now
	return j, true
}
