package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWatchRefusesAControlOnItsOwnKeys: a control on End would also follow
// the event log; watch refuses it before connecting and says how to fix it.
func TestWatchRefusesAControlOnItsOwnKeys(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := run(t, "certs", "init", "--dir", dir, "--thing", "t1"); code != 0 {
		t.Fatal(stderr)
	}
	path := filepath.Join(dir, "watch.toml")
	data, _ := os.ReadFile(path)
	os.WriteFile(path, append(data, "\n[[control]]\nkey = \"end\"\nfield = \"led\"\naction = \"toggle\"\n"...), 0o644)
	code, _, stderr := run(t, "watch", "-c", path)
	if code != 1 || !strings.Contains(stderr, path+`: [[control]] #`) || !strings.Contains(stderr, `"end" is one of iotwatch's own keys`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
