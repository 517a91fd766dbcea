package localiot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotwatch/iotwatch/jobs"
)

// jobService is AWS IoT Jobs: the backend that the Jobs MQTT API (the hook
// below), the iot-jobs-data HTTPS API and the control plane
// (api_jobs.go) share. Every change is written to the kv (bbolt with
// --data) before it is answered or announced, so an acknowledged update
// survives kill -9.
type jobService struct {
	mu     sync.Mutex
	kv     kv
	jobs   map[string]*jobs.Job
	execs  map[string]*jobs.Execution // by execKey
	next   map[string]string          // thing → the job id last announced on notify-next
	minute time.Duration
	now    func() time.Time
	// publish sends a notification or an answer (the broker's inline
	// client); nil before the broker runs.
	publish func(topic string, payload []byte)
	// presign makes a presigned URL for a document's placeholders; nil
	// leaves them as they are (no HTTPS API to download from).
	presign func(url string, expires time.Duration) (string, error)
	exists  func(thing string) bool
	stop    chan struct{}
	done    chan struct{}
}

const (
	jobsBucket       = "jobs"
	executionsBucket = "job-executions"
)

func execKey(thing, jobID string) string { return thing + "\x00" + jobID }

func openJobs(k kv, minute time.Duration, exists func(string) bool) (*jobService, error) {
	if minute <= 0 {
		minute = time.Minute
	}
	s := &jobService{kv: k, jobs: map[string]*jobs.Job{}, execs: map[string]*jobs.Execution{},
		next: map[string]string{}, minute: minute, now: time.Now, exists: exists,
		stop: make(chan struct{}), done: make(chan struct{})}
	err := k.Load(jobsBucket, load(s.jobs))
	if err == nil {
		err = k.Load(executionsBucket, load(s.execs))
	}
	if err != nil {
		return nil, fmt.Errorf("reading the jobs: %w", err)
	}
	for _, e := range s.execs {
		if n, ok := jobs.Next(s.thingExecs(e.Thing)); ok {
			s.next[e.Thing] = n.JobID
		}
	}
	return s, nil
}

// run times out executions whose step or job timer passed, until close.
func (s *jobService) run() {
	defer close(s.done)
	t := time.NewTicker(min(time.Second, s.minute/20))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.expire()
		}
	}
}

func (s *jobService) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
		<-s.done
	}
}

func (s *jobService) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, e := range s.execs {
		if next, ok := jobs.Expire(*e, now); ok {
			_ = s.saveExecs(now, next) // a failed write leaves it to the next tick
		}
	}
}

// saveExecs writes changed executions (and the jobs they settle), then
// applies them and sends the notifications the change calls for.
func (s *jobService) saveExecs(now time.Time, changed ...jobs.Execution) *jobs.Error {
	ops := make([]kvOp, 0, len(changed)+1)
	for _, e := range changed {
		ops = append(ops, put(executionsBucket, execKey(e.Thing, e.JobID), e))
	}
	settled := map[string]jobs.Job{}
	for _, e := range changed {
		j := s.jobs[e.JobID]
		if j == nil {
			continue
		}
		if next, ok := jobs.Settle(*j, s.jobExecsWith(e.JobID, changed), now); ok {
			settled[j.ID] = next
			ops = append(ops, put(jobsBucket, j.ID, next))
		}
	}
	if err := s.kv.Apply(ops); err != nil {
		return &jobs.Error{Code: jobs.InternalError, Message: "writing the job execution: " + err.Error()}
	}
	things := map[string]bool{}
	for _, e := range changed {
		e := e
		s.execs[execKey(e.Thing, e.JobID)] = &e
		things[e.Thing] = true
	}
	for id, j := range settled {
		j := j
		s.jobs[id] = &j
	}
	for thing := range things {
		s.announce(thing, now)
	}
	return nil
}

// announce sends notify (the pending list changed) and notify-next (the
// next execution changed) for a thing.
func (s *jobService) announce(thing string, now time.Time) {
	if s.publish == nil {
		return
	}
	execs := s.thingExecs(thing)
	s.publish(jobs.Prefix(thing)+"/notify", jobs.Notify(execs, now))
	n, ok := jobs.Next(execs)
	if n.JobID == s.next[thing] {
		return
	}
	s.next[thing] = n.JobID
	if !ok {
		s.publish(jobs.Prefix(thing)+"/notify-next", jobs.ExecutionAnswer(nil, "", now))
		return
	}
	w := jobs.WireOf(n, s.documentObject(n.JobID), now)
	s.publish(jobs.Prefix(thing)+"/notify-next", jobs.ExecutionAnswer(&w, "", now))
}

func (s *jobService) thingExecs(thing string) []jobs.Execution {
	var out []jobs.Execution
	for _, e := range s.execs {
		if e.Thing == thing {
			out = append(out, *e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JobID < out[j].JobID })
	return out
}

func (s *jobService) jobExecs(jobID string) []jobs.Execution {
	return s.jobExecsWith(jobID, nil)
}

// jobExecsWith is a job's executions with changed ones in place of the
// stored.
func (s *jobService) jobExecsWith(jobID string, changed []jobs.Execution) []jobs.Execution {
	byThing := map[string]jobs.Execution{}
	for _, e := range s.execs {
		if e.JobID == jobID {
			byThing[e.Thing] = *e
		}
	}
	for _, e := range changed {
		if e.JobID == jobID {
			byThing[e.Thing] = e
		}
	}
	out := make([]jobs.Execution, 0, len(byThing))
	for _, e := range byThing {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Thing < out[j].Thing })
	return out
}

// document is a job's document as a device gets it: each
// ${aws:iot:s3-presigned-url:URL} presigned for the job's expiry (an hour
// unless presignedUrlConfig says otherwise).
func (s *jobService) document(jobID string) string {
	j := s.jobs[jobID]
	if j == nil {
		return ""
	}
	if s.presign == nil {
		return j.Document
	}
	expires := time.Hour
	if j.PresignExpiry > 0 {
		expires = time.Duration(j.PresignExpiry) * time.Second
	}
	doc, err := jobs.ExpandPresigned(j.Document, func(u string) (string, error) { return s.presign(u, expires) })
	if err != nil {
		return j.Document // an unparsable URL stays as the operator wrote it
	}
	return doc
}

// documentObject is a job's document as the MQTT API carries it: an object
// (a document that is not JSON goes as a string).
func (s *jobService) documentObject(jobID string) json.RawMessage {
	doc := s.document(jobID)
	if doc == "" {
		return nil
	}
	if json.Valid([]byte(doc)) {
		return json.RawMessage(doc)
	}
	b, _ := json.Marshal(doc)
	return b
}

func (s *jobService) execution(thing, jobID string) (*jobs.Execution, *jobs.Error) {
	if jobID == "$next" {
		n, ok := jobs.Next(s.thingExecs(thing))
		if !ok {
			return nil, nil
		}
		return &n, nil
	}
	e := s.execs[execKey(thing, jobID)]
	if e == nil {
		return nil, &jobs.Error{Code: jobs.ResourceNotFound, Message: fmt.Sprintf("thing %s has no execution of job %s", thing, jobID)}
	}
	cp := *e
	return &cp, nil
}

// The device's operations, shared by MQTT and iot-jobs-data.

func (s *jobService) pending(thing string) []jobs.Execution {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.thingExecs(thing)
}

// startNext starts the next QUEUED execution (an IN_PROGRESS one is
// returned as it is); nil when nothing is pending.
func (s *jobService) startNext(thing string, details map[string]string, step *int64) (*jobs.Execution, *jobs.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := jobs.Next(s.thingExecs(thing))
	if !ok {
		return nil, nil
	}
	if n.Status == jobs.InProgress {
		return &n, nil
	}
	now := s.now()
	started, err := jobs.Start(n, details, step, s.jobMinutes(n.JobID), now, s.minute)
	if err != nil {
		return nil, err
	}
	if err := s.saveExecs(now, started); err != nil {
		return nil, err
	}
	return &started, nil
}

func (s *jobService) jobMinutes(jobID string) int64 {
	if j := s.jobs[jobID]; j != nil {
		return j.InProgressMins
	}
	return 0
}

// describe is DescribeJobExecution; a terminal execution asked for by id
// is TerminalStateReached, as AWS's error table gives it.
func (s *jobService) describe(thing, jobID string, number *int64) (*jobs.Execution, *jobs.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.execution(thing, jobID)
	if err != nil || e == nil {
		return e, err
	}
	if number != nil && *number != e.Number {
		return nil, &jobs.Error{Code: jobs.ResourceNotFound, Message: fmt.Sprintf("job %s has no execution number %d on thing %s", jobID, *number, thing)}
	}
	return e, nil
}

func (s *jobService) update(thing, jobID string, req jobs.UpdateRequest) (jobs.Execution, *jobs.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.execution(thing, jobID)
	if err != nil {
		return jobs.Execution{}, err
	}
	now := s.now()
	next, err := jobs.Update(*e, req, s.jobMinutes(jobID), now, s.minute)
	if err != nil {
		return *e, err
	}
	if err := s.saveExecs(now, next); err != nil {
		return *e, err
	}
	return next, nil
}

// jobsHook serves the Jobs MQTT API. It is added with the broker's other
// hooks, before openAWS opens the service it reads through srv.
type jobsHook struct {
	mqtt.HookBase
	srv *Server
}

func (h *jobsHook) ID() string { return "iotwatch-jobs" }

func (h *jobsHook) Provides(b byte) bool { return b == mqtt.OnPublish }

func (h *jobsHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	t, ok, terr := jobs.ParseTopic(pk.TopicName)
	if !ok {
		return pk, nil
	}
	h.handle(t, terr, pk.Payload)
	return pk, nil
}

func (h *jobsHook) handle(t jobs.Topic, terr *jobs.Error, payload []byte) {
	svc := h.srv.jobs
	req, err := jobs.ParseRequest(payload)
	if terr != nil {
		err = terr
	}
	now := svc.now()
	reject := func(err *jobs.Error) {
		svc.publish(t.Answer("rejected"), jobs.RejectedAnswer(err, req.ClientToken, now))
	}
	if err != nil {
		reject(err)
		return
	}
	switch t.Op {
	case jobs.GetPending:
		svc.publish(t.Answer("accepted"), jobs.PendingAnswer(svc.pending(t.Thing), req.ClientToken, now))
	case jobs.StartNext:
		e, err := svc.startNext(t.Thing, req.StatusDetails, req.StepTimeoutInMinutes)
		if err != nil {
			reject(err)
			return
		}
		svc.publish(t.Answer("accepted"), jobs.ExecutionAnswer(svc.wire(e, true, now), req.ClientToken, now))
	case jobs.Describe:
		e, err := svc.describe(t.Thing, t.JobID, req.ExecutionNumber)
		if err != nil {
			reject(err)
			return
		}
		if e != nil && e.Status.Terminal() && t.JobID != "$next" {
			reject(&jobs.Error{Code: jobs.TerminalStateReached, Message: fmt.Sprintf("job execution %s on %s is %s", t.JobID, t.Thing, e.Status)})
			return
		}
		withDoc := req.IncludeJobDocument == nil || *req.IncludeJobDocument
		svc.publish(t.Answer("accepted"), jobs.ExecutionAnswer(svc.wire(e, withDoc, now), req.ClientToken, now))
	case jobs.UpdateOp:
		e, err := svc.update(t.Thing, t.JobID, jobs.UpdateRequest{Status: req.Status, StatusDetails: req.StatusDetails,
			ExpectedVersion: req.ExpectedVersion, ExecutionNumber: req.ExecutionNumber, StepMinutes: req.StepTimeoutInMinutes})
		if err != nil {
			reject(err)
			return
		}
		svc.mu.Lock()
		doc := svc.documentObject(t.JobID)
		svc.mu.Unlock()
		svc.publish(t.Answer("accepted"), jobs.UpdateAnswer(e, req, doc, now))
	}
}

// wire is an execution as the MQTT API sends it; nil stays nil.
func (s *jobService) wire(e *jobs.Execution, withDocument bool, now time.Time) *jobs.Wire {
	if e == nil {
		return nil
	}
	var doc json.RawMessage
	if withDocument {
		s.mu.Lock()
		doc = s.documentObject(e.JobID)
		s.mu.Unlock()
	}
	w := jobs.WireOf(*e, doc, now)
	return &w
}

// restError is a Jobs error as the HTTPS APIs answer it.
func restError(err *jobs.Error) error {
	status, typ := http.StatusBadRequest, "InvalidRequestException"
	switch err.Code {
	case jobs.ResourceNotFound:
		status, typ = http.StatusNotFound, "ResourceNotFoundException"
	case jobs.InvalidStateTransition:
		status, typ = http.StatusConflict, "InvalidStateTransitionException"
	case jobs.VersionMismatch:
		status, typ = http.StatusConflict, "VersionConflictException"
	case jobs.TerminalStateReached:
		status, typ = http.StatusGone, "TerminalStateException"
	case jobs.InternalError:
		status, typ = http.StatusInternalServerError, "InternalFailureException"
	}
	return errorf(status, typ, "%s", err.Message)
}

// thingOfTarget reads a thing name from a target ARN (or a bare name).
func thingOfTarget(target string) (string, bool) {
	if !strings.HasPrefix(target, "arn:") {
		return target, target != ""
	}
	_, name, ok := strings.Cut(target, ":thing/")
	return name, ok && name != "" && !strings.Contains(name, "/")
}
