package cli

import (
	"encoding/json"
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
