package tui

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedWriter records what the screen writes, one string a write.
type lockedWriter struct {
	mu     sync.Mutex
	writes []string
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func (w *lockedWriter) wait(t *testing.T, n int) []string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		w.mu.Lock()
		if len(w.writes) >= n {
			out := append([]string(nil), w.writes...)
			w.mu.Unlock()
			return out
		}
		w.mu.Unlock()
	}
	t.Fatalf("fewer than %d writes", n)
	return nil
}

// TestScreenWritesWhatChanged: the screen writes a frame's changed lines
// at their rows in one write, nothing for the same frame again, erases
// rows a shorter frame leaves, clears and draws whole after a resize, and
// leaves the alternate screen on close.
func TestScreenWritesWhatChanged(t *testing.T) {
	w := &lockedWriter{}
	s := openScreen(w)
	s.show("a\nb\nc")
	got := w.wait(t, 2)
	if got[0] != enterAltScreen || got[1] != "\x1b[1;1Ha\x1b[K\x1b[2;1Hb\x1b[K\x1b[3;1Hc\x1b[K" {
		t.Fatalf("first frame: %q", got)
	}
	s.show("a\nb\nc") // the same: nothing to write
	s.show("a\nB")
	if got := w.wait(t, 3); got[2] != "\x1b[2;1HB\x1b[K\x1b[3;1H\x1b[K" {
		t.Fatalf("a changed, shorter frame: %q", got[2])
	}
	s.repaint()
	s.show("a\nB")
	if got := w.wait(t, 4); got[3] != clearScreen+"\x1b[1;1Ha\x1b[K\x1b[2;1HB\x1b[K" {
		t.Fatalf("after a resize: %q", got[3])
	}
	s.close()
	if got := w.wait(t, 5); len(got) != 5 || got[4] != leaveAltScreen || strings.Contains(strings.Join(got, ""), "c\x1b[K\x1b[1") {
		t.Fatalf("close: %q", got)
	}
}
