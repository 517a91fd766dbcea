package localiot

import (
	"strings"
	"testing"
	"time"
)

// waitLogLine waits up to 10 s for a line of the emulator's log that has
// every one of parts.
func (l *lab) waitLogLine(t testing.TB, parts ...string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, line := range strings.Split(l.log.String(), "\n") {
			if containsAll(line, parts) {
				return
			}
		}
	}
	t.Fatalf("no line of the log has all of %q:\n%s", parts, l.log.String())
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
