package localiot

import (
	"context"
	"crypto/tls"
	"fmt"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotwatch/iotwatch/pki"
)

// persistPolicy lets a client subscribe to lab/p/+ but receive only
// lab/p/ok, so that the messages queued for an absent client show the
// iot:Receive check still applies to them.
const persistPolicy = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":["iot:Connect","iot:Subscribe"],"Resource":"*"},
 {"Effect":"Allow","Action":"iot:Receive","Resource":"arn:aws:iot:*:*:topic/lab/p/ok"}]}`

// sessionClient is one MQTT version's persistent-session client.
type sessionClient interface {
	// connect opens a connection resuming the session (a new one the
	// first time) and reports whether the broker said it was present.
	connect(t *testing.T) (present bool)
	subscribe(t *testing.T, filter string)
	disconnect()
	clientID() string
}

// TestPersistentSessionKeepsMessages: a client with a persistent session
// (MQTT 3.1.1 cleanSession=0; MQTT 5 Clean Start 0 with a Session Expiry of
// an hour) that disconnects gets on reconnecting the QoS 1 messages
// published meanwhile on what it may receive, and none of the others.
func TestPersistentSessionKeepsMessages(t *testing.T) {
	l := newLab(t, "")
	reg := l.srv.registry
	keys, _ := reg.CreateKeysAndCertificate(true)
	reg.CreatePolicy("persist", persistPolicy)
	reg.AttachPolicy("persist", keys.Cert.ARN)
	conf := withLeaf(l.tlsFor(t, "monitor"), &pki.Leaf{CertPEM: []byte(keys.Cert.PEM), KeyPEM: []byte(keys.PrivateKey)})
	mon := l.mustConnect(t, "monitor", "iotwatch-mon")
	for _, v := range []struct {
		name   string
		client func(in *inbox) sessionClient
	}{
		{"MQTT 3.1.1", func(in *inbox) sessionClient {
			return &session3{addr: l.srv.Addr(), conf: conf, id: "persist-3", in: in}
		}},
		{"MQTT 5", func(in *inbox) sessionClient {
			return &session5{addr: l.srv.Addr(), conf: conf, id: "persist-5", in: in}
		}},
	} {
		t.Run(v.name, func(t *testing.T) {
			in := &inbox{}
			c := v.client(in)
			if c.connect(t) {
				t.Fatal("a new session was said to be present")
			}
			c.subscribe(t, "lab/p/+")
			c.disconnect()
			l.waitLogLine(t, "disconnected client="+c.clientID()+" ")
			for i := range 3 {
				mon.publish(t, "lab/p/ok", fmt.Sprintf(`{"n":%d}`, i))
				mon.publish(t, "lab/p/no", fmt.Sprintf(`{"n":%d}`, i))
			}
			waitConnectRate()
			if !c.connect(t) {
				t.Fatal("the session was not present on reconnecting")
			}
			defer c.disconnect()
			for i := range 3 {
				in.waitFor(t, "lab/p/ok", func(m map[string]any) bool { return m["n"] == float64(i) })
			}
			mon.publish(t, "lab/p/ok", `{"n":"marker"}`) // sent after the others, delivered after
			in.waitFor(t, "lab/p/ok", func(m map[string]any) bool { return m["n"] == "marker" })
			if n := in.count("lab/p/no"); n != 0 {
				t.Errorf("%d messages on lab/p/no delivered without iot:Receive", n)
			}
		})
	}
}

// TestSessionPolicyStateForgotten: the policy state of a session goes with
// it: at a clean disconnect, when a persistent session is taken over by a
// new connection, and when it expires.
func TestSessionPolicyStateForgotten(t *testing.T) {
	l := newLab(t, "")
	held := func() int {
		n := 0
		l.srv.policy.conns.Range(func(_, _ any) bool { n++; return true })
		return n
	}
	waitHeld := func(want int, what string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); held() != want; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: policy state held for %d sessions, want %d", what, held(), want)
			}
		}
	}
	c := l.mustConnect(t, "monitor", "clean")
	waitHeld(1, "connected")
	c.Disconnect(0)
	waitHeld(0, "after a clean session's disconnect")

	s := &session5{addr: l.srv.Addr(), conf: l.tlsFor(t, "monitor"), id: "brief", in: &inbox{}, expiry: 1}
	s.connect(t)
	s.disconnect()
	waitHeld(1, "a persistent session while away")
	waitConnectRate()
	s.connect(t) // takes the session over: the old connection's state goes
	waitHeld(1, "a persistent session resumed")
	s.disconnect()
	waitHeld(1, "a persistent session away again")
	waitHeld(0, "after the session expired") // mochi checks expiries every second
}

type session3 struct {
	addr string
	conf *tls.Config
	id   string
	in   *inbox
	c    paho.Client
}

func (s *session3) clientID() string { return s.id }

func (s *session3) connect(t *testing.T) bool {
	opts := paho.NewClientOptions().AddBroker("tls://" + s.addr).SetClientID(s.id).SetTLSConfig(s.conf).
		SetCleanSession(false).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { s.in.add(m.Topic(), m.Payload()) })
	s.c = paho.NewClient(opts)
	tok := s.c.Connect()
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", s.id, tok.Error())
	}
	return tok.(*paho.ConnectToken).SessionPresent()
}

func (s *session3) subscribe(t *testing.T, filter string) {
	tok := s.c.Subscribe(filter, 1, nil)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
}

func (s *session3) disconnect() { s.c.Disconnect(0) }

type session5 struct {
	addr   string
	conf   *tls.Config
	id     string
	in     *inbox
	expiry uint32 // seconds; 0: an hour
	c      *paho5.Client
}

func (s *session5) clientID() string { return s.id }

func (s *session5) connect(t *testing.T) bool {
	conn, err := tls.Dial("tcp", s.addr, s.conf)
	if err != nil {
		t.Fatal(err)
	}
	s.c = paho5.NewClient(paho5.ClientConfig{ClientID: s.id, Conn: conn,
		OnPublishReceived: []func(paho5.PublishReceived) (bool, error){func(r paho5.PublishReceived) (bool, error) {
			s.in.add(r.Packet.Topic, r.Packet.Payload)
			return true, nil
		}}})
	expiry := s.expiry
	if expiry == 0 {
		expiry = 3600
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := s.c.Connect(ctx, &paho5.Connect{ClientID: s.id, KeepAlive: 30, CleanStart: false,
		Properties: &paho5.ConnectProperties{SessionExpiryInterval: &expiry}})
	if err != nil {
		t.Fatalf("connect %s: %v", s.id, err)
	}
	return ack.SessionPresent
}

func (s *session5) subscribe(t *testing.T, filter string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.c.Subscribe(ctx, &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: filter, QoS: 1}}}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
}

func (s *session5) disconnect() { s.c.Disconnect(&paho5.Disconnect{}) }
