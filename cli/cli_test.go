package cli

import (
	"bytes"
	"context"
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
		{[]string{"serve", "--bogus"}, 2, "flag provided but not defined"},
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
