package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSDKJobs: a device built on AWS's JavaScript device SDK v2 jobs client
// (sdk/jobs.js) executes a job that `iotwatch job create` made on serve,
// and awscli reads the job COMPLETED with one execution SUCCEEDED.
func TestSDKJobs(t *testing.T) {
	node, npm := lookPathOrFail(t, "node"), lookPathOrFail(t, "npm")
	sdk, _ := filepath.Abs("sdk")
	ci := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--prefer-offline")
	ci.Dir = sdk
	if out, err := ci.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", sdk, err, out)
	}
	const thing = "pico-jobs"
	apiPort := freePort(t)
	bin, lab, port := lab(t, thing, "--api-listen", "127.0.0.1:"+apiPort)
	env := append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(lab, "aws-credentials"),
		"AWS_CONFIG_FILE="+filepath.Join(lab, "aws-config"), "AWS_PROFILE=iotwatch-local", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
	api := []string{"--endpoint-url", "https://127.0.0.1:" + apiPort, "--ca-bundle", filepath.Join(lab, "ca.pem")}
	command := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		return cmd
	}
	if out, err := command("/usr/bin/aws", append(api, "iot", "create-thing", "--thing-name", thing)...).CombinedOutput(); err != nil {
		t.Fatalf("aws iot create-thing: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	device := exec.CommandContext(ctx, node, "jobs.js")
	device.Dir = sdk
	device.Env = append(os.Environ(), "ENDPOINT=127.0.0.1", "PORT="+port, "THING="+thing, "JOB=ota-sdk",
		"CERT="+filepath.Join(lab, "device.pem"), "KEY="+filepath.Join(lab, "device.key"), "CA="+filepath.Join(lab, "ca.pem"))
	stdout, _ := device.StdoutPipe()
	device.Stderr = device.Stdout
	if err := device.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	created := false
	scan := bufio.NewScanner(stdout)
	for scan.Scan() {
		lines = append(lines, scan.Text())
		if strings.Contains(scan.Text(), "subscribed") && !created {
			created = true
			doc := filepath.Join(t.TempDir(), "ota.json")
			os.WriteFile(doc, []byte(`{"operation":"ota","version":"1.3.0"}`), 0o644)
			if out, err := command(bin, append([]string{"job", "create", "--thing", thing, "--document", doc, "--job-id", "ota-sdk"}, api...)...).CombinedOutput(); err != nil {
				t.Fatalf("job create: %v\n%s", err, out)
			}
		}
	}
	if err := device.Wait(); err != nil {
		t.Fatalf("node jobs.js: %v\n%s", err, strings.Join(lines, "\n"))
	}
	t.Logf("node jobs.js:\n%s", strings.Join(lines, "\n"))
	out, err := command(bin, append([]string{"job", "describe", "--job-id", "ota-sdk"}, api...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Job ota-sdk: COMPLETED") || !strings.Contains(string(out), "1 succeeded") ||
		!strings.Contains(string(out), "fw=1.3.0") {
		t.Fatalf("job describe after the device: %v\n%s", err, out)
	}
}
