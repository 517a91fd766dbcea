package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadableKeyWarnedOnce: every command that reads a private key warns
// once on stderr when group or others may read it, naming the file and the
// fix; doctor does so even when a step fails.
func TestReadableKeyWarnedOnce(t *testing.T) {
	dir := soakLab(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	p := func(n string) string { return filepath.Join(dir, n) }
	cases := []struct {
		name, key string
		run       func(stderr *lockedBuffer)
	}{
		{"serve", "server.key", func(stderr *lockedBuffer) {
			dispatch(cancelled, []string{"serve", "--listen", "127.0.0.1:0", "--pki", dir}, stderr, stderr)
		}},
		{"sim", "device.key", func(stderr *lockedBuffer) {
			dispatch(cancelled, []string{"sim", "-c", p("device.toml")}, stderr, stderr)
		}},
		{"soak", "monitor.key", func(stderr *lockedBuffer) {
			dispatch(cancelled, []string{"soak", "-c", p("watch.toml"), "--duration", "1s"}, &lockedBuffer{}, stderr)
		}},
		{"doctor, failing", "monitor.key", func(stderr *lockedBuffer) {
			os.WriteFile(p("broken.toml"), []byte(strings.Replace(read(t, p("watch.toml")), "ca.pem", "missing.pem", 1)), 0o644)
			dispatch(cancelled, []string{"doctor", "-c", p("broken.toml")}, &lockedBuffer{}, stderr)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := p(c.key)
			os.Chmod(key, 0o644)
			defer os.Chmod(key, 0o600)
			stderr := &lockedBuffer{}
			c.run(stderr)
			if n := strings.Count(stderr.String(), "run chmod 600 "+key); n != 1 {
				t.Fatalf("%d warnings naming %s:\n%s", n, key, stderr.String())
			}
		})
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
