package localiot

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/iotwatch/iotwatch/pki"
)

const otaDocument = `{"operation":"ota","version":"1.2.0","url":"https://example.invalid/fw.bin","sha256":"00","size":1}`

func (l *lab) createJob(t *testing.T, id string, in *iot.CreateJobInput, things ...string) {
	t.Helper()
	if in == nil {
		in = &iot.CreateJobInput{Document: aws.String(otaDocument)}
	}
	in.JobId = aws.String(id)
	for _, th := range things {
		// certs init's device is a certificate, not yet a thing.
		l.iotClient(t).CreateThing(context.Background(), &iot.CreateThingInput{ThingName: aws.String(th)})
		in.Targets = append(in.Targets, "arn:aws:iot:eu-west-1:"+Account+":thing/"+th)
	}
	if _, err := l.iotClient(t).CreateJob(context.Background(), in); err != nil {
		t.Fatalf("CreateJob %s: %v", id, err)
	}
}

// jobsFlow runs every control-plane job operation through AWS's Go SDK,
// successes and refusals (api_model_test.go holds the answers to the model).
func jobsFlow(t *testing.T, l *lab) {
	c, ctx := l.iotClient(t), context.Background()
	c.CreateThing(ctx, &iot.CreateThingInput{ThingName: aws.String("flow-a")})
	c.CreateThing(ctx, &iot.CreateThingInput{ThingName: aws.String("flow-b")})
	l.createJob(t, "flow-1", &iot.CreateJobInput{Document: aws.String(otaDocument), Description: aws.String("first"),
		TimeoutConfig:              &types.TimeoutConfig{InProgressTimeoutInMinutes: aws.Int64(30)},
		JobExecutionsRolloutConfig: &types.JobExecutionsRolloutConfig{MaximumPerMinute: aws.Int32(10)}}, "flow-a", "flow-b")
	_, err := c.CreateJob(ctx, &iot.CreateJobInput{JobId: aws.String("flow-1"), Targets: []string{"arn:aws:iot:eu-west-1:" + Account + ":thing/flow-a"}, Document: aws.String("{}")})
	wantAPIError(t, "CreateJob of an existing id", err, "ResourceAlreadyExistsException")
	_, err = c.CreateJob(ctx, &iot.CreateJobInput{JobId: aws.String("flow-2"), Targets: []string{"arn:aws:iot:eu-west-1:" + Account + ":thing/ghost"}, Document: aws.String("{}")})
	wantAPIError(t, "CreateJob for a missing thing", err, "ResourceNotFoundException")
	_, err = c.CreateJob(ctx, &iot.CreateJobInput{JobId: aws.String("flow-3"), Targets: []string{"arn:aws:iot:eu-west-1:" + Account + ":thing/flow-a"}, Document: aws.String("not json")})
	wantAPIError(t, "CreateJob with a document that is not JSON", err, "InvalidRequestException")

	d, err := c.DescribeJob(ctx, &iot.DescribeJobInput{JobId: aws.String("flow-1")})
	if err != nil || d.Job.Status != types.JobStatusInProgress || d.Job.JobProcessDetails.NumberOfQueuedThings == nil ||
		*d.Job.JobProcessDetails.NumberOfQueuedThings != 2 || *d.Job.TimeoutConfig.InProgressTimeoutInMinutes != 30 ||
		*d.Job.JobExecutionsRolloutConfig.MaximumPerMinute != 10 || len(d.Job.Targets) != 2 {
		t.Fatalf("DescribeJob: %+v %v", d.Job, err)
	}
	_, err = c.DescribeJob(ctx, &iot.DescribeJobInput{JobId: aws.String("nope")})
	wantAPIError(t, "DescribeJob of a missing job", err, "ResourceNotFoundException")
	if doc, err := c.GetJobDocument(ctx, &iot.GetJobDocumentInput{JobId: aws.String("flow-1")}); err != nil || *doc.Document != otaDocument {
		t.Errorf("GetJobDocument: %v %v", doc, err)
	}
	if list, err := c.ListJobs(ctx, &iot.ListJobsInput{}); err != nil || len(list.Jobs) != 1 || *list.Jobs[0].JobId != "flow-1" {
		t.Errorf("ListJobs: %+v %v", list, err)
	}
	ex, err := c.DescribeJobExecution(ctx, &iot.DescribeJobExecutionInput{JobId: aws.String("flow-1"), ThingName: aws.String("flow-a")})
	if err != nil || ex.Execution.Status != types.JobExecutionStatusQueued || *ex.Execution.ExecutionNumber != 1 {
		t.Fatalf("DescribeJobExecution: %+v %v", ex, err)
	}
	forThing, err := c.ListJobExecutionsForThing(ctx, &iot.ListJobExecutionsForThingInput{ThingName: aws.String("flow-a")})
	if err != nil || len(forThing.ExecutionSummaries) != 1 || *forThing.ExecutionSummaries[0].JobId != "flow-1" {
		t.Errorf("ListJobExecutionsForThing: %+v %v", forThing, err)
	}
	forJob, err := c.ListJobExecutionsForJob(ctx, &iot.ListJobExecutionsForJobInput{JobId: aws.String("flow-1"), Status: types.JobExecutionStatusQueued})
	if err != nil || len(forJob.ExecutionSummaries) != 2 {
		t.Errorf("ListJobExecutionsForJob: %+v %v", forJob, err)
	}
	if _, err := c.CancelJobExecution(ctx, &iot.CancelJobExecutionInput{JobId: aws.String("flow-1"), ThingName: aws.String("flow-b")}); err != nil {
		t.Errorf("CancelJobExecution: %v", err)
	}
	_, err = c.CancelJobExecution(ctx, &iot.CancelJobExecutionInput{JobId: aws.String("flow-1"), ThingName: aws.String("flow-b")})
	wantAPIError(t, "CancelJobExecution of a canceled one", err, "InvalidStateTransitionException")
	_, err = c.DeleteJob(ctx, &iot.DeleteJobInput{JobId: aws.String("flow-1")})
	wantAPIError(t, "DeleteJob with a QUEUED execution", err, "InvalidStateTransitionException")
	if _, err := c.CancelJob(ctx, &iot.CancelJobInput{JobId: aws.String("flow-1"), Comment: aws.String("rehearsal over")}); err != nil {
		t.Errorf("CancelJob: %v", err)
	}
	d, _ = c.DescribeJob(ctx, &iot.DescribeJobInput{JobId: aws.String("flow-1")})
	if d.Job.Status != types.JobStatusCanceled || *d.Job.JobProcessDetails.NumberOfCanceledThings != 2 {
		t.Errorf("after CancelJob: %+v", d.Job)
	}
	if _, err := c.DeleteJob(ctx, &iot.DeleteJobInput{JobId: aws.String("flow-1")}); err != nil {
		t.Errorf("DeleteJob: %v", err)
	}
	_, err = c.DescribeJobExecution(ctx, &iot.DescribeJobExecutionInput{JobId: aws.String("flow-1"), ThingName: aws.String("flow-a")})
	wantAPIError(t, "DescribeJobExecution after DeleteJob", err, "ResourceNotFoundException")
}

func TestJobsControlPlane(t *testing.T) {
	jobsFlow(t, newAPILab(t, "", ""))
}

// device connects as the lab's device certificate and listens on its jobs
// topics.
func (l *lab) jobsDevice(t *testing.T) *client {
	t.Helper()
	d := l.mustConnect(t, "device", thing)
	d.subscribe(t, "$aws/things/"+thing+"/jobs/#")
	return d
}

func status(d map[string]any) string {
	if e, ok := d["execution"].(map[string]any); ok {
		return e["status"].(string)
	}
	if s, ok := d["executionState"].(map[string]any); ok {
		return s["status"].(string)
	}
	return ""
}

// TestJobsOverMQTT is a device running an OTA job end to end with the
// device certificate's own policy: notify-next, start-next with the
// document as an object, progress, a stale expectedVersion, SUCCEEDED, a
// refused update after that, and the job COMPLETED with its counts.
func TestJobsOverMQTT(t *testing.T) {
	l := newAPILab(t, "", "")
	d := l.jobsDevice(t)
	p := "$aws/things/" + thing + "/jobs"
	l.createJob(t, "ota-1", nil, thing)

	next := d.inbox.waitFor(t, p+"/notify-next", nil)
	if e := next["execution"].(map[string]any); e["jobId"] != "ota-1" || e["status"] != "QUEUED" || e["jobDocument"].(map[string]any)["operation"] != "ota" {
		t.Fatalf("notify-next: %v", next)
	}
	notify := d.inbox.waitFor(t, p+"/notify", nil)
	if q := notify["jobs"].(map[string]any)["QUEUED"].([]any); len(q) != 1 {
		t.Fatalf("notify: %v", notify)
	}
	d.publish(t, p+"/get", `{"clientToken":"g1"}`)
	pending := d.inbox.waitFor(t, p+"/get/accepted", token("g1"))
	if len(pending["queuedJobs"].([]any)) != 1 || len(pending["inProgressJobs"].([]any)) != 0 {
		t.Fatalf("get: %v", pending)
	}

	d.publish(t, p+"/start-next", `{"clientToken":"s1","statusDetails":{"step":"download"},"stepTimeoutInMinutes":5}`)
	started := d.inbox.waitFor(t, p+"/start-next/accepted", token("s1"))
	e := started["execution"].(map[string]any)
	if e["status"] != "IN_PROGRESS" || e["versionNumber"] != float64(2) || e["jobDocument"].(map[string]any)["version"] != "1.2.0" ||
		e["approximateSecondsBeforeTimedOut"] == nil || e["startedAt"] == nil {
		t.Fatalf("start-next: %v", started)
	}
	if ts := started["timestamp"].(float64); ts > float64(time.Now().Unix()+1) || ts < float64(time.Now().Unix()-60) {
		t.Errorf("timestamp %v is not in epoch seconds", ts)
	}

	d.publish(t, p+"/ota-1/update", `{"clientToken":"u1","status":"IN_PROGRESS","statusDetails":{"progress":"50%"},"expectedVersion":2,"includeJobExecutionState":true}`)
	if up := d.inbox.waitFor(t, p+"/ota-1/update/accepted", token("u1")); status(up) != "IN_PROGRESS" {
		t.Fatalf("update: %v", up)
	}
	d.publish(t, p+"/ota-1/update", `{"clientToken":"u2","status":"SUCCEEDED","expectedVersion":2}`)
	rej := d.inbox.waitFor(t, p+"/ota-1/update/rejected", token("u2"))
	if rej["code"] != "VersionMismatch" || rej["executionState"].(map[string]any)["versionNumber"] != float64(3) {
		t.Fatalf("stale expectedVersion: %v", rej)
	}
	d.publish(t, p+"/ota-1/update", `{"clientToken":"u3","status":"SUCCEEDED","expectedVersion":3,"statusDetails":{"fw":"1.2.0"}}`)
	d.inbox.waitFor(t, p+"/ota-1/update/accepted", token("u3"))
	d.publish(t, p+"/ota-1/update", `{"clientToken":"u4","status":"IN_PROGRESS"}`)
	if rej := d.inbox.waitFor(t, p+"/ota-1/update/rejected", token("u4")); rej["code"] != "InvalidStateTransition" {
		t.Fatalf("update after SUCCEEDED: %v", rej)
	}
	d.publish(t, p+"/ota-1/get", `{"clientToken":"d1"}`)
	if rej := d.inbox.waitFor(t, p+"/ota-1/get/rejected", token("d1")); rej["code"] != "TerminalStateReached" {
		t.Fatalf("describe a SUCCEEDED execution: %v", rej)
	}
	d.inbox.waitFor(t, p+"/notify-next", func(m map[string]any) bool { return m["execution"] == nil })

	job, err := l.iotClient(t).DescribeJob(context.Background(), &iot.DescribeJobInput{JobId: aws.String("ota-1")})
	if err != nil || job.Job.Status != types.JobStatusCompleted || *job.Job.JobProcessDetails.NumberOfSucceededThings != 1 || job.Job.CompletedAt == nil {
		t.Fatalf("the job after its one execution SUCCEEDED: %+v %v", job.Job, err)
	}
	ex, _ := l.iotClient(t).DescribeJobExecution(context.Background(), &iot.DescribeJobExecutionInput{JobId: aws.String("ota-1"), ThingName: aws.String(thing)})
	if ex.Execution.StatusDetails.DetailsMap["fw"] != "1.2.0" || ex.Execution.VersionNumber != 4 {
		t.Errorf("execution after SUCCEEDED: %+v", ex.Execution)
	}
}

// TestJobsRefusals: malformed topics and payloads are answered on the
// request's rejected topic; another thing's jobs are out of the device
// policy's reach.
func TestJobsRefusals(t *testing.T) {
	l := newAPILab(t, "", "")
	d := l.jobsDevice(t)
	p := "$aws/things/" + thing + "/jobs"
	d.publish(t, p+"/get", `{"clientToken":`)
	if rej := d.inbox.waitFor(t, p+"/get/rejected", nil); rej["code"] != "InvalidJson" {
		t.Errorf("truncated JSON: %v", rej)
	}
	d.publish(t, p+"/a.b/get", `{"clientToken":"t1"}`)
	if rej := d.inbox.waitFor(t, p+"/a.b/get/rejected", token("t1")); rej["code"] != "InvalidTopic" {
		t.Errorf("bad job id: %v", rej)
	}
	d.publish(t, p+"/j/delete", `{"clientToken":"t4"}`)
	if rej := d.inbox.waitFor(t, p+"/j/delete/rejected", token("t4")); rej["code"] != "InvalidTopic" {
		t.Errorf("a topic that maps to no request: %v", rej)
	}
	d.publish(t, p+"/ghost/update", `{"clientToken":"t2","status":"IN_PROGRESS"}`)
	if rej := d.inbox.waitFor(t, p+"/ghost/update/rejected", token("t2")); rej["code"] != "ResourceNotFound" {
		t.Errorf("missing job: %v", rej)
	}
	d.publish(t, p+"/start-next", `{"clientToken":"t3"}`)
	if acc := d.inbox.waitFor(t, p+"/start-next/accepted", token("t3")); acc["execution"] != nil {
		t.Errorf("start-next with nothing pending: %v", acc)
	}
	// The device's policy names its own thing only: another thing's request
	// closes an MQTT 3.1.1 connection (AWS's answer to a denied publish).
	other := "$aws/things/other/jobs/get"
	tok := d.Publish(other, 1, false, "{}")
	tok.WaitTimeout(5 * time.Second)
	select {
	case <-d.lost:
	case <-time.After(5 * time.Second):
		t.Errorf("publishing %s was not refused", other)
	}
}

// TestJobStepTimeout: a device that starts a job and goes quiet is TIMED_OUT
// when its step timer runs out (a minute lasts 100 ms here), and the job's
// counts say so.
func TestJobStepTimeout(t *testing.T) {
	l := newAPILabWith(t, Options{JobMinute: 100 * time.Millisecond})
	d := l.jobsDevice(t)
	p := "$aws/things/" + thing + "/jobs"
	l.createJob(t, "hang", nil, thing)
	d.publish(t, p+"/start-next", `{"clientToken":"s","stepTimeoutInMinutes":2}`)
	d.inbox.waitFor(t, p+"/start-next/accepted", token("s"))
	d.inbox.waitFor(t, p+"/notify-next", func(m map[string]any) bool { return m["execution"] == nil })
	ex, err := l.iotClient(t).DescribeJobExecution(context.Background(), &iot.DescribeJobExecutionInput{JobId: aws.String("hang"), ThingName: aws.String(thing)})
	if err != nil || ex.Execution.Status != types.JobExecutionStatusTimedOut {
		t.Fatalf("after the step timer: %+v %v", ex, err)
	}
	job, _ := l.iotClient(t).DescribeJob(context.Background(), &iot.DescribeJobInput{JobId: aws.String("hang")})
	if *job.Job.JobProcessDetails.NumberOfTimedOutThings != 1 || job.Job.Status != types.JobStatusCompleted {
		t.Errorf("job: %+v", job.Job.JobProcessDetails)
	}
}

// TestJobsSurviveKill9: executions written before a crash are there after
// (the store is fsynced before the answer leaves).
func TestJobsSurviveRestart(t *testing.T) {
	data := t.TempDir()
	l := newAPILabWith(t, Options{DataDir: data})
	d := l.jobsDevice(t)
	p := "$aws/things/" + thing + "/jobs"
	l.createJob(t, "keep", nil, thing)
	d.publish(t, p+"/start-next", `{"clientToken":"s","statusDetails":{"progress":"10%"}}`)
	d.inbox.waitFor(t, p+"/start-next/accepted", token("s"))
	d.Disconnect(0)
	l.srv.Close()

	again, err := New(Options{Listen: "127.0.0.1:0", APIListen: "127.0.0.1:0", PKIDir: l.dir, DataDir: data, Log: l.log})
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { again.Close() })
	l.srv = again
	d = l.jobsDevice(t)
	d.publish(t, p+"/$next/get", `{"clientToken":"g"}`)
	got := d.inbox.waitFor(t, p+"/$next/get/accepted", token("g"))
	e := got["execution"].(map[string]any)
	if e["jobId"] != "keep" || e["status"] != "IN_PROGRESS" || e["statusDetails"].(map[string]any)["progress"] != "10%" {
		t.Fatalf("after a restart: %v", got)
	}
}

// TestJobsWithAWSCLI: Debian's awscli creates and describes a job on the
// control plane, and polls, starts and finishes it on iot-jobs-data, where
// the document is a string.
func TestJobsWithAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("/usr/bin/aws"); err != nil {
		t.Fatal("aws not found: `make deps` installs Debian's awscli")
	}
	l := newAPILab(t, "", "")
	docFile := filepath.Join(t.TempDir(), "job.json")
	os.WriteFile(docFile, []byte(otaDocument), 0o600)
	run := func(args ...string) map[string]any {
		t.Helper()
		out := l.awsCLI(t, args...)
		var doc map[string]any
		if len(strings.TrimSpace(out)) > 0 {
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("aws %v: %q", args, out)
			}
		}
		return doc
	}
	arn := "arn:aws:iot:eu-west-1:" + Account + ":thing/" + thing
	run("iot", "create-thing", "--thing-name", thing)
	made := run("iot", "create-job", "--job-id", "cli-1", "--targets", arn, "--document", "file://"+docFile)
	if made["jobId"] != "cli-1" {
		t.Fatalf("create-job: %v", made)
	}
	pending := run("iot-jobs-data", "get-pending-job-executions", "--thing-name", thing)
	if q := pending["queuedJobs"].([]any); len(q) != 1 {
		t.Fatalf("get-pending-job-executions: %v", pending)
	}
	started := run("iot-jobs-data", "start-next-pending-job-execution", "--thing-name", thing, "--step-timeout-in-minutes", "10")
	if e := started["execution"].(map[string]any); e["status"] != "IN_PROGRESS" || e["jobDocument"] != otaDocument {
		t.Fatalf("start-next-pending-job-execution: %v", started)
	}
	desc := run("iot-jobs-data", "describe-job-execution", "--thing-name", thing, "--job-id", "cli-1", "--include-job-document")
	if e := desc["execution"].(map[string]any); e["jobDocument"] != otaDocument {
		t.Fatalf("describe-job-execution (data): %v", desc)
	}
	upd := run("iot-jobs-data", "update-job-execution", "--thing-name", thing, "--job-id", "cli-1", "--status", "SUCCEEDED",
		"--expected-version", "2", "--include-job-execution-state")
	if status(upd) != "SUCCEEDED" {
		t.Fatalf("update-job-execution: %v", upd)
	}
	job := run("iot", "describe-job", "--job-id", "cli-1")["job"].(map[string]any)
	if job["status"] != "COMPLETED" || job["jobProcessDetails"].(map[string]any)["numberOfSucceededThings"] != float64(1) {
		t.Fatalf("describe-job: %v", job)
	}
	ex := run("iot", "describe-job-execution", "--thing-name", thing, "--job-id", "cli-1")["execution"].(map[string]any)
	if ex["status"] != "SUCCEEDED" || ex["thingArn"] != arn {
		t.Fatalf("describe-job-execution (control): %v", ex)
	}
}

// awsCLI runs Debian's awscli against the lab's HTTPS API with certs init's
// credentials and returns its JSON output.
func (l *lab) awsCLI(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("/usr/bin/aws", append([]string{"--endpoint-url", "https://" + l.srv.APIAddr(),
		"--ca-bundle", filepath.Join(l.dir, pki.CACertFile), "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE="+pki.AWSProfile,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(l.dir, pki.AWSCredentialsFile),
		"AWS_CONFIG_FILE="+filepath.Join(l.dir, pki.AWSConfigFile), "AWS_PAGER=")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("aws %v: %v\n%s%s", args, err, out, stderr)
	}
	return string(out)
}

// TestPresignedFileExpires: a presigned download works within its expiry
// and is refused after it, as S3's are.
func TestPresignedFileExpires(t *testing.T) {
	l := newAPILab(t, "", "")
	os.WriteFile(filepath.Join(l.srv.files.dir, "fw.bin"), []byte("image"), 0o600)
	u, err := l.srv.jobs.presign("https://"+l.srv.APIAddr()+"/files/fw.bin", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := pki.LoadCAPool(filepath.Join(l.dir, pki.CACertFile))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	status := func() int {
		res, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := status(); got != http.StatusOK {
		t.Fatalf("within the expiry: %d", got)
	}
	time.Sleep(1100 * time.Millisecond)
	if got := status(); got != http.StatusForbidden {
		t.Errorf("after the expiry: %d", got)
	}
}
