package pipeline

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// fakeClock is a clock a test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) jump(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestRunFindsItsOwnStall: the loop's clock jumping 40 s between two wakes
// is a stall, sent before the event that woke it, and blind.
func TestRunFindsItsOwnStall(t *testing.T) {
	clock := &fakeClock{now: at(0)}
	p := New(Options{Monitor: opts})
	p.Open(event.Session{At: at(0), Thing: "t1"})
	events := make(chan event.Event)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		events <- event.Link{At: at(0.1), State: event.LinkUp}
		events <- doc(1, "", 1)
		clock.jump(40 * time.Second) // SIGSTOP
		events <- doc(41, "", 2)
		cancel()
	}()
	end := p.Run(ctx, Loop{Events: events, Deadline: time.Now().Add(time.Minute), Now: clock.Now})
	st := p.Monitor("t1").Stats(at(41))
	if st.Unheard.Stalls != 1 || st.Unheard.Stalled < 39*time.Second || len(st.Dropouts) != 0 {
		t.Fatalf("stalls %d (%s), dropouts %v; want the 40 s stall blind, no dropout", st.Unheard.Stalls, st.Unheard.Stalled, st.Dropouts)
	}
	if end.Reason != event.EndError {
		t.Fatalf("a cancelled run ended %+v", end)
	}
}

// TestRunEnds: at its deadline a run is completed; stopped by a signal, it
// names the signal.
func TestRunEnds(t *testing.T) {
	p := New(Options{Monitor: opts})
	p.Open(event.Session{At: time.Now(), Thing: "t1"})
	if end := p.Run(context.Background(), Loop{Deadline: time.Now().Add(300 * time.Millisecond)}); end.Reason != event.EndCompleted {
		t.Fatalf("at its deadline: %+v", end)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGHUP)
	defer stop()
	time.AfterFunc(100*time.Millisecond, func() { syscall.Kill(os.Getpid(), syscall.SIGHUP) })
	if end := p.Run(ctx, Loop{Deadline: time.Now().Add(time.Minute)}); end.Reason != event.EndSignal || end.Signal != "SIGHUP" {
		t.Fatalf("stopped by SIGHUP: %+v", end)
	}
}
