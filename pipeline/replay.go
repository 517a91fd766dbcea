package pipeline

import (
	"fmt"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
)

// Replayed is a log read back through a pipeline.
type Replayed struct {
	*Pipeline
	First, Last time.Time // the log's first and latest line
	Lines       int
	Torn        bool     // the last line was cut short and skipped
	Problems    []string // corrupt lines, skipped
	// Overlap says why two runs of one thing wrote to the log at the
	// same time ("" when none did): their lines cannot be told apart.
	Overlap string
}

// Replay reads a log through a pipeline of o (o.Log is ignored: nothing is
// written), as the live run applied it.
func Replay(path string, o Options) (*Replayed, error) {
	o.Log = nil
	r := &Replayed{Pipeline: New(o)}
	seen := overlaps{}
	log, err := eventlog.Scan(path, func(ev event.Event) {
		if r.First.IsZero() {
			r.First = ev.Time()
		}
		if ev.Time().After(r.Last) {
			r.Last = ev.Time()
		}
		r.Lines++
		things := r.Apply(ev)
		if r.Overlap == "" {
			r.Overlap = seen.check(ev, things)
		}
	})
	if log != nil {
		r.Torn, r.Problems = log.Torn, log.Problems
	}
	return r, err
}

// overlaps finds two runs of one thing logging at once: each logs every
// report, so the same report version of a thing comes twice within one of
// its runs.
type overlaps map[string]map[versionKey]bool

type versionKey struct {
	kind    event.DocKind
	version int64
}

func (o overlaps) check(ev event.Event, things []string) string {
	switch e := ev.(type) {
	case event.Session:
		delete(o, e.Thing) // a new run of the thing: versions may repeat after a reset
	case event.ShadowDoc:
		if len(things) != 1 || e.Reported == nil || (e.Kind != event.DocAccepted && e.Kind != event.DocCurrent) {
			return ""
		}
		seen := o[things[0]]
		if seen == nil || len(seen) > 4096 {
			seen = map[versionKey]bool{}
			o[things[0]] = seen
		}
		k := versionKey{e.Kind, e.Version}
		if seen[k] {
			return fmt.Sprintf("version %d of %s's shadow (%s) is logged twice, at %s: two runs watching %s wrote to this log at the same time",
				e.Version, things[0], e.Kind, e.At.UTC().Format(time.RFC3339), things[0])
		}
		seen[k] = true
	}
	return ""
}
