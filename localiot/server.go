// Package localiot is a local emulator of AWS IoT Core: an MQTT broker
// (mochi-mqtt) behind a TLS listener that requires client certificates, the
// Device Shadow service, lifecycle events and per-certificate authorization,
// as PROTOCOL.md describes AWS. It imports shadow and pki, never tui.
//
// Durability: with a data directory, every accepted shadow change is written
// to bbolt in its own transaction, which bbolt fsyncs before the answer is
// published; a crash loses no acknowledged change.
package localiot

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotwatch/iotwatch/pki"
)

// Options configures the emulator.
type Options struct {
	Listen  string    // "127.0.0.1:8883"; tests use "127.0.0.1:0"
	PKIDir  string    // holds pki.CACertFile, pki.ServerCertFile, pki.ServerKeyFile
	DataDir string    // shadows persist in DataDir/shadows.db; "" keeps them in memory
	Log     io.Writer // one line per connection event; nil discards
	// APIListen is where the HTTPS control and data planes and MQTT over
	// WebSocket (/mqtt) are served, e.g. "127.0.0.1:8443"; "" serves none.
	APIListen string
	// IAMPolicy is an IAM-style policy document (iot:* actions) applied to
	// SigV4 callers; "" lets them do everything.
	IAMPolicy string
	// Unthrottled lifts AWS's publish rate, CONNECT rate and in-flight
	// limits, for benchmarks that measure the broker itself.
	Unthrottled bool
	// SessionExpiry is how long a persistent session outlives its
	// connection (MQTT 3.1.1 clean session 0; the cap of MQTT 5's Session
	// Expiry Interval); 0 is AWS's default, 1 h. AWS lets an account raise
	// it to 7 days.
	SessionExpiry time.Duration
	// JobMinute is how long a minute of the Jobs service's timeouts lasts
	// (step and in-progress timeouts); 0 is a real minute. Tests shorten it.
	JobMinute time.Duration
	// Hooks change how devices are treated (iotwatch qualify); nil: none.
	Hooks *Hooks
}

// Server is a running emulator.
type Server struct {
	broker    *mqtt.Server
	listener  net.Listener
	done      chan struct{} // closed by Close, for the goroutines Start began
	store     store
	events    *lifecycle
	shadows   *shadowHook
	policy    *mqttPolicy
	registry  *registry
	jobs      *jobService
	files     *files // nil without Options.APIListen
	api       *api   // nil without Options.APIListen
	closeOnce sync.Once
	closeErr  error
}

// New binds the listener and opens the shadow store; Start serves.
func New(o Options) (*Server, error) {
	tlsConf, err := pki.LoadServerTLS(filepath.Join(o.PKIDir, pki.ServerCertFile),
		filepath.Join(o.PKIDir, pki.ServerKeyFile), filepath.Join(o.PKIDir, pki.CACertFile))
	if err != nil {
		return nil, err
	}
	raw, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, explainListen(o.Listen, err)
	}
	ln := o.Hooks.listen(handshakeDeadline{raw}, tlsConf)
	st, err := openStore(o.DataDir)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{listener: ln, store: st, done: make(chan struct{})}
	if err := s.setup(o, ln); err != nil {
		ln.Close()
		st.Close()
		return nil, err
	}
	if err := s.openAWS(o, tlsConf); err != nil {
		ln.Close()
		st.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) setup(o Options, ln net.Listener) error {
	logOut := o.Log
	if logOut == nil {
		logOut = io.Discard
	}
	caps := mqtt.NewDefaultServerCapabilities()
	// The packet limit leaves room for the topic and headers; limitsHook
	// holds payloads to AWS's 128 KiB.
	caps.MaximumPacketSize = maxPayload + 64*1024
	caps.MinimumProtocolVersion = 4 // MQTT 3.1.1 and 5; AWS refuses 3.1 (MQIsdp)
	// AWS sends a client at most 100 unacknowledged QoS 1 messages and
	// drops the rest until it acknowledges; it takes 100 from it likewise.
	caps.MaximumInflight, caps.ReceiveMaximum = maxInflight, maxInflight
	if o.Unthrottled {
		caps.MaximumInflight, caps.ReceiveMaximum = unthrottledInflight, unthrottledInflight
	}
	// Packets waiting for a client's write loop, which never blocks on the
	// socket (budgetConn queues the bytes): room for bursts only, past the
	// 100 QoS 1 messages a client may have in flight. mochi allocates the
	// queue per client up front (8 bytes a slot; 16,384 slots made 128 MiB
	// for 1,000 devices).
	caps.MaximumClientWritesPending = 256
	caps.TopicAliasMaximum = maxTopicAlias // mochi refuses a greater alias (DISCONNECT 0x94)
	expiry, err := sessionExpiry(o.SessionExpiry)
	if err != nil {
		return err
	}
	caps.MaximumSessionExpiryInterval = expiry
	s.broker = mqtt.New(&mqtt.Options{InlineClient: true, Capabilities: caps,
		// One MQTT packet per write, so per TLS record, as AWS and
		// mosquitto send them: coreMQTT (under esp-aws-iot) reads one
		// packet per receive call and a second packet in the same record
		// waits in mbedTLS until its receive timeout. mochi packs queued
		// packets up to this size (0 means its default, 2 KiB).
		ClientNetWriteBufferSize: 1,
		// Each client's read buffer, over the TLS connection's own: the
		// fixed header is read a byte at a time, the rest of a packet in one
		// read that bypasses a buffer smaller than it.
		ClientNetReadBufferSize: 512,
		Logger:                  slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.events = newLifecycle(s.broker, logOut)
	s.shadows = &shadowHook{broker: s.broker, store: s.store}
	s.policy = &mqttPolicy{}
	// Authorization before the limits: a CONNECT the policy refuses does not
	// count against the CONNECT rate of its client id.
	hooks := append(o.Hooks.mqttHooks(), newPacketIDHook(), &authHook{events: s.events, broker: s.broker, policy: s.policy},
		newLimitsHook(s.events, s.broker, o.Unthrottled), s.shadows, &jobsHook{srv: s}, &lifecycleHook{events: s.events}, s.policy)
	for _, h := range hooks {
		if err := s.broker.AddHook(h, nil); err != nil {
			return err
		}
	}
	return s.broker.AddListener(listeners.NewNet("tls", retryingListener{ln, s.events.logf}))
}

// connectWithin bounds the TLS handshake and the CONNECT packet; mochi
// sets keep-alive deadlines after that. Without it a client that opens a
// connection and goes silent would hold a goroutine, and Close, forever.
const connectWithin = 10 * time.Second

// handshakeDeadline puts each accepted connection under a write budget and
// the connectWithin deadline.
type handshakeDeadline struct{ net.Listener }

func (l handshakeDeadline) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return conn, err
	}
	b := newBudgetConn(conn)
	b.SetDeadline(time.Now().Add(connectWithin))
	return b, nil
}

func explainListen(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("cannot listen on %s: address in use; is another iotwatch serve running? choose another with --listen", addr)
	}
	return fmt.Errorf("cannot listen on %s: %w", addr, err)
}

// Start serves in the background.
func (s *Server) Start() error {
	go disconnectRevoked(s.registry, s.policy, s.events, s.done)
	if s.api != nil {
		s.api.start()
	}
	go s.jobs.run()
	return s.broker.Serve()
}

// drainClients stops accepting and disconnects every client before the
// broker closes: mochi's Close lists a listener's clients under a read lock
// taken twice, which deadlocks when a client's removal (a write lock) comes
// between the two (a test hung 14 minutes on it).
func (s *Server) drainClients() {
	s.listener.Close()
	for _, cl := range s.broker.Clients.GetAll() {
		if !cl.Net.Inline {
			s.broker.DisconnectClient(cl, packets.ErrServerShuttingDown)
		}
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !s.hasNetClients() {
			return
		}
	}
}

func (s *Server) hasNetClients() bool {
	for _, cl := range s.broker.Clients.GetAll() {
		if !cl.Net.Inline && !cl.Closed() {
			return true
		}
	}
	return false
}

// Addr is the address actually bound.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Close stops the broker and closes the store; it may be called again.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.api != nil {
			s.api.close()
		}
		s.events.shutdown()
		s.jobs.close()
		if s.files != nil {
			s.files.close()
		}
		s.drainClients()
		s.broker.Close()
		s.closeErr = s.store.Close()
	})
	return s.closeErr
}

// Kick disconnects a client as the server (fault injection); false when no
// such client is connected.
func (s *Server) Kick(clientID string) bool {
	cl, ok := s.broker.Clients.Get(clientID)
	if !ok || cl.Closed() {
		return false
	}
	s.broker.DisconnectClient(cl, packets.ErrAdministrativeAction)
	return true
}
