package cli

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotwatch/iotwatch/internal/testkit"
)

func TestQualifyUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"qualify"}, 2, "--pki DIR is required"},
		{[]string{"qualify", "--pki", dir, "--case", "MQTT_Conect"}, 2, `unknown case "MQTT_Conect"`},
		{[]string{"qualify", "--pki", dir, "--suite", "nightly"}, 2, `unknown suite "nightly"`},
		{[]string{"qualify", "--pki", dir, "--desired", "[1]"}, 2, "--desired [1]: give a non-empty JSON object"},
		{[]string{"qualify", "--pki", dir, "--timeout", "10ms"}, 2, "--timeout 10ms"},
		{[]string{"qualify", "--pki", filepath.Join(dir, "none"), "--case", "MQTT_Connect"}, 4, "device.pem"},
	}
	for _, tc := range tests {
		code, _, stderr := run(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

// TestQualifyNoDevice: nobody connects: every case ERROR, exit 3.
func TestQualifyNoDevice(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir, "--thing", "esp32-q")
	code, stdout, stderr := run(t, "qualify", "--pki", dir, "--listen", testkit.FreeAddr(t), "--case", "MQTT_Connect", "--timeout", "1s")
	if code != 3 || !strings.Contains(stdout, "ERROR") || !strings.Contains(stdout, "the device never connected") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestQualifySimulatorCLI: iotwatch qualify against iotwatch sim, both
// in-process as the binary runs them: the cases it passes, the one it
// fails (paho retries a publish only after reconnecting), exit 1, and the
// Markdown, JSON and JUnit reports (cases in run order, not --case's).
func TestQualifySimulatorCLI(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir, "--thing", "esp32-q")
	addr := testkit.FreeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithCancel(context.Background())
	simLog := &testkit.LockedBuffer{}
	simDone := make(chan int)
	go func() {
		simDone <- Run(ctx, []string{"sim", "-c", filepath.Join(dir, "device.toml"), "--port", port, "--interval", "1s"}, simLog, simLog)
	}()
	defer func() { cancel(); <-simDone }()
	md, junit := filepath.Join(dir, "q.md"), filepath.Join(dir, "q.xml")
	code, stdout, stderr := run(t, "qualify", "--pki", dir, "--listen", addr, "--timeout", "8s",
		"--case", "MQTT_Connect", "--case", "Shadow_Publish_Reported_State", "--case", "MQTT_Publish_Retry_No_Puback",
		"--report", md, "--junit", junit)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s\nsim: %s", code, stdout, stderr, simLog.String())
	}
	for _, want := range []string{"PASS               MQTT_Connect:", "PASS               Shadow_Publish_Reported_State:",
		"FAIL               MQTT_Publish_Retry_No_Puback: the device published again with a new packet id", "3 cases: 2 PASS, 0 PASS_WITH_WARNINGS, 1 FAIL, 0 ERROR"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	text, _ := os.ReadFile(md)
	if !strings.Contains(string(text), "| MQTT_Publish_Retry_No_Puback | FAIL |") || !strings.Contains(string(text), "withheld PUBLISH") {
		t.Errorf("Markdown report:\n%s", text)
	}
	var rep struct {
		Results []struct {
			Case, Verdict string
			Timeline      []json.RawMessage
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "q.json"))
	if err := json.Unmarshal(data, &rep); err != nil || len(rep.Results) != 3 || rep.Results[1].Verdict != "FAIL" || len(rep.Results[0].Timeline) == 0 {
		t.Errorf("JSON report (%v): %s", err, data)
	}
	var suite struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testcase"`
	}
	data, _ = os.ReadFile(junit)
	if err := xml.Unmarshal(data, &suite); err != nil || suite.Tests != 3 || suite.Failures != 1 || suite.Cases[1].Failure == nil || suite.Cases[0].Failure != nil {
		t.Errorf("JUnit (%v): %s", err, data)
	}
}
