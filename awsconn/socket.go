package awsconn

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotwatch/iotwatch/event"
)

// cuttable is a socket whose writes can be cut: from then on nothing leaves
// (no DISCONNECT, no TLS close_notify) and closing it only closes the TCP
// connection, as when the network goes away under the client.
type cuttable struct {
	net.Conn
	muted atomic.Bool
}

func (s *cuttable) Write(p []byte) (int, error) {
	if s.muted.Load() {
		return len(p), nil
	}
	return s.Conn.Write(p)
}

func (s *cuttable) cut() { s.muted.Store(true) }

// openTLS is paho's TLS dial (TCP, then the handshake, within the connect
// timeout) over a cuttable socket, kept for Cut.
func (c *Conn) openTLS(uri *url.URL, options paho.ClientOptions) (net.Conn, error) {
	raw, err := (&net.Dialer{Timeout: options.ConnectTimeout}).Dial("tcp", uri.Host)
	if err != nil {
		return nil, err
	}
	socket := &cuttable{Conn: raw}
	conn := tls.Client(socket, options.TLSConfig)
	ctx, cancel := context.WithTimeout(context.Background(), options.ConnectTimeout)
	defer cancel()
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	c.mu.Lock()
	c.socket = socket
	c.mu.Unlock()
	return conn, nil
}

// ErrHTTPS is a port that answers HTTPS: its TLS handshake chose HTTP by
// ALPN (AWS's and iotwatch serve's port 8443).
var ErrHTTPS = errors.New("the server chose HTTP by ALPN")

// ProbeHTTPS says whether host:port answers HTTPS: a TLS handshake that
// offers HTTP by ALPN, and nothing sent after it (an MQTT server chooses no
// protocol, or refuses the offer).
func ProbeHTTPS(ctx context.Context, o Options) bool {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}, ServerName: o.Host}
	if o.TLS != nil {
		conf = o.TLS.Clone()
		conf.NextProtos = []string{"h2", "http/1.1"}
		if conf.ServerName == "" {
			conf.ServerName = o.Host
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := (&tls.Dialer{Config: conf}).DialContext(ctx, "tcp", net.JoinHostPort(o.Host, strconv.Itoa(o.Port)))
	if err != nil {
		return false
	}
	defer conn.Close()
	p := conn.(*tls.Conn).ConnectionState().NegotiatedProtocol
	return p == "h2" || p == "http/1.1"
}

// probeHTTPS says at once that the port answers HTTPS, where paho would
// wait out its connect timeout for a CONNACK.
func (c *Conn) probeHTTPS() {
	if ProbeHTTPS(context.Background(), c.o) {
		c.emit(event.Link{At: c.o.Now(), State: event.LinkDown, Err: Diagnose(ErrHTTPS, c.o)})
	}
}
