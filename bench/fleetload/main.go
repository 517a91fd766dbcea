// Command fleetload is bench/fleet.sh's load: N MQTT clients over TLS on
// loopback, each a thing reporting to its shadow every interval, written
// with paho's packet codec alone (a paho client per connection would cost
// the load more than the broker). It prints connections held, the update
// round trip (publish → the answer on the reply topic) percentiles, and the
// broker process's CPU and RSS over the steady window. It imports pki.
package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/iotwatch/iotwatch/pki"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8883", "broker address (loopback only)")
	dir := flag.String("pki", "", "certs init directory: ca.pem, monitor.pem, monitor.key")
	n := flag.Int("n", 10000, "connections (things)")
	interval := flag.Duration("interval", 10*time.Second, "report interval per thing")
	steady := flag.Duration("steady", 60*time.Second, "measured window once every client is connected")
	reply := flag.String("reply", "/update/accepted", "reply topic suffix after $aws/things/T/shadow: /update/accepted (shadow service) or /update (a plain broker's echo)")
	pid := flag.Int("pid", 0, "broker process to measure (CPU, RSS)")
	flag.Parse()
	if host, _, _ := net.SplitHostPort(*addr); host != "127.0.0.1" {
		fail("-addr %s: loopback (127.0.0.1) only", *addr)
	}
	if *n < 1 || *n > 20000 || *steady > 10*time.Minute {
		fail("-n 1…20000 and -steady at most 10m")
	}
	conf, err := pki.LoadClientTLS(filepath.Join(*dir, pki.MonitorCertFile), filepath.Join(*dir, pki.MonitorKeyFile),
		filepath.Join(*dir, pki.CACertFile), "127.0.0.1")
	if err != nil {
		fail("%v", err)
	}
	conf.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	r := run(*addr, conf, *n, *interval, *steady, *reply, *pid)
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fleetload: "+format+"\n", args...)
	os.Exit(2)
}

// result is what one run measured.
type result struct {
	Connections   int     `json:"connections"`
	Held          int     `json:"held"` // still open at the end
	ConnectS      float64 `json:"connect_s"`
	Updates       int64   `json:"updates"`
	Replies       int     `json:"replies"`
	P50ms         float64 `json:"p50_ms"`
	P99ms         float64 `json:"p99_ms"`
	MaxMs         float64 `json:"max_ms"`
	BrokerCPU     float64 `json:"broker_cpu_percent"` // of one core over the steady window
	BrokerRSSMB   float64 `json:"broker_rss_mb"`
	ConnectErrors int     `json:"connect_errors"`
	FirstError    string  `json:"first_error,omitempty"`
}

// client is one thing's connection.
type client struct {
	conn   net.Conn
	mu     sync.Mutex // writes
	topic  string
	sentAt atomic.Int64 // unix nanos of the update awaiting its reply, 0 when none
	closed atomic.Bool
}

func run(addr string, conf *tls.Config, n int, interval, steady time.Duration, reply string, pid int) result {
	var res result
	var mu sync.Mutex
	var latencies []time.Duration
	record := func(d time.Duration) { mu.Lock(); latencies = append(latencies, d); mu.Unlock() }
	clients := make([]*client, n)
	start := time.Now()
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var errs atomic.Int64
	var firstErr atomic.Value
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := connect(addr, conf, i, reply, record)
			if err != nil {
				errs.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	res.ConnectS = time.Since(start).Seconds()
	res.ConnectErrors = int(errs.Load())
	if e, ok := firstErr.Load().(string); ok {
		res.FirstError = e
	}
	live := slices.DeleteFunc(slices.Clone(clients), func(c *client) bool { return c == nil })
	res.Connections = len(live)
	cpu0, at0 := cpuTicks(pid), time.Now()
	var updates atomic.Int64
	stop := make(chan struct{})
	for i, c := range live {
		go report(c, time.Duration(i)*interval/time.Duration(len(live)), interval, stop, &updates)
	}
	time.Sleep(steady)
	close(stop)
	cpu1, at1 := cpuTicks(pid), time.Now()
	time.Sleep(2 * time.Second) // the last replies
	for _, c := range live {
		if !c.closed.Load() {
			res.Held++
		}
		c.conn.Close()
	}
	if pid > 0 {
		res.BrokerCPU = float64(cpu1-cpu0) / 100 / at1.Sub(at0).Seconds() * 100 // USER_HZ is 100 on Linux
		res.BrokerRSSMB = rssMB(pid)
	}
	res.Updates = updates.Load()
	mu.Lock()
	defer mu.Unlock()
	res.Replies = len(latencies)
	slices.Sort(latencies)
	if k := len(latencies); k > 0 {
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		res.P50ms, res.P99ms, res.MaxMs = ms(latencies[k/2]), ms(latencies[min(k-1, k*99/100)]), ms(latencies[k-1])
	}
	return res
}

// connect opens one client: TLS, CONNECT, SUBSCRIBE to its reply topic.
func connect(addr string, conf *tls.Config, i int, reply string, record func(time.Duration)) (*client, error) {
	raw, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, conf)
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	thing := fmt.Sprintf("bench-%05d", i)
	c := &client{conn: conn, topic: "$aws/things/" + thing + "/shadow/update"}
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion, cp.CleanSession, cp.ClientIdentifier, cp.Keepalive = "MQTT", 4, true, thing, 300
	r := bufio.NewReader(conn)
	if err := cp.Write(conn); err != nil {
		conn.Close()
		return nil, err
	}
	if p, err := packets.ReadPacket(r); err != nil {
		conn.Close()
		return nil, err
	} else if ack, ok := p.(*packets.ConnackPacket); !ok || ack.ReturnCode != 0 {
		conn.Close()
		return nil, fmt.Errorf("CONNACK %v", p)
	}
	sp := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sp.MessageID, sp.Topics, sp.Qoss = 1, []string{"$aws/things/" + thing + "/shadow" + reply}, []byte{1}
	if err := sp.Write(conn); err != nil {
		conn.Close()
		return nil, err
	}
	if p, err := packets.ReadPacket(r); err != nil {
		conn.Close()
		return nil, err
	} else if ack, ok := p.(*packets.SubackPacket); !ok || len(ack.ReturnCodes) != 1 || ack.ReturnCodes[0] > 1 {
		conn.Close()
		return nil, fmt.Errorf("SUBACK %v", p)
	}
	conn.SetDeadline(time.Time{})
	go c.read(r, record)
	return c, nil
}

// read answers the broker's QoS 1 deliveries and times the replies.
func (c *client) read(r *bufio.Reader, record func(time.Duration)) {
	defer c.closed.Store(true)
	for {
		p, err := packets.ReadPacket(r)
		if err != nil {
			return
		}
		pub, ok := p.(*packets.PublishPacket)
		if !ok {
			continue // PUBACKs of our updates
		}
		if sent := c.sentAt.Swap(0); sent != 0 {
			record(time.Since(time.Unix(0, sent)))
		}
		if pub.Qos == 1 {
			ack := packets.NewControlPacket(packets.Puback).(*packets.PubackPacket)
			ack.MessageID = pub.MessageID
			c.write(ack)
		}
	}
}

func (c *client) write(p packets.ControlPacket) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	return p.Write(c.conn)
}

// report sends an update every interval after offset until stop.
func report(c *client, offset, interval time.Duration, stop <-chan struct{}, updates *atomic.Int64) {
	select {
	case <-time.After(offset):
	case <-stop:
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for seq := 1; ; seq++ {
		pub := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
		pub.TopicName, pub.Qos, pub.MessageID = c.topic, 1, uint16(seq%65535+1)
		pub.Payload = []byte(`{"state":{"reported":{"temp":21.5,"seq":` + strconv.Itoa(seq) + `,"interval_s":10}}}`)
		c.sentAt.Store(time.Now().UnixNano())
		if c.write(pub) != nil {
			return
		}
		updates.Add(1)
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}

// cpuTicks is utime+stime of pid in clock ticks; 0 without a pid.
func cpuTicks(pid int) int64 {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data)[strings.LastIndexByte(string(data), ')')+2:])
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	s, _ := strconv.ParseInt(fields[12], 10, 64)
	return u + s
}

func rssMB(pid int) float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
