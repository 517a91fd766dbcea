package localiot

import (
	"errors"
	"net"
	"sync"
	"time"
)

// writeBudget bounds what the emulator holds for one client that does not
// read; past it the client is disconnected. Without it mochi queues up to
// MaximumClientWritesPending packets of up to 192 KiB each per client.
const writeBudget = 1 << 20

// linger is how long what is queued at Close (a refusing CONNACK, a
// DISCONNECT) gets to reach the client.
const linger = 5 * time.Second

var errOverBudget = errors.New("client not reading: write budget exceeded")

// budgetConn lies under TLS: writes go to a buffer of at most writeBudget
// bytes that a goroutine, running only while there is something to send,
// hands to the socket. A write never blocks mochi, and the bytes a slow
// reader holds are counted exactly.
type budgetConn struct {
	net.Conn
	mu       sync.Mutex
	pending  []byte // queued, not yet handed to the socket
	writing  int    // bytes of the socket write under way
	flushing bool   // the goroutine that writes is running
	closing  bool
	err      error  // the socket failed or the budget ran out
	overflow func() // told once the budget runs out, before the socket closes
}

func newBudgetConn(c net.Conn) *budgetConn { return &budgetConn{Conn: c} }

func (b *budgetConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	if b.err != nil || b.closing {
		defer b.mu.Unlock()
		return 0, errors.Join(net.ErrClosed, b.err)
	}
	if len(b.pending)+b.writing+len(p) > writeBudget {
		b.err, b.pending = errOverBudget, nil
		tell := b.overflow
		b.mu.Unlock()
		if tell != nil {
			tell()
		}
		b.Conn.Close() // also ends a socket write stuck on the reader
		return 0, errOverBudget
	}
	b.pending = append(b.pending, p...)
	if !b.flushing {
		b.flushing = true
		go b.flush()
	}
	b.mu.Unlock()
	return len(p), nil
}

// flush hands queued bytes to the socket until none are left, then closes
// it if the connection is closing or failed.
func (b *budgetConn) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.pending) > 0 && b.err == nil {
		out := b.pending
		b.pending, b.writing = nil, len(out)
		b.mu.Unlock()
		_, err := b.Conn.Write(out)
		b.mu.Lock()
		b.writing = 0
		if err != nil && b.err == nil {
			b.err = err
		}
	}
	b.flushing = false
	if b.closing || b.err != nil {
		b.Conn.Close()
	}
}

// Close closes the socket, or, while queued bytes are still going out, lets
// them go for up to linger first; a reader blocked on the socket is woken
// at once.
func (b *budgetConn) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return nil
	}
	b.closing = true
	if !b.flushing {
		return b.Conn.Close()
	}
	b.Conn.SetWriteDeadline(time.Now().Add(linger))
	return b.Conn.SetReadDeadline(time.Now())
}

// Deadlines reach only the socket's reads: writes are queued, bounded by
// the budget and, once closing, by linger. (TLS sets a write deadline of
// "now" right after queueing its close alert, which would drop it.)
func (b *budgetConn) SetDeadline(t time.Time) error { return b.SetReadDeadline(t) }

func (b *budgetConn) SetWriteDeadline(time.Time) error { return nil }

func (b *budgetConn) SetReadDeadline(t time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return nil // keep the reader woken by Close
	}
	return b.Conn.SetReadDeadline(t)
}

// onOverflow names the callback once the client is known.
func (b *budgetConn) onOverflow(tell func()) {
	b.mu.Lock()
	b.overflow = tell
	b.mu.Unlock()
}
