package qualify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/pki"
)

const testThing = "qualify-dev"

// newLab makes a lab PKI with certs init's files.
func newLab(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := pki.Init(dir, pki.InitOptions{Thing: testThing}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// qualifyDevice runs the named cases against the device mk makes once the
// server is up, and returns the results by case.
func qualifyDevice(t *testing.T, dir string, names []string, timeout time.Duration, mk func(addr string) *testDevice) map[string]Result {
	t.Helper()
	cases, err := Select(names, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	rep, err := Run(ctx, Options{PKIDir: dir, Listen: "127.0.0.1:0", Thing: testThing, Cases: cases, Timeout: timeout,
		Ready: func(addr string) {
			d := mk(addr)
			wg.Go(func() { d.run(ctx) })
		}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Result{}
	for _, r := range rep.Results {
		out[r.Case] = r
		t.Logf("%s: %s: %s", r.Case, r.Verdict, r.Reason)
	}
	return out
}

// TestQualifyGoodDevicePassesEveryCase: a device doing everything right
// passes every case (the cipher suites and the lab's policy warn: Go
// offers ChaCha20 suites AWS IoT does not list, and certs init's device
// policy uses wildcards below its thing). One device goes through the
// backoff cases, another through the rest, each in order as a user's run.
func TestQualifyGoodDevicePassesEveryCase(t *testing.T) {
	t.Parallel()
	dir := newLab(t)
	warn := map[string]bool{"TLS_Support_AWS_IoT_Cipher_Suites": true, "Security_Device_Policies": true}
	var backoff, rest []string
	for _, name := range allNames() {
		if strings.Contains(name, "Backoff") || strings.Contains(name, "Reconnect") {
			backoff = append(backoff, name)
		} else {
			rest = append(rest, name)
		}
	}
	for part, names := range map[string][]string{"backoff": backoff, "rest": rest} {
		t.Run(part, func(t *testing.T) {
			t.Parallel()
			res := qualifyDevice(t, dir, names, 30*time.Second, func(addr string) *testDevice {
				d := goodDevice(t, dir, addr, testThing)
				d.clean = false // the persistent-session cases need a session
				return d
			})
			for _, name := range names {
				r, ok := res[name]
				want := Pass
				if warn[name] {
					want = Warn
				}
				if !ok || r.Verdict != want {
					t.Errorf("%s: %s (%s), want %s", name, r.Verdict, r.Reason, want)
					logTimeline(t, r)
				}
			}
		})
	}
}

// TestQualifyBadDevicesFail: for each case, a device with one fault fails it
// (or passes with a warning) for the stated reason.
func TestQualifyBadDevicesFail(t *testing.T) {
	t.Parallel()
	dir := newLab(t)
	ca := mustPool(t, filepath.Join(dir, pki.CACertFile))
	tests := []struct {
		name   string
		cases  string
		bad    func(d *testDevice)
		want   Verdict
		reason string
	}{
		{"trusts another CA", "TLS_Connect", func(d *testDevice) { d.tls.RootCAs = x509.NewCertPool() }, Fail, "handshake failed"},
		{"offers only ChaCha20 over TLS 1.2", "TLS_Support_AWS_IoT_Cipher_Suites", func(d *testDevice) {
			d.tls.MaxVersion, d.tls.CipherSuites = tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
		}, Fail, "none of AWS IoT's cipher suites"},
		{"skips verification", "TLS_Unsecure_Server_Cert", func(d *testDevice) { d.tls.InsecureSkipVerify = true }, Fail, "impostor"},
		{"ignores the server name", "TLS_Incorrect_Subject_Name_Server_Cert", func(d *testDevice) {
			d.tls.InsecureSkipVerify, d.tls.VerifyConnection = true, verifyChainOnly(ca)
		}, Fail, "names another host"},
		{"accepts an expired certificate", "TLS_Expired_Server_Cert", func(d *testDevice) {
			d.tls.InsecureSkipVerify, d.tls.VerifyConnection = true, verifyIgnoringExpiry(ca)
		}, Fail, "has expired"},
		{"has a 4 KiB TLS buffer", "TLS_Large_Size_Server_Cert", func(d *testDevice) {
			d.tls.VerifyConnection = func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates[0].Raw) > 4096 {
					return errTooLarge
				}
				return nil
			}
		}, Fail, "large server certificate"},
		{"drops messages over 4 KiB", "TLS_Receive_Maximum_Size_Fragments", func(d *testDevice) { d.maxMessage = 4096 }, Fail, "without a PUBACK"},
		{"never sends CONNECT", "MQTT_Connect", func(d *testDevice) { d.noConnect = true }, Fail, "never sent CONNECT"},
		{"retries at a constant delay", "MQTT_Connect_Jitter_Backoff_Retries", func(d *testDevice) { d.backoff = constantBackoff(600 * time.Millisecond) }, Fail, "constant backoff"},
		{"reconnects at once", "MQTT_Connect_Jitter_Backoff_Retries", func(d *testDevice) { d.backoff = constantBackoff(0) }, Fail, "immediate backoff"},
		{"backs off exponentially without jitter", "MQTT_Connect_Jitter_Backoff_Retries", func(d *testDevice) {
			d.backoff, d.stableAfter = exponentialBackoff(400*time.Millisecond, 3200*time.Millisecond), 0
		}, Warn, "exponential backoff without jitter"},
		{"backs off linearly", "MQTT_Connect_Exponential_Backoff_Retries", func(d *testDevice) {
			d.backoff = func(a int) time.Duration { return time.Duration(a) * 500 * time.Millisecond }
		}, Fail, "linear backoff"},
		{"reconnects at once after a disconnect", "MQTT_ReconnectionAfterSuccessfulConnection", func(d *testDevice) { d.backoff = constantBackoff(0) }, Fail, "immediate backoff"},
		{"reconnects at a constant delay", "MQTT_Reconnect_Backoff_Retries_On_Server_Disconnect", func(d *testDevice) { d.backoff = constantBackoff(600 * time.Millisecond) }, Fail, "constant backoff"},
		{"never publishes", "MQTT_Publish", func(d *testDevice) { d.reportEvery = time.Hour }, Fail, "never sent a PUBLISH"},
		{"never acknowledges", "MQTT_Client_Puback_QoS1", func(d *testDevice) { d.noPuback = true }, Fail, "never acknowledged"},
		{"never retries a publish", "MQTT_Publish_Retry_No_Puback", func(d *testDevice) { d.pubackWait = 0 }, Fail, "never retried"},
		{"retries with a new packet id", "MQTT_Publish_Retry_No_Puback", func(d *testDevice) { d.newIDOnRetry = true }, Fail, "new packet id"},
		{"publishes at QoS 0", "MQTT_Publish_Retry_No_Puback", func(d *testDevice) { d.qos0 = true }, Fail, "QoS 0 only"},
		{"never subscribes", "MQTT_Subscribe", func(d *testDevice) { d.noSubscribe = true }, Fail, "never sent a SUBSCRIBE"},
		{"never retries a subscribe", "MQTT_Subscribe_Retry_No_Suback", func(d *testDevice) { d.subackWait = 0 }, Fail, "never retried the SUBSCRIBE"},
		{"ignores a missing PINGRESP", "MQTT_No_Ack_PingResp", func(d *testDevice) { d.pingWait = 0 }, Fail, "stayed connected"},
		{"uses a clean session", "MQTT_Persistent_Session_Happy_Case", func(d *testDevice) { d.clean = true }, Fail, "CleanSession=1"},
		{"trusts an expired session", "MQTT_Expired_Persistent_Session", func(d *testDevice) { d.noResubscribe = true }, Fail, "never subscribed"},
		{"never reports", "Shadow_Publish_Reported_State", func(d *testDevice) { d.reportEvery = time.Hour }, Fail, "never sent a reported state"},
		{"ignores desired", "Shadow_Update_Reported_State", func(d *testDevice) { d.ignoreDesired = true }, Fail, "never reported the desired state"},
		{"is well-behaved", "MQTT_Long_Duration", func(*testDevice) {}, Pass, "disconnects and the outage"}, // 3 kicks; a loaded machine may fit only 2 into the 20 s
		{"reconnects at once over a long run", "MQTT_Long_Duration", func(d *testDevice) { d.backoff = constantBackoff(0) }, Fail, "reconnected at once"},
		{"leaks heap at every connection", "MQTT_Long_Duration", func(d *testDevice) { d.heapLeak = true }, Warn, "free heap fell with every reconnection"},
		{"holds the monitor's certificate", "Security_Device_Policies", func(d *testDevice) {
			pair, err := tls.LoadX509KeyPair(filepath.Join(dir, pki.MonitorCertFile), filepath.Join(dir, pki.MonitorKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			d.tls.Certificates = []tls.Certificate{pair}
		}, Fail, "beyond its own thing"},
	}
	// Ten at a time (each its own server): most wait, on their device's
	// backoff or for the time a case gives a device that never acts; more
	// at once, under the race detector on two cores, and the server's
	// clock of a device's waits drifts by a third of a second.
	results := make([]Result, len(tests))
	var wg sync.WaitGroup
	slots := make(chan struct{}, 10)
	for i, tc := range tests {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			timeout := 6 * time.Second
			switch {
			case strings.Contains(tc.cases, "Backoff") || strings.Contains(tc.cases, "Reconnect"):
				timeout = 40 * time.Second
			case strings.Contains(tc.cases, "Long"):
				timeout = 20 * time.Second
			case strings.Contains(tc.cases, "PingResp"):
				timeout = 10 * time.Second
			}
			res := qualifyDevice(t, dir, []string{tc.cases}, timeout, func(addr string) *testDevice {
				d := goodDevice(t, dir, addr, testThing)
				d.clean = false
				tc.bad(d)
				return d
			})
			results[i] = res[tc.cases]
		})
	}
	wg.Wait()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := results[i]
			if r.Verdict != tc.want || !strings.Contains(r.Reason, tc.reason) {
				t.Errorf("%s: %s (%s), want %s with %q", tc.cases, r.Verdict, r.Reason, tc.want, tc.reason)
				logTimeline(t, r)
			}
		})
	}
}

// logTimeline shows what a case saw, for a failure's diagnosis.
func logTimeline(t *testing.T, r Result) {
	for _, e := range r.Timeline {
		t.Logf("  %8.3f #%d %s", e.At.Sub(r.Started).Seconds(), e.Conn, describe(e))
	}
}

var errTooLarge = errorString("certificate larger than the device's 4 KiB TLS buffer")

type errorString string

func (e errorString) Error() string { return string(e) }

func mustPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool
}

// verifyIgnoringExpiry checks chain and name at the certificate's own
// last valid moment: the mistake of a device without a clock.
func verifyIgnoringExpiry(roots *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		leaf := cs.PeerCertificates[0]
		_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost", CurrentTime: leaf.NotAfter.Add(-time.Minute)})
		return err
	}
}
