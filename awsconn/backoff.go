package awsconn

import (
	"crypto/tls"
	"net/url"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// stableFor is how long a connection must have lasted for the backoff to
// start again from its first wait: a server that drops a device right after
// each CONNACK must not be met with a reconnect storm.
const stableFor = 30 * time.Second

// pacer spaces reconnection attempts by Options.Backoff: paho's own waits
// are made negligible and the wait happens in its connection-attempt
// handler, before each dial.
type pacer struct {
	mu       sync.Mutex
	backoff  func(int) time.Duration
	tried    bool      // the first attempt (Dial's) waits for nothing
	n        int       // attempts since the last stable connection
	up, down time.Time // the last connection's start and end
	done     chan struct{}
	stopped  bool
}

// paced hands the reconnect timing to Options.Backoff when it is set.
func (c *Conn) paced(opts *paho.ClientOptions) *paho.ClientOptions {
	if c.o.Backoff == nil {
		return opts
	}
	c.pace = pacer{backoff: c.o.Backoff, done: make(chan struct{})}
	return opts.SetConnectRetryInterval(time.Millisecond).SetMaxReconnectInterval(time.Millisecond).
		SetConnectionAttemptHandler(func(_ *url.URL, conf *tls.Config) *tls.Config {
			c.pace.wait()
			return conf
		}).
		SetOnConnectHandler(func(paho.Client) {
			c.pace.connected()
			c.onConnect()
		})
}

// wait sleeps before an attempt: nothing before the first, then
// backoff(n) for the n-th attempt since the last stable connection.
func (p *pacer) wait() {
	p.mu.Lock()
	if !p.tried || p.stopped {
		p.tried = true
		p.mu.Unlock()
		return
	}
	if !p.up.IsZero() && p.down.Sub(p.up) >= stableFor {
		p.n = 0
	}
	p.up = time.Time{}
	p.n++
	d := p.backoff(p.n)
	p.mu.Unlock()
	select {
	case <-time.After(d):
	case <-p.done:
	}
}

func (p *pacer) connected() {
	p.mu.Lock()
	p.up = time.Now()
	p.mu.Unlock()
}

func (p *pacer) lost() {
	p.mu.Lock()
	p.down = time.Now()
	p.mu.Unlock()
}

// stop ends a wait under way: the connection is closing.
func (p *pacer) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil && !p.stopped {
		p.stopped = true
		close(p.done)
	}
}
