package jobs

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// Op is a request of the Jobs MQTT API.
type Op int

// The device's requests.
const (
	GetPending Op = iota + 1 // $aws/things/T/jobs/get
	StartNext                // $aws/things/T/jobs/start-next
	Describe                 // $aws/things/T/jobs/JOB/get (JOB may be $next)
	UpdateOp                 // $aws/things/T/jobs/JOB/update
)

// Topic is a parsed request topic; Op is 0 for a topic under jobs that maps
// to no request (answered InvalidTopic on Raw + "/rejected").
type Topic struct {
	Thing, JobID, Raw string
	Op                Op
}

// Prefix is where a thing's job topics start.
func Prefix(thing string) string { return "$aws/things/" + thing + "/jobs" }

// Answer is the topic of the request's answer, kind "accepted" or
// "rejected".
func (t Topic) Answer(kind string) string {
	switch t.Op {
	case GetPending:
		return Prefix(t.Thing) + "/get/" + kind
	case StartNext:
		return Prefix(t.Thing) + "/start-next/" + kind
	case Describe:
		return Prefix(t.Thing) + "/" + t.JobID + "/get/" + kind
	case UpdateOp:
		return Prefix(t.Thing) + "/" + t.JobID + "/update/" + kind
	}
	return t.Raw + "/" + kind
}

// IsJobsTopic reports whether topic is under a thing's jobs topics (a
// request, an answer or a notification).
func IsJobsTopic(topic string) bool {
	rest, ok := strings.CutPrefix(topic, "$aws/things/")
	if !ok {
		return false
	}
	thing, rest, ok := strings.Cut(rest, "/")
	return ok && thing != "" && (rest == "jobs" || strings.HasPrefix(rest, "jobs/"))
}

// ParseTopic reads a request topic. ok is false for anything else under
// jobs (answers, notifications); a malformed request topic is ok with a
// *Error (InvalidTopic), so that the device hears why.
func ParseTopic(topic string) (Topic, bool, *Error) {
	if !IsJobsTopic(topic) {
		return Topic{}, false, nil
	}
	rest := strings.TrimPrefix(topic, "$aws/things/")
	thing, rest, _ := strings.Cut(rest, "/")
	parts := strings.Split(strings.TrimPrefix(strings.TrimPrefix(rest, "jobs"), "/"), "/")
	t := Topic{Thing: thing, Raw: topic}
	switch {
	case len(parts) == 1 && parts[0] == "get":
		t.Op = GetPending
	case len(parts) == 1 && parts[0] == "start-next":
		t.Op = StartNext
	case len(parts) == 2 && (parts[1] == "get" || parts[1] == "update"):
		t.JobID, t.Op = parts[0], Describe
		if parts[1] == "update" {
			t.Op = UpdateOp
		}
		if parts[0] == "$next" && t.Op == Describe {
			return t, true, nil
		}
		if !ValidJobID(parts[0]) {
			return t, true, errorf(InvalidTopic, "topic %s: %q is not a job id (1 to 64 of a-z A-Z 0-9 _ -)", topic, parts[0])
		}
	default:
		// Answers and notifications are the service's own topics.
		last := parts[len(parts)-1]
		if last == "accepted" || last == "rejected" || last == "notify" || last == "notify-next" {
			return Topic{}, false, nil
		}
		t.JobID = ""
		return t, true, errorf(InvalidTopic, "topic %s is not a Jobs request (jobs/get, jobs/start-next, jobs/JOB/get, jobs/JOB/update)", topic)
	}
	return t, true, nil
}

// Request is a request's payload: the members of every operation, each
// read only where it belongs.
type Request struct {
	ClientToken              string            `json:"clientToken,omitempty"`
	Status                   Status            `json:"status,omitempty"`
	StatusDetails            map[string]string `json:"statusDetails,omitempty"`
	ExpectedVersion          *int64            `json:"expectedVersion,omitempty"`
	ExecutionNumber          *int64            `json:"executionNumber,omitempty"`
	IncludeJobExecutionState bool              `json:"includeJobExecutionState,omitempty"`
	IncludeJobDocument       *bool             `json:"includeJobDocument,omitempty"`
	StepTimeoutInMinutes     *int64            `json:"stepTimeoutInMinutes,omitempty"`
}

// ParseRequest reads a payload; an empty payload is an empty request (the
// SDKs send "{}" or nothing for get).
func ParseRequest(payload []byte) (Request, *Error) {
	var r Request
	payload = bytes.TrimRight(payload, "\x00") // C SDKs send the terminator
	if len(bytes.TrimSpace(payload)) == 0 {
		return r, nil
	}
	if !json.Valid(payload) {
		return r, errorf(InvalidJSON, "the payload is not valid JSON")
	}
	if err := json.Unmarshal(payload, &r); err != nil {
		return r, errorf(InvalidRequest, "the payload's members have the wrong types: %v", err)
	}
	if len(r.ClientToken) > 64 {
		return r, errorf(InvalidRequest, "clientToken is longer than 64 characters")
	}
	return r, nil
}

// Seconds is a time as the Jobs service sends it: whole epoch seconds.
func Seconds(t time.Time) int64 { return t.Unix() }

// Summary is a JobExecutionSummary of the MQTT API.
type Summary struct {
	JobID         string `json:"jobId"`
	QueuedAt      int64  `json:"queuedAt"`
	StartedAt     *int64 `json:"startedAt,omitempty"`
	LastUpdatedAt int64  `json:"lastUpdatedAt"`
	Version       int64  `json:"versionNumber"`
	Number        int64  `json:"executionNumber"`
}

// SummaryOf is e's summary.
func SummaryOf(e Execution) Summary {
	s := Summary{JobID: e.JobID, QueuedAt: Seconds(e.QueuedAt), LastUpdatedAt: Seconds(e.LastUpdatedAt),
		Version: e.Version, Number: e.Number}
	if !e.StartedAt.IsZero() {
		at := Seconds(e.StartedAt)
		s.StartedAt = &at
	}
	return s
}

// Wire is a JobExecution of the MQTT API; the document is an object there
// (a string over HTTPS, which fills Document with a JSON string instead).
type Wire struct {
	JobID                 string            `json:"jobId"`
	Thing                 string            `json:"thingName"`
	Status                Status            `json:"status"`
	StatusDetails         map[string]string `json:"statusDetails,omitempty"`
	QueuedAt              int64             `json:"queuedAt"`
	StartedAt             *int64            `json:"startedAt,omitempty"`
	LastUpdatedAt         int64             `json:"lastUpdatedAt"`
	SecondsBeforeTimedOut *int64            `json:"approximateSecondsBeforeTimedOut,omitempty"`
	Version               int64             `json:"versionNumber"`
	Number                int64             `json:"executionNumber"`
	Document              json.RawMessage   `json:"jobDocument,omitempty"`
}

// WireOf is e as the MQTT API sends it, with document (nil leaves it out).
func WireOf(e Execution, document json.RawMessage, now time.Time) Wire {
	s := SummaryOf(e)
	return Wire{JobID: e.JobID, Thing: e.Thing, Status: e.Status, StatusDetails: e.StatusDetails,
		QueuedAt: s.QueuedAt, StartedAt: s.StartedAt, LastUpdatedAt: s.LastUpdatedAt,
		SecondsBeforeTimedOut: e.SecondsBeforeTimedOut(now), Version: e.Version, Number: e.Number, Document: document}
}

// State is a JobExecutionState.
type State struct {
	Status        Status            `json:"status"`
	StatusDetails map[string]string `json:"statusDetails,omitempty"`
	Version       int64             `json:"versionNumber"`
}

// StateOf is e's state.
func StateOf(e Execution) State {
	return State{Status: e.Status, StatusDetails: e.StatusDetails, Version: e.Version}
}

// RejectedAnswer is the payload of a /rejected answer.
func RejectedAnswer(err *Error, clientToken string, now time.Time) []byte {
	doc := struct {
		Code        Code   `json:"code"`
		Message     string `json:"message"`
		ClientToken string `json:"clientToken,omitempty"`
		Timestamp   int64  `json:"timestamp"`
		State       *State `json:"executionState,omitempty"`
	}{Code: err.Code, Message: err.Message, ClientToken: clientToken, Timestamp: Seconds(now)}
	if err.State != nil {
		st := StateOf(*err.State)
		doc.State = &st
	}
	return mustJSON(doc)
}

// PendingAnswer is jobs/get/accepted.
func PendingAnswer(execs []Execution, clientToken string, now time.Time) []byte {
	inProgress, queued := Pending(execs)
	return mustJSON(struct {
		InProgress  []Summary `json:"inProgressJobs"`
		Queued      []Summary `json:"queuedJobs"`
		Timestamp   int64     `json:"timestamp"`
		ClientToken string    `json:"clientToken,omitempty"`
	}{summaries(inProgress), summaries(queued), Seconds(now), clientToken})
}

func summaries(list []Execution) []Summary {
	out := make([]Summary, 0, len(list))
	for _, e := range list {
		out = append(out, SummaryOf(e))
	}
	return out
}

// ExecutionAnswer is start-next/accepted, JOB/get/accepted and notify-next:
// an execution, or none (nil).
func ExecutionAnswer(w *Wire, clientToken string, now time.Time) []byte {
	return mustJSON(struct {
		Execution   *Wire  `json:"execution,omitempty"`
		Timestamp   int64  `json:"timestamp"`
		ClientToken string `json:"clientToken,omitempty"`
	}{w, Seconds(now), clientToken})
}

// UpdateAnswer is JOB/update/accepted.
func UpdateAnswer(e Execution, req Request, document json.RawMessage, now time.Time) []byte {
	doc := struct {
		State       *State          `json:"executionState,omitempty"`
		Document    json.RawMessage `json:"jobDocument,omitempty"`
		Timestamp   int64           `json:"timestamp"`
		ClientToken string          `json:"clientToken,omitempty"`
	}{Timestamp: Seconds(now), ClientToken: req.ClientToken}
	if req.IncludeJobExecutionState {
		st := StateOf(e)
		doc.State = &st
	}
	if req.IncludeJobDocument != nil && *req.IncludeJobDocument {
		doc.Document = document
	}
	return mustJSON(doc)
}

// Notify is jobs/notify: the thing's pending executions by status.
func Notify(execs []Execution, now time.Time) []byte {
	inProgress, queued := Pending(execs)
	jobs := map[Status][]Summary{}
	if len(inProgress) > 0 {
		jobs[InProgress] = summaries(inProgress)
	}
	if len(queued) > 0 {
		jobs[Queued] = summaries(queued)
	}
	return mustJSON(struct {
		Timestamp int64                `json:"timestamp"`
		Jobs      map[Status][]Summary `json:"jobs"`
	}{Seconds(now), jobs})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types are marshalled
	}
	return b
}

// presignedPrefix opens AWS's placeholder for a file the device downloads:
// ${aws:iot:s3-presigned-url:URL} in a job document becomes a presigned URL
// each time the service hands the document to a device.
const presignedPrefix = "${aws:iot:s3-presigned-url:"

// ExpandPresigned replaces each placeholder of document with presign's URL
// for it; a placeholder not closed within its JSON string is left as it is.
func ExpandPresigned(document string, presign func(url string) (string, error)) (string, error) {
	var out strings.Builder
	rest := document
	for {
		i := strings.Index(rest, presignedPrefix)
		if i < 0 {
			break
		}
		start := i + len(presignedPrefix)
		end := strings.IndexAny(rest[start:], "}\"\\ ")
		if end < 0 || rest[start+end] != '}' {
			out.WriteString(rest[:start])
			rest = rest[start:]
			continue
		}
		signed, err := presign(rest[start : start+end])
		if err != nil {
			return "", err
		}
		out.WriteString(rest[:i])
		out.WriteString(signed)
		rest = rest[start+end+1:]
	}
	out.WriteString(rest)
	return out.String(), nil
}

// PresignedPlaceholder is the placeholder for url.
func PresignedPlaceholder(url string) string { return presignedPrefix + url + "}" }
