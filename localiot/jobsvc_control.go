package localiot

import (
	"net/http"
	"sort"

	"github.com/iotwatch/iotwatch/jobs"
)

// The operator's side of the Jobs backend (the control plane).

// createJob stores a job and queues an execution on each target thing.
func (s *jobService) createJob(j jobs.Job) (jobs.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !jobs.ValidJobID(j.ID) {
		return j, invalid("jobId %q: 1 to 64 of a-z A-Z 0-9 _ -", j.ID)
	}
	if _, ok := s.jobs[j.ID]; ok {
		return j, errorf(http.StatusConflict, "ResourceAlreadyExistsException", "job %s already exists (job ids are never reused, even after DeleteJob)", j.ID)
	}
	if len(j.Document) > jobs.MaxDocument {
		return j, invalid("document is %d bytes; AWS takes at most %d", len(j.Document), jobs.MaxDocument)
	}
	for _, t := range j.Targets {
		if !s.exists(t) {
			return j, notFound("target thing %s is not in the registry", t)
		}
	}
	now := s.now()
	j.Status, j.CreatedAt, j.LastUpdatedAt = jobs.JobInProgress, now, now
	ops := []kvOp{put(jobsBucket, j.ID, j)}
	var queued []jobs.Execution
	for _, t := range j.Targets {
		e := jobs.Execution{JobID: j.ID, Thing: t, Status: jobs.Queued, QueuedAt: now, LastUpdatedAt: now,
			Version: 1, Number: s.nextNumber(t)}
		queued = append(queued, e)
		ops = append(ops, put(executionsBucket, execKey(t, j.ID), e))
	}
	if err := s.kv.Apply(ops); err != nil {
		return j, errorf(http.StatusInternalServerError, "InternalFailureException", "writing the job: %v", err)
	}
	s.jobs[j.ID] = &j
	for _, e := range queued {
		e := e
		s.execs[execKey(e.Thing, e.JobID)] = &e
	}
	for _, e := range queued {
		s.announce(e.Thing, now)
	}
	return j, nil
}

// nextNumber is a thing's next executionNumber: one more than any it had.
func (s *jobService) nextNumber(thing string) int64 {
	var n int64
	for _, e := range s.execs {
		if e.Thing == thing {
			n = max(n, e.Number)
		}
	}
	return n + 1
}

func (s *jobService) job(id string) (jobs.Job, []jobs.Execution, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		return jobs.Job{}, nil, notFound("job %s does not exist", id)
	}
	return *j, s.jobExecs(id), nil
}

func (s *jobService) listJobs(status string) []jobs.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []jobs.Job{}
	for _, j := range s.jobs {
		if status == "" || j.Status == status {
			out = append(out, *j)
		}
	}
	sort.Slice(out, func(i, k int) bool {
		if !out[i].CreatedAt.Equal(out[k].CreatedAt) {
			return out[i].CreatedAt.After(out[k].CreatedAt)
		}
		return out[i].ID < out[k].ID
	})
	return out
}

// cancelJob cancels a job: its QUEUED executions at once, IN_PROGRESS ones
// only with force.
func (s *jobService) cancelJob(id string, force bool, reason, comment string) (jobs.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		return jobs.Job{}, notFound("job %s does not exist", id)
	}
	if j.Status == jobs.JobCompleted {
		return *j, errorf(http.StatusConflict, "InvalidStateTransitionException", "job %s is COMPLETED and cannot be canceled", id)
	}
	now := s.now()
	var changed []jobs.Execution
	for _, e := range s.jobExecs(id) {
		if c, err := jobs.Cancel(e, force, nil, nil, now); err == nil {
			changed = append(changed, c)
		}
	}
	next := *j
	next.Status, next.LastUpdatedAt, next.ReasonCode, next.Comment = jobs.JobCanceled, now, reason, comment
	next.ForceCanceled = force
	ops := []kvOp{put(jobsBucket, id, next)}
	for _, e := range changed {
		ops = append(ops, put(executionsBucket, execKey(e.Thing, e.JobID), e))
	}
	if err := s.kv.Apply(ops); err != nil {
		return *j, errorf(http.StatusInternalServerError, "InternalFailureException", "writing the job: %v", err)
	}
	s.jobs[id] = &next
	for _, e := range changed {
		e := e
		s.execs[execKey(e.Thing, e.JobID)] = &e
		s.announce(e.Thing, now)
	}
	return next, nil
}

// deleteJob removes a job and its executions; one still pending needs force.
func (s *jobService) deleteJob(id string, force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jobs[id] == nil {
		return notFound("job %s does not exist", id)
	}
	execs := s.jobExecs(id)
	ops := []kvOp{{bucket: jobsBucket, key: id}}
	for _, e := range execs {
		if e.Status.Pending() && !force {
			return errorf(http.StatusConflict, "InvalidStateTransitionException", "job %s has a %s execution on %s: delete it with force", id, e.Status, e.Thing)
		}
		ops = append(ops, kvOp{bucket: executionsBucket, key: execKey(e.Thing, id)})
	}
	if err := s.kv.Apply(ops); err != nil {
		return errorf(http.StatusInternalServerError, "InternalFailureException", "deleting the job: %v", err)
	}
	delete(s.jobs, id)
	for _, e := range execs {
		delete(s.execs, execKey(e.Thing, id))
	}
	now := s.now()
	for _, e := range execs {
		s.announce(e.Thing, now)
	}
	return nil
}

func (s *jobService) cancelExecution(thing, id string, force bool, expected *int64, details map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.execs[execKey(thing, id)]
	if e == nil {
		return notFound("thing %s has no execution of job %s", thing, id)
	}
	now := s.now()
	c, err := jobs.Cancel(*e, force, expected, details, now)
	if err != nil {
		return restError(err)
	}
	if err := s.saveExecs(now, c); err != nil {
		return restError(err)
	}
	return nil
}

func (s *jobService) executionsOf(thing string) []jobs.Execution {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.thingExecs(thing)
}

func (s *jobService) describeForOperator(thing, id string) (jobs.Execution, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.execs[execKey(thing, id)]
	if e == nil {
		return jobs.Execution{}, notFound("thing %s has no execution of job %s", thing, id)
	}
	return *e, nil
}

// deviceDocument is the document a device gets over HTTPS (a string).
func (s *jobService) deviceDocument(jobID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.document(jobID)
}
