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

// Replay reads a log through a pipeline as the live runs applied it. A
// first reading finds the log's runs, from which configure makes the
// options (the thresholds a run recorded; o.Log is ignored: nothing is
// written); the second replays every line.
func Replay(path string, configure func(runs *eventlog.Log) Options) (*Replayed, error) {
	runs, err := eventlog.Scan(path, func(event.Event) {})
	if err != nil {
		return nil, err
	}
	o := configure(runs)
	o.Log = nil
	r := &Replayed{Pipeline: New(o)}
	r.docThings = fleetThings(runs)
	r.Log, err = eventlog.Scan(path, func(ev event.Event) {
		if r.First.IsZero() {
			r.First = ev.Time()
		}
		if ev.Time().After(r.Last) {
			r.Last = ev.Time()
		}
		r.Lines++
		r.Apply(ev)
	})
	return r, err
}

// fleetThings are the things a fleet's run of the log watched: their
// monitors read reports from update/documents in every run of theirs.
func fleetThings(log *eventlog.Log) map[string]bool {
	out := map[string]bool{}
	for _, run := range log.Runs {
		if run.Fleet {
			for _, t := range run.Things {
				out[t] = true
			}
		}
	}
	return out
}
