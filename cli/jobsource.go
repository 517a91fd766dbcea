package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/smithy-go"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/tui"
)

// jobsSource is tui.JobsSource through AWS's Go SDK: the same calls on AWS
// and on serve.
type jobsSource struct {
	client *iot.Client
	where  string // the control plane, as errors name it
}

// watchJobs is watch's jobs source: the control plane fleetControlPlane
// chooses ([aws] control_url, the emulator's beside its MQTT port, or
// AWS's), or, when none can be set up, one that answers every question
// with why: the pane says so instead of showing an empty list.
func watchJobs(ctx context.Context, cfg *config.Config) tui.JobsSource {
	return jobsAt(ctx, cfg, "")
}

// jobsAt is watchJobs with the control plane's URL given (soak's
// --endpoint-url; "": the configuration's choice).
func jobsAt(ctx context.Context, cfg *config.Config, endpointURL string) tui.JobsSource {
	client, where, err := fleetControlPlane(ctx, cfg, endpointURL, "")
	if err != nil {
		return noJobs{fmt.Errorf("no AWS IoT control plane to ask: %w", err)}
	}
	return jobsSource{client: client, where: where}
}

// Executions lists thing's executions (ListJobExecutionsForThing, every page).
func (s jobsSource) Executions(ctx context.Context, thing string) ([]tui.JobExecution, error) {
	out := []tui.JobExecution{}
	p := iot.NewListJobExecutionsForThingPaginator(s.client, &iot.ListJobExecutionsForThingInput{ThingName: aws.String(thing), MaxResults: aws.Int32(250)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.explain("ListJobExecutionsForThing", err)
		}
		for _, e := range page.ExecutionSummaries {
			x := tui.JobExecution{JobID: aws.ToString(e.JobId)}
			if sum := e.JobExecutionSummary; sum != nil {
				x.Status, x.QueuedAt, x.StartedAt, x.UpdatedAt = string(sum.Status), aws.ToTime(sum.QueuedAt), aws.ToTime(sum.StartedAt), aws.ToTime(sum.LastUpdatedAt)
			}
			out = append(out, x)
		}
	}
	return out, nil
}

// Describe is one execution whole (DescribeJobExecution).
func (s jobsSource) Describe(ctx context.Context, thing, jobID string) (tui.JobExecution, error) {
	d, err := s.client.DescribeJobExecution(ctx, &iot.DescribeJobExecutionInput{ThingName: aws.String(thing), JobId: aws.String(jobID)})
	if err != nil {
		return tui.JobExecution{}, s.explain("DescribeJobExecution", err)
	}
	e := d.Execution
	if e == nil {
		return tui.JobExecution{}, fmt.Errorf("%s answered iot:DescribeJobExecution %s of %s without an execution", s.where, jobID, thing)
	}
	x := tui.JobExecution{JobID: aws.ToString(e.JobId), Status: string(e.Status), QueuedAt: aws.ToTime(e.QueuedAt), StartedAt: aws.ToTime(e.StartedAt),
		UpdatedAt: aws.ToTime(e.LastUpdatedAt), Described: true, Details: map[string]string{}}
	if e.StatusDetails != nil && e.StatusDetails.DetailsMap != nil {
		x.Details = e.StatusDetails.DetailsMap
	}
	if e.ApproximateSecondsBeforeTimedOut != nil {
		x.TimeoutLeft, x.HasTimeout = time.Duration(*e.ApproximateSecondsBeforeTimedOut)*time.Second, true
	}
	return x, nil
}

// explain is a failed call in one line with what to do: the service's
// refusal with the permissions it takes, the credentials' hint, or where
// to give the control plane's address.
func (s jobsSource) explain(op string, err error) error {
	var api smithy.APIError
	switch {
	case errors.As(err, &api):
		fix := ""
		if code := api.ErrorCode(); strings.Contains(code, "AccessDenied") || strings.Contains(code, "Unauthorized") || strings.Contains(code, "Forbidden") {
			fix = " (the caller's IAM policy needs iot:ListJobExecutionsForThing and iot:DescribeJobExecution)"
		}
		return fmt.Errorf("%s refused iot:%s: %s: %s%s", s.where, op, api.ErrorCode(), api.ErrorMessage(), fix)
	case strings.Contains(err.Error(), "no AWS credentials"):
		_, why, _ := strings.Cut(err.Error(), "no AWS credentials")
		return errors.New("no AWS credentials" + why)
	}
	// the innermost cause ("connection refused", "certificate signed by
	// unknown authority"): the SDK's chain around it fills lines
	why := err.Error()
	if i := strings.LastIndex(why, ": "); i >= 0 {
		why = why[i+2:]
	}
	return fmt.Errorf("%s did not answer (%s): set [aws] control_url to the control plane's URL (serve: https://ADDR of --api-listen)", s.where, why)
}

// noJobs is the jobs source when no control plane could be set up.
type noJobs struct{ err error }

func (n noJobs) Executions(context.Context, string) ([]tui.JobExecution, error) { return nil, n.err }
func (n noJobs) Describe(context.Context, string, string) (tui.JobExecution, error) {
	return tui.JobExecution{}, n.err
}
