package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotwatch/iotwatch/internal/testkit"
)

// TestReadableKeyWarnedOnce: every command that reads a private key warns
// once on stderr when group or others may read it, naming the file and the
// fix; doctor does so even when a step fails.
func TestReadableKeyWarnedOnce(t *testing.T) {
	dir := testkit.SoakLab(t, Run)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	p := func(n string) string { return filepath.Join(dir, n) }
	cases := []struct {
		name, key string
		run       func(stderr *testkit.LockedBuffer)
	}{
		{"serve", "server.key", func(stderr *testkit.LockedBuffer) {
			Run(cancelled, []string{"serve", "--listen", "127.0.0.1:0", "--pki", dir}, stderr, stderr)
		}},
		{"sim", "device.key", func(stderr *testkit.LockedBuffer) {
			Run(cancelled, []string{"sim", "-c", p("device.toml")}, stderr, stderr)
		}},
		{"soak", "monitor.key", func(stderr *testkit.LockedBuffer) {
			Run(cancelled, []string{"soak", "-c", p("watch.toml"), "--duration", "1s"}, &testkit.LockedBuffer{}, stderr)
		}},
		{"doctor, failing", "monitor.key", func(stderr *testkit.LockedBuffer) {
			os.WriteFile(p("broken.toml"), []byte(strings.Replace(mustRead(t, p("watch.toml")), "ca.pem", "missing.pem", 1)), 0o644)
			Run(cancelled, []string{"doctor", "-c", p("broken.toml")}, &testkit.LockedBuffer{}, stderr)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := p(c.key)
			os.Chmod(key, 0o644)
			defer os.Chmod(key, 0o600)
			stderr := &testkit.LockedBuffer{}
			c.run(stderr)
			if n := strings.Count(stderr.String(), "run chmod 600 "+key); n != 1 {
				t.Fatalf("%d warnings naming %s:\n%s", n, key, stderr.String())
			}
		})
	}
}
