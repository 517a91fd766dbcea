package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/devicesim"
	"github.com/iotwatch/iotwatch/report"
)

// TestSoakOfARollout soaks a firmware rollout with require_jobs_succeeded:
// serve with its Jobs (a Jobs minute of 1 s), sim --fleet 3 with one device
// failing its job, and two soaks at once while job create --file rolls an
// image out to the fleet. The soak of the whole fleet FAILs naming the
// failed execution and its reason, and a report of its log says the same;
// the soak of the two other devices (a rollout that went clean for them)
// PASSes with their executions counted SUCCEEDED.
func TestSoakOfARollout(t *testing.T) {
	dir, port, api := rolloutLab(t, "sr", time.Second)
	simLog := startSim(t, "-c", filepath.Join(dir, "device.toml"), "--interval", "1s", "--fleet", "3",
		"--fault-random", "job-fail", api[0], api[1], api[2], api[3])
	names := devicesim.FleetNames("sr", 3)
	waitFleetUp(t, simLog, names, 30*time.Second)
	m := regexp.MustCompile(`(?m)^(\S+) fleet: fault job-fail`).FindStringSubmatch(simLog.String())
	if m == nil {
		t.Fatalf("sim names no device with job-fail:\n%s", simLog.String())
	}
	failing := m[1]
	clean := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == failing })

	// The soak's configuration: the fleet's names, require_jobs_succeeded;
	// the silence thresholds loose, and one dropout allowed: each device
	// reboots into the new image (AWS's lifecycle says disconnected) before
	// it reports SUCCEEDED, which the report calls out as silent during the
	// update.
	watch, _ := os.ReadFile(filepath.Join(dir, "watch.toml"))
	quoted, _ := json.Marshal(names)
	cfg := filepath.Join(dir, "rollout.toml")
	os.WriteFile(cfg, []byte(strings.Replace(strings.Replace(string(watch), "port = 8883", "port = "+port, 1), "[thing]\n", "[thing]\nnames = "+string(quoted)+"\n", 1)+
		"\n[soak]\ninterval = \"1s\"\nmax_dropouts = 1\ndropout_after = 10\nmin_availability = 50\nmax_blind = 50\nrequire_jobs_succeeded = true\n"), 0o644)

	type result struct {
		code           int
		stdout, stderr string
	}
	soak := func(name string, things []string) (func() result, string) {
		base := filepath.Join(dir, name)
		args := append([]string{"soak", "-c", cfg, "--duration", "16s", "--log", base + ".jsonl", "--report", base + ".md"}, api[:2]...)
		for _, th := range things {
			args = append(args, "--thing", th)
		}
		var r result
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); r.code, r.stdout, r.stderr = run(t, args...) }()
		return func() result { wg.Wait(); return r }, base
	}
	waitAll, all := soak("all", names)
	waitClean, cleanBase := soak("clean", clean)
	time.Sleep(time.Second) // the soaks' first poll: no execution yet

	image := filepath.Join(t.TempDir(), "fw-2.0.0.bin")
	os.WriteFile(image, []byte(strings.Repeat("iotwatch-sim 2.0.0 ", 5000)), 0o644)
	doc := filepath.Join(t.TempDir(), "ota.json")
	os.WriteFile(doc, []byte(`{"operation":"ota","version":"iotwatch-sim/2.0.0"}`), 0o644)
	if code, stdout, stderr := run(t, append([]string{"job", "create", "--match", "sr-*", "--document", doc, "--file", image, "--job-id", "rollout-1"}, api...)...); code != 0 {
		t.Fatalf("job create: exit %d\n%s%s", code, stdout, stderr)
	}

	r := waitAll()
	failed := failing + ": job rollout-1 FAILED (reason=injected failure (--fault job-fail)), not SUCCEEDED (require_jobs_succeeded)"
	if r.code != 1 || !strings.Contains(r.stdout, failed) {
		t.Fatalf("the fleet's soak: exit %d, want 1 naming %q\n%s\n%s\nsim:\n%s", r.code, failed, r.stdout, r.stderr, simLog.String())
	}
	if strings.Contains(r.stderr, "no job executions") {
		t.Errorf("the soak said the control plane did not answer:\n%s", r.stderr)
	}
	jobs := thingJobs(t, all+".json")
	if j := jobs[failing]; j == nil || j.ByStatus["FAILED"] != 1 || len(j.NotSucceeded) != 1 || j.NotSucceeded[0].JobID != "rollout-1" {
		t.Errorf("%s's jobs: %+v", failing, j)
	}
	for _, n := range clean {
		if j := jobs[n]; j == nil || j.ByStatus["SUCCEEDED"] != 1 || j.ToSucceededMaxS == nil || *j.ToSucceededMaxS <= 0 ||
			len(j.SilentDuringJobs) != 1 || j.SilentDuringJobs[0].JobID != "rollout-1" {
			t.Errorf("%s's jobs: %+v", n, j)
		}
	}
	md, _ := os.ReadFile(all + ".md")
	if !strings.Contains(string(md), "### Jobs") || !strings.Contains(string(md), "| rollout-1 | FAILED | reason=injected failure (--fault job-fail) |") {
		t.Errorf("the report's Jobs section:\n%s", md)
	}

	code, stdout, stderr := run(t, "report", "--report", all+"-replay.md", all+".jsonl")
	replay := thingJobs(t, all+"-replay.json")
	if code != 1 || !strings.Contains(stdout, failed) || len(replay) != 3 || replay[failing].NotSucceeded[0].Text != jobs[failing].NotSucceeded[0].Text {
		t.Errorf("report of the log: exit %d, jobs %v\n%s%s", code, replay, stdout, stderr)
	}

	r = waitClean()
	if md, _ := os.ReadFile(cleanBase + ".md"); r.code != 0 || strings.Count(string(md), "all 1 job executions seen SUCCEEDED") != 2 {
		t.Errorf("the clean rollout's soak: exit %d\n%s\n%s\n%s", r.code, r.stdout, r.stderr, md)
	}
	if j := thingJobs(t, cleanBase+".json")[clean[0]]; j == nil || j.Executions != 1 || j.ByStatus["SUCCEEDED"] != 1 {
		t.Errorf("the clean soak's jobs of %s: %+v", clean[0], j)
	}
}

// thingJobs reads a fleet summary's jobs by thing.
func thingJobs(t *testing.T, path string) map[string]*report.JobsJSON {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s report.FleetSummary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]*report.JobsJSON{}
	for _, th := range s.Things {
		out[th.Thing] = th.Jobs
	}
	return out
}
