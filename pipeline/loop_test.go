package pipeline

import (
	"context"
	"fmt"
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

// memLog keeps the lines a pipeline tees.
type memLog struct{ lines []event.Event }

func (l *memLog) Write(ev event.Event) error { l.lines = append(l.lines, ev); return nil }

// TestRunPolledAndClosing: a polled source's events reach their thing's
// monitor and the log as they come, a closed polled source does not end
// the run, and what the last poll finds is logged before the closing line.
func TestRunPolledAndClosing(t *testing.T) {
	log := &memLog{}
	p := New(Options{Monitor: opts, Log: log})
	start := time.Now()
	p.Open(event.Session{At: start, Thing: "t1"})
	polled := make(chan event.Event, 1)
	x := func(status string) []event.JobExecution {
		return []event.JobExecution{{JobID: "ota", Status: status, QueuedAt: start, StartedAt: start, LastUpdatedAt: start}}
	}
	polled <- event.Jobs{At: start, Thing: "t1", Executions: x("IN_PROGRESS")}
	close(polled)
	end := p.Run(context.Background(), Loop{Deadline: start.Add(400 * time.Millisecond), Polled: polled,
		Closing: func() []event.Event {
			return []event.Event{event.Jobs{At: time.Now(), Thing: "t1", Executions: x("SUCCEEDED")}}
		}})
	if end.Reason != event.EndCompleted {
		t.Fatalf("ended %+v", end)
	}
	jobs := p.Monitor("t1").Stats(end.At).Jobs
	if jobs == nil || jobs.ByStatus["SUCCEEDED"] != 1 || jobs.Executions != 1 {
		t.Fatalf("jobs %+v", jobs)
	}
	var types []string
	for _, l := range log.lines {
		switch e := l.(type) {
		case event.Jobs:
			types = append(types, "jobs "+e.Executions[0].Status)
		case event.End:
			types = append(types, "end")
		}
	}
	if want := "[jobs IN_PROGRESS jobs SUCCEEDED end]"; fmt.Sprint(types) != want {
		t.Errorf("log %v, want %s", types, want)
	}
}
