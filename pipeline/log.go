package pipeline

import (
	"sync"

	"github.com/iotwatch/iotwatch/event"
)

// Writer is what Async writes to (an eventlog.Writer).
type Writer interface {
	Write(ev event.Event) error
	Close() error
}

// Async tees into w on a goroutine of its own, so that a UI never waits
// for the disk; lines keep their order. A failed write is returned by the
// next Write (and so reaches Options.LogFailed); Close writes what is
// queued, then closes w.
type Async struct {
	w     Writer
	queue chan event.Event
	done  chan struct{}
	mu    sync.Mutex
	err   error
}

// NewAsync starts the goroutine writing to w.
func NewAsync(w Writer) *Async {
	a := &Async{w: w, queue: make(chan event.Event, 4096), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for ev := range a.queue {
			if err := w.Write(ev); err != nil {
				a.mu.Lock()
				if a.err == nil {
					a.err = err
				}
				a.mu.Unlock()
			}
		}
	}()
	return a
}

// Write queues ev; it blocks only while 4,096 lines wait for the disk.
func (a *Async) Write(ev event.Event) error {
	a.mu.Lock()
	err := a.err
	a.mu.Unlock()
	if err != nil {
		return err
	}
	a.queue <- ev
	return nil
}

// Close writes the lines queued and closes the log.
func (a *Async) Close() error {
	close(a.queue)
	<-a.done
	err := a.w.Close()
	if a.err != nil {
		return a.err
	}
	return err
}
