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
	// iotwatch's own stall (SIGSTOP, a frozen VM, swapping): the time
	// between is blind, never the device's silence (default 2 s).
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
}

// End is how a run ended.
type End struct {
	At time.Time
	// Early is set when the run stopped before its deadline; Why says
	// by what ("SIGTERM", "the event stream closed").
	Early bool
	Why   string
}

// Run runs the loop and returns how the run ended. The run's last line (an
// alive line at its end) is logged and synced.
func (p *Pipeline) Run(ctx context.Context, l Loop) End {
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
	end := End{}
	lastWake, lastPrint := l.Now(), time.Time{}
	for end.At.IsZero() {
		var ev event.Event
		closed := false
		select {
		case <-ctx.Done():
			end = End{At: l.Now(), Early: true, Why: Stopper(ctx)}
		case <-timer.C:
			end = End{At: l.Now()}
		case <-reads:
			l.Read()
		case e, ok := <-l.Events:
			ev, closed = e, !ok
		case <-tick.C:
		}
		now := l.Now()
		if now.Sub(lastWake) > l.StallAfter {
			p.stalled(lastWake, now)
			if l.Read != nil {
				l.Read()
			}
		}
		lastWake = now
		switch {
		case closed:
			end = End{At: now, Early: true, Why: "the event stream closed"}
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
	p.Apply(event.Alive{At: end.At}) // the run's last line is its end
	if l.Sync != nil {
		l.Sync()
	}
	return end
}

// stalled records a stall of iotwatch itself from since to now as blind
// time for every thing of the run: a link down at since, up at now, with
// the reason, so that a replay of the log finds the same blind time.
func (p *Pipeline) stalled(since, now time.Time) {
	why := fmt.Sprintf("iotwatch itself stalled for %s (its clock jumped between two ticks): blind, not the device's silence", now.Sub(since).Round(100*time.Millisecond))
	var up []string // a link that was down stays down: it says so itself
	for _, t := range p.runThings() {
		if p.mons[t].Link.State == event.LinkUp {
			up = append(up, t)
		}
	}
	if len(up) == 0 {
		return
	}
	if p.run.Thing != "" {
		up = nil // a single run's link lines name no things
	}
	p.Apply(event.Link{At: since, State: event.LinkDown, Err: why, Things: up})
	p.Apply(event.Link{At: now, State: event.LinkUp, Things: up})
}

// stopSignals are the signals that stop a run early, by how
// signal.NotifyContext names them in its cause.
var stopSignals = map[string]string{
	fmt.Sprintf("%v signal received", os.Interrupt):    "SIGINT",
	fmt.Sprintf("%v signal received", syscall.SIGTERM): "SIGTERM",
	fmt.Sprintf("%v signal received", syscall.SIGHUP):  "SIGHUP",
}

// Stopper names what ended ctx: the signal, else its error.
func Stopper(ctx context.Context) string {
	cause := context.Cause(ctx)
	if cause == nil {
		return "cancelled"
	}
	if name, ok := stopSignals[cause.Error()]; ok {
		return name
	}
	return cause.Error()
}
