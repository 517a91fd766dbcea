package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/tui"
)

// jobsEvery is how often a soak asks the control plane for each thing's
// job executions.
var jobsEvery = 10 * time.Second

// jobsPoller asks a jobs source (the TUI's, through AWS's SDK) for the
// soaked things' job executions and sends a thing's snapshot when it
// differs from the last one sent (the first answer always, an empty list
// too). A source that does not answer gets one line on stderr and sends
// nothing: the report then has no jobs figures, never a zero.
type jobsPoller struct {
	src      tui.JobsSource
	things   func() []string
	stderr   io.Writer
	last     map[string][]event.JobExecution
	warned   bool
	answered bool // some answer came: a closing poll is worth waiting for
}

func newJobsPoller(src tui.JobsSource, things func() []string, stderr io.Writer) *jobsPoller {
	return &jobsPoller{src: src, things: things, stderr: stderr, last: map[string][]event.JobExecution{}}
}

// start polls until the run's end on a goroutine of its own; closing
// stops it and returns what it found that the loop did not take, and a
// last answer (the states the verdict judges), unless no control plane
// ever answered (waiting for one would only hold up the end).
func (j *jobsPoller) start(ctx context.Context) (polled <-chan event.Event, closing func() []event.Event) {
	out := make(chan event.Event, 64)
	pollCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); j.run(pollCtx, out) }()
	return out, func() []event.Event {
		stop()
		<-done
		var left []event.Event
		for len(out) > 0 {
			left = append(left, <-out)
		}
		if !j.answered {
			return left
		}
		last, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return append(left, j.poll(last)...)
	}
}

// run polls every jobsEvery until ctx ends, sending on out.
func (j *jobsPoller) run(ctx context.Context, out chan<- event.Event) {
	t := time.NewTicker(jobsEvery)
	defer t.Stop()
	for {
		for _, ev := range j.poll(ctx) {
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll asks once for every thing and returns the snapshots that changed.
// It is not safe for concurrent use: run, then the closing poll.
func (j *jobsPoller) poll(ctx context.Context) []event.Event {
	var out []event.Event
	for _, thing := range j.things() {
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		xs, err := j.executions(callCtx, thing)
		cancel()
		if err != nil {
			if !j.warned && ctx.Err() == nil {
				j.warned = true
				fmt.Fprintf(j.stderr, "warning: no job executions of %s: %v: the report has no jobs figures for what was not answered\n", thing, err)
			}
			continue
		}
		j.answered = true
		if prev, ok := j.last[thing]; ok && slices.EqualFunc(prev, xs, sameExecution) {
			continue
		}
		j.last[thing] = xs
		out = append(out, event.Jobs{At: time.Now(), Thing: thing, Executions: xs})
	}
	return out
}

// executions are thing's executions, each with its statusDetails: asked
// for (DescribeJobExecution) only when its summary changed since the last
// answer, else the last answer's.
func (j *jobsPoller) executions(ctx context.Context, thing string) ([]event.JobExecution, error) {
	list, err := j.src.Executions(ctx, thing)
	if err != nil {
		return nil, err
	}
	known := map[string]event.JobExecution{}
	for _, x := range j.last[thing] {
		known[x.JobID] = x
	}
	out := []event.JobExecution{}
	for _, s := range list {
		x := event.JobExecution{JobID: s.JobID, Status: s.Status, QueuedAt: s.QueuedAt, StartedAt: s.StartedAt, LastUpdatedAt: s.UpdatedAt}
		if k, ok := known[x.JobID]; ok && k.Status == x.Status && k.LastUpdatedAt.Equal(x.LastUpdatedAt) {
			x.StatusDetails = k.StatusDetails
		} else if d, err := j.src.Describe(ctx, thing, s.JobID); err == nil {
			x.Status, x.StartedAt, x.LastUpdatedAt = d.Status, d.StartedAt, d.UpdatedAt
			if len(d.Details) > 0 {
				x.StatusDetails = d.Details
			}
		}
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b event.JobExecution) int { return a.QueuedAt.Compare(b.QueuedAt) })
	return out, nil
}

func sameExecution(a, b event.JobExecution) bool {
	return a.JobID == b.JobID && a.Status == b.Status && a.LastUpdatedAt.Equal(b.LastUpdatedAt) && a.StartedAt.Equal(b.StartedAt) &&
		maps.Equal(a.StatusDetails, b.StatusDetails)
}
