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

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/pki"
)

const ingestThings = 1000

// BenchmarkFleetIngest: b.N reports spread over 1,000 things flood the
// emulator; a Fleet following the 1,000 (exact subscriptions, eight things
// a connection) and Debian's mosquitto_sub on the one wildcard count the
// update/documents, side by side. Target: no loss, and well above the 1,000
// reports/s of 1,000 things at 1 Hz (bench/fleet.sh prints it).
func BenchmarkFleetIngest(b *testing.B) {
	sub, err := exec.LookPath("mosquitto_sub")
	if err != nil {
		b.Fatal("mosquitto_sub not found: `make deps` installs Debian's mosquitto-clients")
	}
	l := &lab{dir: b.TempDir()}
	if err := pki.Init(l.dir, pki.InitOptions{Thing: thing}); err != nil {
		b.Fatal(err)
	}
	l.start(b, "127.0.0.1:0")
	things := make([]string, ingestThings)
	for i := range things {
		things[i] = fmt.Sprintf("ingest-%04d", i)
	}
	o := l.fleetOptions(b, things...)
	o.Conn.Buffer = 1 << 16
	f := dialFleet(b, o)
	answered := map[string]bool{}
	waitFleet(b, f, "every thing's get answer", func(ev event.Event) bool {
		if r, ok := ev.(event.Rejected); ok && r.Op == "get" {
			answered[r.Thing] = true
		}
		return len(answered) == ingestThings
	})

	host, port, _ := strings.Cut(l.srv.Addr(), ":")
	p := func(n string) string { return filepath.Join(l.dir, n) }
	mosq := exec.Command(sub, "-h", host, "-p", port, "--cafile", p(pki.CACertFile), "--cert", p("monitor.pem"),
		"--key", p("monitor.key"), "-i", "mosquitto-ingest", "-q", "1", "-t", "$aws/things/+/shadow/update/documents",
		"-C", strconv.Itoa(b.N), "-W", "300")
	if err := mosq.Start(); err != nil {
		b.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // its SUBSCRIBE follows its CONNACK

	var wg sync.WaitGroup
	var ours, theirs time.Duration
	var received, overflowed int
	var theirErr error
	wg.Add(2)
	start := time.Now()
	go func() {
		defer wg.Done()
		received, overflowed = countDocs(f.Events(), event.DocCurrent, b.N, 5*time.Minute)
		ours = time.Since(start)
	}()
	go func() {
		defer wg.Done()
		theirErr = mosq.Wait()
		theirs = time.Since(start)
	}()
	flood(b, l, b.N, func(i int) string { return things[i%ingestThings] })
	wg.Wait()
	if theirErr != nil {
		b.Fatalf("mosquitto_sub did not get all %d messages: %v", b.N, theirErr)
	}
	if received != b.N || overflowed != 0 {
		b.Fatalf("iotwatch received %d of %d (%d dropped locally)", received, b.N, overflowed)
	}
	b.ReportMetric(float64(b.N)/ours.Seconds(), "iotwatch-reports/s")
	b.ReportMetric(float64(b.N)/theirs.Seconds(), "mosquitto_sub-reports/s")
	b.ReportMetric(float64(f.Connections()), "connections")
	b.ReportMetric(float64(b.N-received), "lost")
}
