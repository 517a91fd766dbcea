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
	"strings"
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
	Rate         int     `json:"rate"` // reports per second per device
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

// load is what one run does.
type load struct {
	addr, pkiDir, name, out string
	devices, rate, pad      int
	duration                time.Duration
	shadowMode              bool
	shared                  bool // every device presents the monitor certificate
	pid                     int
}

func main() {
	var l load
	flag.StringVar(&l.addr, "addr", "127.0.0.1:8883", "broker address (loopback)")
	flag.StringVar(&l.pkiDir, "pki", "", "directory from 'iotwatch certs init' (ca.pem, ca.key)")
	flag.IntVar(&l.devices, "n", 1000, "device connections (at most 5000)")
	flag.IntVar(&l.rate, "rate", 1, "reports per second per device (at most 100, AWS's limit)")
	flag.IntVar(&l.pad, "pad", 0, "bytes of padding in each report (at most 7000: shadow state stays under 8 KB)")
	flag.DurationVar(&l.duration, "duration", 60*time.Second, "how long each device reports (at most 10m)")
	flag.BoolVar(&l.shadowMode, "shadow", true, "report as shadow updates (iotwatch serve); false: publish and receive back (a plain broker)")
	flag.BoolVar(&l.shared, "shared", false, "every device presents the lab's monitor certificate (serve accepts only the certificates in its registry); default: one issued per device")
	flag.IntVar(&l.pid, "pid", 0, "the broker's process id, for RSS and CPU")
	flag.StringVar(&l.name, "name", "broker", "the broker's name in the result")
	flag.StringVar(&l.out, "out", "", "write the result here (JSON)")
	compare := flag.Bool("compare", false, "print the two result files given as arguments side by side")
	flag.Parse()
	var err error
	if *compare {
		err = printComparison(flag.Args())
	} else {
		err = l.run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func (l load) run() error {
	if host, _, err := net.SplitHostPort(l.addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("-addr %s: loopback only (127.0.0.1:PORT)", l.addr)
	}
	if l.devices < 1 || l.devices > 5000 || l.rate < 1 || l.rate > 100 || l.pad < 0 || l.pad > 7000 ||
		l.duration <= 0 || l.duration > 10*time.Minute {
		return errors.New("-n 1..5000, -rate 1..100, -pad 0..7000 and -duration up to 10m")
	}
	ca, err := pki.LoadCA(filepath.Join(l.pkiDir, pki.CACertFile), filepath.Join(l.pkiDir, pki.CAKeyFile))
	if err != nil {
		return err
	}
	roots, err := pki.LoadCAPool(filepath.Join(l.pkiDir, pki.CACertFile))
	if err != nil {
		return err
	}
	certFor := func(name string) (tls.Certificate, error) {
		leaf, err := ca.Issue(pki.Spec{CommonName: name})
		if err != nil {
			return tls.Certificate{}, err
		}
		return tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	}
	if l.shared {
		pair, err := tls.LoadX509KeyPair(filepath.Join(l.pkiDir, pki.MonitorCertFile), filepath.Join(l.pkiDir, pki.MonitorKeyFile))
		if err != nil {
			return err
		}
		certFor = func(string) (tls.Certificate, error) { return pair, nil }
	}
	devices, err := connectAll(l.addr, certFor, roots, l.devices, l.shadowMode)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loadgen: %d devices connected to %s; each reporting %d/s for %s\n", l.devices, l.name, l.rate, l.duration)
	res := Result{Broker: l.name, Devices: l.devices, Rate: l.rate}
	s := startSampler(l.pid)
	res.RSSStartMiB = s.rss()
	var wg sync.WaitGroup
	for i, d := range devices {
		wg.Add(1)
		// Phases spread over the interval, as independent devices would be.
		interval := time.Second / time.Duration(l.rate)
		go func() {
			defer wg.Done()
			d.run(l.duration, interval, interval*time.Duration(i)/time.Duration(l.devices), l.pad)
		}()
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
	if l.out != "" {
		return os.WriteFile(l.out, data, 0o644)
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

func connectAll(addr string, certFor func(string) (tls.Certificate, error), roots *x509.CertPool, n int, shadowMode bool) ([]*device, error) {
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
			errs[i] = devices[i].connect(addr, certFor, roots)
		}()
	}
	wg.Wait()
	return devices, errors.Join(errs...)
}

func (d *device) connect(addr string, certFor func(string) (tls.Certificate, error), roots *x509.CertPool) error {
	pair, err := certFor(d.name)
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

// run reports every interval for duration, the first after phase; pad
// bytes of padding make a report larger.
func (d *device) run(duration, interval, phase time.Duration, pad int) {
	time.Sleep(phase)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	padding := strings.Repeat("x", pad)
	for end := time.Now().Add(duration); time.Now().Before(end); <-tick.C {
		seq := d.sent.Add(1)
		token := fmt.Sprintf("%s-%d", d.name, seq)
		d.mu.Lock()
		d.sentAt[token] = time.Now()
		d.mu.Unlock()
		d.client.Publish(d.topic, 1, false, fmt.Sprintf(`{"state":{"reported":{"seq":%d,"temp":21.5,"pad":%q}},"clientToken":%q}`, seq, padding, token))
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
