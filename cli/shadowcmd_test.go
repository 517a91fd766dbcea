package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotwatch/iotwatch/internal/testkit"
)

// TestOneShotShadowCommands runs get, update and delete against the
// emulator as a script would: JSON on stdout, rejections as exit 1.
func TestOneShotShadowCommands(t *testing.T) {
	dir := testkit.SoakLab(t, Run)
	c := []string{"-c", filepath.Join(dir, "watch.toml")}
	steps := []struct {
		args       []string
		code       int
		out, error string
	}{
		{append([]string{"get"}, c...), 1, "", "get rejected: 404 No shadow exists with name: 'esp32-soak'"},
		{append([]string{"update", "--desired", `{"led":true,"setpoint":21.5}`}, c...), 0, `"desired": {`, ""},
		{append([]string{"update", "--desired", `{"colour":[null]}`}, c...), 1, "", "update rejected: 400"},
		{append([]string{"update", "--desired", `{"led":`}, c...), 2, "", "--desired {\"led\":: not JSON"},
		{append([]string{"update"}, c...), 2, "", "give --desired JSON"},
		{append([]string{"get"}, c...), 0, `"delta": {`, ""},
		{append([]string{"delete"}, c...), 0, `"version": 1`, ""},
		{append([]string{"get"}, c...), 1, "", "404"},
	}
	for _, s := range steps {
		code, stdout, stderr := run(t, s.args...)
		if code != s.code || !strings.Contains(stdout, s.out) || !strings.Contains(stderr, s.error) {
			t.Fatalf("%v: exit %d\nstdout %s\nstderr %s\nwant %d, %q, %q", s.args[:2], code, stdout, stderr, s.code, s.out, s.error)
		}
		if code == 0 && !json.Valid([]byte(stdout)) {
			t.Fatalf("%v: stdout is not JSON: %s", s.args[:2], stdout)
		}
	}
}

// TestOneShotSaysNoRetry: get exits at the first refusal, so it does not
// say "trying again in 10s" (the link's note for watch and soak); and
// [thing] match alone names no thing for it.
func TestOneShotSaysNoRetry(t *testing.T) {
	dir := testkit.SoakLab(t, Run)
	code, _, stderr := run(t, "get", "-c", filepath.Join(dir, "device.toml"), "--thing", "neighbour")
	if code != 1 || !strings.Contains(stderr, "subscription to $aws/things/neighbour/shadow/") || strings.Contains(stderr, "trying again") {
		t.Errorf("exit %d, stderr %q: want the refusal without 'trying again'", code, stderr)
	}
	match := filepath.Join(dir, "match.toml")
	os.WriteFile(match, []byte(strings.Replace(mustRead(t, filepath.Join(dir, "watch.toml")), `name = "esp32-soak"`, `match = "esp32-*"`, 1)), 0o644)
	if code, _, stderr := run(t, "get", "-c", match); code != 1 || !strings.Contains(stderr, "[thing] name is empty: get works on one thing") {
		t.Errorf("match alone: exit %d, stderr %q", code, stderr)
	}
}
