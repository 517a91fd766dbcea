package qualify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotwatch/iotwatch/pki"
)

// testDevice is a small MQTT 3.1.1 device over TLS whose behaviour each
// test sets: the well-behaved one passes every case, and each field turned
// wrong is one of the bad devices the cases must fail.
type testDevice struct {
	addr  string
	tls   *tls.Config
	thing string

	keepAlive     uint16        // seconds
	clean         bool          // CleanSession
	connackWait   time.Duration // give up on a CONNECT after this
	backoff       func(attempt int) time.Duration
	pubackWait    time.Duration // retry a QoS 1 publish after this (0: never)
	newIDOnRetry  bool          // retry with a new packet id (wrong)
	subackWait    time.Duration // retry a SUBSCRIBE after this (0: never)
	pingWait      time.Duration // close after a PINGREQ unanswered this long (0: never)
	noPuback      bool          // never acknowledge a message (wrong)
	maxMessage    int           // close on a larger message (0: none)
	noResubscribe bool          // subscribes on its first connection only, trusting its session even when CONNACK says it is gone (wrong)
	subscribed    bool
	reportEvery   time.Duration // publish a reported state this often
	qos0          bool          // reports at QoS 0
	ignoreDesired bool          // does not apply the delta (wrong)
	noSubscribe   bool          // never subscribes (wrong)
	noConnect     bool          // completes TLS and never sends CONNECT (wrong)
	heapLeak      bool          // loses 4 kB of heap at every connection (wrong)
	stableAfter   time.Duration // a connection up this long starts the backoff again (0: any CONNACK does)
	mu            sync.Mutex
	state         map[string]any
}

// goodDevice is a device that passes every case: full jitter backoff, and
// every retry and timeout.
func goodDevice(t *testing.T, dir, addr, thing string) *testDevice {
	return &testDevice{addr: addr, tls: deviceTLS(t, dir), thing: thing, keepAlive: 4, connackWait: 500 * time.Millisecond,
		backoff: tableJitter(400*time.Millisecond, 2400*time.Millisecond), stableAfter: 5 * time.Second, pubackWait: 500 * time.Millisecond,
		subackWait: 500 * time.Millisecond, pingWait: time.Second, reportEvery: 500 * time.Millisecond,
		state: map[string]any{"setpoint": 21.0, "heap_free": 200000.0}}
}

// jitterFactors are random draws, fixed so that a test's waits are known
// (the simulator's own jitter is random).
var jitterFactors = []float64{0.9, 0.35, 0.8, 0.3, 0.75, 0.5, 0.95, 0.4, 0.7, 0.6}

// tableJitter waits a share of base·2^(attempt-1), capped: full jitter.
func tableJitter(base, limit time.Duration) func(int) time.Duration {
	return func(attempt int) time.Duration {
		top := min(limit, base<<min(attempt-1, 20))
		return time.Duration(float64(top) * jitterFactors[(attempt-1)%len(jitterFactors)])
	}
}

// exponentialBackoff doubles without jitter.
func exponentialBackoff(base, limit time.Duration) func(int) time.Duration {
	return func(attempt int) time.Duration { return min(limit, base<<min(attempt-1, 20)) }
}

func constantBackoff(d time.Duration) func(int) time.Duration {
	return func(int) time.Duration { return d }
}

func deviceTLS(t *testing.T, dir string) *tls.Config {
	t.Helper()
	conf, err := pki.LoadClientTLS(filepath.Join(dir, pki.DeviceCertFile), filepath.Join(dir, pki.DeviceKeyFile),
		filepath.Join(dir, pki.CACertFile), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

// run connects and reconnects until ctx ends.
func (d *testDevice) run(ctx context.Context) {
	attempt := 0
	for ctx.Err() == nil {
		began := time.Now()
		if ok, _, _ := d.session(ctx); ok && time.Since(began) >= d.stableAfter {
			attempt = 0
		}
		attempt++
		select {
		case <-ctx.Done():
		case <-time.After(d.backoff(attempt)):
		}
	}
}

// conn is one connection's state.
type conn struct {
	c       net.Conn
	w       sync.Mutex
	nextID  uint16
	pending map[uint16]time.Time // our QoS 1 publishes and SUBSCRIBEs waiting for their ack
	pings   time.Time            // an unanswered PINGREQ since
}

func (c *conn) send(pk packets.Packet) error {
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Puback:
		err = pk.PubackEncode(&buf)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&buf)
	case packets.Pingreq:
		err = pk.PingreqEncode(&buf)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&buf)
	}
	if err != nil {
		return err
	}
	c.w.Lock()
	defer c.w.Unlock()
	c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err = c.c.Write(buf.Bytes())
	return err
}

func readPacket(r *bufio.Reader) (packets.Packet, error) {
	b, err := r.ReadByte()
	if err != nil {
		return packets.Packet{}, err
	}
	pk := packets.Packet{ProtocolVersion: 4}
	if err := pk.FixedHeader.Decode(b); err != nil {
		return pk, err
	}
	n, _, err := packets.DecodeLength(r)
	if err != nil {
		return pk, err
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return pk, err
	}
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackDecode(buf)
	case packets.Publish:
		err = pk.PublishDecode(buf)
	case packets.Puback:
		err = pk.PubackDecode(buf)
	case packets.Suback:
		err = pk.SubackDecode(buf)
	}
	return pk, err
}

func (c *conn) id() uint16 {
	c.nextID++
	if c.nextID == 0 {
		c.nextID = 1
	}
	return c.nextID
}

// session runs one connection; ok when it got a CONNACK.
func (d *testDevice) session(ctx context.Context) (ok, present bool, err error) {
	dialer := &tls.Dialer{Config: d.tls, NetDialer: &net.Dialer{Timeout: 2 * time.Second}}
	nc, err := dialer.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return false, false, err
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	if d.noConnect {
		<-ctx.Done()
		return false, false, ctx.Err()
	}
	c := &conn{c: nc, pending: map[uint16]time.Time{}}
	r := bufio.NewReader(nc)
	err = c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), ClientIdentifier: d.thing, Keepalive: d.keepAlive, Clean: d.clean}})
	if err != nil {
		return false, false, err
	}
	nc.SetReadDeadline(time.Now().Add(d.connackWait))
	ack, err := readPacket(r)
	if err != nil || ack.FixedHeader.Type != packets.Connack || ack.ReasonCode != 0 {
		return false, false, errors.Join(err, errors.New("no CONNACK"))
	}
	nc.SetReadDeadline(time.Time{})
	present = ack.SessionPresent
	if d.heapLeak {
		d.mu.Lock()
		d.state["heap_free"] = d.state["heap_free"].(float64) - 4000
		d.mu.Unlock()
	}
	topic := "$aws/things/" + d.thing + "/shadow/update"
	delta := topic + "/delta"
	subID := uint16(0)
	subscribe := func() error {
		subID = c.id()
		c.pending[subID] = time.Now()
		return c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: subID,
			Filters: packets.Subscriptions{{Filter: delta, Qos: 1}}})
	}
	if !d.noSubscribe && !(d.noResubscribe && d.subscribed) {
		d.subscribed = true
		if err := subscribe(); err != nil {
			return true, present, err
		}
	}
	in := make(chan packets.Packet, 16)
	readErr := make(chan error, 1)
	go func() {
		for {
			pk, err := readPacket(r)
			if err != nil {
				readErr <- err
				return
			}
			in <- pk
		}
	}()
	var pub packets.Packet // the QoS 1 report waiting for its PUBACK
	report := time.NewTicker(d.reportEvery)
	defer report.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	lastHeard := time.Now()
	for {
		select {
		case <-ctx.Done():
			return true, present, ctx.Err()
		case err := <-readErr:
			return true, present, err
		case pk := <-in:
			lastHeard = time.Now()
			switch pk.FixedHeader.Type {
			case packets.Pingresp:
				c.pings = time.Time{}
			case packets.Puback, packets.Suback:
				delete(c.pending, pk.PacketID)
			case packets.Publish:
				if d.maxMessage > 0 && len(pk.Payload) > d.maxMessage {
					return true, present, errors.New("message too large")
				}
				if pk.FixedHeader.Qos == 1 && !d.noPuback {
					c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
				}
				d.applyDelta(pk.Payload)
			}
		case <-report.C:
			if _, waiting := c.pending[pub.PacketID]; waiting && pub.PacketID != 0 {
				continue // one report in flight at a time
			}
			pub = packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: topic, Payload: d.report()}
			if d.qos0 {
				pub.FixedHeader.Qos = 0
			} else {
				pub.PacketID = c.id()
				c.pending[pub.PacketID] = time.Now()
			}
			if err := c.send(pub); err != nil {
				return true, present, err
			}
		case now := <-tick.C:
			if since, ok := c.pending[pub.PacketID]; ok && pub.PacketID != 0 && d.pubackWait > 0 && now.Sub(since) > d.pubackWait {
				if d.newIDOnRetry {
					delete(c.pending, pub.PacketID)
					pub.PacketID = c.id()
				}
				pub.FixedHeader.Dup = true
				c.pending[pub.PacketID] = now
				c.send(pub)
			}
			if since, ok := c.pending[subID]; ok && d.subackWait > 0 && now.Sub(since) > d.subackWait {
				delete(c.pending, subID)
				subscribe()
			}
			if !c.pings.IsZero() && d.pingWait > 0 && now.Sub(c.pings) > d.pingWait {
				return true, present, errors.New("no PINGRESP")
			}
			// A ping after half the keep-alive without news from the server.
			if d.keepAlive > 0 && now.Sub(lastHeard) >= time.Duration(d.keepAlive)*time.Second/2 && c.pings.IsZero() {
				c.pings = now
				c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
			}
		}
	}
}

func (d *testDevice) report() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"state": map[string]any{"reported": d.state}})
	return b
}

func (d *testDevice) applyDelta(payload []byte) {
	if d.ignoreDesired {
		return
	}
	var doc struct{ State map[string]any }
	if json.Unmarshal(payload, &doc) != nil {
		return
	}
	d.mu.Lock()
	for k, v := range doc.State {
		d.state[k] = v
	}
	d.mu.Unlock()
}

// verifyChainOnly checks the server's chain but not its name: the mistake
// of a device that ignores the server name.
func verifyChainOnly(roots *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
		return err
	}
}
