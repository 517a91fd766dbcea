package qualify

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotwatch/iotwatch/localiot"
)

// keptPayload bounds the payload bytes an event keeps (enough for a
// shadow report; sizes are always recorded).
const keptPayload = 16 << 10

// setupToken is the clientToken Device Advisor sets desired with.
const setupToken = "DeviceAdvisorShadowTestCaseSetup"

// recorder is the server side of a run: it writes the running case's
// timeline and plays its Plan, as a mochi hook and through the listener.
type recorder struct {
	mqtt.HookBase
	srv     *localiot.Server
	certs   map[certKind]tls.Certificate
	params  Params
	desired []byte // the update that sets Params.Desired

	mu        sync.Mutex
	gen       int // counts cases: actions scheduled in one never run in the next
	plan      Plan
	tl        Timeline
	deadline  time.Time
	kickGap   time.Duration
	next      int
	first     int // the running case's first connection: earlier ones belong to earlier cases
	ids       map[net.Conn]int
	open      map[int]net.Conn // raw connections, closed at the end of a case if held
	held      map[int]bool     // connections whose CONNACK is withheld
	serverEnd map[int]bool     // connections the server ends
	peer      *x509.Certificate
	n         counters
	outage    bool // MQTT_Long_Duration's outage: CONNECTs closed unanswered
	stopping  bool // the run is over: every CONNECT is refused
	changed   chan struct{}
}

// counters are what a case's plan has done so far.
type counters struct {
	connects, answered, kicks, pubacks, subacks int
	triggered, desired, sessionKicked, expired  bool
}

func newRecorder(certs map[certKind]tls.Certificate, p Params) *recorder {
	desired, _ := json.Marshal(map[string]any{"state": map[string]any{"desired": p.Desired}, "clientToken": setupToken})
	return &recorder{certs: certs, params: p, desired: desired, ids: map[net.Conn]int{}, open: map[int]net.Conn{},
		held: map[int]bool{}, serverEnd: map[int]bool{}, changed: make(chan struct{}, 1)}
}

func (r *recorder) ID() string { return "iotwatch-qualify" }

func (r *recorder) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnect, mqtt.OnPacketRead, mqtt.OnPacketSent, mqtt.OnDisconnect}, []byte{b})
}

// begin starts a case: a new timeline and plan. The device's connections
// are closed, so that it comes back to the case's server (with its
// certificate, from its first packet); what they do until then is not the
// case's.
func (r *recorder) begin(plan Plan, deadline time.Time, kickGap time.Duration) {
	r.mu.Lock()
	r.gen++
	r.plan, r.tl, r.deadline, r.kickGap, r.n = plan, nil, deadline, kickGap, counters{}
	r.first = r.next + 1
	r.mu.Unlock()
	r.closeAll()
}

// stopAccepting refuses every CONNECT from now on.
func (r *recorder) stopAccepting() {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
}

// closeAll closes every connection as the server.
func (r *recorder) closeAll() {
	r.mu.Lock()
	var open []net.Conn
	for id, c := range r.open {
		open = append(open, c)
		r.serverEnd[id] = true
	}
	r.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

// timeline is a copy of the running case's events.
func (r *recorder) timeline() Timeline {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.tl)
}

func (r *recorder) peerCert() *x509.Certificate {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peer
}

// add appends an event (the caller holds mu) and wakes the runner.
func (r *recorder) add(e Event) {
	if e.Conn != 0 && e.Conn < r.first {
		return
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	r.tl = append(r.tl, e)
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) record(e Event) {
	r.mu.Lock()
	r.add(e)
	r.mu.Unlock()
}

// accepted numbers a new TCP connection.
func (r *recorder) accepted(c net.Conn) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	r.open[r.next] = c
	r.add(Event{Conn: r.next, Kind: Accepted, Detail: c.RemoteAddr().String()})
	return r.next
}

func (r *recorder) certificate() tls.Certificate {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.certs[r.plan.Cert]
}

func (r *recorder) hello(id int, h *tls.ClientHelloInfo) {
	r.record(Event{Conn: id, Kind: Hello, Suites: slices.Clone(h.CipherSuites), SNI: h.ServerName})
}

func (r *recorder) handshakeFailed(id int, err error, alert, byDevice bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.open, id)
	r.add(Event{Conn: id, Kind: TLSFail, Alert: alert, ByDevice: byDevice, Detail: err.Error()})
}

func (r *recorder) handshakeDone(id int, tc *tls.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids[tc] = id
	st := tc.ConnectionState()
	if len(st.PeerCertificates) > 0 {
		r.peer = st.PeerCertificates[0]
	}
	r.add(Event{Conn: id, Kind: TLSDone, Detail: tls.VersionName(st.Version) + " " + tls.CipherSuiteName(st.CipherSuite)})
}

func (r *recorder) idOf(cl *mqtt.Client) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[cl.Net.Conn]
}

// OnConnect records the CONNECT and, while the plan withholds CONNACKs,
// holds the connection unanswered until the device gives up on it.
func (r *recorder) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	id := r.idOf(cl)
	r.mu.Lock()
	if id < r.first || r.stopping {
		r.mu.Unlock()
		return packets.ErrServerShuttingDown // a connection of an earlier case, or the run is over
	}
	r.add(Event{Conn: id, Kind: Received, Packet: "CONNECT", ClientID: pk.Connect.ClientIdentifier,
		Clean: pk.Connect.Clean, KeepAlive: pk.Connect.Keepalive})
	p, n := r.plan, r.n.connects
	r.n.connects++
	if r.refuseInOutage(cl, id) {
		r.add(Event{Conn: id, Kind: Closed, Detail: "closed by the server without a CONNACK"})
		r.mu.Unlock()
		return packets.ErrServerUnavailable
	}
	if p.Expire && r.n.sessionKicked && !r.n.expired {
		r.n.expired = true
		r.expireSession(cl.ID)
		r.add(Event{Conn: id, Kind: Note, Detail: "session expired: the server discarded the device's subscriptions"})
	}
	withhold := p.WithholdConnacks > 0 && n/(p.WithholdConnacks+1) < p.Rounds && n%(p.WithholdConnacks+1) < p.WithholdConnacks
	deadline := r.deadline
	if withhold {
		r.add(Event{Conn: id, Kind: Withheld, Packet: "CONNECT", Detail: "CONNACK withheld"})
		r.held[id] = true
	}
	r.mu.Unlock()
	if !withhold {
		return nil
	}
	byDevice, why := waitClosed(cl.Net.Conn, deadline)
	r.mu.Lock()
	delete(r.held, id)
	if r.serverEnd[id] {
		byDevice, why = false, "the case ended"
	}
	r.add(Event{Conn: id, Kind: Closed, ByDevice: byDevice, Detail: why})
	r.mu.Unlock()
	cl.Net.Conn.Close()
	return packets.ErrNotAuthorized // mochi closes the connection without a CONNACK (MQTT 3.1.1)
}

// waitClosed reads (and drops) what the device sends until it closes the
// connection or the deadline passes.
func waitClosed(c net.Conn, deadline time.Time) (byDevice bool, why string) {
	c.SetReadDeadline(deadline)
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return false, "still open when the case ended"
			}
			return closedByDevice(err), err.Error()
		}
	}
}

func closedByDevice(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}

// OnPacketRead records each packet from the device and withholds the
// answer to those the plan says.
func (r *recorder) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Type == packets.Connect {
		return pk, nil // OnConnect records it
	}
	id := r.idOf(cl)
	e := Event{Conn: id, Kind: Received, Packet: packetName(pk.FixedHeader.Type), ID: pk.PacketID,
		QoS: pk.FixedHeader.Qos, Dup: pk.FixedHeader.Dup, Topic: pk.TopicName, Size: len(pk.Payload)}
	for _, f := range pk.Filters {
		e.Filters = append(e.Filters, f.Filter)
	}
	if len(pk.Payload) <= keptPayload {
		e.Payload = slices.Clone(pk.Payload)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if id >= r.first && r.withhold(pk, e) {
		e.Kind = Withheld
		r.add(e)
		return noop, nil
	}
	r.add(e)
	return pk, nil
}

// noop is what a withheld packet becomes: mochi ignores a PUBACK for a
// packet id it has not sent (and closes the connection on a packet a hook
// rejects, which would end the case's misbehaviour early).
var noop = packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}}

// withhold decides (mu held) whether the plan leaves pk unanswered.
func (r *recorder) withhold(pk packets.Packet, e Event) bool {
	p := r.plan
	switch t := pk.FixedHeader.Type; {
	case t == packets.Disconnect:
		return false
	case p.Silent:
		return true
	case t == packets.Publish && pk.FixedHeader.Qos == 1 && e.Topic == r.params.PublishTopic && r.n.pubacks < p.WithholdPubacks:
		r.n.pubacks++
		return true
	case t == packets.Subscribe && slices.Contains(e.Filters, r.params.SubscribeTopic) && r.n.subacks < p.WithholdSubacks:
		r.n.subacks++
		return true
	}
	return false
}

// OnPacketSent records each packet to the device and runs the plan's
// actions that follow a CONNACK or a SUBACK.
func (r *recorder) OnPacketSent(cl *mqtt.Client, pk packets.Packet, _ []byte) {
	if cl.Net.Inline {
		return
	}
	id := r.idOf(cl)
	e := Event{Conn: id, Kind: Sent, Packet: packetName(pk.FixedHeader.Type), ID: pk.PacketID, QoS: pk.FixedHeader.Qos,
		Topic: pk.TopicName, Size: len(pk.Payload), SessionPresent: pk.SessionPresent}
	r.mu.Lock()
	defer r.mu.Unlock()
	if id < r.first {
		return
	}
	r.add(e)
	switch pk.FixedHeader.Type {
	case packets.Connack:
		r.afterConnack(cl, id)
	case packets.Suback:
		if sub, ok := r.tl.conn(id).first(func(x Event) bool {
			return x.Kind == Received && x.Packet == "SUBSCRIBE" && x.ID == pk.PacketID
		}); ok && slices.Contains(sub.Filters, r.params.SubscribeTopic) {
			r.afterSubscribed(cl, id)
		}
	}
}

// afterConnack (mu held) disconnects the device where the plan says so and
// sends the persistent-session case's message after a reconnect.
func (r *recorder) afterConnack(cl *mqtt.Client, id int) {
	p := &r.plan
	r.n.answered++
	switch {
	case p.WithholdConnacks > 0 && r.n.answered < p.Rounds:
		r.later(300*time.Millisecond, func() { r.kick(cl, id, "next round of withheld CONNACKs") })
	case r.n.kicks < p.Kicks:
		r.n.kicks++
		r.later(r.kickGap, func() { r.kick(cl, id, fmt.Sprintf("server disconnect %d of %d", r.n.kicks, p.Kicks)) })
	case p.Session && !p.Expire && r.n.sessionKicked && !r.n.triggered:
		r.n.triggered = true
		r.later(300*time.Millisecond, r.trigger)
	}
}

// afterSubscribed (mu held) runs what waits for the subscribe topic's SUBACK.
func (r *recorder) afterSubscribed(cl *mqtt.Client, id int) {
	p := r.plan
	switch {
	case p.Session && !r.n.sessionKicked:
		if c, ok := r.tl.conn(id).first(is(Received, "CONNECT")); !ok || c.Clean {
			return
		}
		r.n.sessionKicked = true
		r.later(300*time.Millisecond, func() { r.kick(cl, id, "disconnect keeping the session") })
	case p.Trigger > 0 && !p.Session && !r.n.triggered:
		r.n.triggered = true
		r.later(300*time.Millisecond, r.trigger)
	case p.Desired && !r.n.desired:
		r.n.desired = true
		r.later(300*time.Millisecond, func() {
			r.record(Event{Kind: Note, Detail: "desired set: " + string(r.desired)})
			r.srv.UpdateShadow(r.params.Thing, "", r.desired)
		})
	}
}

// later runs fn after d unless another case began meanwhile.
func (r *recorder) later(d time.Duration, fn func()) {
	gen := r.gen
	time.AfterFunc(d, func() {
		r.mu.Lock()
		same := r.gen == gen
		r.mu.Unlock()
		if same {
			fn()
		}
	})
}

// kick disconnects the device as the server.
func (r *recorder) kick(cl *mqtt.Client, id int, why string) {
	if cl.Closed() {
		return
	}
	r.mu.Lock()
	r.serverEnd[id] = true
	r.add(Event{Conn: id, Kind: Kicked, Detail: why})
	r.mu.Unlock()
	r.srv.Broker().DisconnectClient(cl, packets.ErrAdministrativeAction)
}

// trigger sends the plan's QoS 1 message on the subscribe topic.
func (r *recorder) trigger() {
	r.mu.Lock()
	size := r.plan.Trigger
	r.mu.Unlock()
	doc := map[string]any{"version": 1, "timestamp": time.Now().Unix(), "state": map[string]any{}}
	base, _ := json.Marshal(doc)
	if pad := size - len(base) - len(`,"padding":""`); pad > 0 {
		doc["padding"] = strings.Repeat("x", pad)
	}
	payload, _ := json.Marshal(doc)
	r.srv.Broker().Publish(r.params.SubscribeTopic, payload, false, 1)
}

// OnDisconnect records the end of an established connection.
func (r *recorder) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	id := r.idOf(cl)
	r.mu.Lock()
	byServer := r.serverEnd[id]
	detail := "connection lost"
	if err != nil {
		detail = err.Error()
	}
	if cause := cl.StopCause(); errors.Is(cause, packets.CodeDisconnect) {
		detail = "DISCONNECT"
	}
	var ne net.Error
	byDevice := !byServer && !(errors.As(err, &ne) && ne.Timeout())
	r.add(Event{Conn: id, Kind: Closed, ByDevice: byDevice, Detail: detail})
	delete(r.open, id)
	delete(r.ids, cl.Net.Conn)
	r.mu.Unlock()
}

// expireSession discards the session mochi keeps for a disconnected
// client id, before its new CONNECT would inherit it.
func (r *recorder) expireSession(clientID string) {
	b := r.srv.Broker()
	if old, ok := b.Clients.Get(clientID); ok {
		b.UnsubscribeClient(old)
		old.ClearInflights()
		b.Clients.Delete(clientID)
	}
}

func packetName(t byte) string {
	if n, ok := packets.PacketNames[t]; ok {
		return strings.ToUpper(n)
	}
	return fmt.Sprint("type ", t)
}
