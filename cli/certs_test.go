package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/pki"
)

func TestCertsInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	code, stdout, stderr := run(t, "certs", "init", "--dir", dir, "--thing", "esp32-pico", "--host", "lab.local")
	if code != 0 || !strings.Contains(stdout, "iotwatch serve --pki "+dir+" --data "+dir+"/data\n") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	for _, name := range []string{"ca.pem", "ca.key", "server.pem", "server.key", "device.pem", "device.key", "monitor.pem", "monitor.key", "watch.toml", "device.toml"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.HasSuffix(name, ".key") && info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %o", name, info.Mode().Perm())
		}
	}
	assertLabConfigs(t, dir, "esp32-pico")
	if code, _, stderr := run(t, "certs", "init", "--dir", dir); code != 1 || !strings.Contains(stderr, "--force") {
		t.Fatalf("overwrite: exit %d %s", code, stderr)
	}
	if code, _, _ := run(t, "certs", "init", "--dir", dir, "--force"); code != 0 {
		t.Fatal("--force failed")
	}
	if code, _, stderr := run(t, "certs", "init"); code != 2 || !strings.Contains(stderr, "--dir is required") {
		t.Fatalf("no --dir: exit %d %s", code, stderr)
	}
}

func TestCertsHeader(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir)
	p := func(n string) string { return filepath.Join(dir, n) }
	out := p("secrets.h")
	code, _, stderr := run(t, "certs", "header", "--cert", p("device.pem"), "--key", p("device.key"), "--ca", p("ca.pem"), "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	info, _ := os.Stat(out)
	data, _ := os.ReadFile(out)
	if info.Mode().Perm() != 0o600 || !strings.Contains(string(data), "AWS_CERT_PRIVATE") {
		t.Fatalf("header mode %o: %s", info.Mode().Perm(), data)
	}
	if strings.Contains(stderr, "PRIVATE KEY") {
		t.Fatal("key echoed to stderr")
	}
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--cert", p("device.pem")}, 2, "are all required"},
		{[]string{"--cert", p("nope.pem"), "--key", p("device.key"), "--ca", p("ca.pem")}, 1, "nope.pem does not exist"},
		{[]string{"--cert", p("device.pem"), "--key", p("monitor.key"), "--ca", p("ca.pem")}, 1, "private key in " + p("monitor.key") + " does not match certificate " + p("device.pem")},
		{[]string{"--cert", p("device.pem"), "--key", p("device.key"), "--ca", p("ca.key")}, 1, "expected a CERTIFICATE"},
	}
	for _, c := range cases {
		code, _, stderr := run(t, append([]string{"certs", "header"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d %q, want %d %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// TestSecretsExampleMatchesTheHeader: firmware/include/secrets.h.example
// shows the layout `certs header` really writes (comments, guard, names,
// order), so a user can fill it by hand too.
func TestSecretsExampleMatchesTheHeader(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir)
	p := func(n string) string { return filepath.Join(dir, n) }
	out := p("secrets.h")
	if code, _, stderr := run(t, "certs", "header", "--cert", p("device.pem"), "--key", p("device.key"), "--ca", p("ca.pem"), "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	skeleton := func(path string) []string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, line := range strings.Split(string(data), "\n") {
			if trimmed := strings.TrimSpace(line); trimmed != "" && !strings.HasPrefix(trimmed, `"`) {
				lines = append(lines, trimmed)
			}
		}
		return lines
	}
	generated, example := skeleton(out), skeleton("../firmware/include/secrets.h.example")
	if !slices.Equal(generated, example) {
		t.Fatalf("secrets.h.example is laid out as\n%s\nbut certs header writes\n%s", strings.Join(example, "\n"), strings.Join(generated, "\n"))
	}
}

func TestCertsUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"certs"}, 2, "Usage: iotwatch certs init"},
		{[]string{"certs", "--help"}, 0, "Usage: iotwatch certs init"},
		{[]string{"certs", "bogus"}, 2, `unknown certs command "bogus"`},
		{[]string{"certs", "init", "--dir", t.TempDir(), "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"certs", "init", "--bogus"}, 2, "unknown flag --bogus"},
		{[]string{"certs", "init", "--dir", t.TempDir(), "--thing", "my thing"}, 2, `--thing "my thing": use 1–128 characters of a-zA-Z0-9:_-`},
		{[]string{"certs", "header", "--help"}, 0, "-o FILE"},
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

// A hand-edited config must survive a second init without --force.
func TestCertsInitKeepsExistingConfig(t *testing.T) {
	dir := t.TempDir()
	mine := []byte("# my own\n")
	os.WriteFile(filepath.Join(dir, "watch.toml"), mine, 0o644)
	code, _, stderr := run(t, "certs", "init", "--dir", dir)
	if code != 1 || !strings.Contains(stderr, filepath.Join(dir, "watch.toml")+" already exists") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "watch.toml")); string(data) != string(mine) {
		t.Fatalf("watch.toml replaced: %s", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "ca.key")); err == nil {
		t.Fatal("certificates written although init refused")
	}
}

// Without -o the header goes to stdout when it is a pipe (the refusal is for terminals only).
func TestCertsHeaderToPipe(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir)
	p := func(n string) string { return filepath.Join(dir, n) }
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := make(chan []byte)
	go func() { data, _ := io.ReadAll(r); got <- data }()
	code := Run(context.Background(), []string{"certs", "header", "--cert", p("device.pem"), "--key", p("device.key"), "--ca", p("ca.pem")}, w, io.Discard)
	w.Close()
	if data := <-got; code != 0 || !strings.Contains(string(data), "static const char AWS_CERT_PRIVATE[]") {
		t.Fatalf("exit %d: %s", code, data)
	}
}

// openTerminal opens a pseudo-terminal and returns its terminal side.
func openTerminal(t *testing.T) *os.File {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return tty
}

// The header carries a private key: never onto a terminal, but /dev/null
// (a character device, not a terminal) is fine.
func TestCertsHeaderRefusesTerminal(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir)
	p := func(n string) string { return filepath.Join(dir, n) }
	args := []string{"certs", "header", "--cert", p("device.pem"), "--key", p("device.key"), "--ca", p("ca.pem")}
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	if code := Run(context.Background(), args, devNull, io.Discard); code != 0 {
		t.Fatalf("header to %s: exit %d", os.DevNull, code)
	}
	var stderr strings.Builder
	if code := Run(context.Background(), args, openTerminal(t), &stderr); code != 1 || !strings.Contains(stderr.String(), "-o firmware/include/secrets.h") {
		t.Fatalf("header to a terminal: exit %d %s", code, stderr.String())
	}
}

// assertLabConfigs loads the two configs init wrote: the monitor gets its own
// client id and certificate, the device's client id is the thing name.
func assertLabConfigs(t *testing.T, dir, thing string) {
	t.Helper()
	watch, err := config.Load(filepath.Join(dir, "watch.toml"))
	if err != nil {
		t.Fatal(err)
	}
	device, err := config.Load(filepath.Join(dir, "device.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if watch.AWS.Cert != filepath.Join(dir, pki.MonitorCertFile) || watch.AWS.ClientID == thing || len(watch.Warnings()) != 0 {
		t.Errorf("watch.toml: %+v warnings %v", watch.AWS, watch.Warnings())
	}
	if device.AWS.Key != filepath.Join(dir, pki.DeviceKeyFile) || device.AWS.ClientID != thing || device.Thing.Name != thing {
		t.Errorf("device.toml: %+v %+v", device.AWS, device.Thing)
	}
	if _, err := pki.LoadClientTLS(watch.AWS.Cert, watch.AWS.Key, watch.AWS.CA, watch.AWS.Endpoint); err != nil {
		t.Errorf("watch.toml credentials: %v", err)
	}
}

// -o onto a terminal is refused whatever name reaches it: the check is
// made on the opened file, not on the name.
func TestCertsHeaderOutputRefusesTerminalByAnyName(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir)
	p := func(n string) string { return filepath.Join(dir, n) }
	tty := openTerminal(t)
	link := p("looks-like-a-file.h")
	os.Symlink(tty.Name(), link)
	for _, name := range []string{tty.Name(), link, fmt.Sprintf("/proc/self/fd/%d", tty.Fd()), fmt.Sprintf("/dev/fd/%d", tty.Fd())} {
		var stderr strings.Builder
		code := Run(context.Background(), []string{"certs", "header", "--cert", p("device.pem"), "--key", p("device.key"), "--ca", p("ca.pem"), "-o", name}, io.Discard, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "is a terminal") {
			t.Errorf("-o %s: exit %d %s", name, code, stderr.String())
		}
	}
}
