package localiot

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotwatch/iotwatch/pki"
)

const thing = "esp32-test"

// lab is a PKI plus a running emulator.
type lab struct {
	dir      string
	srv      *Server
	log      *syncBuffer
	recorder *recorder // nil: the AWS SDK clients' answers are not kept
}

func newLab(t testing.TB, dataDir string) *lab {
	t.Helper()
	dir := t.TempDir()
	if err := pki.Init(dir, pki.InitOptions{Thing: thing}); err != nil {
		t.Fatal(err)
	}
	l := &lab{dir: dir, log: &syncBuffer{}}
	l.start(t, "127.0.0.1:0", dataDir)
	return l
}

func (l *lab) start(t testing.TB, addr, dataDir string, tune ...func(*Options)) {
	t.Helper()
	_, bench := t.(*testing.B) // benchmarks measure the broker, past AWS's rate limits
	o := Options{Listen: addr, PKIDir: l.dir, DataDir: dataDir, Log: l.log, Unthrottled: bench}
	for _, f := range tune {
		f(&o)
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	l.srv = srv
	t.Cleanup(func() { srv.Close() })
}

func (l *lab) tlsFor(t testing.TB, role string) *tls.Config {
	t.Helper()
	conf, err := pki.LoadClientTLS(filepath.Join(l.dir, role+".pem"), filepath.Join(l.dir, role+".key"),
		filepath.Join(l.dir, pki.CACertFile), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

// client is a connected paho client that records every message it receives.
type client struct {
	paho.Client
	inbox *inbox
	lost  chan error
}

func (l *lab) connect(t testing.TB, role, clientID string) (*client, error) {
	t.Helper()
	return l.connectTLS(t, l.tlsFor(t, role), clientID)
}

func (l *lab) connectTLS(t testing.TB, conf *tls.Config, clientID string) (*client, error) {
	t.Helper()
	c := &client{inbox: &inbox{}, lost: make(chan error, 1)}
	opts := paho.NewClientOptions().AddBroker("tls://" + l.srv.Addr()).SetClientID(clientID).
		SetTLSConfig(conf).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { c.inbox.add(m.Topic(), m.Payload()) }).
		SetConnectionLostHandler(func(_ paho.Client, err error) { c.lost <- err })
	c.Client = paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(15 * time.Second) {
		return nil, errTimeout
	}
	if tok.Error() != nil {
		return nil, tok.Error()
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, nil
}

func (l *lab) mustConnect(t testing.TB, role, clientID string) *client {
	t.Helper()
	c, err := l.connect(t, role, clientID)
	if err != nil {
		t.Fatalf("%s as %s: %v", role, clientID, err)
	}
	return c
}

type timeoutError struct{}

func (timeoutError) Error() string { return "timed out" }

var errTimeout = timeoutError{}

// subscribe subscribes at QoS 1 and returns the SUBACK code per filter.
func (c *client) subscribe(t testing.TB, filters ...string) map[string]byte {
	t.Helper()
	want := map[string]byte{}
	for _, f := range filters {
		want[f] = 1
	}
	tok := c.SubscribeMultiple(want, nil)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %v: %v", filters, tok.Error())
	}
	return tok.(*paho.SubscribeToken).Result()
}

func (c *client) publish(t testing.TB, topic, payload string) {
	t.Helper()
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

type message struct {
	topic   string
	payload []byte
}

type inbox struct {
	mu   sync.Mutex
	msgs []message
}

func (b *inbox) add(topic string, payload []byte) {
	b.mu.Lock()
	b.msgs = append(b.msgs, message{topic, append([]byte(nil), payload...)})
	b.mu.Unlock()
}

// waitFor returns the first message on topic (from index 0) whose payload
// satisfies match, waiting up to 10 s.
func (b *inbox) waitFor(t testing.TB, topic string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		for _, m := range b.msgs {
			var doc map[string]any
			if m.topic == topic && json.Unmarshal(m.payload, &doc) == nil && (match == nil || match(doc)) {
				b.mu.Unlock()
				return doc
			}
		}
		b.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var seen []string
	for _, m := range b.msgs {
		seen = append(seen, m.topic+" "+string(m.payload))
	}
	t.Fatalf("no message on %s; received:\n%s", topic, strings.Join(seen, "\n"))
	return nil
}

func token(tok string) func(map[string]any) bool {
	return func(d map[string]any) bool { return d["clientToken"] == tok }
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func withLeaf(conf *tls.Config, leaf *pki.Leaf) *tls.Config {
	out := conf.Clone()
	pair, _ := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	out.Certificates = []tls.Certificate{pair}
	return out
}

// issue writes a device certificate for thing into the lab directory and
// returns the role name to pass to tlsFor or mosquitto.
func (l *lab) issue(t testing.TB, thing string) string {
	t.Helper()
	ca, err := pki.LoadCA(filepath.Join(l.dir, pki.CACertFile), filepath.Join(l.dir, pki.CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(pki.Spec{CommonName: thing})
	if err != nil {
		t.Fatal(err)
	}
	l.registerLeaf(t, leaf) // registered ACTIVE with the device policy, as certs init's device certificate
	role := "thing-" + thing
	if err := pki.WriteFile(filepath.Join(l.dir, role+".pem"), leaf.CertPEM, false); err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteFile(filepath.Join(l.dir, role+".key"), leaf.KeyPEM, true); err != nil {
		t.Fatal(err)
	}
	return role
}

// mosquitto prepares Debian's mosquitto_pub or mosquitto_sub (tool) with
// role's certificate against the lab, speaking version (mqttv311, mqttv5).
func (l *lab) mosquitto(t testing.TB, tool, role, version string, args ...string) *exec.Cmd {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s not found: `make deps` installs Debian's mosquitto-clients", tool)
	}
	host, port, _ := net.SplitHostPort(l.srv.Addr())
	p := func(n string) string { return filepath.Join(l.dir, n) }
	base := []string{"-V", version, "-h", host, "-p", port, "--cafile", p(pki.CACertFile),
		"--cert", p(role + ".pem"), "--key", p(role + ".key")}
	return exec.Command(path, append(base, args...)...)
}

// waitLog waits up to 10 s for the emulator's log to contain one of lines
// and returns the one it found.
func (l *lab) waitLog(t testing.TB, lines ...string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		log := l.log.String()
		for _, line := range lines {
			if strings.Contains(log, line) {
				return line
			}
		}
	}
	t.Fatalf("the log has none of %q:\n%s", lines, l.log.String())
	return ""
}

// matching counts the messages on topic whose payload satisfies match.
func (b *inbox) matching(topic string, match func(map[string]any) bool) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, m := range b.msgs {
		var doc map[string]any
		if m.topic == topic && json.Unmarshal(m.payload, &doc) == nil && match(doc) {
			n++
		}
	}
	return n
}

// waitConnectRate waits out AWS's limit of one CONNECT per second per
// client id before a test connects with the same id again.
func waitConnectRate() { time.Sleep(time.Second / connectsPerSecond) }
