package pipeline

import (
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
)

// Replayed is a log read back through a pipeline.
type Replayed struct {
	*Pipeline
	// Log is what the reader found of the file: its runs (with their
	// settings and closing lines), things, overlapping runs, torn and
	// corrupt lines.
	Log         *eventlog.Log
	First, Last time.Time // the log's first and latest line
	Lines       int
}

// Replay reads a log through a pipeline of o (o.Log is ignored: nothing is
// written), as the live run applied it.
func Replay(path string, o Options) (*Replayed, error) {
	o.Log = nil
	r := &Replayed{Pipeline: New(o)}
	log, err := eventlog.Scan(path, func(ev event.Event) {
		if r.First.IsZero() {
			r.First = ev.Time()
		}
		if ev.Time().After(r.Last) {
			r.Last = ev.Time()
		}
		r.Lines++
		r.Apply(ev)
	})
	r.Log = log
	return r, err
}
