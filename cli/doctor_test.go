package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/internal/testkit"
)

func TestDoctor(t *testing.T) {
	dir := testkit.SoakLab(t, Run)
	code, stdout, stderr := run(t, "doctor", "-c", filepath.Join(dir, "watch.toml"))
	if code != 0 || strings.Count(stdout, " ok ") != 7 || !strings.Contains(stdout, "shadow does not exist yet") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	// A key that does not match its certificate fails at step 2, with the fix.
	os.Rename(filepath.Join(dir, "device.key"), filepath.Join(dir, "monitor.key"))
	code, stdout, _ = run(t, "doctor", "-c", filepath.Join(dir, "watch.toml"))
	if code != 1 || !strings.Contains(stdout, "2. credentials and CA") || !strings.Contains(stdout, "does not match certificate") {
		t.Fatalf("mismatched key: exit %d\n%s", code, stdout)
	}
}

// TestDoctorFromFlagsAndItsRefusals: doctor with connection flags and no
// file; a device certificate on another thing is named with both things; the
// device's own client id is refused unless --force.
func TestDoctorFromFlagsAndItsRefusals(t *testing.T) {
	dir := testkit.SoakLab(t, Run)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cfg, err := config.Load(filepath.Join(dir, "watch.toml"))
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(cfg.AWS.Port)
	p := func(name string) string { return filepath.Join(dir, name) }
	flags := func(role, thing string) []string {
		return []string{"doctor", "--endpoint", "localhost", "--port", port, "--thing", thing,
			"--cert", p(role + ".pem"), "--key", p(role + ".key"), "--ca", p("ca.pem")}
	}
	if code, stdout, _ := run(t, flags("monitor", "esp32-soak")...); code != 0 || !strings.Contains(stdout, "command line: thing esp32-soak") {
		t.Fatalf("from flags: exit %d\n%s", code, stdout)
	}
	code, stdout, _ := run(t, flags("device", "other-thing")...)
	for _, want := range []string{`device certificate of thing "esp32-soak", and [thing] name is "other-thing"`,
		"7. MQTT connect, subscriptions and shadow get    FAIL", `not of [thing] name "other-thing"`} {
		if code != 1 || !strings.Contains(stdout, want) {
			t.Errorf("device certificate on another thing: exit %d, no %q in\n%s", code, want, stdout)
		}
	}
	os.WriteFile(p("own-id.toml"), []byte(strings.Replace(mustRead(t, p("watch.toml")), `client_id = ""`, `client_id = "esp32-soak"`, 1)), 0o644)
	code, stdout, _ = run(t, "doctor", "-c", p("own-id.toml"))
	if code != 1 || !strings.Contains(stdout, `"esp32-soak" is the device's own client id`) || !strings.Contains(stdout, "--force") || strings.Contains(stdout, "2. ") {
		t.Fatalf("own client id: exit %d\n%s", code, stdout)
	}
	if code, stdout, _ = run(t, "doctor", "-c", p("own-id.toml"), "--force"); code != 0 {
		t.Fatalf("own client id with --force: exit %d\n%s", code, stdout)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestHTTPSPort: --port of serve's HTTPS APIs (8443 by default) is named
// by doctor's TLS step and by get's first failure, not after paho's 10 s
// "non-CONNACK first packet received".
func TestHTTPSPort(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir, "--thing", "esp32-pico")
	api := testkit.FreeAddr(t)
	testkit.StartServe(t, Run, "--pki", dir, "--api-listen", api)
	_, port, _ := strings.Cut(api, ":")
	cfg := filepath.Join(dir, "watch.toml")
	code, stdout, _ := run(t, "doctor", "-c", cfg, "--port", port)
	if want := "port " + port + " of localhost answers HTTPS, not MQTT: use port 8883"; code != 1 || !strings.Contains(stdout, "5. TLS handshake") || !strings.Contains(stdout, want) {
		t.Errorf("doctor: exit %d, want %q at step 5 in\n%s", code, want, stdout)
	}
	code, _, stderr := run(t, "get", "-c", cfg, "--port", port)
	if want := "iotwatch get: port " + port + " of localhost answers HTTPS, not MQTT"; code != 1 || !strings.HasPrefix(stderr, want) {
		t.Errorf("get: exit %d, stderr %q, want %q…", code, stderr, want)
	}
}
