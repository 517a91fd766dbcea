package eventlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/iotwatch/iotwatch/event"
)

// Log is what Read recovers from a file.
type Log struct {
	Events []event.Event
	// Torn is true when the last line was cut short (a crash mid-write) and skipped.
	Torn bool
	// Problems names corrupt lines elsewhere, which are skipped too.
	Problems []string
	// Runs are the runs of iotwatch that wrote the log, in the order their
	// session lines come (none in a log from before sessions).
	Runs []RunInfo
	// Overlaps names runs that wrote to the log at the same time (two
	// soaks of one log): their lines are interleaved, so their figures
	// cannot be told apart. A report refuses the log or is INCONCLUSIVE.
	Overlaps []string
	things   map[string]bool
}

// Read loads every event of a log file.
func Read(path string) (*Log, error) {
	var events []event.Event
	log, err := Scan(path, func(ev event.Event) { events = append(events, ev) })
	if log != nil {
		log.Events = events
	}
	return log, err
}

// Scan streams a log file's events to fn without holding them, so a week of
// reports replays in little memory; the returned Log has no Events.
func Scan(path string, fn func(event.Event)) (*Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("event log: %w", err)
	}
	defer f.Close()
	return ScanReader(f, path, fn)
}

// ScanReader is Scan on a log already open; name names it in problems.
func ScanReader(r io.Reader, name string, fn func(event.Event)) (*Log, error) {
	log := &Log{things: map[string]bool{}}
	runs := newRuns()
	defer func() { log.Runs, log.Overlaps = runs.list, runs.overlaps }()
	rd := bufio.NewReaderSize(r, 64*1024)
	for n := 1; ; n++ {
		line, err := rd.ReadBytes('\n')
		if len(line) > 0 {
			complete := bytes.HasSuffix(line, []byte{'\n'})
			ev, l, derr := decodeLine(line)
			switch {
			case derr == nil:
				runs.add(n, l, ev)
				log.noteThings(l)
				fn(ev)
			case !complete:
				log.Torn = true
			default:
				log.Problems = append(log.Problems, fmt.Sprintf("%s:%d: %v (line skipped)", name, n, derr))
			}
		}
		if err == io.EOF {
			return log, nil
		}
		if err != nil {
			return log, err
		}
	}
}

// noteThings keeps the things a line names.
func (log *Log) noteThings(l line) {
	if l.Thing != "" {
		log.things[l.Thing] = true
	}
	for _, t := range l.Things {
		log.things[t] = true
	}
}

// decodeLine reads a line of schema 1, or of the format before it (the
// event nested under "event" with Go's field names).
func decodeLine(data []byte) (event.Event, line, error) {
	var l struct {
		line
		Event json.RawMessage `json:"event"`
	}
	if err := event.DecodeJSON(data, &l); err != nil {
		return nil, line{}, err
	}
	if l.Event != nil {
		ev, err := decodeLegacy(l.Type, l.Event)
		return ev, line{}, err
	}
	ev, err := l.line.event()
	return ev, l.line, err
}

// decodeLegacy reads an event of a log written before schema 1.
func decodeLegacy(typ string, raw json.RawMessage) (event.Event, error) {
	switch typ {
	case "shadow":
		d, err := decode[event.ShadowDoc](raw)
		d.Desired, d.Reported, d.Delta = event.Fit(d.Desired), event.Fit(d.Reported), event.Fit(d.Delta)
		d.DesiredMetadata, d.ReportedMetadata = event.Fit(d.DesiredMetadata), event.Fit(d.ReportedMetadata)
		return d, err
	case "rejected":
		return decode[event.Rejected](raw)
	case "deleted":
		return decode[event.Deleted](raw)
	case "presence":
		return decode[event.Presence](raw)
	case "link":
		return decode[event.Link](raw)
	case "desired":
		d, err := decode[event.DesiredSent](raw)
		d.Patch = event.Fit(d.Patch)
		return d, err
	case "malformed":
		return decode[event.Malformed](raw)
	case "overflow":
		return decode[event.Overflow](raw)
	}
	return nil, fmt.Errorf("unknown event type %q", typ)
}

func decode[T event.Event](raw json.RawMessage) (T, error) {
	var e T
	err := event.DecodeJSON(raw, &e)
	return e, err
}
