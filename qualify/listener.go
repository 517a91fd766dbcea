package qualify

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"
)

// handshakeWithin bounds a device's TLS handshake, as the emulator does.
const handshakeWithin = 10 * time.Second

// listener completes each TLS handshake itself, with the certificate of the
// running case, so that its outcome (and the device's alert) is recorded;
// mochi gets only connections whose handshake completed.
type listener struct {
	raw   net.Listener
	conf  *tls.Config
	rec   *recorder
	conns chan net.Conn
	errc  chan error
	done  chan struct{}
	once  sync.Once // Close
	start sync.Once // accepting begins at the first Accept, after the
	// emulator's setup (mochi's Serve) finished the TLS configuration
}

func newListener(raw net.Listener, conf *tls.Config, rec *recorder) *listener {
	return &listener{raw: raw, conf: conf, rec: rec, conns: make(chan net.Conn), errc: make(chan error, 1), done: make(chan struct{})}
}

func (l *listener) accept() {
	for {
		c, err := l.raw.Accept()
		if err != nil {
			l.errc <- err
			return
		}
		go l.handshake(c)
	}
}

func (l *listener) handshake(c net.Conn) {
	id := l.rec.accepted(c)
	conf := l.conf.Clone()
	conf.Certificates = []tls.Certificate{l.rec.certificate()}
	conf.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		l.rec.hello(id, h)
		return nil, nil
	}
	tc := tls.Server(c, conf)
	ctx, cancel := context.WithTimeout(context.Background(), handshakeWithin)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		alert, byDevice := handshakeFailure(err)
		l.rec.handshakeFailed(id, err, alert, byDevice)
		tc.Close()
		return
	}
	l.rec.handshakeDone(id, tc)
	select {
	case l.conns <- tc:
	case <-l.done:
		tc.Close()
	}
}

// handshakeFailure says whether the device ended a failed handshake: with
// an alert ("remote error"), or by closing the connection.
func handshakeFailure(err error) (alert, byDevice bool) {
	if strings.Contains(err.Error(), "remote error: tls:") {
		return true, true
	}
	return false, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}

func (l *listener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.accept() })
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errc:
		l.errc <- err
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.raw.Close()
}

func (l *listener) Addr() net.Addr { return l.raw.Addr() }
