package pipeline

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// Loop is the headless run of a pipeline (soak): events applied as they
// come, the dropout detector ticked, the observers (alerts, the progress
// line) called, the shadow read again periodically, until the deadline or
// until ctx ends.
type Loop struct {
	Events   <-chan event.Event
	Deadline time.Time
	// Every is the tick (default 250 ms).
	Every time.Duration
	// StallAfter: a wake of the loop this long after the one before is
	// iotwatch's own stall (SIGSTOP, a frozen VM, swapping): an
	// event.Stall makes the time between blind, never the device's
	// silence (default 2 s).
	StallAfter time.Duration
	// Read asks for every thing's shadow, without blocking (its answers
	// come as events): every ReadEvery, and at once after a stall, so
	// that a version that moved without iotwatch hearing the updates is
	// seen (deaf), and what happened during a stall is read back.
	Read      func()
	ReadEvery time.Duration
	// Observe runs after each tick (alerts); Progress at most once a second.
	Observe  func(now time.Time)
	Progress func(now time.Time)
	// Sync makes the log durable: when a dropout opens, and at the end.
	Sync func()
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Polled are events of sources polled beside the connection (the job
	// executions of AWS IoT Jobs' control plane), applied as they come;
	// nil: none. Unlike Events, it never ends the run.
	Polled <-chan event.Event
	// Closing gathers what the run should know at its end (a last poll of
	// the jobs, so that the report judges their final states), applied
	// before the closing line; nil: nothing.
	Closing func() []event.Event
}

// Run runs the loop and returns how the run ended: completed at its
// deadline, stopped by a signal, or ended by an error (the event stream
// closed). That closing line is the run's last in the log, synced.
func (p *Pipeline) Run(ctx context.Context, l Loop) event.End {
	if l.Every == 0 {
		l.Every = 250 * time.Millisecond
	}
	if l.StallAfter == 0 {
		l.StallAfter = 2 * time.Second
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	tick := time.NewTicker(l.Every)
	defer tick.Stop()
	timer := time.NewTimer(time.Until(l.Deadline))
	defer timer.Stop()
	var reads <-chan time.Time
	if l.Read != nil && l.ReadEvery > 0 {
		t := time.NewTicker(l.ReadEvery)
		defer t.Stop()
		reads = t.C
	}
	end := event.End{}
	lastWake, lastPrint := l.Now(), time.Time{}
	for end.At.IsZero() {
		var ev event.Event
		closed := false
		select {
		case <-ctx.Done():
			end = stopped(ctx, l.Now())
		case <-timer.C:
			end = event.End{At: l.Now(), Reason: event.EndCompleted}
		case <-reads:
			l.Read()
		case e, ok := <-l.Events:
			ev, closed = e, !ok
		case e, ok := <-l.Polled:
			if ev = e; !ok {
				l.Polled = nil // its source stopped; the run goes on
			}
		case <-tick.C:
		}
		now := l.Now()
		if now.Sub(lastWake) > l.StallAfter {
			p.Apply(event.Stall{At: now, Since: lastWake}) // before what queued up meanwhile
			if l.Read != nil {
				l.Read()
			}
		}
		lastWake = now
		switch {
		case closed:
			end = event.End{At: now, Reason: event.EndError, Error: "the connection's event stream closed"}
		case ev != nil:
			p.Apply(ev)
			continue
		}
		if p.Tick(now) && l.Sync != nil {
			l.Sync() // a dropout is never left in a buffer
		}
		if l.Observe != nil {
			l.Observe(now)
		}
		if l.Progress != nil && now.Sub(lastPrint) >= time.Second {
			lastPrint = now
			l.Progress(now)
		}
	}
	if l.Closing != nil {
		for _, ev := range l.Closing() {
			p.Apply(ev)
		}
		if now := l.Now(); now.After(end.At) {
			end.At = now // the closing line follows what the last poll found
		}
	}
	p.Apply(end)
	if l.Sync != nil {
		l.Sync()
	}
	return end
}

// stopSignals are the signals that stop a run early, by how
// signal.NotifyContext names them in its cause.
var stopSignals = map[string]string{
	fmt.Sprintf("%v signal received", os.Interrupt):    "SIGINT",
	fmt.Sprintf("%v signal received", syscall.SIGTERM): "SIGTERM",
	fmt.Sprintf("%v signal received", syscall.SIGHUP):  "SIGHUP",
}

// stopped is the closing line of a run whose ctx ended: by a signal, or
// else by an error.
func stopped(ctx context.Context, at time.Time) event.End {
	if name, ok := Signal(ctx); ok {
		return event.End{At: at, Reason: event.EndSignal, Signal: name}
	}
	return event.End{At: at, Reason: event.EndError, Error: context.Cause(ctx).Error()}
}

// Signal names the signal that ended ctx (signal.NotifyContext's), if one did.
func Signal(ctx context.Context) (string, bool) {
	cause := context.Cause(ctx)
	if cause == nil {
		return "", false
	}
	name, ok := stopSignals[cause.Error()]
	return name, ok
}
