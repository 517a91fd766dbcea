package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/cli"
	"github.com/iotwatch/iotwatch/devicesim"
	"github.com/iotwatch/iotwatch/internal/testkit"
	"github.com/iotwatch/iotwatch/pki"
)

// rolloutLab is serve with its HTTPS APIs (a Jobs minute of minute) and the
// lab's credentials in the environment, as the README's rehearsal sets them.
func rolloutLab(t *testing.T, thing string, minute time.Duration) (dir, port string, api []string) {
	t.Helper()
	dir = t.TempDir()
	if code, _, stderr := run(t, "certs", "init", "--dir", dir, "--thing", thing); code != 0 {
		t.Fatal(stderr)
	}
	apiAddr := testkit.FreeAddr(t)
	addr, _ := testkit.StartServe(t, cli.Run, "--pki", dir, "--api-listen", apiAddr, "--job-minute", minute.String())
	_, port, _ = strings.Cut(addr, ":")
	device := filepath.Join(dir, "device.toml")
	data, _ := os.ReadFile(device)
	os.WriteFile(device, []byte(strings.Replace(string(data), "port = 8883", "port = "+port, 1)), 0o644)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, pki.AWSCredentialsFile))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, pki.AWSConfigFile))
	t.Setenv("AWS_PROFILE", pki.AWSProfile)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return dir, port, []string{"--endpoint-url", "https://" + apiAddr, "--ca-bundle", filepath.Join(dir, "ca.pem")}
}

// startSim runs sim with args until the test ends.
func startSim(t *testing.T, args ...string) *testkit.LockedBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &testkit.LockedBuffer{}
	done := make(chan int)
	go func() { done <- cli.Run(ctx, append([]string{"sim"}, args...), out, out) }()
	t.Cleanup(func() { cancel(); <-done })
	return out
}

// waitJob polls job describe until it says want, and returns its output.
func waitJob(t *testing.T, job string, api []string, want string, simLog *testkit.LockedBuffer) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, stdout, _ := run(t, append([]string{"job", "describe", "--job-id", job}, api...)...)
		if strings.Contains(stdout, want) {
			return stdout
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s never said %q:\n%s\nsim:\n%s", job, want, stdout, simLog.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestRolloutToASimFleet is the README's rollout rehearsal: an OTA image
// uploaded with job create --file to sim --fleet 10, one device failing
// its job and one rebooting halfway through the download. Nine report
// SUCCEEDED after rebooting into the new image (the rebooted one after
// downloading again), one FAILED with its reason, and the job is COMPLETED.
func TestRolloutToASimFleet(t *testing.T) {
	dir, _, api := rolloutLab(t, "fl", time.Minute)
	simLog := startSim(t, "-c", filepath.Join(dir, "device.toml"), "--interval", "2s", "--fleet", "10",
		"--fault-random", "job-fail", "--fault-random", "reboot-during-update", api[0], api[1], api[2], api[3])
	names := devicesim.FleetNames("fl", 10)
	deadline := time.Now().Add(60 * time.Second)
	for !allUp(simLog.String(), names) {
		if time.Now().After(deadline) {
			t.Fatalf("the fleet did not come up:\n%s", simLog.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	image := filepath.Join(t.TempDir(), "fw-2.0.0.bin")
	os.WriteFile(image, bytes.Repeat([]byte("iotwatch-sim 2.0.0 "), 50000), 0o644)
	doc := filepath.Join(t.TempDir(), "ota.json")
	os.WriteFile(doc, []byte(`{"operation":"ota","version":"iotwatch-sim/2.0.0"}`), 0o644)
	code, stdout, stderr := run(t, append([]string{"job", "create", "--match", "fl-*", "--document", doc, "--file", image, "--job-id", "rollout-1"}, api...)...)
	if code != 0 || !strings.Contains(stdout, "for 10 thing(s)") {
		t.Fatalf("job create: exit %d\n%s%s", code, stdout, stderr)
	}
	out := waitJob(t, "rollout-1", api, "COMPLETED", simLog)
	if !strings.Contains(out, "9 succeeded, 1 failed") {
		t.Fatalf("rollout:\n%s\nsim:\n%s", out, simLog.String())
	}
	if !strings.Contains(out, "reason=injected failure (--fault job-fail)") || strings.Count(out, "fw=iotwatch-sim/2.0.0") != 9 {
		t.Errorf("execution details:\n%s", out)
	}
	log := simLog.String()
	if !strings.Contains(log, "reboots halfway through job rollout-1") {
		t.Errorf("no device rebooted mid-update:\n%s", log)
	}
	if n := len(regexp.MustCompile(`running iotwatch-sim/2\.0\.0 after the update: SUCCEEDED`).FindAllString(log, -1)); n != 9 {
		t.Errorf("%d devices confirmed the new image after rebooting; want 9:\n%s", n, log)
	}
}

// allUp reports whether every device logged its link up ("NAME 15:04:05
// link up").
func allUp(log string, names []string) bool {
	for _, n := range names {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(n) + ` \S+ link up$`).MatchString(log) {
			return false
		}
	}
	return true
}

// TestJobFaults: a device that hangs in its job is TIMED_OUT by the
// service's step timer (a Jobs minute of 100 ms), a document with an
// operation the firmware does not run is REJECTED with the reason, and an
// image whose checksum is wrong FAILS.
func TestJobFaults(t *testing.T) {
	dir, _, api := rolloutLab(t, "hang-1", 100*time.Millisecond)
	simLog := startSim(t, "-c", filepath.Join(dir, "device.toml"), "--interval", "2s", "--fault", "job-hang")
	for !strings.Contains(simLog.String(), "link up") {
		time.Sleep(50 * time.Millisecond)
	}
	aws := func(args ...string) {
		t.Helper()
		if code, _, stderr := run(t, append(args, api...)...); code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
	}
	createThing(t, api, "hang-1")
	docs := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(docs, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	image := write("fw.bin", "image")
	aws("job", "create", "--thing", "hang-1", "--document", write("ota.json", `{"operation":"ota","version":"9"}`), "--file", image, "--job-id", "hang")
	waitJob(t, "hang", api, "1 timed out", simLog)

	aws("job", "create", "--thing", "hang-1", "--document", write("reset.json", `{"operation":"factory-reset"}`), "--job-id", "unknown-op")
	out := waitJob(t, "unknown-op", api, "1 rejected", simLog)
	if !strings.Contains(out, `reason=unknown operation "factory-reset"`) {
		t.Errorf("rejected job:\n%s", out)
	}
	// The image the first job uploaded, named as job create --file names it,
	// with a checksum that is not its own.
	sum := sha256.Sum256([]byte("image"))
	url := api[1] + "/files/" + hex.EncodeToString(sum[:])[:12] + "-fw.bin"
	aws("job", "create", "--thing", "hang-1", "--document", write("bad.json",
		`{"operation":"ota","version":"9","sha256":"`+strings.Repeat("0", 64)+`","size":5,"url":"${aws:iot:s3-presigned-url:`+url+`}"}`),
		"--job-id", "bad-sum")
	out = waitJob(t, "bad-sum", api, "1 failed", simLog)
	if !strings.Contains(out, "reason=sha256 mismatch") {
		t.Errorf("wrong checksum:\n%s", out)
	}
}

func createThing(t *testing.T, api []string, name string) {
	t.Helper()
	out, err := exec.Command("/usr/bin/aws", append(api, "iot", "create-thing", "--thing-name", name)...).CombinedOutput()
	if err != nil {
		t.Fatalf("aws iot create-thing %s: %v\n%s", name, err, out)
	}
}
