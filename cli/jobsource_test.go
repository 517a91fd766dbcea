package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/internal/testkit"
	"github.com/iotwatch/iotwatch/tui"
)

// jobsLab is a lab whose watch.toml names serve's control plane
// ([aws] control_url), with serve running on free ports.
func jobsLab(t *testing.T) (watch, api, lab string) {
	lab = t.TempDir()
	run(t, "certs", "init", "--dir", lab, "--thing", "pane-1")
	api = testkit.FreeAddr(t)
	addr, _ := testkit.StartServe(t, Run, "--pki", lab, "--api-listen", api)
	_, port, _ := strings.Cut(addr, ":")
	watch = filepath.Join(lab, "watch.toml")
	text := strings.Replace(mustRead(t, watch), "port = 8883", "port = "+port, 1)
	os.WriteFile(watch, []byte(strings.Replace(text, "[thing]", "control_url = \"https://"+api+"\"\n\n[thing]", 1)), 0o644)
	return watch, api, lab
}

// TestWatchJobsOnServe: watch's jobs source asks serve's control plane
// through AWS's SDK: a thing's executions newest first, one IN_PROGRESS
// with its statusDetails and step timer, one FAILED with its reason (the
// device's side done over iot-jobs-data by awscli), and nothing made up.
func TestWatchJobsOnServe(t *testing.T) {
	watch, api, lab := jobsLab(t)
	cfg, err := config.Load(watch)
	if err != nil {
		t.Fatal(err)
	}
	src := watchJobs(context.Background(), cfg)
	env := append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(lab, "aws-credentials"), "AWS_CONFIG_FILE="+filepath.Join(lab, "aws-config"),
		"AWS_PROFILE=iotwatch-local", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
	aws := func(args ...string) {
		t.Helper()
		cmd := exec.Command("/usr/bin/aws", append([]string{"--endpoint-url", "https://" + api, "--ca-bundle", filepath.Join(lab, "ca.pem")}, args...)...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, out)
		}
	}
	ctx := context.Background()
	if execs, err := src.Executions(ctx, "pane-1"); err != nil || execs == nil || len(execs) != 0 {
		t.Fatalf("no job yet: %v, %v (want an empty list, not nil)", execs, err)
	}
	aws("iot", "create-thing", "--thing-name", "pane-1")
	doc := filepath.Join(t.TempDir(), "ota.json")
	os.WriteFile(doc, []byte(`{"operation":"ota","version":"2.0.0"}`), 0o644)
	for _, id := range []string{"ota-a", "ota-b"} {
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(lab, "aws-credentials"))
		t.Setenv("AWS_CONFIG_FILE", filepath.Join(lab, "aws-config"))
		t.Setenv("AWS_PROFILE", "iotwatch-local")
		if code, _, stderr := run(t, "job", "create", "--thing", "pane-1", "--document", doc, "--job-id", id, "--endpoint-url", "https://"+api, "--ca-bundle", filepath.Join(lab, "ca.pem")); code != 0 {
			t.Fatal(stderr)
		}
		if id == "ota-a" {
			time.Sleep(1100 * time.Millisecond) // queuedAt is in whole seconds: ota-b is newer
			aws("iot-jobs-data", "start-next-pending-job-execution", "--thing-name", "pane-1", "--step-timeout-in-minutes", "10",
				"--status-details", "step=download,progress=50%")
		}
	}
	execs, err := src.Executions(ctx, "pane-1")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]tui.JobExecution{}
	for _, e := range execs {
		byID[e.JobID] = e
	}
	if len(execs) != 2 || byID["ota-b"].Status != "QUEUED" || byID["ota-a"].Status != "IN_PROGRESS" || !byID["ota-b"].QueuedAt.After(byID["ota-a"].QueuedAt) ||
		byID["ota-a"].Described || byID["ota-a"].StartedAt.IsZero() {
		t.Fatalf("the summaries: %+v", execs)
	}
	a, err := src.Describe(ctx, "pane-1", "ota-a")
	if err != nil || !a.Described || a.Details["step"] != "download" || a.Details["progress"] != "50%" || !a.HasTimeout ||
		a.TimeoutLeft <= 9*time.Minute || a.TimeoutLeft > 10*time.Minute || a.StartedAt.IsZero() || a.QueuedAt.IsZero() || a.Status != "IN_PROGRESS" {
		t.Fatalf("the IN_PROGRESS execution: %+v, %v", a, err)
	}
	if b, err := src.Describe(ctx, "pane-1", "ota-b"); err != nil || b.HasTimeout || len(b.Details) != 0 || b.Status != "QUEUED" {
		t.Fatalf("the QUEUED execution has no timer nor details: %+v, %v", b, err)
	}
	aws("iot-jobs-data", "update-job-execution", "--thing-name", "pane-1", "--job-id", "ota-a", "--status", "FAILED",
		"--status-details", "reason=sha256 mismatch")
	failed, err := src.Describe(ctx, "pane-1", "ota-a")
	if err != nil || failed.Status != "FAILED" || failed.Details["reason"] != "sha256 mismatch" || failed.HasTimeout {
		t.Fatalf("the FAILED execution: %+v, %v", failed, err)
	}
	if _, err := src.Describe(ctx, "pane-1", "nope"); err == nil || !strings.Contains(err.Error(), "refused iot:DescribeJobExecution: ResourceNotFoundException") {
		t.Fatalf("an unknown job: %v", err)
	}
}

// TestWatchJobsSayWhy: where the control plane does not answer, every
// question fails with what to do, never an empty list.
func TestWatchJobsSayWhy(t *testing.T) {
	watch, api, _ := jobsLab(t)
	closed := testkit.FreeAddr(t)
	for _, tc := range []struct {
		name string
		edit func(string) string
		env  map[string]string
		want []string
	}{
		{"nothing listens at control_url", func(s string) string { return strings.Replace(s, api, closed, 1) }, nil,
			[]string{"https://" + closed + " did not answer (connection refused): set [aws] control_url to the control plane's URL (serve: https://ADDR of --api-listen)"}},
		{"no credentials", nil, map[string]string{"AWS_PROFILE": "", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
			"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"), "AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none")},
			[]string{"no AWS credentials found: for iotwatch serve, sign with the credentials 'certs init' wrote: export AWS_SHARED_CREDENTIALS_FILE="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := mustRead(t, watch)
			if tc.edit != nil {
				text = tc.edit(text)
			}
			dir := t.TempDir() // the lab's files
			entries, _ := os.ReadDir(filepath.Dir(watch))
			for _, e := range entries {
				if data, err := os.ReadFile(filepath.Join(filepath.Dir(watch), e.Name())); err == nil && (tc.env == nil || !strings.HasPrefix(e.Name(), "aws-")) {
					os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600)
				}
			}
			file := filepath.Join(dir, "watch.toml")
			os.WriteFile(file, []byte(text), 0o644)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := config.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			execs, err := watchJobs(context.Background(), cfg).Executions(context.Background(), "pane-1")
			if err == nil || execs != nil {
				t.Fatalf("an answer: %v", execs)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			t.Log(err)
		})
	}
}
