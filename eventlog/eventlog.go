// Package eventlog is the durable JSON Lines log of monitor events: one
// object per line with an RFC 3339 UTC time, a type and the event's fields in
// snake_case, each run opened by a session line that states the schema
// (docs/eventlog.md). Several runs may append to one file.
//
// Durability policy: lines are buffered and flushed + fsynced at least once
// a second by a background ticker (which also writes an alive line after 5 s
// without any), at once for events that matter for a
// soak (presence, link, rejections) and on Sync and Close. After kill -9 at
// most the last second is lost; a torn last line is skipped on reading.
// It imports event only.
package eventlog

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// Writer appends events to a log file.
type Writer struct {
	mu    sync.Mutex
	f     *os.File
	buf   *bufio.Writer
	dirty bool
	err   error
	stop  chan struct{}
	done  chan struct{}
	last  time.Time // when the last line was written
	hdr   Header
	// What could not be written: the first failure and the events lost
	// (those buffered when a flush failed, and every one after).
	failedAt time.Time
	buffered int
	lost     int
}

// Failure says what the log could not hold.
type Failure struct {
	At   time.Time // the first failed write
	Err  error
	Lost int // events not in the log
}

// aliveEvery is how long the log goes without a line before the writer adds
// an alive line, so that after a kill -9 the log's last line is at most this
// (plus the second of buffering) before the end and the gap to the next run
// is measured from there.
var aliveEvery = 5 * time.Second

// Create is CreateRun without a planned duration or settings (a run of
// watch).
func Create(path string, session event.Session) (*Writer, error) {
	return CreateRun(path, session, Header{})
}

// CreateRun opens path for appending (creating it), writes the run's
// session line with h and starts the sync ticker. Every line the writer
// writes carries the run's id; every session line (a fleet's things' too)
// its planned duration and settings. End the run by writing its
// event.End (the closing line), then Close.
func CreateRun(path string, session event.Session, h Header) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("event log: %w", err)
	}
	if h.ID == "" {
		h.ID = newID()
	}
	w := &Writer{f: f, buf: bufio.NewWriterSize(f, 64*1024), stop: make(chan struct{}), done: make(chan struct{}), hdr: h}
	if torn, err := endsTorn(path); err == nil && torn {
		// A run killed mid-line left half a line: end it, so that this
		// run's session line is not glued to it and lost.
		w.buf.WriteByte('\n')
	}
	if err := w.Write(session); err != nil {
		f.Close()
		return nil, fmt.Errorf("event log %s: %w", path, err)
	}
	go w.syncEverySecond()
	return w, nil
}

// endsTorn says whether the file's last byte is not a newline.
func endsTorn(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return false, err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, st.Size()-1); err != nil {
		return false, err
	}
	return last[0] != '\n', nil
}

func (w *Writer) syncEverySecond() {
	defer close(w.done)
	t := time.NewTicker(min(time.Second, aliveEvery))
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			w.mu.Lock()
			idle := now.Sub(w.last) >= aliveEvery
			w.mu.Unlock()
			if idle {
				w.Write(event.Alive{At: now})
			}
			w.Sync()
		}
	}
}

// ID is the run's id, on every line the writer writes.
func (w *Writer) ID() string { return w.hdr.ID }

// Write appends one event; events that matter are made durable at once.
// After a failure every write fails with the first error (say it once) and
// the event counts in Failure's Lost.
func (w *Writer) Write(ev event.Event) error {
	l := toLine(ev)
	l.Run = w.hdr.ID
	if l.Type == "session" {
		l.PlannedS, l.Settings = w.hdr.Planned.Seconds(), w.hdr.Settings
	}
	line, err := json.Marshal(l)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	w.mu.Lock()
	if w.err == nil {
		_, w.err = w.buf.Write(line)
		w.dirty, w.last = true, time.Now()
		w.buffered++
		if w.err != nil {
			w.fail()
			w.lost += w.buffered
			w.buffered = 0
		}
	} else {
		w.lost++
	}
	err = w.err
	w.mu.Unlock()
	if err == nil && urgent(ev) {
		err = w.Sync()
	}
	return err
}

// fail notes the first failure; the caller holds mu.
func (w *Writer) fail() {
	if w.failedAt.IsZero() {
		w.failedAt = time.Now()
	}
}

// Failure is what the log could not hold, nil while every write succeeded.
func (w *Writer) Failure() *Failure {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		return nil
	}
	return &Failure{At: w.failedAt, Err: w.err, Lost: w.lost}
}

func urgent(ev event.Event) bool {
	switch ev.(type) {
	case event.Session, event.Presence, event.Link, event.Rejected, event.Stall, event.End:
		return true
	}
	return false
}

// Sync flushes and fsyncs what was written.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.dirty || w.err != nil {
		return w.err
	}
	if w.err = w.buf.Flush(); w.err == nil {
		w.err = w.f.Sync()
	}
	if w.err != nil {
		// What the buffer held may not be in the file: count it lost.
		w.fail()
		w.lost += w.buffered
	}
	w.dirty, w.buffered = false, 0
	return w.err
}

// Close syncs and closes the file.
func (w *Writer) Close() error {
	close(w.stop)
	<-w.done
	err := w.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Encode is the log line of one event, newline included.
func Encode(ev event.Event) ([]byte, error) {
	line, err := json.Marshal(toLine(ev))
	return append(line, '\n'), err
}
