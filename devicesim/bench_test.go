package devicesim

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/localiot"
	"github.com/iotwatch/iotwatch/pki"
)

// BenchmarkRoundTrip: monitor sends desired → emulator → simulated device
// applies → reported back to the monitor, on loopback (p50 ≤ 5 ms, p99 ≤ 20 ms).
func BenchmarkRoundTrip(b *testing.B) {
	dir := b.TempDir()
	pki.Init(dir, pki.InitOptions{Thing: thing})
	srv, err := localiot.New(localiot.Options{Listen: "127.0.0.1:0", PKIDir: dir, Unthrottled: true}) // past AWS's rate limits
	if err != nil {
		b.Fatal(err)
	}
	srv.Start()
	defer srv.Close()
	mon, _ := awsconn.Dial(connOptions(b, dir, srv.Addr(), "monitor"))
	defer mon.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim := New(Options{Conn: connOptions(b, dir, srv.Addr(), "device"), Interval: time.Hour})
	go sim.Run(ctx)
	waitLinkUp(b, mon)
	time.Sleep(500 * time.Millisecond) // the device's own connect and get
	var rtts []time.Duration
	b.ResetTimer()
	for i := range b.N {
		value := float64(i%100) + 0.5
		start := time.Now()
		if _, err := mon.UpdateDesired(ctx, map[string]any{"setpoint": value}); err != nil {
			b.Fatal(err)
		}
		for applied := false; !applied; {
			select {
			case ev := <-mon.Events():
				d, ok := ev.(event.ShadowDoc)
				applied = ok && d.Kind == event.DocAccepted && d.Reported["setpoint"] == value
			case <-time.After(10 * time.Second):
				b.Fatal("device did not apply the setpoint")
			}
		}
		rtts = append(rtts, time.Since(start))
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	b.ReportMetric(float64(rtts[len(rtts)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(rtts[len(rtts)*99/100].Microseconds())/1000, "p99-ms")
}

func waitLinkUp(b *testing.B, c *awsconn.Conn) {
	for {
		select {
		case ev := <-c.Events():
			if l, ok := ev.(event.Link); ok && l.State == event.LinkUp {
				return
			}
		case <-time.After(10 * time.Second):
			b.Fatal("monitor never connected")
		}
	}
}
