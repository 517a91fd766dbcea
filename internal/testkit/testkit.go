// Package testkit is what the command tests of cli and the integration tests
// of the root package share: an output buffer safe to read while a command
// writes, free loopback addresses, an in-process emulator and a lab of
// certificates pointed at it. Tests only.
package testkit

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// RunFunc runs an iotwatch command line in-process (cli.Run).
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// LockedBuffer is a bytes.Buffer safe for a command writing while a test reads.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// FreeAddr is a loopback address with a port free a moment ago.
func FreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// StartServe runs 'iotwatch serve' in-process until the test ends.
func StartServe(t *testing.T, run RunFunc, args ...string) (addr string, log *LockedBuffer) {
	t.Helper()
	addr = FreeAddr(t)
	log = &LockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- run(ctx, append([]string{"serve", "--listen", addr}, args...), log, log) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), "emulator on") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, log
}

// SoakLab is certs init for thing esp32-soak + serve, with the lab's
// configs pointed at the emulator.
func SoakLab(t *testing.T, run RunFunc) (dir string) {
	t.Helper()
	dir = t.TempDir()
	var out bytes.Buffer
	if code := run(context.Background(), []string{"certs", "init", "--dir", dir, "--thing", "esp32-soak"}, &out, &out); code != 0 {
		t.Fatalf("certs init: %s", out.String())
	}
	addr, _ := StartServe(t, run, "--pki", dir)
	_, port, _ := strings.Cut(addr, ":")
	for _, name := range []string{"watch.toml", "device.toml"} {
		path := filepath.Join(dir, name)
		data, _ := os.ReadFile(path)
		os.WriteFile(path, []byte(strings.Replace(string(data), "port = 8883", "port = "+port, 1)), 0o644)
	}
	return dir
}
