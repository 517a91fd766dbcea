// Package e2e drives the real iotwatch binary in a real terminal (tmux).
package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// terminals counts the terminals started, for their socket names.
var terminals atomic.Int64

// terminal is a tmux server of its own running one command.
type terminal struct {
	t      *testing.T
	socket string
}

func start(t *testing.T, command string) *terminal {
	t.Helper()
	return startSized(t, command, 120, 40)
}

func startSized(t *testing.T, command string, width, height int) *terminal {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed: make test installs it")
	}
	// A socket of its own: unique across test processes and terminals (a
	// name reused right after kill-server can meet the old server exiting).
	term := &terminal{t: t, socket: fmt.Sprintf("iotwatch-e2e-%d-%d", os.Getpid(), terminals.Add(1))}
	term.tmux("new-session", "-d", "-s", "e2e", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height), command)
	t.Cleanup(func() { exec.Command("tmux", "-L", term.socket, "kill-server").Run() })
	return term
}

func (term *terminal) tmux(args ...string) string {
	out, err := exec.Command("tmux", append([]string{"-L", term.socket}, args...)...).CombinedOutput()
	if err != nil {
		term.t.Fatalf("tmux %v: %v %s", args, err, out)
	}
	return string(out)
}

func (term *terminal) screen() string { return term.tmux("capture-pane", "-p", "-t", "e2e") }

// waitFor polls the screen until match returns true, within 20 s.
func (term *terminal) waitFor(what string, match func(screen string) bool) string {
	term.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := term.screen()
		if match(s) {
			return s
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("screen never showed %s:\n%s", what, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitExit waits, within 15 s, for the terminal's command to end.
func (term *terminal) waitExit() {
	term.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for exec.Command("tmux", "-L", term.socket, "has-session", "-t", "e2e").Run() == nil {
		if time.Now().After(deadline) {
			term.t.Fatalf("the command did not exit:\n%s", term.screen())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func contains(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}

var reportsRe = regexp.MustCompile(`reports (\d+)`)

func TestDemoInTerminal(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "iotwatch")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	tmp, errFile := t.TempDir(), filepath.Join(t.TempDir(), "stderr")
	term := start(t, "TMPDIR="+tmp+" "+bin+" demo 2>"+errFile)
	first := term.waitFor("a plotted temperature", func(s string) bool {
		return strings.Contains(s, "temp (°C)") && strings.Contains(s, "┤") && reportsRe.MatchString(s) && !strings.Contains(s, "reports 0 ")
	})
	n := reportsRe.FindStringSubmatch(first)[1]
	term.waitFor("more reports", func(s string) bool {
		m := reportsRe.FindStringSubmatch(s)
		return m != nil && m[1] != n
	})
	term.tmux("send-keys", "-t", "e2e", "l")
	term.waitFor("the LED change applied by the device", contains("device applied led = true in"))
	term.tmux("send-keys", "-t", "e2e", "?")
	term.waitFor("the full help", contains("re-get shadow"))
	term.tmux("send-keys", "-t", "e2e", "q")
	quit := time.Now()
	term.waitExit()
	t.Logf("demo exited %s after q", time.Since(quit).Round(time.Millisecond))
	if errs, _ := os.ReadFile(errFile); len(errs) > 0 {
		t.Fatalf("demo wrote to stderr on quitting: %s", errs)
	}
	if out, _ := exec.Command("pgrep", "-f", bin).Output(); len(out) > 0 {
		t.Fatalf("processes left after quitting: %s", out)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Fatalf("demo left temporary files: %v", left)
	}
}

// TestLabInTerminal is the README's LAN lab: certs init, serve and sim as
// processes, and watch in a terminal on the written watch.toml.
// lab builds the binary, writes a lab PKI for thing and starts the emulator
// on a free loopback port; it returns the binary, the lab folder and the port.
func lab(t *testing.T, thing string, serveArgs ...string) (bin, dir, port string) {
	root := t.TempDir()
	bin = filepath.Join(root, "iotwatch")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	dir = filepath.Join(root, "lab")
	if out, err := exec.Command(bin, "certs", "init", "--dir", dir, "--thing", thing).CombinedOutput(); err != nil {
		t.Fatalf("certs init: %v %s", err, out)
	}
	port = freePort(t)
	for _, name := range []string{"watch.toml", "device.toml"} {
		path := filepath.Join(dir, name)
		data, _ := os.ReadFile(path)
		os.WriteFile(path, []byte(strings.Replace(string(data), "port = 8883", "port = "+port, 1)), 0o644)
	}
	background(t, exec.Command(bin, append([]string{"serve", "--pki", dir, "--listen", "127.0.0.1:" + port}, serveArgs...)...))
	return bin, dir, port
}

// background starts cmd and interrupts it when the test ends.
func background(t *testing.T, cmd *exec.Cmd) {
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	time.Sleep(300 * time.Millisecond)
}

func TestLabInTerminal(t *testing.T) {
	bin, lab, _ := lab(t, "esp32-lab")
	dir := filepath.Dir(lab)
	background(t, exec.Command(bin, "sim", "-c", filepath.Join(lab, "device.toml"), "--interval", "1s"))
	logPath, csvPath := filepath.Join(dir, "watch.jsonl"), filepath.Join(dir, "temp.csv")
	term := start(t, bin+" watch -c "+filepath.Join(lab, "watch.toml")+" --log "+logPath+" --csv "+csvPath)
	term.waitFor("the device reporting", func(s string) bool {
		return strings.Contains(s, "esp32-lab") && strings.Contains(s, "device online") && strings.Contains(s, "┤")
	})
	term.tmux("send-keys", "-t", "e2e", "+")
	term.waitFor("the setpoint step applied", contains("device applied setpoint = 21.5"))
	term.tmux("send-keys", "-t", "e2e", "q")
	deadline := time.Now().Add(15 * time.Second)
	for {
		csv, _ := os.ReadFile(csvPath)
		if strings.HasPrefix(string(csv), "time,temp\n") && strings.Count(string(csv), "\n") >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CSV written on exit: %q", csv)
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, err := exec.Command(bin, "report", logPath).CombinedOutput()
	// Without -c the thing is named by the log's session line.
	if !strings.Contains(string(out), "# Soak report: esp32-lab") || strings.Contains(string(out), "| reports | 0 |") {
		t.Fatalf("report from the watch log (%v):\n%s", err, out)
	}
}

// TestWatchExplainsAFailedConnection: watch with the CA of another lab (by
// the --ca override) says at once why it cannot connect, in the header and
// the event log, at 80x24 and 160x50, and logs the reason to --log.
func TestWatchExplainsAFailedConnection(t *testing.T) {
	bin, lab, _ := lab(t, "esp32-ca")
	other := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command(bin, "certs", "init", "--dir", other).CombinedOutput(); err != nil {
		t.Fatalf("certs init: %v %s", err, out)
	}
	for _, size := range [][2]int{{80, 24}, {160, 50}} {
		logPath := filepath.Join(t.TempDir(), "watch.jsonl")
		term := startSized(t, bin+" watch -c "+filepath.Join(lab, "watch.toml")+" --ca "+filepath.Join(other, "ca.pem")+" --log "+logPath, size[0], size[1])
		screen := term.waitFor("the reason the connection fails", func(s string) bool {
			return strings.Contains(s, "link down") && strings.Contains(s, "cannot connect: the")
		})
		if strings.Count(screen, "cannot connect:") != 1 {
			t.Errorf("%dx%d: the failure is not logged exactly once:\n%s", size[0], size[1], screen)
		}
		term.tmux("send-keys", "-t", "e2e", "q")
		term.waitExit()
		if data, _ := os.ReadFile(logPath); !strings.Contains(string(data), "not signed by [aws] ca") {
			t.Errorf("%dx%d: the log lacks the reason:\n%s", size[0], size[1], data)
		}
	}
}

// TestFirmwareInTerminal watches and steers the firmware's host build, as a
// user following the README does with a board.
func TestFirmwareInTerminal(t *testing.T) {
	if out, err := exec.Command("make", "-C", "../firmware", "build/fw-host").CombinedOutput(); err != nil {
		t.Fatalf("building fw-host (needs g++, libmosquitto-dev, libcjson-dev: make deps): %v\n%s", err, out)
	}
	bin, lab, port := lab(t, "pico-e2e")
	background(t, exec.Command("../firmware/build/fw-host", "--endpoint", "127.0.0.1", "--port", port, "--thing", "pico-e2e",
		"--cert", filepath.Join(lab, "device.pem"), "--key", filepath.Join(lab, "device.key"), "--ca", filepath.Join(lab, "ca.pem"),
		"--interval", "1"))
	term := start(t, bin+" watch -c "+filepath.Join(lab, "watch.toml"))
	term.waitFor("the firmware reporting", func(s string) bool {
		return strings.Contains(s, "pico-e2e") && strings.Contains(s, "device online") && strings.Contains(s, "iotwatch-fw/")
	})
	term.tmux("send-keys", "-t", "e2e", "l")
	term.waitFor("the LED toggled by the firmware", contains("device applied led = true"))
	term.tmux("send-keys", "-t", "e2e", "+")
	term.waitFor("the setpoint step applied by the firmware", contains("device applied setpoint = 21.5"))
	term.tmux("send-keys", "-t", "e2e", "q")
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// TestAWSSetupAndWatchInTerminal is the README's real-AWS path against the
// emulator with the binary: aws setup, sim on the written device.toml, and
// watch on the written watch.toml signing in with AWS credentials (SigV4,
// MQTT over WebSocket), steering the device with a key.
func TestAWSSetupAndWatchInTerminal(t *testing.T) {
	apiPort := freePort(t)
	bin, lab, mqttPort := lab(t, "lab-device", "--api-listen", "127.0.0.1:"+apiPort)
	root := filepath.Dir(lab)
	env := append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(lab, "aws-credentials"),
		"AWS_CONFIG_FILE="+filepath.Join(lab, "aws-config"), "AWS_PROFILE=iotwatch-local", "AWS_EC2_METADATA_DISABLED=true")
	dir := filepath.Join(root, "board-7")
	setup := exec.Command(bin, "aws", "setup", "--thing", "board-7", "--dir", dir,
		"--endpoint-url", "https://127.0.0.1:"+apiPort, "--ca-bundle", filepath.Join(lab, "ca.pem"))
	setup.Env = env
	if out, err := setup.CombinedOutput(); err != nil || !strings.Contains(string(out), "iotwatch watch -c") {
		t.Fatalf("aws setup: %v\n%s", err, out)
	}
	device := filepath.Join(dir, "device.toml")
	data, _ := os.ReadFile(device)
	os.WriteFile(device, []byte(strings.Replace(string(data), "port = 8883", "port = "+mqttPort, 1)), 0o644)
	background(t, exec.Command(bin, "sim", "-c", device, "--interval", "1s"))
	term := start(t, "env AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(lab, "aws-credentials")+" AWS_CONFIG_FILE="+filepath.Join(lab, "aws-config")+
		" AWS_PROFILE=iotwatch-local AWS_EC2_METADATA_DISABLED=true "+bin+" watch -c "+filepath.Join(dir, "watch.toml"))
	term.waitFor("the provisioned device reporting over SigV4", func(s string) bool {
		return strings.Contains(s, "board-7") && strings.Contains(s, "link up") && strings.Contains(s, "device online")
	})
	term.tmux("send-keys", "-t", "e2e", "l")
	term.waitFor("the LED change applied by the device", contains("device applied led = true"))
	term.tmux("send-keys", "-t", "e2e", "q")
	term.waitExit()
	teardown := exec.Command(bin, "aws", "teardown", "--dir", dir)
	teardown.Env = env
	if out, err := teardown.CombinedOutput(); err != nil {
		t.Fatalf("aws teardown: %v\n%s", err, out)
	}
}
