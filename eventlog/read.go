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
	return decodeAll(f, path, fn)
}

func decodeAll(r io.Reader, name string, fn func(event.Event)) (*Log, error) {
	log := &Log{}
	rd := bufio.NewReaderSize(r, 64*1024)
	for n := 1; ; n++ {
		line, err := rd.ReadBytes('\n')
		if len(line) > 0 {
			complete := bytes.HasSuffix(line, []byte{'\n'})
			ev, derr := decodeLine(line)
			switch {
			case derr == nil:
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

func decodeLine(line []byte) (event.Event, error) {
	var rec record
	if err := json.Unmarshal(line, &rec); err != nil {
		return nil, err
	}
	switch rec.Type {
	case "shadow":
		return decode[event.ShadowDoc](rec.Event)
	case "rejected":
		return decode[event.Rejected](rec.Event)
	case "deleted":
		return decode[event.Deleted](rec.Event)
	case "presence":
		return decode[event.Presence](rec.Event)
	case "link":
		return decode[event.Link](rec.Event)
	case "desired":
		return decode[event.DesiredSent](rec.Event)
	case "malformed":
		return decode[event.Malformed](rec.Event)
	case "overflow":
		return decode[event.Overflow](rec.Event)
	}
	return nil, fmt.Errorf("unknown event type %q", rec.Type)
}

func decode[T event.Event](raw json.RawMessage) (event.Event, error) {
	var e T
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	return e, nil
}
