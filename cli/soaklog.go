package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/pipeline"
	"github.com/iotwatch/iotwatch/report"
)

// soakLog is a run's --log: opened (and locked, so that a second iotwatch
// cannot write the same log at the same time) before the run starts, the
// eventlog.Writer made at the run's session line, and the first failing
// write said at once on stderr; the run goes on from memory.
type soakLog struct {
	path   string
	header eventlog.Header // the run's planned duration and settings (a soak's)
	lock   *os.File
	w      *eventlog.Writer
	closed bool
	stderr io.Writer
	err    error
	at     time.Time // when the first write failed
}

// openLog checks and locks path ("" is no log: every method does nothing);
// h goes on the run's session lines.
func openLog(path string, h eventlog.Header, stderr io.Writer) (*soakLog, error) {
	l := &soakLog{path: path, header: h, stderr: stderr}
	if path == "" {
		return l, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--log: %w: give a file in a directory you can write", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("--log %s: another iotwatch is writing this log now; two runs in one log cannot be told apart: give each its own --log", path)
		}
		return nil, fmt.Errorf("--log %s: lock: %w", path, err)
	}
	l.lock = f
	return l, nil
}

// log is the pipeline's Log, nil without a file.
func (l *soakLog) log() pipeline.Log {
	if l.path == "" {
		return nil
	}
	return l
}

// Write writes ev; the run's first line, its session, creates the writer.
func (l *soakLog) Write(ev event.Event) error {
	if l.w != nil {
		return l.w.Write(ev)
	}
	s, ok := ev.(event.Session)
	if !ok {
		return fmt.Errorf("event log %s: a run starts with its session line", l.path)
	}
	w, err := eventlog.CreateRun(l.path, s, l.header)
	if err != nil {
		return err
	}
	l.w = w
	return nil
}

// failed is the pipeline's LogFailed: said at once, and kept for the report.
func (l *soakLog) failed(err error) {
	if l.err != nil {
		return // said already
	}
	l.err, l.at = err, time.Now()
	fmt.Fprintf(l.stderr, "\niotwatch: the event log %s failed at %s: %v; the log is incomplete from here, the verdict comes from memory\n",
		l.path, l.at.UTC().Format(time.RFC3339), err)
}

func (l *soakLog) sync() {
	if l.w != nil {
		if err := l.w.Sync(); err != nil {
			l.failed(err)
		}
	}
}

// Close closes the writer and the lock (pipeline.Async's Writer); a
// failure not said before is said now.
func (l *soakLog) Close() error {
	l.close()
	return l.err
}

// close closes the writer and the lock; a failure not said before is said now.
func (l *soakLog) close() {
	if l.w != nil && !l.closed {
		l.closed = true
		if err := l.w.Close(); err != nil {
			l.failed(err)
		}
	}
	if l.lock != nil {
		l.lock.Close()
		l.lock = nil
	}
}

// failure is the report's account of a log that failed, nil when none did
// (or without a log).
func (l *soakLog) failure() *report.LogFailure {
	if l.err == nil {
		return nil
	}
	f := &report.LogFailure{At: l.at, Err: l.err.Error()}
	if l.w != nil {
		if wf := l.w.Failure(); wf != nil {
			f.At, f.Lost = wf.At, wf.Lost
		}
	}
	return f
}
