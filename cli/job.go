package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/iotwatch/iotwatch/jobs"
	"github.com/iotwatch/iotwatch/shadow"
)

const jobUsage = `Usage: iotwatch job create (--thing NAME... | --match GLOB) --document FILE [--file IMAGE] [--job-id ID] [--timeout-minutes N]
       iotwatch job list [--status S]
       iotwatch job describe --job-id ID
       iotwatch job cancel --job-id ID [--force]
Each also takes --profile, --region, --endpoint-url URL --ca-bundle FILE (the emulator: https://127.0.0.1:8443, lab/ca.pem).`

// runJob is AWS IoT Jobs from the command line, through AWS's Go SDK: the
// same calls on AWS and on serve.
func runJob(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdout, jobUsage)
			return nil
		}
		fmt.Fprintln(stderr, jobUsage)
		return usageError{}
	}
	sub, ok := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"create": runJobCreate, "list": runJobList, "describe": runJobDescribe, "cancel": runJobCancel,
	}[args[0]]
	if !ok {
		return usagef("unknown job command %q (create, list, describe or cancel)", args[0])
	}
	return sub(ctx, args[1:], stdout, stderr)
}

// repeated is a flag given once per value.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func runJobCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("job create", "job create (--thing NAME... | --match GLOB) --document FILE [--file IMAGE] [--job-id ID] [--timeout-minutes N]", stderr)
	var things repeated
	fs.Var(&things, "thing", "a target thing (repeat for more)")
	match := fs.String("match", "", "target every registered thing whose name matches this glob, e.g. 'fl-*'")
	document := fs.String("document", "", "the job document, a JSON file (required)")
	jobID := fs.String("job-id", "", "the job's id (default: the document's name and the time, e.g. ota-20261208-0130)")
	timeout := fs.Int64("timeout-minutes", 0, "a run IN_PROGRESS longer than this is TIMED_OUT (timeoutConfig; 0: none)")
	image := fs.String("file", "", "a firmware image to upload to the emulator; the document gets its url, sha256 and size")
	cp := addControlPlaneFlags(fs)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if (len(things) == 0) == (*match == "") {
		return usagef("give the targets with --thing NAME (repeated) or --match GLOB, not both")
	}
	if _, err := path.Match(*match, ""); err != nil {
		return usagef("--match %q is not a glob: %v", *match, err)
	}
	for _, t := range things {
		if !shadow.ValidThingName(t) {
			return usagef("--thing %q: use 1–128 characters of a-zA-Z0-9:_- (AWS IoT's thing name rule)", t)
		}
	}
	doc, err := readJobDocument(*document)
	if err != nil {
		return err
	}
	if *jobID == "" {
		*jobID = defaultJobID(*document, time.Now())
	}
	if !jobs.ValidJobID(*jobID) {
		return usagef("--job-id %q: 1 to 64 of a-z A-Z 0-9 _ - (AWS's job id rule)", *jobID)
	}
	if *timeout < 0 || *timeout > jobs.MaxStepMinutes {
		return usagef("--timeout-minutes %d: give 1 to %d, or 0 for none", *timeout, jobs.MaxStepMinutes)
	}
	if *image != "" && *cp.endpointURL == "" {
		return usagef("--file uploads to the emulator (--endpoint-url); on AWS put the image in S3 and name it in the document as ${aws:iot:s3-presigned-url:https://BUCKET.s3.amazonaws.com/KEY}")
	}
	client, cfg, err := cp.client(ctx)
	if err != nil {
		return err
	}
	if *image != "" {
		if doc, err = attachImage(ctx, cfg, *cp.endpointURL, *image, doc); err != nil {
			return err
		}
	}
	if *match != "" {
		if things, err = matchingThings(ctx, client, *match); err != nil {
			return err
		}
		if len(things) == 0 {
			return fmt.Errorf("no registered thing matches %q (iot:ListThings)", *match)
		}
	}
	in := &iot.CreateJobInput{JobId: jobID, Document: aws.String(doc)}
	for _, t := range things {
		d, err := client.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: aws.String(t)})
		if err != nil {
			return fmt.Errorf("--thing %s: iot:DescribeThing: %w", t, err)
		}
		in.Targets = append(in.Targets, aws.ToString(d.ThingArn))
	}
	if *timeout > 0 {
		in.TimeoutConfig = &types.TimeoutConfig{InProgressTimeoutInMinutes: timeout}
	}
	out, err := client.CreateJob(ctx, in)
	if err != nil {
		return fmt.Errorf("iot:CreateJob %s: %w", *jobID, err)
	}
	fmt.Fprintf(stdout, "Job %s created for %d thing(s): %s\n%s\n", *out.JobId, len(things), strings.Join(things, ", "), aws.ToString(out.JobArn))
	return nil
}

// readJobDocument reads a job document and holds it to AWS's rules: a JSON
// object of at most 32 KiB.
func readJobDocument(file string) (string, error) {
	if file == "" {
		return "", usagef("--document FILE is required: the job document, e.g. {\"operation\":\"ota\",...}")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--document: %w", err)
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		return "", fmt.Errorf("--document %s: not a JSON object (%v); AWS IoT job documents are JSON objects", file, err)
	}
	if len(data) > jobs.MaxDocument {
		return "", fmt.Errorf("--document %s: %d bytes; AWS takes at most %d", file, len(data), jobs.MaxDocument)
	}
	return string(data), nil
}

// defaultJobID names a job after its document and the minute.
func defaultJobID(document string, now time.Time) string {
	base := strings.TrimSuffix(path.Base(document), path.Ext(document))
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, base)
	if len(clean) > 40 {
		clean = clean[:40]
	}
	return clean + "-" + now.UTC().Format("20060102-150405")
}

// matchingThings lists the registry's things whose names match glob.
func matchingThings(ctx context.Context, client *iot.Client, glob string) ([]string, error) {
	var names []string
	p := iot.NewListThingsPaginator(client, &iot.ListThingsInput{MaxResults: aws.Int32(250)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("iot:ListThings: %w", err)
		}
		for _, t := range page.Things {
			if ok, _ := path.Match(glob, aws.ToString(t.ThingName)); ok {
				names = append(names, aws.ToString(t.ThingName))
			}
		}
	}
	return names, nil
}

func runJobList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("job list", "job list [--status IN_PROGRESS|CANCELED|COMPLETED]", stderr)
	status := fs.String("status", "", "only jobs with this status")
	cp := addControlPlaneFlags(fs)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	client, _, err := cp.client(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSTATUS\tCREATED\tCOMPLETED")
	p := iot.NewListJobsPaginator(client, &iot.ListJobsInput{Status: types.JobStatus(*status)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("iot:ListJobs: %w", err)
		}
		for _, j := range page.Jobs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", aws.ToString(j.JobId), j.Status, when(j.CreatedAt), when(j.CompletedAt))
		}
	}
	return tw.Flush()
}

// when is a time for a table, "–" when there is none.
func when(t *time.Time) string {
	if t == nil {
		return "–"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func runJobDescribe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("job describe", "job describe --job-id ID", stderr)
	jobID := fs.String("job-id", "", "the job (required)")
	cp := addControlPlaneFlags(fs)
	if err := parseJobIDFlags(fs, args, jobID); err != nil {
		return err
	}
	client, _, err := cp.client(ctx)
	if err != nil {
		return err
	}
	d, err := client.DescribeJob(ctx, &iot.DescribeJobInput{JobId: jobID})
	if err != nil {
		return fmt.Errorf("iot:DescribeJob %s: %w", *jobID, err)
	}
	j := d.Job
	fmt.Fprintf(stdout, "Job %s: %s, created %s, completed %s\n", aws.ToString(j.JobId), j.Status, when(j.CreatedAt), when(j.CompletedAt))
	if n := j.JobProcessDetails; n != nil {
		fmt.Fprintf(stdout, "Executions: %d queued, %d in progress, %d succeeded, %d failed, %d rejected, %d timed out, %d canceled, %d removed\n",
			aws.ToInt32(n.NumberOfQueuedThings), aws.ToInt32(n.NumberOfInProgressThings), aws.ToInt32(n.NumberOfSucceededThings),
			aws.ToInt32(n.NumberOfFailedThings), aws.ToInt32(n.NumberOfRejectedThings), aws.ToInt32(n.NumberOfTimedOutThings),
			aws.ToInt32(n.NumberOfCanceledThings), aws.ToInt32(n.NumberOfRemovedThings))
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "THING\tSTATUS\tQUEUED\tSTARTED\tUPDATED\tDETAILS")
	p := iot.NewListJobExecutionsForJobPaginator(client, &iot.ListJobExecutionsForJobInput{JobId: jobID})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("iot:ListJobExecutionsForJob %s: %w", *jobID, err)
		}
		for _, s := range page.ExecutionSummaries {
			thing := aws.ToString(s.ThingArn)
			thing = thing[strings.LastIndex(thing, "/")+1:]
			e := s.JobExecutionSummary
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", thing, e.Status, when(e.QueuedAt), when(e.StartedAt), when(e.LastUpdatedAt),
				executionDetails(ctx, client, *jobID, thing))
		}
	}
	return tw.Flush()
}

// executionDetails is an execution's statusDetails as key=value pairs.
func executionDetails(ctx context.Context, client *iot.Client, jobID, thing string) string {
	d, err := client.DescribeJobExecution(ctx, &iot.DescribeJobExecutionInput{JobId: aws.String(jobID), ThingName: aws.String(thing)})
	if err != nil || d.Execution.StatusDetails == nil || len(d.Execution.StatusDetails.DetailsMap) == 0 {
		return "–"
	}
	var pairs []string
	for k, v := range d.Execution.StatusDetails.DetailsMap {
		pairs = append(pairs, k+"="+v)
	}
	slices.Sort(pairs)
	return strings.Join(pairs, " ")
}

func runJobCancel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("job cancel", "job cancel --job-id ID [--force]", stderr)
	jobID := fs.String("job-id", "", "the job (required)")
	force := fs.Bool("force", false, "cancel IN_PROGRESS executions too (a device may be mid-update)")
	cp := addControlPlaneFlags(fs)
	if err := parseJobIDFlags(fs, args, jobID); err != nil {
		return err
	}
	client, _, err := cp.client(ctx)
	if err != nil {
		return err
	}
	if _, err := client.CancelJob(ctx, &iot.CancelJobInput{JobId: jobID, Force: *force}); err != nil {
		return fmt.Errorf("iot:CancelJob %s: %w", *jobID, err)
	}
	fmt.Fprintf(stdout, "Job %s canceled", *jobID)
	if !*force {
		fmt.Fprint(stdout, " (executions already IN_PROGRESS run on; --force cancels them too)")
	}
	fmt.Fprintln(stdout)
	return nil
}

func parseJobIDFlags(fs *flag.FlagSet, args []string, jobID *string) error {
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *jobID == "" {
		return usagef("--job-id is required (iotwatch job list shows them)")
	}
	return nil
}

// attachImage uploads a firmware image to the emulator's files (a SigV4 PUT,
// service s3) and fills the document's url (a presigned-URL placeholder),
// sha256 and size; a document that already names another sha256 or size is
// refused.
func attachImage(ctx context.Context, cfg aws.Config, endpointURL, file, doc string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--file: %w", err)
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	var fields map[string]any
	json.Unmarshal([]byte(doc), &fields) // readJobDocument checked it
	if v, ok := fields["sha256"]; ok && v != digest {
		return "", fmt.Errorf("--document says sha256 %v, but %s has %s: leave sha256 out and --file fills it", v, file, digest)
	}
	if v, ok := fields["size"].(float64); ok && int(v) != len(data) {
		return "", fmt.Errorf("--document says size %v, but %s has %d bytes", v, file, len(data))
	}
	name := fmt.Sprintf("%s-%s", digest[:12], path.Base(file))
	target := strings.TrimSuffix(endpointURL, "/") + "/files/" + url.PathEscape(name)
	if err := uploadFile(ctx, cfg, target, data, digest); err != nil {
		return "", err
	}
	fields["url"], fields["sha256"], fields["size"] = jobs.PresignedPlaceholder(target), digest, len(data)
	out, _ := json.Marshal(fields)
	if len(out) > jobs.MaxDocument {
		return "", fmt.Errorf("the document with the file's url is %d bytes; AWS takes at most %d", len(out), jobs.MaxDocument)
	}
	return string(out), nil
}

func uploadFile(ctx context.Context, cfg aws.Config, target string, data []byte, digest string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("--file: %w", err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("AWS credentials for the upload: %w", err)
	}
	req.Header.Set("X-Amz-Content-Sha256", digest)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, digest, "s3", cfg.Region, time.Now()); err != nil {
		return fmt.Errorf("signing the upload: %w", err)
	}
	res, err := cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("uploading to %s: %w", target, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return fmt.Errorf("uploading to %s: %s %s", target, res.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
