// Command loadgen is bench/load.sh's load: N device connections over TLS,
// each with its own certificate issued by the lab CA, each reporting once a
// second. Against iotwatch serve a report is a shadow update, acknowledged
// by its update/accepted (matched by clientToken); against a plain broker
// (mosquitto) it is a publish the device receives back on its own topic. It
// samples the broker's RSS and CPU from /proc and writes one JSON result;
// -compare prints two results side by side with ratios. Loopback only.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotwatch/iotwatch/pki"
)

// Result is one run, as written to -out.
type Result struct {
	Broker       string  `json:"broker"`
	Devices      int     `json:"devices"`
	Sent         int64   `json:"sent"`
	Acknowledged int64   `json:"acknowledged"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	RSSStartMiB  float64 `json:"rss_start_mib"` // once every device is connected
	RSSWarmMiB   float64 `json:"rss_warm_mib"`  // after 10 s of reporting: RSS is flat if the end is no higher
	RSSMaxMiB    float64 `json:"rss_max_mib"`
	RSSEndMiB    float64 `json:"rss_end_mib"`
	CPUPercent   float64 `json:"cpu_percent"` // of one core, while reporting
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8883", "broker address (loopback)")
	pkiDir := flag.String("pki", "", "directory from 'iotwatch certs init' (ca.pem, ca.key)")
	n := flag.Int("n", 1000, "device connections (at most 5000)")
	duration := flag.Duration("duration", 60*time.Second, "how long each device reports (at most 10m)")
	shadowMode := flag.Bool("shadow", true, "report as shadow updates (iotwatch serve); false: publish and receive back (a plain broker)")
	pid := flag.Int("pid", 0, "the broker's process id, for RSS and CPU")
	name := flag.String("name", "broker", "the broker's name in the result")
	out := flag.String("out", "", "write the result here (JSON)")
	compare := flag.Bool("compare", false, "print the two result files given as arguments side by side")
	flag.Parse()
	var err error
	if *compare {
		err = printComparison(flag.Args())
	} else {
		err = run(*addr, *pkiDir, *n, *duration, *shadowMode, *pid, *name, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(addr, pkiDir string, n int, duration time.Duration, shadowMode bool, pid int, name, out string) error {
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("-addr %s: loopback only (127.0.0.1:PORT)", addr)
	}
	if n < 1 || n > 5000 || duration <= 0 || duration > 10*time.Minute {
		return errors.New("-n 1..5000 and -duration up to 10m")
	}
	ca, err := pki.LoadCA(filepath.Join(pkiDir, pki.CACertFile), filepath.Join(pkiDir, pki.CAKeyFile))
	if err != nil {
		return err
	}
	roots, err := pki.LoadCAPool(filepath.Join(pkiDir, pki.CACertFile))
	if err != nil {
		return err
	}
	devices, err := connectAll(addr, ca, roots, n, shadowMode)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loadgen: %d devices connected to %s; reporting for %s\n", n, name, duration)
	res := Result{Broker: name, Devices: n}
	s := startSampler(pid)
	res.RSSStartMiB = s.rss()
	var wg sync.WaitGroup
	for i, d := range devices {
		wg.Add(1)
		// Phases spread over the second, as independent devices would be.
		go func() { defer wg.Done(); d.run(duration, time.Duration(i)*time.Second/time.Duration(n)) }()
	}
	wg.Wait()
	time.Sleep(2 * time.Second) // the last answers
	res.CPUPercent, res.RSSWarmMiB, res.RSSMaxMiB = s.stop(10 * time.Second)
	res.RSSEndMiB = s.rss()
	var latencies []time.Duration
	for _, d := range devices {
		res.Sent += d.sent.Load()
		d.mu.Lock()
		latencies = append(latencies, d.latencies...)
		d.mu.Unlock()
		d.client.Disconnect(100)
	}
	res.Acknowledged = int64(len(latencies))
	res.P50ms, res.P99ms = percentile(latencies, 0.50), percentile(latencies, 0.99)
	data, _ := json.MarshalIndent(res, "", "  ")
	if out != "" {
		return os.WriteFile(out, data, 0o644)
	}
	fmt.Println(string(data))
	return nil
}

// device is one connection with its own certificate.
type device struct {
	name, topic, answer string
	shadowMode          bool
	client              paho.Client
	sent                atomic.Int64
	mu                  sync.Mutex
	sentAt              map[string]time.Time // clientToken → publish time
	latencies           []time.Duration
}

func newDevice(i int, shadowMode bool) *device {
	name := fmt.Sprintf("load-%04d", i)
	d := &device{name: name, shadowMode: shadowMode, sentAt: map[string]time.Time{},
		topic: "bench/" + name, answer: "bench/" + name}
	if shadowMode {
		d.topic, d.answer = "$aws/things/"+name+"/shadow/update", "$aws/things/"+name+"/shadow/update/accepted"
	}
	return d
}

func connectAll(addr string, ca *pki.CA, roots *x509.CertPool, n int, shadowMode bool) ([]*device, error) {
	devices := make([]*device, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 16) // TLS handshakes at once
	var wg sync.WaitGroup
	for i := range devices {
		devices[i] = newDevice(i, shadowMode)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = devices[i].connect(addr, ca, roots)
		}()
	}
	wg.Wait()
	return devices, errors.Join(errs...)
}

func (d *device) connect(addr string, ca *pki.CA, roots *x509.CertPool) error {
	leaf, err := ca.Issue(pki.Spec{CommonName: d.name})
	if err != nil {
		return err
	}
	pair, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		return err
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}, RootCAs: roots, ServerName: "127.0.0.1"}
	d.client = paho.NewClient(paho.NewClientOptions().AddBroker("tls://" + addr).SetClientID(d.name).
		SetTLSConfig(conf).SetProtocolVersion(4).SetAutoReconnect(false).SetKeepAlive(60 * time.Second).
		SetConnectTimeout(30 * time.Second))
	if tok := d.client.Connect(); !tok.WaitTimeout(60*time.Second) || tok.Error() != nil {
		return fmt.Errorf("%s: connect: %v", d.name, tok.Error())
	}
	if tok := d.client.Subscribe(d.answer, 1, d.answered); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		return fmt.Errorf("%s: subscribe %s: %v", d.name, d.answer, tok.Error())
	}
	return nil
}

// run reports once a second for duration, the first after phase.
func (d *device) run(duration, phase time.Duration) {
	time.Sleep(phase)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for end := time.Now().Add(duration); time.Now().Before(end); <-tick.C {
		seq := d.sent.Add(1)
		token := fmt.Sprintf("%s-%d", d.name, seq)
		d.mu.Lock()
		d.sentAt[token] = time.Now()
		d.mu.Unlock()
		d.client.Publish(d.topic, 1, false, fmt.Sprintf(`{"state":{"reported":{"seq":%d,"temp":21.5,"uptime_s":%d}},"clientToken":%q}`, seq, seq, token))
	}
}

func (d *device) answered(_ paho.Client, m paho.Message) {
	var doc struct {
		ClientToken string `json:"clientToken"`
	}
	if json.Unmarshal(m.Payload(), &doc) != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if at, ok := d.sentAt[doc.ClientToken]; ok {
		d.latencies = append(d.latencies, time.Since(at))
		delete(d.sentAt, doc.ClientToken)
	}
}
