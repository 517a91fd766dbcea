package localiot

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"sync"
	"unsafe"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotwatch/iotwatch/localiot/policy"
)

// mqttPolicy authorizes MQTT clients with the IoT policies attached to
// their certificate in the registry, as AWS IoT Core does: iot:Connect at
// CONNECT, iot:Publish (and iot:RetainPublish) per PUBLISH, iot:Subscribe
// per filter, iot:Receive per delivery. WebSocket clients are the IAM
// principal and get its policy (nil: everything).
//
// A session's policy state lives as long as the session: a persistent
// session (MQTT 3.1.1 cleanSession=0, MQTT 5 Session Expiry > 0) keeps it
// while the client is away, so the messages queued for it pass the same
// iot:Receive check as when it is connected.
type mqttPolicy struct {
	mqtt.HookBase // to keep and forget each session's principal
	reg           *registry
	iam           []*policy.Document
	conns         sync.Map // *mqtt.Client → *connPolicy, one per session
	ids           sync.Map // client id → its newest *mqtt.Client
}

// connPolicy is one connection's principal, re-read after registry changes.
type connPolicy struct {
	certID string // "" for the IAM principal
	vars   map[string]string
	attrs  []string // iot:ConnectAttributes, for iot:Connect again on a registry change

	mu   sync.Mutex
	gen  int64
	docs []*policy.Document
	// pending holds the iot:Subscribe decisions of the SUBSCRIBE being
	// processed, keyed by the address of each filter string's bytes: mochi
	// asks the same read question for a filter and for a delivery to a
	// topic of the same text, and only the string itself (which points into
	// that SUBSCRIBE packet's own buffer) tells them apart.
	pending map[*byte]bool
}

// The mqttPolicy methods are what the auth hook (auth.go) asks.

// newConnPolicy reads a connection's principal and variables; nil for a
// TLS connection without a client certificate.
func newConnPolicy(cl *mqtt.Client) *connPolicy {
	cp := &connPolicy{vars: map[string]string{"iot:ClientId": cl.ID, "aws:SourceIp": ipOf(cl)}, gen: -1, pending: map[*byte]bool{}}
	if conn, ok := cl.Net.Conn.(*tls.Conn); ok {
		cs := conn.ConnectionState()
		if cs.ServerName != "" {
			cp.vars["iot:DomainName"] = cs.ServerName
		}
		certs := cs.PeerCertificates
		if len(certs) == 0 {
			return nil
		}
		cp.certID = certificateID(certs[0].Raw)
		certVars(cp.vars, certs[0])
	}
	cp.attrs = []string{}
	if cl.Properties.Will.Flag > 0 {
		cp.attrs = append(cp.attrs, "LastWill")
	}
	if !cl.Properties.Clean {
		cp.attrs = append(cp.attrs, "PersistentConnect")
	}
	return cp
}

// connect decides iot:Connect. The principal is held only while it
// decides: a refused CONNECT gets no OnDisconnect to forget it by, so the
// session's own is kept from OnSessionEstablish on.
func (p *mqttPolicy) connect(cl *mqtt.Client) bool {
	cp := newConnPolicy(cl)
	if cp == nil {
		return false
	}
	p.conns.Store(cl, cp)
	defer p.conns.Delete(cl)
	if !p.connectAllowed(cl, cp) {
		return false
	}
	// A will is published on the client's behalf: it must be allowed to
	// publish it (and to retain it) when it connects.
	will := cl.Properties.Will
	return will.Flag == 0 || p.publish(cl, will.TopicName) && (!will.Retain || p.retainPublish(cl, will.TopicName))
}

// publish decides a PUBLISH by a client. Beyond policies, a reserved $aws
// topic takes only the publishes AWS's services take (reserved.go).
func (p *mqttPolicy) publish(cl *mqtt.Client, topic string) bool {
	return publishableReserved(topic) && p.allowed(cl, "iot:Publish", "topic", topic, nil)
}

// retainPublish decides the extra iot:RetainPublish of a retained PUBLISH.
func (p *mqttPolicy) retainPublish(cl *mqtt.Client, topic string) bool {
	return p.allowed(cl, "iot:RetainPublish", "topic", topic, nil)
}

// subscribing decides iot:Subscribe for each filter of a SUBSCRIBE before
// the broker checks them one by one through read: mochi asks the same
// read question for a filter and for a delivery, so the decisions wait
// here, keyed by filter, for read to take them.
func (p *mqttPolicy) subscribing(cl *mqtt.Client, filters []packets.Subscription) {
	cp := p.of(cl)
	if cp == nil {
		return
	}
	decisions := make([]bool, len(filters))
	for i, f := range filters {
		decisions[i] = p.allowed(cl, "iot:Subscribe", "topicfilter", f.Filter, nil)
	}
	cp.mu.Lock()
	for i, f := range filters {
		if f.Filter != "" { // refused already; mochi asks nothing more about it
			cp.pending[unsafe.StringData(f.Filter)] = decisions[i]
		}
	}
	cp.mu.Unlock()
}

// read answers mochi's read check: the pending decision of a filter of the
// SUBSCRIBE being processed (that very string), else iot:Receive for a
// delivery, so that every delivery is checked and a deny always wins.
func (p *mqttPolicy) read(cl *mqtt.Client, topic string) bool {
	cp := p.of(cl)
	if cp == nil {
		return false
	}
	if topic != "" {
		cp.mu.Lock()
		ok, isFilter := cp.pending[unsafe.StringData(topic)]
		delete(cp.pending, unsafe.StringData(topic))
		cp.mu.Unlock()
		if isFilter {
			return ok
		}
	}
	return p.allowed(cl, "iot:Receive", "topic", topic, nil)
}

func (p *mqttPolicy) ID() string { return "iotwatch-policy" }

func (p *mqttPolicy) Provides(b byte) bool {
	switch b {
	case mqtt.OnSessionEstablish, mqtt.OnSessionEstablished, mqtt.OnDisconnect, mqtt.OnClientExpired,
		mqtt.OnSubscribe, mqtt.OnSubscribed:
		return true
	}
	return false
}

// OnSessionEstablish keeps the principal of an accepted connection before
// mochi adds it to its clients (and deliveries may reach it).
func (p *mqttPolicy) OnSessionEstablish(cl *mqtt.Client, _ packets.Packet) {
	if cp := newConnPolicy(cl); cp != nil {
		p.conns.Store(cl, cp)
	}
}

// OnSessionEstablished forgets the session this connection took over (mochi
// moved its subscriptions and queued messages to this one).
func (p *mqttPolicy) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	if old, ok := p.ids.Swap(cl.ID, cl); ok && old != cl {
		p.conns.Delete(old)
	}
}

// OnDisconnect forgets a session that ends with its connection; a
// persistent one is kept until it expires or is taken over.
func (p *mqttPolicy) OnDisconnect(cl *mqtt.Client, _ error, expire bool) {
	if expire {
		p.forget(cl)
	}
}

func (p *mqttPolicy) OnClientExpired(cl *mqtt.Client) { p.forget(cl) }

func (p *mqttPolicy) forget(cl *mqtt.Client) {
	p.conns.Delete(cl)
	p.ids.CompareAndDelete(cl.ID, cl)
}

// OnSubscribe runs after the limits hook has failed the filters AWS refuses
// (the hook comes last), so only the filters mochi will ask about wait.
func (p *mqttPolicy) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	p.subscribing(cl, pk.Filters)
	return pk
}

// OnSubscribed drops decisions mochi never asked for (a filter it refused
// for another reason), so no later delivery can take one.
func (p *mqttPolicy) OnSubscribed(cl *mqtt.Client, _ packets.Packet, _ []byte) {
	if cp := p.of(cl); cp != nil {
		cp.mu.Lock()
		clear(cp.pending)
		cp.mu.Unlock()
	}
}

func (p *mqttPolicy) of(cl *mqtt.Client) *connPolicy {
	v, ok := p.conns.Load(cl)
	if !ok {
		return nil
	}
	return v.(*connPolicy)
}

// allowed evaluates one action on the ARN of kind/name.
func (p *mqttPolicy) allowed(cl *mqtt.Client, action, kind, name string, ctx map[string][]string) bool {
	return p.decide(p.of(cl), cl.ID, action, kind, name, ctx)
}

func (p *mqttPolicy) decide(cp *connPolicy, clientID, action, kind, name string, ctx map[string][]string) bool {
	if cp == nil {
		return false
	}
	docs, vars := p.refresh(cp, clientID)
	req := policy.Request{Action: action, Resource: p.reg.arn(kind, name), Vars: vars, Context: ctx}
	return policy.Evaluate(docs, req) == policy.Allowed
}

func (p *mqttPolicy) connectAllowed(cl *mqtt.Client, cp *connPolicy) bool {
	return p.decide(cp, cl.ID, "iot:Connect", "client", cl.ID, map[string][]string{"iot:ConnectAttributes": cp.attrs})
}

// revoked calls stop for each connected client whose certificate is no
// longer ACTIVE (or registered) or whose policies no longer allow its
// iot:Connect, after a registry change: AWS disconnects the devices of a
// certificate set INACTIVE or REVOKED.
func (p *mqttPolicy) revoked(stop func(*mqtt.Client)) {
	p.conns.Range(func(k, v any) bool {
		cl, cp := k.(*mqtt.Client), v.(*connPolicy)
		if cp.certID != "" && !cl.Closed() && !p.connectAllowed(cl, cp) {
			stop(cl)
		}
		return true
	})
}

// refresh returns the connection's documents and variables, re-read from
// the registry when it changed since.
func (p *mqttPolicy) refresh(cp *connPolicy, clientID string) ([]*policy.Document, map[string]string) {
	gen := p.reg.gen.Load()
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.gen == gen {
		return cp.docs, cp.vars
	}
	cp.gen, cp.docs = gen, nil
	vars := make(map[string]string, len(cp.vars)+4)
	for k, v := range cp.vars {
		if !strings.HasPrefix(k, "iot:Connection.Thing.") {
			vars[k] = v
		}
	}
	if cp.certID == "" {
		cp.docs = p.iam
		if cp.docs == nil {
			cp.docs = []*policy.Document{allowEverything}
		}
	} else if pr, ok := p.reg.principalFor(cp.certID, clientID); ok && pr.status == statusActive {
		cp.docs = pr.docs
		if pr.thing != nil {
			thingVars(vars, *pr.thing)
		}
	}
	cp.vars = vars
	return cp.docs, cp.vars
}

var allowEverything, _ = policy.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`)

// thingVars sets the thing policy variables of the thing named by the
// client id, which the certificate is attached to.
func thingVars(vars map[string]string, t Thing) {
	vars["iot:Connection.Thing.ThingName"] = t.Name
	vars["iot:Connection.Thing.IsAttached"] = "true"
	if t.TypeName != "" {
		vars["iot:Connection.Thing.ThingTypeName"] = t.TypeName
	}
	for k, v := range t.Attributes {
		vars["iot:Connection.Thing.Attributes["+k+"]"] = v
	}
}

// certVars sets the certificate policy variables (first value of a
// multi-valued field, as AWS).
func certVars(vars map[string]string, c *x509.Certificate) {
	vars["iot:Certificate.SerialNumber"] = c.SerialNumber.String()
	for prefix, n := range map[string]pkix.Name{"iot:Certificate.Subject.": c.Subject, "iot:Certificate.Issuer.": c.Issuer} {
		if n.CommonName != "" {
			vars[prefix+"CommonName"] = n.CommonName
		}
		for field, values := range map[string][]string{"Organization": n.Organization, "OrganizationalUnit": n.OrganizationalUnit,
			"Country": n.Country, "State": n.Province, "Locality": n.Locality} {
			if len(values) > 0 {
				vars[prefix+field] = values[0]
			}
		}
	}
}
