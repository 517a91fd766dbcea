package cli

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iotwatch/iotwatch/config"
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

// TestRepeatedThingMakesAFleet: one --thing overrides [thing] name, two or
// more replace names and match; the same thing twice is refused.
func TestRepeatedThingMakesAFleet(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		name      string
		names     []string
		match     string
		errorPart string
	}{
		{nil, "esp32", nil, "esp32-*", ""},
		{[]string{"--thing", "a"}, "a", nil, "esp32-*", ""},
		{[]string{"--thing", "a", "--thing", "b"}, "a", []string{"a", "b"}, "", ""},
		{[]string{"--thing", "a", "--thing", "a"}, "a", nil, "esp32-*", "--thing a is given twice"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("watch", flag.ContinueOnError)
			over := addConnFlags(fs)
			things := repeatThing(fs, over)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg := &config.Config{}
			cfg.Thing.Name, cfg.Thing.Match = "esp32", "esp32-*"
			if over.Thing != "" {
				cfg.Thing.Name = over.Thing
			}
			err := things.apply(cfg)
			if tc.errorPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errorPart) {
					t.Fatalf("error %v, want %q", err, tc.errorPart)
				}
				return
			}
			if err != nil || cfg.Thing.Name != tc.name || !slices.Equal(cfg.Thing.Names, tc.names) || cfg.Thing.Match != tc.match {
				t.Fatalf("%v: thing %+v", err, cfg.Thing)
			}
		})
	}
}
