package localiot

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/iotwatch/iotwatch/jobs"
)

// The Jobs wire layer: the control plane's job operations and the
// iot-jobs-data API for devices that poll over HTTPS. Over HTTPS the job
// document is a string; over MQTT (jobsvc.go) an object.

var jobRoutes = []route{
	{control, "CreateJob", "PUT", "/jobs/{jobId}", nil, nil, (*api).createJob},
	{control, "DescribeJob", "GET", "/jobs/{jobId}", nil, nil, (*api).describeJob},
	{control, "ListJobs", "GET", "/jobs", q("status", "targetSelection", "maxResults", "nextToken", "thingGroupName", "thingGroupId", "namespaceId"), nil, (*api).listJobs},
	{control, "CancelJob", "PUT", "/jobs/{jobId}/cancel", q("force"), nil, (*api).cancelJob},
	{control, "DeleteJob", "DELETE", "/jobs/{jobId}", q("force", "namespaceId"), nil, (*api).deleteJob},
	{control, "GetJobDocument", "GET", "/jobs/{jobId}/job-document", nil, nil, (*api).getJobDocument},
	{control, "DescribeJobExecution", "GET", "/things/{thingName}/jobs/{jobId}", q("executionNumber"), nil, (*api).describeJobExecution},
	{control, "ListJobExecutionsForThing", "GET", "/things/{thingName}/jobs", q("status", "namespaceId", "maxResults", "nextToken", "jobId"), nil, (*api).listJobExecutionsForThing},
	{control, "ListJobExecutionsForJob", "GET", "/jobs/{jobId}/things", q("status", "maxResults", "nextToken"), nil, (*api).listJobExecutionsForJob},
	{control, "CancelJobExecution", "PUT", "/things/{thingName}/jobs/{jobId}/cancel", q("force"), nil, (*api).cancelJobExecution},
	{jobsData, "GetPendingJobExecutions", "GET", "/things/{thingName}/jobs", nil, nil, (*api).getPendingJobExecutions},
	{jobsData, "StartNextPendingJobExecution", "PUT", "/things/{thingName}/jobs/$next", nil, nil, (*api).startNextPendingJobExecution},
	{jobsData, "DescribeJobExecution", "GET", "/things/{thingName}/jobs/{jobId}", q("includeJobDocument", "executionNumber"), nil, (*api).describeJobExecutionData},
	{jobsData, "UpdateJobExecution", "POST", "/things/{thingName}/jobs/{jobId}", nil, nil, (*api).updateJobExecution},
}

// createJobIn holds the members CreateJob stores; the rollout is kept as
// given, the in-progress timeout is honoured.
type createJobIn struct {
	Targets                    []string                                   `json:"targets"`
	Document                   string                                     `json:"document"`
	DocumentSource             string                                     `json:"documentSource"`
	Description                string                                     `json:"description"`
	TargetSelection            string                                     `json:"targetSelection"`
	JobExecutionsRolloutConfig map[string]any                             `json:"jobExecutionsRolloutConfig"`
	TimeoutConfig              struct{ InProgressTimeoutInMinutes int64 } `json:"timeoutConfig"`
	PresignedURLConfig         struct{ ExpiresInSec int64 }               `json:"presignedUrlConfig"`
	Tags                       []struct{ Key, Value string }              `json:"tags"`
}

func (a *api) createJob(c *call) (any, error) {
	var in createJobIn
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.Targets) == 0 {
		return nil, invalid("targets: give at least one thing ARN")
	}
	if in.DocumentSource != "" {
		return nil, invalid("documentSource (an S3 URL) is not served by the emulator: give the document inline")
	}
	if in.Document != "" && !json.Valid([]byte(in.Document)) {
		return nil, invalid("document is not JSON: AWS IoT job documents are JSON objects")
	}
	if m := in.TimeoutConfig.InProgressTimeoutInMinutes; m != 0 && (m < 1 || m > jobs.MaxStepMinutes) {
		return nil, invalid("timeoutConfig.inProgressTimeoutInMinutes %d: give 1 to %d", m, jobs.MaxStepMinutes)
	}
	if e := in.PresignedURLConfig.ExpiresInSec; e != 0 && (e < 60 || e > 3600) {
		return nil, invalid("presignedUrlConfig.expiresInSec %d: give 60 to 3600", e)
	}
	selection := in.TargetSelection
	if selection == "" {
		selection = "SNAPSHOT"
	}
	if selection != "SNAPSHOT" {
		return nil, invalid("targetSelection %s: the emulator runs SNAPSHOT jobs on things (no thing groups)", selection)
	}
	j := jobs.Job{ID: c.label("jobId"), Description: in.Description, Document: in.Document, TargetSelection: selection,
		InProgressMins: in.TimeoutConfig.InProgressTimeoutInMinutes, Rollout: in.JobExecutionsRolloutConfig,
		PresignExpiry: in.PresignedURLConfig.ExpiresInSec}
	for _, t := range in.Targets {
		name, ok := thingOfTarget(t)
		if !ok {
			return nil, invalid("target %q: give a thing ARN (arn:aws:iot:REGION:ACCOUNT:thing/NAME); thing groups are not served", t)
		}
		j.Targets = append(j.Targets, name)
	}
	for _, t := range in.Tags {
		if j.Tags == nil {
			j.Tags = map[string]string{}
		}
		j.Tags[t.Key] = t.Value
	}
	j, err := a.srv.jobs.createJob(j)
	if err != nil {
		return nil, err
	}
	out := map[string]string{"jobArn": a.srv.registry.arn("job", j.ID), "jobId": j.ID}
	if j.Description != "" {
		out["description"] = j.Description
	}
	return out, nil
}

func (a *api) jobOut(j jobs.Job, execs []jobs.Execution) map[string]any {
	targets := make([]string, 0, len(j.Targets))
	for _, t := range j.Targets {
		targets = append(targets, a.srv.registry.arn("thing", t))
	}
	n := jobs.ProcessDetails(execs)
	out := map[string]any{
		"jobArn": a.srv.registry.arn("job", j.ID), "jobId": j.ID, "targetSelection": j.TargetSelection,
		"status": j.Status, "targets": targets, "createdAt": epoch(j.CreatedAt), "lastUpdatedAt": epoch(j.LastUpdatedAt),
		"forceCanceled": j.ForceCanceled, "isConcurrent": false,
		"jobProcessDetails": map[string]any{
			"numberOfCanceledThings": n[jobs.Canceled], "numberOfSucceededThings": n[jobs.Succeeded],
			"numberOfFailedThings": n[jobs.Failed], "numberOfRejectedThings": n[jobs.Rejected],
			"numberOfQueuedThings": n[jobs.Queued], "numberOfInProgressThings": n[jobs.InProgress],
			"numberOfRemovedThings": n[jobs.Removed], "numberOfTimedOutThings": n[jobs.TimedOut],
		},
	}
	set := func(k string, v any, ok bool) {
		if ok {
			out[k] = v
		}
	}
	set("description", j.Description, j.Description != "")
	set("completedAt", epoch(j.CompletedAt), !j.CompletedAt.IsZero())
	set("reasonCode", j.ReasonCode, j.ReasonCode != "")
	set("comment", j.Comment, j.Comment != "")
	set("timeoutConfig", map[string]int64{"inProgressTimeoutInMinutes": j.InProgressMins}, j.InProgressMins > 0)
	set("jobExecutionsRolloutConfig", j.Rollout, j.Rollout != nil)
	set("presignedUrlConfig", map[string]int64{"expiresInSec": j.PresignExpiry}, j.PresignExpiry > 0)
	return out
}

func (a *api) describeJob(c *call) (any, error) {
	j, execs, err := a.srv.jobs.job(c.label("jobId"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"job": a.jobOut(j, execs)}, nil
}

func (a *api) listJobs(c *call) (any, error) {
	max, err := intQuery(c, "maxResults", 250)
	if err != nil {
		return nil, err
	}
	all := a.srv.jobs.listJobs(c.query.Get("status"))
	ids := make([]string, len(all))
	byID := map[string]jobs.Job{}
	for i, j := range all {
		ids[i], byID[j.ID] = j.ID, j
	}
	page, next := paginate(ids, c.query.Get("nextToken"), max)
	out := []map[string]any{}
	for _, id := range page {
		j := byID[id]
		s := map[string]any{"jobArn": a.srv.registry.arn("job", j.ID), "jobId": j.ID, "targetSelection": j.TargetSelection,
			"status": j.Status, "createdAt": epoch(j.CreatedAt), "lastUpdatedAt": epoch(j.LastUpdatedAt), "isConcurrent": false}
		if !j.CompletedAt.IsZero() {
			s["completedAt"] = epoch(j.CompletedAt)
		}
		out = append(out, s)
	}
	return withNext(map[string]any{"jobs": out}, next), nil
}

func withNext(out map[string]any, next string) map[string]any {
	if next != "" {
		out["nextToken"] = next
	}
	return out
}

func (a *api) cancelJob(c *call) (any, error) {
	var in struct{ ReasonCode, Comment string }
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	j, err := a.srv.jobs.cancelJob(c.label("jobId"), boolQuery(c, "force"), in.ReasonCode, in.Comment)
	if err != nil {
		return nil, err
	}
	out := map[string]string{"jobArn": a.srv.registry.arn("job", j.ID), "jobId": j.ID}
	if j.Description != "" {
		out["description"] = j.Description
	}
	return out, nil
}

func (a *api) deleteJob(c *call) (any, error) {
	return nil, a.srv.jobs.deleteJob(c.label("jobId"), boolQuery(c, "force"))
}

func (a *api) getJobDocument(c *call) (any, error) {
	j, _, err := a.srv.jobs.job(c.label("jobId"))
	if err != nil {
		return nil, err
	}
	return map[string]string{"document": j.Document}, nil
}

// operatorExecution is the control plane's JobExecution.
func (a *api) operatorExecution(e jobs.Execution) map[string]any {
	out := map[string]any{"jobId": e.JobID, "status": e.Status, "forceCanceled": e.ForceCanceled,
		"thingArn": a.srv.registry.arn("thing", e.Thing), "queuedAt": epoch(e.QueuedAt),
		"lastUpdatedAt": epoch(e.LastUpdatedAt), "executionNumber": e.Number, "versionNumber": e.Version,
		"statusDetails": map[string]any{"detailsMap": orEmpty(e.StatusDetails)}}
	if !e.StartedAt.IsZero() {
		out["startedAt"] = epoch(e.StartedAt)
	}
	if s := e.SecondsBeforeTimedOut(a.srv.jobs.now()); s != nil {
		out["approximateSecondsBeforeTimedOut"] = *s
	}
	return out
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func summaryFor(e jobs.Execution) map[string]any {
	out := map[string]any{"status": e.Status, "queuedAt": epoch(e.QueuedAt), "lastUpdatedAt": epoch(e.LastUpdatedAt),
		"executionNumber": e.Number}
	if !e.StartedAt.IsZero() {
		out["startedAt"] = epoch(e.StartedAt)
	}
	return out
}

func (a *api) describeJobExecution(c *call) (any, error) {
	e, err := a.srv.jobs.describeForOperator(c.label("thingName"), c.label("jobId"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"execution": a.operatorExecution(e)}, nil
}

// statusFilter reads the status query member.
func statusFilter(c *call) (jobs.Status, error) {
	s := jobs.Status(c.query.Get("status"))
	if s == "" {
		return "", nil
	}
	for _, known := range jobs.Statuses {
		if s == known {
			return s, nil
		}
	}
	return "", invalid("status=%s: give one of QUEUED, IN_PROGRESS, SUCCEEDED, FAILED, TIMED_OUT, REJECTED, REMOVED, CANCELED", s)
}

// pageOf filters execs by status and pages them by key.
func pageOf(c *call, execs []jobs.Execution, key func(jobs.Execution) string) ([]jobs.Execution, string, error) {
	status, err := statusFilter(c)
	if err != nil {
		return nil, "", err
	}
	max, err := intQuery(c, "maxResults", 250)
	if err != nil {
		return nil, "", err
	}
	byKey := map[string]jobs.Execution{}
	var keys []string
	for _, e := range execs {
		if status == "" || e.Status == status {
			keys = append(keys, key(e))
			byKey[key(e)] = e
		}
	}
	page, next := paginate(keys, c.query.Get("nextToken"), max)
	out := make([]jobs.Execution, 0, len(page))
	for _, k := range page {
		out = append(out, byKey[k])
	}
	return out, next, nil
}

func (a *api) listJobExecutionsForThing(c *call) (any, error) {
	execs := a.srv.jobs.executionsOf(c.label("thingName"))
	if id := c.query.Get("jobId"); id != "" {
		var only []jobs.Execution
		for _, e := range execs {
			if e.JobID == id {
				only = append(only, e)
			}
		}
		execs = only
	}
	page, next, err := pageOf(c, execs, func(e jobs.Execution) string { return e.JobID })
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, e := range page {
		out = append(out, map[string]any{"jobId": e.JobID, "jobExecutionSummary": summaryFor(e)})
	}
	return withNext(map[string]any{"executionSummaries": out}, next), nil
}

func (a *api) listJobExecutionsForJob(c *call) (any, error) {
	_, execs, err := a.srv.jobs.job(c.label("jobId"))
	if err != nil {
		return nil, err
	}
	page, next, err := pageOf(c, execs, func(e jobs.Execution) string { return e.Thing })
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, e := range page {
		out = append(out, map[string]any{"thingArn": a.srv.registry.arn("thing", e.Thing), "jobExecutionSummary": summaryFor(e)})
	}
	return withNext(map[string]any{"executionSummaries": out}, next), nil
}

func (a *api) cancelJobExecution(c *call) (any, error) {
	var in struct {
		ExpectedVersion *int64            `json:"expectedVersion"`
		StatusDetails   map[string]string `json:"statusDetails"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	return nil, a.srv.jobs.cancelExecution(c.label("thingName"), c.label("jobId"), boolQuery(c, "force"), in.ExpectedVersion, in.StatusDetails)
}

// The iot-jobs-data API: the device's operations over HTTPS, the same
// backend as MQTT; the document is a string here.

func (a *api) dataExecution(e *jobs.Execution, withDocument bool) map[string]any {
	if e == nil {
		return nil
	}
	w := jobs.WireOf(*e, nil, a.srv.jobs.now())
	b, _ := json.Marshal(w)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	if withDocument {
		out["jobDocument"] = a.srv.jobs.deviceDocument(e.JobID)
	}
	return out
}

func (a *api) getPendingJobExecutions(c *call) (any, error) {
	inProgress, queued := jobs.Pending(a.srv.jobs.pending(c.label("thingName")))
	list := func(es []jobs.Execution) []jobs.Summary {
		out := []jobs.Summary{}
		for _, e := range es {
			out = append(out, jobs.SummaryOf(e))
		}
		return out
	}
	return map[string]any{"inProgressJobs": list(inProgress), "queuedJobs": list(queued)}, nil
}

func (a *api) startNextPendingJobExecution(c *call) (any, error) {
	var in struct {
		StatusDetails        map[string]string `json:"statusDetails"`
		StepTimeoutInMinutes *int64            `json:"stepTimeoutInMinutes"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	e, jerr := a.srv.jobs.startNext(c.label("thingName"), in.StatusDetails, in.StepTimeoutInMinutes)
	if jerr != nil {
		return nil, restError(jerr)
	}
	if e == nil {
		return map[string]any{}, nil
	}
	return map[string]any{"execution": a.dataExecution(e, true)}, nil
}

func (a *api) describeJobExecutionData(c *call) (any, error) {
	var number *int64
	if s := c.query.Get("executionNumber"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, invalid("executionNumber=%q: give a number", s)
		}
		number = &n
	}
	id := c.label("jobId")
	e, jerr := a.srv.jobs.describe(c.label("thingName"), id, number)
	if jerr != nil {
		return nil, restError(jerr)
	}
	if e == nil {
		return nil, notFound("thing %s has no pending job execution", c.label("thingName"))
	}
	if e.Status.Terminal() && id != "$next" {
		return nil, restError(&jobs.Error{Code: jobs.TerminalStateReached, Message: "job execution " + id + " is " + string(e.Status)})
	}
	return map[string]any{"execution": a.dataExecution(e, boolQuery(c, "includeJobDocument"))}, nil
}

func (a *api) updateJobExecution(c *call) (any, error) {
	var in struct {
		Status                   jobs.Status       `json:"status"`
		StatusDetails            map[string]string `json:"statusDetails"`
		StepTimeoutInMinutes     *int64            `json:"stepTimeoutInMinutes"`
		ExpectedVersion          *int64            `json:"expectedVersion"`
		IncludeJobExecutionState bool              `json:"includeJobExecutionState"`
		IncludeJobDocument       bool              `json:"includeJobDocument"`
		ExecutionNumber          *int64            `json:"executionNumber"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	e, jerr := a.srv.jobs.update(c.label("thingName"), c.label("jobId"), jobs.UpdateRequest{Status: in.Status,
		StatusDetails: in.StatusDetails, ExpectedVersion: in.ExpectedVersion, ExecutionNumber: in.ExecutionNumber,
		StepMinutes: in.StepTimeoutInMinutes})
	if jerr != nil {
		return nil, restError(jerr)
	}
	out := map[string]any{}
	if in.IncludeJobExecutionState {
		out["executionState"] = jobs.StateOf(e)
	}
	if in.IncludeJobDocument {
		out["jobDocument"] = a.srv.jobs.deviceDocument(e.JobID)
	}
	return out, nil
}

// signedService is the service a request's credential scope names ("" when
// unsigned), which tells apart the operations that share a path on AWS's
// separate endpoints (the control plane's and iot-jobs-data's).
func signedService(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if auth := r.Header.Get("Authorization"); auth != "" {
		_, after, _ := strings.Cut(auth, "Credential=")
		cred, _, _ = strings.Cut(after, ",")
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}
