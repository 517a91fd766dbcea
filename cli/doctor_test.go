package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotwatch/iotwatch/internal/testkit"
)

func TestDoctor(t *testing.T) {
	dir := testkit.SoakLab(t, Run)
	code, stdout, stderr := run(t, "doctor", "-c", filepath.Join(dir, "watch.toml"))
	if code != 0 || strings.Count(stdout, " ok ") != 6 || !strings.Contains(stdout, "shadow does not exist yet") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	// A key that does not match its certificate fails at step 2, with the fix.
	os.Rename(filepath.Join(dir, "device.key"), filepath.Join(dir, "monitor.key"))
	code, stdout, _ = run(t, "doctor", "-c", filepath.Join(dir, "watch.toml"))
	if code != 1 || !strings.Contains(stdout, "2. certificate, key and CA files") || !strings.Contains(stdout, "does not match certificate") {
		t.Fatalf("mismatched key: exit %d\n%s", code, stdout)
	}
}
