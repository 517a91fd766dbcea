// Package awsconn is the MQTT connection to AWS IoT Core (or the emulator)
// for one thing: mutual TLS, ALPN on 443, exact shadow and lifecycle
// subscriptions at QoS 1, reconnects that resubscribe and re-get, requests
// correlated by clientToken, and every message decoded into monitor events
// on a channel. Its paho handlers never block. It imports event, shadow and
// pki.
package awsconn

import (
	"crypto/tls"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/shadow"
)

// Role chooses what the connection subscribes to.
type Role int

const (
	// Monitor follows every shadow answer and the device's lifecycle events.
	Monitor Role = iota
	// Device follows what a device needs: delta, get and update answers.
	Device
)

// Options configures a connection.
type Options struct {
	Host           string
	Port           int
	ClientID       string
	TLS            *tls.Config // from pki.LoadClientTLS; with SigV4, only the CA
	SigV4          *SigV4      // sign in with AWS credentials over WebSocket instead of a certificate
	Thing, Shadow  string
	DeviceClientID string // lifecycle events to follow (Monitor role)
	Role           Role
	KeepAlive      time.Duration // default 30 s
	MaxBackoff     time.Duration // cap of the reconnect backoff, default 30 s
	ConnectTimeout time.Duration // wait for a CONNACK, default 10 s
	// Backoff, when set, is the wait before the n-th reconnection attempt
	// in a row (backoff.go) in place of paho's (none after a loss, then
	// 1 s doubling, never jittered).
	Backoff        func(n int) time.Duration
	RequestTimeout time.Duration // default 10 s
	SubscribeRetry time.Duration // wait before subscribing again after a refusal, default 10 s
	Buffer         int           // events channel size, default 1024
	Log            io.Writer     // diagnostics; nil discards (never stdout: the TUI owns it)
	Now            func() time.Time
}

// alpnAWS is the protocol AWS IoT requires for MQTT on port 443.
const alpnAWS = "x-amzn-mqtt-ca"

// Conn is a live connection; it reconnects by itself until Close.
type Conn struct {
	o       Options
	client  paho.Client
	events  chan event.Event
	prefix  string
	mu      sync.Mutex
	closed  bool
	dropped int
	attempt int
	waiting map[string]chan answer // clientToken → the request waiting for it
	seen    map[seenKey]int64
	raw     []string // filters of SubscribeRaw, made again on reconnect
	shard   *shard   // the things of a Fleet's connection; nil for the one thing of Options
	pace    pacer    // Options.Backoff's state
}

// seenKey is the last version seen per thing ("" for Options.Thing) and
// kind of document.
type seenKey struct {
	thing string
	kind  event.DocKind
}

// Dial starts connecting and returns at once; the first Link event follows.
func Dial(o Options) (*Conn, error) {
	if o.Host == "" || o.Port == 0 || o.ClientID == "" || (o.TLS == nil && o.SigV4 == nil) || !shadow.ValidThingName(o.Thing) {
		return nil, fmt.Errorf("awsconn: host, port, client id, TLS or SigV4 and a valid thing name are required")
	}
	return dial(o, nil), nil
}

// dial connects one Conn: for o.Thing, or for a Fleet's shard.
func dial(o Options, sh *shard) *Conn {
	o = withDefaults(o)
	c := &Conn{o: o, events: make(chan event.Event, o.Buffer), prefix: shadow.Prefix(o.Thing, o.Shadow),
		waiting: map[string]chan answer{}, seen: map[seenKey]int64{}, shard: sh}
	c.client = paho.NewClient(c.paced(c.clientOptions()))
	c.emit(event.Link{At: o.Now(), State: event.LinkConnecting})
	c.client.Connect()
	return c
}

func withDefaults(o Options) Options {
	if o.KeepAlive == 0 {
		o.KeepAlive = 30 * time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 10 * time.Second
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.SubscribeRetry == 0 {
		o.SubscribeRetry = 10 * time.Second
	}
	if o.Buffer == 0 {
		o.Buffer = 1024
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DeviceClientID == "" {
		o.DeviceClientID = o.Thing
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

func (c *Conn) clientOptions() *paho.ClientOptions {
	opts := paho.NewClientOptions()
	if c.o.SigV4 != nil {
		opts.AddBroker("wss://" + c.o.Host + ":" + strconv.Itoa(c.o.Port) + "/mqtt").SetCustomOpenConnectionFn(c.openWebSocket)
	} else {
		conf := c.o.TLS.Clone()
		if conf.ServerName == "" {
			conf.ServerName = c.o.Host
		}
		if c.o.Port == 443 {
			conf.NextProtos = []string{alpnAWS}
		}
		opts.AddBroker("tls://" + c.o.Host + ":" + strconv.Itoa(c.o.Port)).SetTLSConfig(conf)
	}
	return opts.
		SetClientID(c.o.ClientID).SetProtocolVersion(4).
		SetCleanSession(true).SetKeepAlive(c.o.KeepAlive).SetPingTimeout(pingTimeout(c.o.KeepAlive)).
		SetConnectTimeout(c.o.ConnectTimeout).SetWriteTimeout(10 * time.Second).
		SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(c.o.MaxBackoff).
		SetOrderMatters(true). // handlers never block, so order costs nothing
		SetStore(newCopyingStore()).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { c.handle(m.Topic(), m.Payload()) }).
		SetOnConnectHandler(func(paho.Client) { c.onConnect() }).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			c.pace.lost()
			c.emit(event.Link{At: c.o.Now(), State: event.LinkDown, Err: err.Error()})
		}).
		SetConnectionNotificationHandler(c.onConnectionNotification)
}

// onConnectionNotification reports every connection attempt, and why one
// failed, from the first connect on (paho retries that one silently).
func (c *Conn) onConnectionNotification(_ paho.Client, n paho.ConnectionNotification) {
	switch n := n.(type) {
	case paho.ConnectionNotificationConnecting:
		if !n.IsReconnect && n.Attempt == 0 {
			return // Dial announced the first attempt
		}
		c.mu.Lock()
		c.attempt++
		attempt := c.attempt
		c.mu.Unlock()
		c.emit(event.Link{At: c.o.Now(), State: event.LinkConnecting, Attempt: attempt})
	case paho.ConnectionNotificationFailed:
		c.mu.Lock()
		attempt := c.attempt
		c.mu.Unlock()
		c.emit(event.Link{At: c.o.Now(), State: event.LinkDown, Attempt: attempt, Err: Diagnose(n.Reason, c.o)})
	}
}

// pingTimeout is a quarter of the keep-alive (at most 10 s): paho pings up
// to a check interval after the keep-alive, so a silent cut is then noticed
// within about 1.5 × keep-alive.
func pingTimeout(keepAlive time.Duration) time.Duration {
	return min(keepAlive/4, 10*time.Second)
}

// Events is the stream of everything the connection learns; it is closed
// after Close.
func (c *Conn) Events() <-chan event.Event { return c.events }

// Thing is the watched thing's name.
func (c *Conn) Thing() string { return c.o.Thing }

// Close disconnects and closes the events channel.
func (c *Conn) Close() {
	c.pace.stop()
	c.client.Disconnect(250)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.events)
	}
}

// emit sends without blocking; when the channel is full the event is counted
// and an Overflow event reports the count as soon as there is room.
func (c *Conn) emit(ev event.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if c.dropped > 0 {
		select {
		case c.events <- event.Overflow{At: c.o.Now(), Count: c.dropped}:
			c.dropped = 0
		default:
			c.dropped++
			return
		}
	}
	select {
	case c.events <- ev:
	default:
		c.dropped++
	}
}
