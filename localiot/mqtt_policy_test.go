package localiot

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotwatch/iotwatch/localiot/policy"
	"github.com/iotwatch/iotwatch/pki"
)

// TestLabPoliciesKeepTheOldRules holds certs init's policies to the rules
// the emulator had before it had a registry: a device connects as its
// thing, publishes its shadow requests, subscribes to and receives its
// shadow and lifecycle topics; the monitor may do all of it for any thing.
// (Publishing to $aws topics other than shadow requests is refused by
// mqttPolicy.publish whatever the policy.)
func TestLabPoliciesKeepTheOldRules(t *testing.T) {
	load := func(name string) *policy.Document {
		data, _ := labPolicies.ReadFile("policies/" + name + ".json")
		d, err := policy.Parse(string(data))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	device, monitor := load(devicePolicy), load(monitorPolicy)
	vars := map[string]string{"iot:ClientId": "dev", "iot:Certificate.Subject.CommonName": "dev"}
	cases := []struct {
		action, kind, name string
		device, monitor    bool
	}{
		{"iot:Connect", "client", "dev", true, true},
		{"iot:Connect", "client", "other", false, true},
		{"iot:Publish", "topic", "$aws/things/dev/shadow/update", true, true},
		{"iot:Publish", "topic", "$aws/things/dev/shadow/name/cfg/get", true, true},
		{"iot:Publish", "topic", "$aws/things/other/shadow/update", false, true},
		{"iot:Publish", "topic", "lab/dev", false, true},
		{"iot:Subscribe", "topicfilter", "$aws/things/dev/shadow/get/+", true, true},
		{"iot:Subscribe", "topicfilter", "$aws/things/dev/shadow/#", true, true},
		{"iot:Subscribe", "topicfilter", "$aws/things/devx/shadow/get/accepted", false, true},
		{"iot:Subscribe", "topicfilter", "$aws/events/presence/+/dev", true, true},
		{"iot:Subscribe", "topicfilter", "$aws/events/dev", true, true},
		{"iot:Subscribe", "topicfilter", "$aws/events/presence/connected/other", false, true},
		{"iot:Subscribe", "topicfilter", "#", false, true},
		{"iot:Receive", "topic", "$aws/things/dev/shadow/update/delta", true, true},
		{"iot:Receive", "topic", "$aws/events/presence/connected/dev", true, true},
		{"iot:Receive", "topic", "$aws/things/other/shadow/update/delta", false, true},
		{"iot:Receive", "topic", "lab/x", false, true},
	}
	for _, c := range cases {
		req := policy.Request{Action: c.action, Resource: policy.ARN("eu-west-1", Account, c.kind, c.name), Vars: vars}
		if got := policy.Evaluate([]*policy.Document{device}, req) == policy.Allowed; got != c.device {
			t.Errorf("device %s %s: %v, want %v", c.action, c.name, got, c.device)
		}
		if got := policy.Evaluate([]*policy.Document{monitor}, req) == policy.Allowed; got != c.monitor {
			t.Errorf("monitor %s %s: %v, want %v", c.action, c.name, got, c.monitor)
		}
	}
}

// TestLabPoliciesDocumented: docs/policies/README.md shows the documents
// the emulator really attaches.
func TestLabPoliciesDocumented(t *testing.T) {
	readme, err := os.ReadFile("../docs/policies/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{devicePolicy, monitorPolicy} {
		doc, _ := labPolicies.ReadFile("policies/" + name + ".json")
		if !strings.Contains(string(readme), string(doc)) {
			t.Errorf("docs/policies/README.md does not show localiot/policies/%s.json as it is", name)
		}
	}
}

const lampPolicy = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:*:123456789012:client/${iot:Connection.Thing.ThingName}",
  "Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"true"}}},
 {"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:*:123456789012:topic/lab/${iot:ClientId}/*"},
 {"Effect":"Allow","Action":"iot:Subscribe","Resource":"arn:aws:iot:*:123456789012:topicfilter/lab/+/cmd"},
 {"Effect":"Allow","Action":"iot:Receive","Resource":"arn:aws:iot:*:123456789012:topic/lab/${iot:ClientId}/cmd"}]}`

// TestPolicyEnforcedOnMQTT: a certificate made by CreateKeysAndCertificate
// gets exactly what its policy allows, per CONNECT, PUBLISH, SUBSCRIBE and
// delivery, and changes apply to live connections.
func TestPolicyEnforcedOnMQTT(t *testing.T) {
	l := newLab(t, "")
	reg := l.srv.registry
	keys, err := reg.CreateKeysAndCertificate(true)
	if err != nil {
		t.Fatal(err)
	}
	reg.CreatePolicy("lamp", lampPolicy)
	reg.AttachPolicy("lamp", keys.Cert.ARN)
	reg.CreateThing(CreateThingInput{Name: "lamp"})
	conf := withLeaf(l.tlsFor(t, "monitor"), &pki.Leaf{CertPEM: []byte(keys.Cert.PEM), KeyPEM: []byte(keys.PrivateKey)})

	if _, err := l.connectTLS(t, conf, "lamp"); err == nil {
		t.Fatal("connected before the thing was attached (IsAttached condition)")
	}
	reg.AttachThingPrincipal("lamp", keys.Cert.ARN)
	if _, err := l.connectTLS(t, conf, "fan"); err == nil {
		t.Fatal("connected as a client id without an attached thing")
	}
	lamp, err := l.connectTLS(t, conf, "lamp")
	if err != nil {
		t.Fatal(err)
	}
	codes := lamp.subscribe(t, "lab/+/cmd", "lab/#")
	if codes["lab/+/cmd"] != 1 || codes["lab/#"] != 0x80 {
		t.Fatalf("SUBACK codes %v; want lab/+/cmd granted, lab/# refused", codes)
	}
	mon := l.mustConnect(t, "monitor", "iotwatch-mon")
	mon.subscribe(t, "lab/lamp/out")
	lamp.publish(t, "lab/lamp/out", `{"n":1}`)
	mon.inbox.waitFor(t, "lab/lamp/out", nil)
	// Receive is per delivery: the filter matches both, the policy only one.
	mon.publish(t, "lab/fan/cmd", `{"to":"fan"}`)
	mon.publish(t, "lab/lamp/cmd", `{"to":"lamp"}`)
	lamp.inbox.waitFor(t, "lab/lamp/cmd", nil)
	if n := lamp.inbox.count("lab/fan/cmd"); n != 0 {
		t.Errorf("received %d messages on lab/fan/cmd without iot:Receive", n)
	}
	// Detaching the policy takes iot:Connect away: the live connection is
	// closed (AUTH_ERROR) and receives nothing more.
	reg.DetachPolicy("lamp", keys.Cert.ARN)
	if !lostWithin(lamp, 2*time.Second) {
		t.Fatal("the connection stayed open 2 s after its policy was detached")
	}
	l.waitLogLine(t, "disconnected client=lamp ", "reason=AUTH_ERROR")
	mon.publish(t, "lab/lamp/cmd", `{"to":"lamp","n":2}`)
	if n := lamp.inbox.count("lab/lamp/cmd"); n != 1 {
		t.Errorf("received %d messages on lab/lamp/cmd, want only the one before the detach", n)
	}
}

// TestCertificateStatusRefused: an unregistered, INACTIVE or REVOKED
// certificate cannot connect; ACTIVE again can.
func TestCertificateStatusRefused(t *testing.T) {
	l := newLab(t, "")
	reg := l.srv.registry
	ca, _ := pki.LoadCA(l.dir+"/"+pki.CACertFile, l.dir+"/"+pki.CAKeyFile)
	unknown, _ := ca.Issue(pki.Spec{CommonName: thing})
	if _, err := l.connectTLS(t, withLeaf(l.tlsFor(t, "device"), unknown), thing); err == nil {
		t.Error("an unregistered certificate connected")
	}
	keys, _ := reg.CreateKeysAndCertificate(false)
	reg.AttachPolicy(monitorPolicy, keys.Cert.ARN)
	conf := withLeaf(l.tlsFor(t, "monitor"), &pki.Leaf{CertPEM: []byte(keys.Cert.PEM), KeyPEM: []byte(keys.PrivateKey)})
	steps := []struct {
		status string
		ok     bool
	}{{"", false}, {statusActive, true}, {statusInactive, false}, {statusActive, true}, {statusRevoked, false}}
	for i, s := range steps {
		if s.status != "" {
			if err := reg.UpdateCertificate(keys.Cert.ID, s.status); err != nil {
				t.Fatal(err)
			}
		}
		c, err := l.connectTLS(t, conf, fmt.Sprintf("probe-%d", i)) // AWS allows one CONNECT a second per client id
		if (err == nil) != s.ok {
			t.Errorf("step %d (%s): connect error %v, want ok=%v", i, s.status, err, s.ok)
		}
		if c != nil {
			c.Disconnect(0)
		}
	}
}

// TestWillAuthorizedAtConnect: a will needs iot:Connect with the LastWill
// connect attribute allowed, iot:Publish on its topic, and
// iot:RetainPublish when retained.
func TestWillAuthorizedAtConnect(t *testing.T) {
	l := newLab(t, "")
	reg := l.srv.registry
	keys, _ := reg.CreateKeysAndCertificate(true)
	reg.CreatePolicy("wills", `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"iot:Connect","Resource":"*"},
	 {"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:*:*:topic/lab/${iot:ClientId}/*"}]}`)
	reg.AttachPolicy("wills", keys.Cert.ARN)
	conf := withLeaf(l.tlsFor(t, "monitor"), &pki.Leaf{CertPEM: []byte(keys.Cert.PEM), KeyPEM: []byte(keys.PrivateKey)})
	cases := []struct {
		topic  string
		retain bool
		ok     bool
	}{{"lab/lamp/will", false, true}, {"lab/other/will", false, false}, {"lab/lamp/will", true, false}}
	for _, c := range cases {
		opts := paho.NewClientOptions().AddBroker("tls://"+l.srv.Addr()).SetClientID("lamp").SetTLSConfig(conf).
			SetAutoReconnect(false).SetConnectTimeout(10*time.Second).SetWill(c.topic, "gone", 1, c.retain)
		cl := paho.NewClient(opts)
		tok := cl.Connect()
		tok.WaitTimeout(15 * time.Second)
		if (tok.Error() == nil) != c.ok {
			t.Errorf("will on %s (retain %v): connect error %v, want ok=%v", c.topic, c.retain, tok.Error(), c.ok)
		}
		cl.Disconnect(0)
	}
}

// TestAWSTemplatesAllowTheirFlows: the policies docs/aws-setup.md has users
// paste into AWS (REGION, ACCOUNT and THING filled in) allow the device and
// the monitor what they do, and no more, by this evaluator.
func TestAWSTemplatesAllowTheirFlows(t *testing.T) {
	load := func(name string) []*policy.Document {
		data, err := os.ReadFile("../docs/policies/" + name)
		if err != nil {
			t.Fatal(err)
		}
		doc := strings.NewReplacer("REGION", "eu-west-1", "ACCOUNT", Account, "THING", "lamp").Replace(string(data))
		d, err := policy.Parse(doc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return []*policy.Document{d}
	}
	device, monitor := load("device-policy.json"), load("monitor-policy.json")
	deviceVars := map[string]string{"iot:ClientId": "lamp", "iot:Connection.Thing.ThingName": "lamp"}
	monitorVars := map[string]string{"iot:ClientId": "iotwatch-mon"}
	cases := []struct {
		docs               []*policy.Document
		vars               map[string]string
		action, kind, name string
		want               bool
	}{
		{device, deviceVars, "iot:Connect", "client", "lamp", true},
		{device, map[string]string{"iot:ClientId": "lamp"}, "iot:Connect", "client", "lamp", false}, // no attached thing
		{device, deviceVars, "iot:Publish", "topic", "$aws/things/lamp/shadow/update", true},
		{device, deviceVars, "iot:Publish", "topic", "$aws/things/fan/shadow/update", false},
		{device, deviceVars, "iot:Subscribe", "topicfilter", "$aws/things/lamp/shadow/get/+", true},
		{device, deviceVars, "iot:Receive", "topic", "$aws/things/lamp/shadow/update/delta", true},
		{device, deviceVars, "iot:Publish", "topic", "lab/lamp", false},
		{monitor, monitorVars, "iot:Connect", "client", "iotwatch-mon", true},
		{monitor, monitorVars, "iot:Connect", "client", "lamp", false}, // never the device's id
		{monitor, monitorVars, "iot:Publish", "topic", "$aws/things/lamp/shadow/update", true},
		{monitor, monitorVars, "iot:Publish", "topic", "$aws/things/lamp/shadow/update/accepted", false},
		{monitor, monitorVars, "iot:Subscribe", "topicfilter", "$aws/events/presence/+/lamp", true},
		{monitor, monitorVars, "iot:Receive", "topic", "$aws/events/presence/connected/lamp", true},
		{monitor, monitorVars, "iot:Receive", "topic", "$aws/things/fan/shadow/update/delta", false},
	}
	for _, c := range cases {
		req := policy.Request{Action: c.action, Resource: policy.ARN("eu-west-1", Account, c.kind, c.name), Vars: c.vars}
		if got := policy.Evaluate(c.docs, req) == policy.Allowed; got != c.want {
			t.Errorf("%s %s as %s: %v, want %v", c.action, c.name, c.vars["iot:ClientId"], got, c.want)
		}
	}
}

// TestThingVariablesNeedTheAttachment: with the least-privilege device
// policy, a certificate attached only to thing a cannot connect as thing b
// (the thing variables name b only for a certificate attached to b), nor
// write b's shadow as a. Detaching a from the certificate while it is
// connected closes the connection (AUTH_ERROR: its iot:Connect no longer
// resolves); attaching it again lets it connect again.
func TestThingVariablesNeedTheAttachment(t *testing.T) {
	l := newLab(t, "")
	reg := l.srv.registry
	doc, err := os.ReadFile("../docs/policies/device-least-privilege.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.CreatePolicy("least", strings.NewReplacer("REGION", reg.region, "ACCOUNT", Account).Replace(string(doc))); err != nil {
		t.Fatal(err)
	}
	keys, _ := reg.CreateKeysAndCertificate(true)
	reg.AttachPolicy("least", keys.Cert.ARN)
	for _, name := range []string{"a", "b"} {
		if _, err := reg.CreateThing(CreateThingInput{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.AttachThingPrincipal("a", keys.Cert.ARN); err != nil {
		t.Fatal(err)
	}
	conf := withLeaf(l.tlsFor(t, "monitor"), &pki.Leaf{CertPEM: []byte(keys.Cert.PEM), KeyPEM: []byte(keys.PrivateKey)})

	if c, err := l.connectTLS(t, conf, "b"); err == nil {
		c.Publish("$aws/things/b/shadow/update", 1, false, `{"state":{"reported":{"owner":"a"}}}`).WaitTimeout(5 * time.Second)
		t.Fatal("a certificate attached to thing a connected as thing b")
	}
	l.waitLogLine(t, "connect_failed client=b ", "reason=AUTHORIZATION_FAILED")

	a, err := l.connectTLS(t, conf, "a")
	if err != nil {
		t.Fatalf("connect as its own thing: %v", err)
	}
	if codes := a.subscribe(t, "$aws/things/a/shadow/update/accepted"); codes["$aws/things/a/shadow/update/accepted"] != 1 {
		t.Fatalf("SUBACK %v for its own shadow", codes)
	}
	a.publish(t, "$aws/things/a/shadow/update", `{"state":{"reported":{"on":true}}}`)
	a.inbox.waitFor(t, "$aws/things/a/shadow/update/accepted", nil)
	a.Publish("$aws/things/b/shadow/update", 1, false, `{"state":{"reported":{"owner":"a"}}}`)
	if !lostWithin(a, 10*time.Second) {
		t.Fatal("a publish to another thing's shadow did not close the MQTT 3.1.1 connection")
	}
	if sh, _ := l.srv.store.Get(shadowKey("b", "")); sh.Exists {
		t.Error("thing b has a shadow: a's certificate wrote it")
	}

	waitConnectRate()
	a, err = l.connectTLS(t, conf, "a")
	if err != nil {
		t.Fatal(err)
	}
	reg.DetachThingPrincipal("a", keys.Cert.ARN)
	if !lostWithin(a, 2*time.Second) {
		t.Fatal("the connection stayed open 2 s after its thing was detached from the certificate")
	}
	l.waitLogLine(t, "disconnected client=a ", "reason=AUTH_ERROR")
	waitConnectRate()
	if _, err := l.connectTLS(t, conf, "a"); err == nil {
		t.Fatal("connected as a while detached from it")
	}
	reg.AttachThingPrincipal("a", keys.Cert.ARN)
	waitConnectRate()
	if _, err := l.connectTLS(t, conf, "a"); err != nil {
		t.Fatalf("connect after attaching again: %v", err)
	}
}

// TestDeniedReceiveNeverDelivered: with Subscribe on everything, Receive on
// topic/x/* and an explicit Deny of Receive on topic/x/y, a client that
// subscribes to topic/x/y again and again while publishers flood it
// receives none of it (a subscribe's decision is never taken for a
// delivery), and still gets topic/x/z.
func TestDeniedReceiveNeverDelivered(t *testing.T) {
	l := newLab(t, "")
	reg := l.srv.registry
	keys, _ := reg.CreateKeysAndCertificate(true)
	reg.CreatePolicy("deny-y", `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":["iot:Connect","iot:Subscribe"],"Resource":"*"},
	 {"Effect":"Allow","Action":"iot:Receive","Resource":"arn:aws:iot:*:*:topic/topic/x/*"},
	 {"Effect":"Deny","Action":"iot:Receive","Resource":"arn:aws:iot:*:*:topic/topic/x/y"}]}`)
	reg.AttachPolicy("deny-y", keys.Cert.ARN)
	sub, err := l.connectTLS(t, withLeaf(l.tlsFor(t, "monitor"), &pki.Leaf{CertPEM: []byte(keys.Cert.PEM), KeyPEM: []byte(keys.PrivateKey)}), "sub")
	if err != nil {
		t.Fatal(err)
	}
	// AWS grants the subscription (iot:Subscribe) and delivers nothing on it.
	if codes := sub.subscribe(t, "topic/x/z", "topic/x/y"); codes["topic/x/y"] != 1 {
		t.Fatalf("SUBACK %v, want topic/x/y granted", codes)
	}

	stop := make(chan struct{})
	var flooding sync.WaitGroup
	for i := range 3 { // AWS allows 100 publishes a second per connection
		pub := l.mustConnect(t, "monitor", fmt.Sprintf("flood-%d", i))
		flooding.Add(1)
		go func() {
			defer flooding.Done()
			for tick := time.NewTicker(time.Second / 90); ; <-tick.C {
				select {
				case <-stop:
					return
				default:
				}
				pub.Publish("topic/x/y", 0, false, "denied")
			}
		}()
	}
	resubscribes := 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); resubscribes++ {
		tok := sub.Subscribe("topic/x/y", 1, nil)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("resubscribe: %v", tok.Error())
		}
	}
	close(stop)
	flooding.Wait()
	mon := l.mustConnect(t, "monitor", "marker")
	mon.publish(t, "topic/x/z", `{"n":1}`)
	sub.inbox.waitFor(t, "topic/x/z", nil)
	if n := sub.inbox.count("topic/x/y"); n != 0 {
		t.Errorf("%d messages on topic/x/y delivered despite the Deny of iot:Receive (%d resubscribes)", n, resubscribes)
	}
	t.Logf("%d resubscribes under ~270 publishes a second", resubscribes)
}
