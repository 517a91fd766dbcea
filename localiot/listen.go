package localiot

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// Accept back-off, as net/http's: from 5 ms, doubling, at most 1 s.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// retryingListener keeps a listener serving through the Accept errors that
// pass (out of file descriptors, a connection aborted before it was
// accepted): mochi's listener stops for good on any Accept error, so one
// EMFILE would end MQTT until a restart. It waits and tries again, and
// logs each burst once when it begins and once when it ends.
type retryingListener struct {
	net.Listener
	logf func(format string, a ...any)
}

func (l retryingListener) Accept() (net.Conn, error) {
	var delay time.Duration
	failures := 0
	for {
		conn, err := l.Listener.Accept()
		if err == nil {
			if failures > 0 {
				l.logf("accepting again on %s after %d failed accepts", l.Addr(), failures)
			}
			return conn, nil
		}
		if !passing(err) {
			return nil, err
		}
		if failures == 0 {
			l.logf("accept on %s failed: %v; retrying (from %v to every %v) until it works", l.Addr(), err, acceptBackoffMin, acceptBackoffMax)
		}
		failures++
		delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
		time.Sleep(delay)
	}
}

// passing reports whether an Accept error is one that goes away by itself.
func passing(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EPROTO, syscall.EPERM, syscall.EAGAIN, syscall.EINTR} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}
