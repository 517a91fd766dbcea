package localiot

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
)

// gate holds the HTTPS port to n connections at once that have not yet
// made a correctly signed request: past them a new connection is closed
// at once (logged once per burst). A connection leaves the gate at its
// first verified request (admit) or its WebSocket upgrade, which only a
// verified presigned URL reaches, or when it closes.
type gate struct {
	net.Listener
	slots chan struct{}
	logf  func(format string, a ...any)
}

func newGate(ln net.Listener, n int, logf func(string, ...any)) *gate {
	return &gate{Listener: ln, slots: make(chan struct{}, n), logf: logf}
}

func (g *gate) Accept() (net.Conn, error) {
	refused := 0
	for {
		conn, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case g.slots <- struct{}{}:
			if refused > 0 {
				g.logf("HTTPS port %s: accepting again after closing %d connections past %d unauthenticated ones", g.Addr(), refused, cap(g.slots))
			}
			return &gatedConn{Conn: conn, slots: g.slots}, nil
		default:
			if refused == 0 {
				g.logf("HTTPS port %s: %d connections have made no signed request yet; closing new ones until some go", g.Addr(), cap(g.slots))
			}
			refused++
			conn.Close()
		}
	}
}

// gatedConn holds a slot of the gate until admitted or closed.
type gatedConn struct {
	net.Conn
	slots chan struct{}
	once  sync.Once
}

func (c *gatedConn) leave() { c.once.Do(func() { <-c.slots }) }

func (c *gatedConn) Close() error {
	c.leave()
	return c.Conn.Close()
}

type gateKey struct{}

// withGate (http.Server.ConnContext) gives each request its connection's
// place in the gate.
func withGate(ctx context.Context, c net.Conn) context.Context {
	if g := gatedOf(c); g != nil {
		return context.WithValue(ctx, gateKey{}, g)
	}
	return ctx
}

func gatedOf(c net.Conn) *gatedConn {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	g, _ := c.(*gatedConn)
	return g
}

// admit lets the connection of a verified request out of the gate.
func admit(r *http.Request) {
	if g, ok := r.Context().Value(gateKey{}).(*gatedConn); ok {
		g.leave()
	}
}

// admitHijacked (http.Server.ConnState) lets a WebSocket connection out of
// the gate: net/http no longer tracks it once it is upgraded.
func admitHijacked(c net.Conn, state http.ConnState) {
	if state == http.StateHijacked {
		if g := gatedOf(c); g != nil {
			g.leave()
		}
	}
}
