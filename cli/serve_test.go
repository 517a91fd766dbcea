package cli

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/internal/testkit"
)

// TestServeWithMosquittoClients drives the emulator with Debian's
// mosquitto_pub/mosquitto_sub over MQTT 3.1.1 and MQTT 5.
func TestServeWithMosquittoClients(t *testing.T) {
	sub, err := exec.LookPath("mosquitto_sub")
	if err != nil {
		t.Fatal("mosquitto_sub not found: `make deps` installs Debian's mosquitto-clients")
	}
	for _, version := range []string{"mqttv311", "mqttv5"} {
		t.Run(version, func(t *testing.T) {
			dir := t.TempDir()
			run(t, "certs", "init", "--dir", dir, "--thing", "esp32-pico")
			addr, log := testkit.StartServe(t, Run, "--pki", dir, "--data", filepath.Join(dir, "data"))
			host, port, _ := net.SplitHostPort(addr)
			p := func(n string) string { return filepath.Join(dir, n) }
			tls := func(role string) []string {
				return []string{"-V", version, "-h", host, "-p", port, "--cafile", p("ca.pem"), "--cert", p(role + ".pem"), "--key", p(role + ".key")}
			}
			subCmd := exec.Command(sub, append(tls("monitor"), "-i", "mon-1", "-q", "1", "-C", "1", "-W", "20",
				"-t", "$aws/things/esp32-pico/shadow/update/accepted")...)
			var out strings.Builder
			subCmd.Stdout = &out
			if err := subCmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(log.String(), "connected client=mon-1") && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond) // the SUBSCRIBE follows the CONNACK
			pub := exec.Command("mosquitto_pub", append(tls("device"), "-i", "esp32-pico", "-q", "1",
				"-t", "$aws/things/esp32-pico/shadow/update", "-m", `{"state":{"reported":{"temp":21.5}},"clientToken":"mq-1"}`)...)
			if b, err := pub.CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_pub: %v %s", err, b)
			}
			if err := subCmd.Wait(); err != nil {
				t.Fatalf("mosquitto_sub: %v (log: %s)", err, log.String())
			}
			if !strings.Contains(out.String(), `"clientToken":"mq-1"`) || !strings.Contains(out.String(), `"version":1`) {
				t.Fatalf("accepted: %s", out.String())
			}
			time.Sleep(time.Second) // AWS takes one CONNECT per second per client id
			denied := exec.Command(sub, append(tls("device"), "-i", "esp32-pico", "-C", "1", "-W", "5", "-t", "$aws/things/other/shadow/update/accepted")...)
			if b, _ := denied.CombinedOutput(); !strings.Contains(string(b), "denied") {
				t.Fatalf("device subscribed to another thing: %s", b)
			}
			// A client id the device certificate may not use: AWS closes an
			// MQTT 3.1.1 connection without a CONNACK and answers MQTT 5 with
			// CONNACK 0x87 (mosquitto_pub exits with the reason code).
			intruder := exec.Command("mosquitto_pub", append(tls("device"), "-i", "intruder", "-t", "x", "-m", "y")...)
			b, _ := intruder.CombinedOutput()
			want := map[string]string{"mqttv311": "The connection was lost", "mqttv5": "Connection error: Not authorized"}[version]
			if !strings.Contains(string(b), want) || (version == "mqttv5") != (intruder.ProcessState.ExitCode() == 0x87) {
				t.Fatalf("refused client id: exit %d, want %q: %s", intruder.ProcessState.ExitCode(), want, b)
			}
		})
	}
}

func TestServeExplainsBusyAddress(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir)
	addr, _ := testkit.StartServe(t, Run, "--pki", dir)
	code, _, stderr := run(t, "serve", "--pki", dir, "--listen", addr)
	if code != 1 || !strings.Contains(stderr, "address in use") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, _, stderr := run(t, "serve"); code != 2 || !strings.Contains(stderr, "--pki DIR") {
		t.Fatalf("no pki: exit %d %s", code, stderr)
	}
}

func TestServeAPIFlags(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir)
	api := testkit.FreeAddr(t)
	_, log := testkit.StartServe(t, Run, "--pki", dir, "--api-listen", api)
	if !strings.Contains(log.String(), "AWS APIs on https://"+api) {
		t.Errorf("no API line for --api-listen %s: %s", api, log.String())
	}
	_, log = testkit.StartServe(t, Run, "--pki", dir, "--api-listen", "")
	if strings.Contains(log.String(), "AWS APIs") {
		t.Errorf("--api-listen \"\" still serves the APIs: %s", log.String())
	}
	bad := filepath.Join(dir, "iam.json")
	os.WriteFile(bad, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}`), 0o644)
	for file, says := range map[string]string{bad: `no "Action"`, filepath.Join(dir, "none.json"): "no such file"} {
		code, _, stderr := run(t, "serve", "--pki", dir, "--listen", testkit.FreeAddr(t), "--api-listen", testkit.FreeAddr(t), "--iam-policy", file)
		if code != 1 || !strings.Contains(stderr, "--iam-policy") || !strings.Contains(stderr, says) {
			t.Errorf("--iam-policy %s: exit %d: %s", file, code, stderr)
		}
	}
}
