package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/internal/testkit"
)

func TestSimUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sim", "--fault", "explode"}, 2, `unknown fault "explode"`},
		{[]string{"sim", "--interval", "10ms"}, 2, "use 1s to 1h"},
		{[]string{"sim", "-c", "/nonexistent/device.toml"}, 1, "/nonexistent/device.toml does not exist"},
		{[]string{"sim", "--help"}, 0, "drop:10s/every:60s"},
		{[]string{"sim", "--fault-random", "reboot"}, 2, "go with --fleet"},
		{[]string{"sim", "--fleet", "10001"}, 2, "give 1 to 10000 devices"},
	}
	for _, c := range cases {
		code, stdout, stderr := run(t, c.args...)
		if c.code == 0 {
			stderr = stdout // help goes to stdout
		}
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d %q, want %d %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// TestLabCommands runs the LAN lab of the README in-process: certs init,
// serve, and sim with the written device.toml, until the emulator logs it.
func TestLabCommands(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir, "--thing", "esp32-lab")
	addr, log := testkit.StartServe(t, Run, "--pki", dir)
	_, port, _ := strings.Cut(addr, ":")
	device := filepath.Join(dir, "device.toml")
	data, _ := os.ReadFile(device)
	os.WriteFile(device, []byte(strings.Replace(string(data), "port = 8883", "port = "+port, 1)), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	simLog := &testkit.LockedBuffer{}
	go func() {
		done <- Run(ctx, []string{"sim", "-c", device, "--interval", "1s", "--fault", "lose:0.5"}, simLog, simLog)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(log.String(), "connected client=esp32-lab thing=esp32-lab") {
		if time.Now().After(deadline) {
			t.Fatalf("sim never connected; serve: %s sim: %s", log.String(), simLog.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("sim exit %d: %s", code, simLog.String())
	}
	for _, want := range []string{"fault: 50% of the reports are lost", "link up", "stopped after report"} {
		if !strings.Contains(simLog.String(), want) {
			t.Errorf("sim's output lacks %q:\n%s", want, simLog.String())
		}
	}
}

// TestSimFleet: sim --fleet 3 against serve's control plane: three devices
// with their own client ids and certificates connect, one with a random
// fault; Ctrl+C removes their certificates and things.
func TestSimFleet(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir, "--thing", "esp32-lab")
	api := testkit.FreeAddr(t)
	addr, log := testkit.StartServe(t, Run, "--pki", dir, "--api-listen", api)
	_, port, _ := strings.Cut(addr, ":")
	device := filepath.Join(dir, "device.toml")
	data, _ := os.ReadFile(device)
	os.WriteFile(device, []byte(strings.Replace(string(data), "port = 8883", "port = "+port, 1)), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	simLog := &testkit.LockedBuffer{}
	go func() {
		done <- Run(ctx, []string{"sim", "-c", device, "--interval", "1s", "--fleet", "3", "--fault-random", "lose:0.5",
			"--endpoint-url", "https://" + api, "--ca-bundle", filepath.Join(dir, "ca.pem")}, simLog, simLog)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range []string{"esp32-lab-000", "esp32-lab-001", "esp32-lab-002"} {
		for !strings.Contains(log.String(), "connected client="+n+" ") {
			if time.Now().After(deadline) {
				t.Fatalf("%s never connected; serve: %s sim: %s", n, log.String(), simLog.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("sim exit %d: %s", code, simLog.String())
	}
	out := simLog.String()
	for _, want := range []string{"3 devices esp32-lab-000 … esp32-lab-002, each enrolled through https://" + api,
		"fleet: fault lose:0.5 on this device (picked at random)", "esp32-lab-001 ", "stopped after report"} {
		if !strings.Contains(out, want) {
			t.Errorf("sim's output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "releasing the certificates") {
		t.Errorf("release failed:\n%s", out)
	}
}

// TestFleetControlPlaneDefaults: off AWS, sim --fleet enrolls through the
// emulator's port 8443 beside the MQTT endpoint, trusting [aws] ca.
func TestFleetControlPlaneDefaults(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir, "--thing", "esp32-lab")
	cfg, err := config.Load(filepath.Join(dir, "device.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ url, want string }{{"", "https://localhost:8443"}, {"https://127.0.0.1:9443", "https://127.0.0.1:9443"}}
	for _, c := range cases {
		if _, where, err := fleetControlPlane(context.Background(), cfg, c.url, ""); err != nil || where != c.want {
			t.Errorf("--endpoint-url %q: %q %v, want %q", c.url, where, err, c.want)
		}
	}
}
