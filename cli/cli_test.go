package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// run dispatches a command line in-process and returns its exit status and output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestDispatch(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--help"}, 0, "Commands:"},
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{"serve", "--bogus"}, 2, "unknown flag --bogus"},
		{[]string{"serve", "--help"}, 0, "--listen"},
		{[]string{"serve", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"certs"}, 2, "certs init --dir DIR"},
		{[]string{"certs", "nope"}, 2, `unknown certs command "nope"`},
		{[]string{"--version"}, 0, "iotwatch "},
		{[]string{"watch", "--help"}, 0, "--csv FILE\n"},
		{[]string{"soak", "--help"}, 0, "--endpoint HOST\n"},
		{[]string{"soak", "-c", "x.toml", "--version"}, 0, "iotwatch "},
		{[]string{"version"}, 0, "iotwatch "},
		{[]string{"--help"}, 0, "0 PASS, 1 FAIL, 3 INCONCLUSIVE, 2 usage error,\n4 any other error"},
		{[]string{"report", "--help"}, 0, "0 PASS, 1 FAIL, 3 INCONCLUSIVE"},
		// An error of a command with a verdict is 4, never its FAIL; of any other, 1.
		{[]string{"soak", "-c", "/nonexistent.toml", "--duration", "1s"}, 4, "/nonexistent.toml"},
		{[]string{"report", "-c", "/nonexistent.toml", "x.jsonl"}, 4, "/nonexistent.toml"},
		{[]string{"get", "-c", "/nonexistent.toml"}, 1, "/nonexistent.toml"},
	}
	for _, c := range cases {
		code, stdout, stderr := run(t, c.args...)
		if code != c.code || !strings.Contains(stdout+stderr, c.out) {
			t.Errorf("%v: exit %d, output %q; want %d and %q", c.args, code, stdout+stderr, c.code, c.out)
		}
	}
}

// TestHelpOnStdout: every --help asked for goes to stdout with status 0
// (to page or grep it), nothing on stderr.
func TestHelpOnStdout(t *testing.T) {
	for _, args := range [][]string{{"watch", "--help"}, {"soak", "-h"}, {"aws", "setup", "--help"}, {"aws", "--help"},
		{"certs", "--help"}, {"certs", "init", "--help"}, {"get", "--help"}, {"doctor", "--help"}} {
		code, stdout, stderr := run(t, args...)
		if code != 0 || !strings.Contains(stdout, "Usage: iotwatch ") || stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0, the usage on stdout, nothing on stderr", args, code, stdout, stderr)
		}
	}
}

// TestFlagMistakes: a bad flag value is one line naming the flag as the
// usage writes it, with the fix, then the way to --help; no usage dump,
// and a required flag shows no "(default 0s)".
func TestFlagMistakes(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"soak", "--duration", "2"}, "iotwatch soak: --duration 2: missing unit, e.g. 2s or 2h\n"},
		{[]string{"soak", "--duration", "soon"}, "iotwatch soak: --duration soon: not a duration, e.g. 30s, 10m or 8h\n"},
		{[]string{"watch", "--port", "https"}, "iotwatch watch: --port https: give a whole number\n"},
		{[]string{"get", "-c"}, "iotwatch get: -c needs a value\n"},
		{[]string{"doctor", "--force=maybe"}, "iotwatch doctor: --force=maybe: give true or false (or just --force)\n"},
		{[]string{"sim", "--fault", "explode"}, `iotwatch sim: --fault explode: unknown fault "explode"`},
	}
	for _, c := range cases {
		code, stdout, stderr := run(t, c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || stdout != "" || !strings.HasPrefix(stderr, c.want) || len(lines) != 2 ||
			lines[1] != "Run 'iotwatch "+c.args[0]+" --help' for usage." {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and two lines starting %q", c.args, code, stdout, stderr, c.want)
		}
	}
	_, stdout, _ := run(t, "soak", "--help")
	if strings.Contains(stdout, "(default 0s)") {
		t.Errorf("soak --help shows a default for the required --duration:\n%s", stdout)
	}
}

// TestProgName: hints name iotwatch as the user ran it.
func TestProgName(t *testing.T) {
	saved := os.Args[0]
	defer func() { os.Args[0] = saved }()
	for arg0, want := range map[string]string{"./iotwatch": "./iotwatch", "bin/iotwatch": "bin/iotwatch", "iotwatch": "iotwatch",
		"/tmp/go-build123/b001/exe/iotwatch": "go run ."} {
		os.Args[0] = arg0
		if got := progName(); got != want {
			t.Errorf("%s: %q, want %q", arg0, got, want)
		}
	}
	os.Args[0] = "./iotwatch"
	if _, _, stderr := run(t, "soak", "--duration", "2"); !strings.Contains(stderr, "Run './iotwatch soak --help'") {
		t.Errorf("the hint does not name ./iotwatch: %q", stderr)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if _, _, stderr := run(t, "get"); !strings.Contains(stderr, "try './iotwatch demo' or './iotwatch certs init --dir lab'") {
		t.Errorf("the missing configuration's hint does not name ./iotwatch: %q", stderr)
	}
}
