package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestJobsPaneInTerminal: serve (its control plane on --api-listen, a
// minute of 6 s), watch on a thing with [aws] control_url, J: the pane
// follows a firmware job made by `job create --file` from QUEUED (no
// device yet) to IN_PROGRESS (the sim's --fault job-hang: the device took
// it and hangs, the step timer counting down) to SUCCEEDED (the sim
// restarted without the fault resumes it, downloads, reboots into the new
// image), and a second job FAILED with the reason --fault job-fail gives;
// the fleet screen's job column shows each thing's latest.
func TestJobsPaneInTerminal(t *testing.T) {
	const thing = "fl-pane"
	apiPort := freePort(t)
	bin, lab, _ := lab(t, thing, "--api-listen", "127.0.0.1:"+apiPort, "--job-minute", "6s")
	api := []string{"--endpoint-url", "https://127.0.0.1:" + apiPort, "--ca-bundle", filepath.Join(lab, "ca.pem")}
	env := append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(lab, "aws-credentials"),
		"AWS_CONFIG_FILE="+filepath.Join(lab, "aws-config"), "AWS_PROFILE=iotwatch-local", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
	command := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
		}
	}
	command("/usr/bin/aws", append(api, "iot", "create-thing", "--thing-name", thing)...)
	watch := filepath.Join(lab, "watch.toml")
	data, _ := os.ReadFile(watch)
	os.WriteFile(watch, []byte(strings.Replace(string(data), "[thing]", "control_url = \"https://127.0.0.1:"+apiPort+"\"\n\n[thing]", 1)), 0o644)

	term := start(t, bin+" watch -c "+watch)
	term.waitFor("the thing's screen", contains(thing))
	term.keys("J")
	term.waitFor("no executions yet", contains("no job executions for "+thing))

	dir := t.TempDir()
	doc, image := filepath.Join(dir, "ota.json"), filepath.Join(dir, "fw.bin")
	os.WriteFile(doc, []byte(`{"operation":"ota","version":"iotwatch-sim/2.0.0"}`), 0o644)
	os.WriteFile(image, []byte(strings.Repeat("firmware ", 20000)), 0o644)
	command(bin, append([]string{"job", "create", "--thing", thing, "--document", doc, "--file", image, "--job-id", "ota-1"}, api...)...)
	term.waitFor("ota-1 QUEUED", matches(`ota-1\s+QUEUED\s`))

	device := filepath.Join(lab, "device.toml")
	hang := exec.Command(bin, "sim", "-c", device, "--interval", "1s", "--fault", "job-hang")
	background(t, hang)
	// IN_PROGRESS with the step timer the device asked for (10 minutes of 6 s) counting down
	inProgress := term.waitFor("ota-1 IN_PROGRESS with its step timer", matches(`ota-1\s+IN_PROGRESS\s+\S+\s+\S+\s+(\d|[1-5]\d)s\s`))
	t.Logf("in progress:\n%s", inProgress)
	hang.Process.Kill()
	hang.Wait()

	resume := exec.Command(bin, "sim", "-c", device, "--interval", "1s")
	background(t, resume)
	term.waitFor("ota-1 SUCCEEDED on the new firmware", matches(`ota-1\s+SUCCEEDED\s.*fw=iotwatch-sim/2\.0\.0`))
	resume.Process.Kill()
	resume.Wait()

	background(t, exec.Command(bin, "sim", "-c", device, "--interval", "1s", "--fault", "job-fail"))
	command(bin, append([]string{"job", "create", "--thing", thing, "--document", doc, "--file", image, "--job-id", "ota-2"}, api...)...)
	screen := term.waitFor("ota-2 FAILED with its reason", matches(`ota-2\s+FAILED\s.*reason=injected failure`))
	t.Logf("failed:\n%s", screen)
	if strings.Index(screen, "ota-2") > strings.Index(screen, "ota-1 ") {
		t.Fatalf("not newest first:\n%s", screen)
	}
	term.keys("J")
	term.waitFor("the event log again", func(s string) bool { return !strings.Contains(s, "job executions of") })
	term.keys("q")
	term.waitExit()

	// The fleet screen's job column: each row's latest execution.
	fleet := startSized(t, bin+" watch -c "+watch+" --thing "+thing+" --thing fl-none", 80, 24)
	fleet.waitFor("the job column", func(s string) bool {
		return matches(`(?m)fl-pane .* FAILED$`)(s) && matches(`(?m)fl-none .* –$`)(s) // the job column ends the line
	})
	fleet.keys("q")
	fleet.waitExit()
}

func matches(re string) func(string) bool {
	r := regexp.MustCompile(re)
	return r.MatchString
}
