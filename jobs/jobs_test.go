package jobs

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func queued(job string, at time.Time) Execution {
	return Execution{JobID: job, Thing: "t1", Status: Queued, QueuedAt: at, LastUpdatedAt: at, Version: 1, Number: 1}
}

// TestDeviceTransitions holds Update to AWS's table: from each status, each
// status a device might send.
func TestDeviceTransitions(t *testing.T) {
	for _, from := range Statuses {
		for _, to := range append(Statuses, "") {
			e := queued("j", t0)
			e.Status = from
			got, err := Update(e, UpdateRequest{Status: to}, 0, t0.Add(time.Second), time.Minute)
			deviceStatus := to == InProgress || to == Succeeded || to == Failed || to == Rejected
			var want Code
			switch {
			case !deviceStatus:
				want = InvalidRequest
			case from.Terminal():
				want = InvalidStateTransition
			}
			if want == "" {
				if err != nil || got.Status != to || got.Version != 2 || !got.LastUpdatedAt.Equal(t0.Add(time.Second)) {
					t.Errorf("%s → %q: %+v, %v", from, to, got, err)
				}
				continue
			}
			if err == nil || err.Code != want {
				t.Errorf("%s → %q: err %v, want %s", from, to, err, want)
			}
			if want == InvalidStateTransition && (err.State == nil || err.State.Status != from) {
				t.Errorf("%s → %q: InvalidStateTransition carries no execution state", from, to)
			}
			if got.Version != 1 {
				t.Errorf("%s → %q: a refused update changed the version", from, to)
			}
		}
	}
}

func TestUpdateChecks(t *testing.T) {
	e := queued("j", t0)
	cases := []struct {
		name string
		req  UpdateRequest
		want Code
	}{
		{"version mismatch", UpdateRequest{Status: InProgress, ExpectedVersion: ptr(int64(7))}, VersionMismatch},
		{"right version", UpdateRequest{Status: InProgress, ExpectedVersion: ptr(int64(1))}, ""},
		{"another execution number", UpdateRequest{Status: InProgress, ExecutionNumber: ptr(int64(2))}, ResourceNotFound},
		{"step 0", UpdateRequest{Status: InProgress, StepMinutes: ptr(int64(0))}, InvalidRequest},
		{"step too long", UpdateRequest{Status: InProgress, StepMinutes: ptr(int64(MaxStepMinutes + 1))}, InvalidRequest},
		{"step at the limit", UpdateRequest{Status: InProgress, StepMinutes: ptr(int64(MaxStepMinutes))}, ""},
		{"bad details key", UpdateRequest{Status: InProgress, StatusDetails: map[string]string{"a b": "x"}}, InvalidRequest},
		{"empty details value", UpdateRequest{Status: InProgress, StatusDetails: map[string]string{"k": ""}}, InvalidRequest},
		{"long details value", UpdateRequest{Status: InProgress, StatusDetails: map[string]string{"k": strings.Repeat("x", 1025)}}, InvalidRequest},
		{"details", UpdateRequest{Status: InProgress, StatusDetails: map[string]string{"progress": "40%"}}, ""},
	}
	for _, c := range cases {
		_, err := Update(e, c.req, 0, t0, time.Minute)
		if (err == nil) != (c.want == "") || err != nil && err.Code != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := Update(e, UpdateRequest{Status: InProgress, ExpectedVersion: ptr(int64(7))}, 0, t0, time.Minute); err.State == nil || err.State.Version != 1 {
		t.Errorf("VersionMismatch without the execution state: %+v", err)
	}
}

// TestTimers: the step timer comes from start-next or an update, is reset
// by the next update that gives one, and stops at a terminal status; the
// job's in-progress timer runs from IN_PROGRESS and is never reset.
func TestTimers(t *testing.T) {
	minute := time.Second // a short minute, as tests run the service
	e, err := Start(queued("j", t0), map[string]string{"step": "download"}, ptr(int64(2)), 5, t0, minute)
	if err != nil || e.Status != InProgress || !e.StartedAt.Equal(t0) || e.StatusDetails["step"] != "download" {
		t.Fatalf("Start: %+v %v", e, err)
	}
	if s := e.SecondsBeforeTimedOut(t0); s == nil || *s != 2 {
		t.Errorf("approximateSecondsBeforeTimedOut = %v, want 2", s)
	}
	if _, ok := Expire(e, t0.Add(1999*time.Millisecond)); ok {
		t.Error("expired before its step timer")
	}
	e, _ = Update(e, UpdateRequest{Status: InProgress, StepMinutes: ptr(int64(10))}, 5, t0.Add(time.Second), minute)
	if !e.Deadline().Equal(t0.Add(5 * time.Second)) {
		t.Errorf("deadline %v: the job's 5-minute timer comes first", e.Deadline())
	}
	out, ok := Expire(e, t0.Add(5*time.Second))
	if !ok || out.Status != TimedOut || out.Version != e.Version+1 || out.SecondsBeforeTimedOut(t0) != nil {
		t.Errorf("Expire at the job deadline: %+v %v", out, ok)
	}
	done, _ := Update(e, UpdateRequest{Status: Succeeded}, 5, t0.Add(2*time.Second), minute)
	if _, ok := Expire(done, t0.Add(time.Hour)); ok || !done.Deadline().IsZero() {
		t.Error("a SUCCEEDED execution timed out")
	}
	if _, ok := Expire(queued("q", t0), t0.Add(1000*time.Hour)); ok {
		t.Error("a QUEUED execution timed out (timers run from IN_PROGRESS)")
	}
}

func TestCancel(t *testing.T) {
	q := queued("j", t0)
	if c, err := Cancel(q, false, nil, nil, t0); err != nil || c.Status != Canceled || c.ForceCanceled {
		t.Errorf("cancel QUEUED: %+v %v", c, err)
	}
	running, _ := Start(q, nil, nil, 0, t0, time.Minute)
	if _, err := Cancel(running, false, nil, nil, t0); err == nil || err.Code != InvalidStateTransition {
		t.Errorf("cancel IN_PROGRESS without force: %v", err)
	}
	if c, err := Cancel(running, true, nil, nil, t0); err != nil || c.Status != Canceled || !c.ForceCanceled {
		t.Errorf("cancel IN_PROGRESS with force: %+v %v", c, err)
	}
	if _, err := Cancel(running, true, ptr(int64(99)), nil, t0); err == nil || err.Code != VersionMismatch {
		t.Errorf("cancel with a stale expectedVersion: %v", err)
	}
	done, _ := Update(running, UpdateRequest{Status: Failed}, 0, t0, time.Minute)
	if _, err := Cancel(done, true, nil, nil, t0); err == nil || err.Code != InvalidStateTransition {
		t.Errorf("cancel FAILED: %v", err)
	}
}

// TestPendingOrder: random sets of executions; $next is the oldest
// IN_PROGRESS, else the oldest QUEUED, and terminal ones never appear.
func TestPendingOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 2000; i++ {
		var execs []Execution
		for k := 0; k < rng.Intn(6); k++ {
			e := queued(fmt.Sprintf("j%d", k), t0.Add(time.Duration(rng.Intn(5))*time.Second))
			e.Status = Statuses[rng.Intn(len(Statuses))]
			if e.Status != Queued {
				e.StartedAt = e.QueuedAt.Add(time.Duration(rng.Intn(5)) * time.Second)
			}
			execs = append(execs, e)
		}
		inProgress, queuedList := Pending(execs)
		var want *Execution
		for _, e := range execs {
			e := e
			if e.Status == InProgress && (want == nil || want.Status != InProgress || e.StartedAt.Before(want.StartedAt) ||
				e.StartedAt.Equal(want.StartedAt) && e.JobID < want.JobID) {
				want = &e
			}
		}
		for _, e := range execs {
			e := e
			if want == nil || want.Status == Queued && (e.QueuedAt.Before(want.QueuedAt) || e.QueuedAt.Equal(want.QueuedAt) && e.JobID < want.JobID) {
				if e.Status == Queued {
					want = &e
				}
			}
		}
		got, ok := Next(execs)
		if (want != nil) != ok || ok && got.JobID != want.JobID {
			t.Fatalf("case %d: next %v %v, want %v among %+v", i, got.JobID, ok, want, execs)
		}
		for _, e := range append(inProgress, queuedList...) {
			if e.Status.Terminal() {
				t.Fatalf("case %d: %s listed as pending", i, e.Status)
			}
		}
		n := ProcessDetails(execs)
		if n[InProgress] != len(inProgress) || n[Queued] != len(queuedList) {
			t.Fatalf("case %d: details %v against %d/%d pending", i, n, len(inProgress), len(queuedList))
		}
	}
}

func TestSettle(t *testing.T) {
	j := Job{ID: "j", Status: JobInProgress}
	a, b := queued("j", t0), queued("j", t0)
	b.Thing = "t2"
	if _, ok := Settle(j, []Execution{a, b}, t0); ok {
		t.Error("settled with QUEUED executions")
	}
	a.Status, b.Status = Succeeded, TimedOut
	if s, ok := Settle(j, []Execution{a, b}, t0); !ok || s.Status != JobCompleted || !s.CompletedAt.Equal(t0) {
		t.Errorf("Settle: %+v %v", s, ok)
	}
	j.Status = JobCanceled
	if _, ok := Settle(j, []Execution{a, b}, t0); ok {
		t.Error("a canceled job became COMPLETED")
	}
}

func TestParseTopic(t *testing.T) {
	cases := []struct {
		topic string
		ok    bool
		op    Op
		job   string
		code  Code
	}{
		{"$aws/things/t1/jobs/get", true, GetPending, "", ""},
		{"$aws/things/t1/jobs/start-next", true, StartNext, "", ""},
		{"$aws/things/t1/jobs/j-1/get", true, Describe, "j-1", ""},
		{"$aws/things/t1/jobs/$next/get", true, Describe, "$next", ""},
		{"$aws/things/t1/jobs/j_1/update", true, UpdateOp, "j_1", ""},
		{"$aws/things/t1/jobs/$next/update", true, UpdateOp, "$next", InvalidTopic},
		{"$aws/things/t1/jobs/a.b/get", true, Describe, "a.b", InvalidTopic},
		{"$aws/things/t1/jobs/j/delete", true, 0, "", InvalidTopic},
		{"$aws/things/t1/jobs", true, 0, "", InvalidTopic},
		{"$aws/things/t1/jobs/get/accepted", false, 0, "", ""},
		{"$aws/things/t1/jobs/j/update/rejected", false, 0, "", ""},
		{"$aws/things/t1/jobs/notify", false, 0, "", ""},
		{"$aws/things/t1/jobs/notify-next", false, 0, "", ""},
		{"$aws/things/t1/shadow/get", false, 0, "", ""},
		{"$aws/things/t1/jobsx/get", false, 0, "", ""},
	}
	for _, c := range cases {
		tp, ok, err := ParseTopic(c.topic)
		if ok != c.ok || ok && err == nil && (tp.Op != c.op || tp.JobID != c.job || tp.Thing != "t1") {
			t.Errorf("%s: %+v ok=%v err=%v", c.topic, tp, ok, err)
		}
		if (err == nil) != (c.code == "") || err != nil && err.Code != c.code {
			t.Errorf("%s: err %v, want %q", c.topic, err, c.code)
		}
	}
	if got := (Topic{Thing: "t1", JobID: "j", Op: UpdateOp}).Answer("accepted"); got != "$aws/things/t1/jobs/j/update/accepted" {
		t.Errorf("answer topic %s", got)
	}
	if tp, _, _ := ParseTopic("$aws/things/t1/jobs/j/delete"); tp.Answer("rejected") != "$aws/things/t1/jobs/j/delete/rejected" {
		t.Errorf("a topic that maps to no request is answered on %s", tp.Answer("rejected"))
	}
}

func TestParseRequest(t *testing.T) {
	if _, err := ParseRequest([]byte(`{"status":`)); err == nil || err.Code != InvalidJSON {
		t.Errorf("truncated JSON: %v", err)
	}
	if _, err := ParseRequest([]byte(`{"expectedVersion":"one"}`)); err == nil || err.Code != InvalidRequest {
		t.Errorf("wrong type: %v", err)
	}
	r, err := ParseRequest([]byte("{\"status\":\"IN_PROGRESS\",\"clientToken\":\"c1\"}\x00"))
	if err != nil || r.Status != InProgress || r.ClientToken != "c1" {
		t.Errorf("a C SDK's trailing NUL: %+v %v", r, err)
	}
	if _, err := ParseRequest(nil); err != nil {
		t.Errorf("empty payload: %v", err)
	}
}

// TestWireSeconds: the service sends whole epoch seconds, the document as
// an object, and leaves startedAt out of a QUEUED execution.
func TestWireSeconds(t *testing.T) {
	e := queued("j", t0.Add(1500*time.Millisecond))
	b, _ := json.Marshal(WireOf(e, json.RawMessage(`{"operation":"ota"}`), t0))
	var doc map[string]any
	json.Unmarshal(b, &doc)
	if doc["queuedAt"] != float64(t0.Unix()+1) || doc["startedAt"] != nil || doc["jobDocument"].(map[string]any)["operation"] != "ota" {
		t.Errorf("wire: %s", b)
	}
	rej := RejectedAnswer(&Error{Code: VersionMismatch, Message: "m", State: &e}, "tok", t0)
	json.Unmarshal(rej, &doc)
	if doc["code"] != "VersionMismatch" || doc["clientToken"] != "tok" || doc["executionState"].(map[string]any)["versionNumber"] != float64(1) {
		t.Errorf("rejected: %s", rej)
	}
}

func TestExpandPresigned(t *testing.T) {
	doc := `{"url":"${aws:iot:s3-presigned-url:https://h/files/a.bin}","b":"${aws:iot:s3-presigned-url:https://h/b}","c":"${aws:iot:s3-presigned-url:open"}`
	got, err := ExpandPresigned(doc, func(u string) (string, error) { return u + "?X-Amz-Signature=s&X-Amz-Expires=60", nil })
	want := `{"url":"https://h/files/a.bin?X-Amz-Signature=s&X-Amz-Expires=60","b":"https://h/b?X-Amz-Signature=s&X-Amz-Expires=60","c":"${aws:iot:s3-presigned-url:open"}`
	if err != nil || got != want {
		t.Errorf("got %s, %v", got, err)
	}
	if !json.Valid([]byte(got)) {
		t.Error("the expanded document is not JSON")
	}
	if PresignedPlaceholder("https://h/x") != "${aws:iot:s3-presigned-url:https://h/x}" {
		t.Error("placeholder")
	}
}
