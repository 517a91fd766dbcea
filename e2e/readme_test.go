package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readmeBlock is the first ```sh block after the line that starts with
// marker in README.md, its continued lines joined, comments kept.
func readmeBlock(t *testing.T, marker string) []string {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(data), "\n"+marker)
	if !ok {
		t.Fatalf("README.md has no line starting %q", marker)
	}
	_, after, _ = strings.Cut(after, "```sh\n")
	block, _, _ := strings.Cut(after, "```")
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(block, "\\\n", ""), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// readmeScript makes a bash script of the README's lines, each checked as
// its comment says: one that starts "refused" must fail, the others succeed.
// Only what cannot run here as written changes: the real binary's path for
// ./iotwatch, free ports for 8883 and 8443, serve in the background, and the
// certificate ARN the README says is printed, kept for CERT_ARN.
func readmeScript(lines []string, bin, mqtt, api string) string {
	var b strings.Builder
	b.WriteString("shopt -s expand_aliases\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n")
	for i, l := range lines {
		cmd, comment, _ := strings.Cut(l, "# ")
		cmd = strings.ReplaceAll(cmd, "./iotwatch", bin)
		cmd = strings.ReplaceAll(cmd, "8883", mqtt)
		cmd = strings.ReplaceAll(cmd, "8443", api)
		cmd = strings.ReplaceAll(cmd, "CERT_ARN", `"$CERT_ARN"`)
		quoted := fmt.Sprintf("%q", strings.TrimSpace(l))
		switch {
		case strings.TrimSpace(cmd) == "":
			continue // a comment line
		case strings.HasSuffix(strings.TrimSpace(cmd), "&"):
			fmt.Fprintf(&b, "%s\n", cmd)
		case strings.Contains(cmd, " serve "):
			fmt.Fprintf(&b, "%s --listen 127.0.0.1:%s --api-listen 127.0.0.1:%s >serve.log 2>&1 &\n", cmd, mqtt, api)
			b.WriteString("for _ in $(seq 200); do grep -q 'AWS APIs on' serve.log && break; sleep 0.05; done\n")
		case strings.Contains(comment, "prints the certificate ARN"):
			fmt.Fprintf(&b, "CERT_ARN=$(%s) || { echo \"README: %d: failed: \"%s; exit 1; }\n", cmd, i+1, quoted)
		case strings.HasPrefix(comment, "refused"):
			fmt.Fprintf(&b, "if %s; then echo \"README: %d: succeeded, but the README says refused: \"%s; exit 1; fi\n", cmd, i+1, quoted)
		default:
			fmt.Fprintf(&b, "%s || { echo \"README: %d: failed: \"%s; exit 1; }\n", cmd, i+1, quoted)
		}
	}
	b.WriteString("echo README: ok\n")
	return b.String()
}

// TestREADMECommands runs README.md's "Try your AWS setup offline" block
// as a user would (certs init, serve, the AWS CLI, mosquitto_pub), taken
// from the README itself so that it cannot drift: the allowed publish
// exits 0 and each refused one fails for the reason its comment gives
// (the serve log says the policy, not the CONNECT rate).
func TestREADMECommands(t *testing.T) {
	for _, tool := range []string{"/usr/bin/aws", "mosquitto_pub"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: `make deps` installs Debian's awscli and mosquitto-clients", tool)
		}
	}
	bin := filepath.Join(t.TempDir(), "iotwatch")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	dir := t.TempDir()
	docs, _ := filepath.Abs("../docs")
	os.Symlink(docs, filepath.Join(dir, "docs"))
	script := readmeScript(readmeBlock(t, "## Try your AWS setup offline"), bin, freePort(t), freePort(t))
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "PATH=/usr/bin:"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	serveLog, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
	if err != nil || !strings.Contains(string(out), "README: ok") {
		t.Fatalf("%v\n%s\nserve:\n%s", err, out, serveLog)
	}
	if strings.Contains(string(serveLog), "more than 1 CONNECT per second") {
		t.Errorf("a publish was refused for the CONNECT rate, not for the policy the README names:\n%s", serveLog)
	}
	for _, want := range []string{"reason=FORBIDDEN_ACCESS", "connect_failed client=other"} {
		if !strings.Contains(string(serveLog), want) {
			t.Errorf("serve did not log %q (the policy's refusal):\n%s", want, serveLog)
		}
	}
}

// TestREADMELabPublish runs the lab's mosquitto block from README.md while
// sim reports as esp32-pico: the publish is accepted and takes nobody's
// client id over (no DUPLICATE_CLIENTID: no dropout in watch).
func TestREADMELabPublish(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "iotwatch")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	dir := t.TempDir()
	mqtt := freePort(t)
	setup := strings.Join([]string{
		bin + " certs init --dir lab --thing esp32-pico >/dev/null",
		"sed -i 's/port = 8883/port = " + mqtt + "/' lab/device.toml",
		bin + " serve --pki lab --listen 127.0.0.1:" + mqtt + " --api-listen '' >serve.log 2>&1 &",
		"for _ in $(seq 200); do grep -q 'emulator on' serve.log && break; sleep 0.05; done",
		bin + " sim -c lab/device.toml --interval 1s >sim.log 2>&1 &",
		"for _ in $(seq 200); do grep -q 'connected client=esp32-pico' serve.log && break; sleep 0.05; done",
	}, "\n") + "\n"
	script := setup + readmeScript(readmeBlock(t, "The emulator already works with any MQTT client"), bin, mqtt, freePort(t)) + "sleep 1\n"
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	serveLog, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
	if err != nil || !strings.Contains(string(out), "README: ok") || !strings.Contains(string(out), `"temp":21.5`) {
		t.Fatalf("%v\n%s\nserve:\n%s", err, out, serveLog)
	}
	if strings.Contains(string(serveLog), "DUPLICATE_CLIENTID") || !strings.Contains(string(serveLog), "connected client=lab-pub") {
		t.Errorf("the README's publish took the sim's client id over:\n%s", serveLog)
	}
}
