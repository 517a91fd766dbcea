package localiot

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotwatch/iotwatch/pki"
)

const benchThings = 100

// benchPublishers connects one client per thing (devices with their own
// certificates, or monitor clients) and a counting subscriber on filter.
func benchRate(b *testing.B, devices bool, topicOf func(thing string) string, filter string) {
	b.Helper()
	l := newLab(b, "")
	t := b
	ca, err := pki.LoadCA(l.dir+"/"+pki.CACertFile, l.dir+"/"+pki.CAKeyFile)
	if err != nil {
		b.Fatal(err)
	}
	var received atomic.Int64
	counter := l.mustConnect(t, "monitor", "bench-counter")
	counter.Subscribe(filter, 1, func(paho.Client, paho.Message) { received.Add(1) }).Wait()
	clients := make([]*client, benchThings)
	for i := range clients {
		name := fmt.Sprintf("bench-%03d", i)
		conf := l.tlsFor(t, "monitor")
		if devices {
			leaf, _ := ca.Issue(pki.Spec{CommonName: name})
			l.registerLeaf(t, leaf)
			conf = withLeaf(conf, leaf)
		}
		c, err := l.connectTLS(t, conf, name)
		if err != nil {
			b.Fatal(err)
		}
		clients[i] = c
	}
	payload := `{"state":{"reported":{"temp":23.4,"seq":1,"uptime_s":100,"interval_s":1,"led":true,"setpoint":21,"rssi":-60,"heap_free":180000,"fw":"1.0.0","reset_reason":"POWERON"}}}`
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range clients {
		n := b.N / benchThings
		if i < b.N%benchThings {
			n++
		}
		wg.Add(1)
		go func(c *client, topic string, n int) {
			defer wg.Done()
			// A window of QoS 1 publishes in flight per client, as a device
			// waiting for its PUBACKs would keep.
			window := make([]paho.Token, 0, n)
			for i := range n {
				if i >= 8 {
					window[i-8].Wait()
				}
				window = append(window, c.Publish(topic, 1, false, payload))
			}
		}(c, topicOf(fmt.Sprintf("bench-%03d", i)), n)
	}
	wg.Wait()
	for received.Load() < int64(b.N) {
		if time.Since(start) > 30*time.Second {
			b.Fatalf("only %d of %d messages arrived (broker dropped %d, inflight dropped %d)", received.Load(), b.N, l.srv.broker.Info.MessagesDropped, l.srv.broker.Info.InflightDropped)
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	for _, c := range clients {
		c.Disconnect(0)
	}
	counter.Disconnect(0)
	l.srv.Close()
}

// BenchmarkShadowUpdates: device reports through the shadow service, counted
// as update/accepted answers.
func BenchmarkShadowUpdates(b *testing.B) {
	benchRate(b, true, func(thing string) string { return "$aws/things/" + thing + "/shadow/update" },
		"$aws/things/+/shadow/update/accepted")
}

// BenchmarkPlainPublish: the same clients and payloads on plain topics, the
// broker's own rate, for the ratio.
func BenchmarkPlainPublish(b *testing.B) {
	benchRate(b, false, func(thing string) string { return "bench/" + thing }, "bench/+")
}
