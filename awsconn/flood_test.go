package awsconn

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/pki"
)

// BenchmarkFlood: a device floods its shadow with b.N reports as fast as
// the emulator takes them; iotwatch's connection and Debian's mosquitto_sub,
// side by side on the same flood, each count the update/accepted answers.
// Targets: zero loss, and iotwatch at least mosquitto_sub's rate
// (bench/flood.sh prints the ratio).
func BenchmarkFlood(b *testing.B) {
	sub, err := exec.LookPath("mosquitto_sub")
	if err != nil {
		b.Fatal("mosquitto_sub not found: `make deps` installs Debian's mosquitto-clients")
	}
	// Shadows in memory: the flood is not to wait for bbolt's fsyncs.
	l := &lab{dir: b.TempDir()}
	if err := pki.Init(l.dir, pki.InitOptions{Thing: thing}); err != nil {
		b.Fatal(err)
	}
	l.start(b, "127.0.0.1:0")
	topic := "$aws/things/" + thing + "/shadow/update/accepted"
	mon := l.dial(b, Monitor, "iotwatch-flood", 0)
	waitEvent(b, mon, "link up", linkIs(event.LinkUp))

	host, port, _ := strings.Cut(l.srv.Addr(), ":")
	p := func(n string) string { return filepath.Join(l.dir, n) }
	mosq := exec.Command(sub, "-h", host, "-p", port, "--cafile", p(pki.CACertFile), "--cert", p("monitor.pem"),
		"--key", p("monitor.key"), "-i", "mosquitto-flood", "-q", "1", "-t", topic, "-C", strconv.Itoa(b.N), "-W", "300")
	if err := mosq.Start(); err != nil {
		b.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // its SUBSCRIBE follows its CONNACK

	var wg sync.WaitGroup
	var ours time.Duration
	var received, overflowed int
	wg.Add(2)
	start := time.Now()
	go func() {
		defer wg.Done()
		received, overflowed = countDocs(mon.Events(), event.DocAccepted, b.N, 5*time.Minute)
		ours = time.Since(start)
	}()
	var theirs time.Duration
	var theirErr error
	go func() {
		defer wg.Done()
		theirErr = mosq.Wait()
		theirs = time.Since(start)
	}()
	flood(b, l, b.N, func(int) string { return thing })
	wg.Wait()
	if theirErr != nil {
		b.Fatalf("mosquitto_sub did not get all %d messages: %v", b.N, theirErr)
	}
	if received != b.N || overflowed != 0 {
		b.Fatalf("iotwatch received %d of %d (%d dropped locally)", received, b.N, overflowed)
	}
	b.ReportMetric(float64(b.N)/ours.Seconds(), "iotwatch-msgs/s")
	b.ReportMetric(float64(b.N)/theirs.Seconds(), "mosquitto_sub-msgs/s")
	b.ReportMetric(float64(b.N-received), "lost")
}

// countDocs counts shadow documents of kind from events until n arrived or
// timeout, with the events dropped locally.
func countDocs(events <-chan event.Event, kind event.DocKind, n int, timeout time.Duration) (received, overflowed int) {
	deadline := time.After(timeout)
	for received < n {
		select {
		case ev := <-events:
			switch e := ev.(type) {
			case event.ShadowDoc:
				if e.Kind == kind {
					received++
				}
			case event.Overflow:
				overflowed += e.Count
			}
		case <-deadline:
			return received, overflowed
		}
	}
	return received, overflowed
}

// flood publishes n reports, the i-th to thingOf(i)'s shadow, from 4
// clients (monitor certificates may update any thing), each with 16 QoS 1
// publishes in flight.
func flood(b *testing.B, l *lab, n int, thingOf func(i int) string) {
	conf := l.options(b, Monitor, "").TLS
	const publishers, inFlight = 4, 16
	var wg sync.WaitGroup
	for p := range publishers {
		c := paho.NewClient(paho.NewClientOptions().AddBroker("tls://" + l.srv.Addr()).
			SetClientID(fmt.Sprintf("flood-%d", p)).SetTLSConfig(conf))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatalf("publisher connect: %v", tok.Error())
		}
		defer c.Disconnect(0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var window []paho.Token
			for i := p; i < n; i += publishers {
				if len(window) == inFlight {
					window[0].Wait()
					window = window[1:]
				}
				window = append(window, c.Publish("$aws/things/"+thingOf(i)+"/shadow/update", 1, false,
					fmt.Sprintf(`{"state":{"reported":{"temp":%d.5,"seq":%d}}}`, 20+i%10, i+1)))
			}
			for _, tok := range window {
				tok.Wait()
			}
		}()
	}
	wg.Wait()
}
