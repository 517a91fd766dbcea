package localiot

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotwatch/iotwatch/jobs"
	"github.com/iotwatch/iotwatch/localiot/policy"
	"github.com/iotwatch/iotwatch/shadow"
)

// mqttPolicy authorizes MQTT clients with the IoT policies attached to
// their certificate in the registry, as AWS IoT Core does: iot:Connect at
// CONNECT, iot:Publish (and iot:RetainPublish) per PUBLISH, iot:Subscribe
// per filter, iot:Receive per delivery. WebSocket clients are the IAM
// principal and get its policy (nil: everything).
type mqttPolicy struct {
	mqtt.HookBase // to forget a connection's decisions
	reg           *registry
	iam           []*policy.Document
	conns         sync.Map // *mqtt.Client → *connPolicy
}

// connPolicy is one connection's principal, re-read after registry changes.
type connPolicy struct {
	certID string // "" for the IAM principal
	vars   map[string]string

	mu      sync.Mutex
	gen     int64
	docs    []*policy.Document
	pending map[string][]bool
}

// The mqttPolicy methods are what the auth hook (auth.go) asks.

// connect decides iot:Connect; the connection's policy is kept for the
// later checks.
func (p *mqttPolicy) connect(cl *mqtt.Client) bool {
	cp := &connPolicy{vars: map[string]string{"iot:ClientId": cl.ID, "aws:SourceIp": ipOf(cl)}, gen: -1, pending: map[string][]bool{}}
	if conn, ok := cl.Net.Conn.(*tls.Conn); ok {
		cs := conn.ConnectionState()
		if cs.ServerName != "" {
			cp.vars["iot:DomainName"] = cs.ServerName
		}
		certs := cs.PeerCertificates
		if len(certs) == 0 {
			return false
		}
		cp.certID = certificateID(certs[0].Raw)
		certVars(cp.vars, certs[0])
	}
	p.conns.Store(cl, cp)
	attrs := []string{}
	will := cl.Properties.Will
	if will.Flag > 0 {
		attrs = append(attrs, "LastWill")
	}
	if !cl.Properties.Clean {
		attrs = append(attrs, "PersistentConnect")
	}
	if !p.allowed(cl, "iot:Connect", "client", cl.ID, map[string][]string{"iot:ConnectAttributes": attrs}) {
		return false
	}
	// A will is published on the client's behalf: it must be allowed to
	// publish it (and to retain it) when it connects.
	return will.Flag == 0 || p.publish(cl, will.TopicName) && (!will.Retain || p.retainPublish(cl, will.TopicName))
}

// publish decides a PUBLISH by a client. Beyond policies, the only $aws
// topics a client may publish are shadow and Jobs requests (AWS's reserved
// topics take no other publishes).
func (p *mqttPolicy) publish(cl *mqtt.Client, topic string) bool {
	if strings.HasPrefix(topic, "$aws/") && !jobsRequest(topic) {
		if _, _, _, rest, ok := shadow.ParseTopic(topic); !ok || rest != "" {
			return false
		}
	}
	return p.allowed(cl, "iot:Publish", "topic", topic, nil)
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
			cp.pending[f.Filter] = append(cp.pending[f.Filter], decisions[i])
		}
	}
	cp.mu.Unlock()
}

// read answers mochi's read check: a subscription's pending decision, else
// iot:Receive for a delivery.
func (p *mqttPolicy) read(cl *mqtt.Client, topic string) bool {
	cp := p.of(cl)
	if cp == nil {
		return false
	}
	cp.mu.Lock()
	if q := cp.pending[topic]; len(q) > 0 {
		ok := q[0]
		if len(q) == 1 {
			delete(cp.pending, topic)
		} else {
			cp.pending[topic] = q[1:]
		}
		cp.mu.Unlock()
		return ok
	}
	cp.mu.Unlock()
	return p.allowed(cl, "iot:Receive", "topic", topic, nil)
}

func (p *mqttPolicy) ID() string { return "iotwatch-policy" }

func (p *mqttPolicy) Provides(b byte) bool {
	return b == mqtt.OnDisconnect || b == mqtt.OnSubscribe || b == mqtt.OnSubscribed
}

// OnSubscribe runs after the limits hook has failed the filters AWS refuses
// (the hook comes last), so only the filters mochi will ask about wait.
func (p *mqttPolicy) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	p.subscribing(cl, pk.Filters)
	return pk
}

func (p *mqttPolicy) OnDisconnect(cl *mqtt.Client, _ error, _ bool) { p.conns.Delete(cl) }

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
	cp := p.of(cl)
	if cp == nil {
		return false
	}
	docs, vars := p.refresh(cp, cl.ID)
	req := policy.Request{Action: action, Resource: p.reg.arn(kind, name), Vars: vars, Context: ctx}
	return policy.Evaluate(docs, req) == policy.Allowed
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
	attached := map[string]bool{}
	if cp.certID == "" {
		cp.docs = p.iam
		if cp.docs == nil {
			cp.docs = []*policy.Document{allowEverything}
		}
	} else if pr, ok := p.reg.principalFor(cp.certID); ok && pr.status == statusActive {
		cp.docs, attached = pr.docs, pr.attached
	}
	if t, err := p.reg.DescribeThing(clientID); err == nil {
		thingVars(vars, t, attached[t.Name])
	}
	cp.vars = vars
	return cp.docs, cp.vars
}

var allowEverything, _ = policy.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`)

// thingVars sets the thing policy variables of the thing named by the
// client id.
func thingVars(vars map[string]string, t Thing, attached bool) {
	vars["iot:Connection.Thing.ThingName"] = t.Name
	vars["iot:Connection.Thing.IsAttached"] = map[bool]string{true: "true", false: "false"}[attached]
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

// jobsRequest reports whether topic is a request of the Jobs MQTT API (a
// malformed one too: the service answers it InvalidTopic).
func jobsRequest(topic string) bool {
	_, ok, _ := jobs.ParseTopic(topic)
	return ok
}
