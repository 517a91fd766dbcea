package localiot

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotwatch/iotwatch/pki"
)

const prefix = "$aws/things/" + thing + "/shadow"

func TestShadowThroughBroker(t *testing.T) {
	l := newLab(t, "")
	dev := l.mustConnect(t, "device", thing)
	mon := l.mustConnect(t, "monitor", "iotwatch-test-1")
	codes := dev.subscribe(t, prefix+"/update/delta", prefix+"/get/+", prefix+"/update/accepted")
	for f, c := range codes {
		if c != 1 {
			t.Fatalf("device subscribe %s: code %#x", f, c)
		}
	}
	mon.subscribe(t, prefix+"/update/+", prefix+"/get/+", prefix+"/delete/+")

	dev.publish(t, prefix+"/get", `{"clientToken":"g0"}`)
	nf := dev.inbox.waitFor(t, prefix+"/get/rejected", token("g0"))
	if nf["code"] != 404.0 || nf["message"] != "No shadow exists with name: '"+thing+"'" {
		t.Fatalf("get before create: %v", nf)
	}

	dev.publish(t, prefix+"/update", `{"state":{"reported":{"temp":21.5,"led":false}},"clientToken":"r1"}`)
	acc := mon.inbox.waitFor(t, prefix+"/update/accepted", token("r1"))
	if acc["version"] != 1.0 {
		t.Fatalf("accepted: %v", acc)
	}
	mon.inbox.waitFor(t, prefix+"/update/documents", token("r1"))

	mon.publish(t, prefix+"/update", `{"state":{"desired":{"led":true}},"clientToken":"d1"}`)
	delta := dev.inbox.waitFor(t, prefix+"/update/delta", token("d1"))
	if state := delta["state"].(map[string]any); state["led"] != true || delta["version"] != 2.0 {
		t.Fatalf("delta: %v", delta)
	}

	mon.publish(t, prefix+"/update", `{"state":{"reported":{"led":true}},"version":1,"clientToken":"stale"}`)
	if rej := mon.inbox.waitFor(t, prefix+"/update/rejected", token("stale")); rej["code"] != 409.0 {
		t.Fatalf("stale version: %v", rej)
	}
	mon.publish(t, prefix+"/update", `{"state":"x","clientToken":"bad"}`)
	if rej := mon.inbox.waitFor(t, prefix+"/update/rejected", token("bad")); rej["code"] != 400.0 {
		t.Fatalf("bad state: %v", rej)
	}

	mon.publish(t, prefix+"/get", `{"clientToken":"g1"}`)
	got := mon.inbox.waitFor(t, prefix+"/get/accepted", token("g1"))
	if state := got["state"].(map[string]any); state["delta"] == nil {
		t.Fatalf("get: %v", got)
	}
	mon.publish(t, prefix+"/delete", `{"clientToken":"x1"}`)
	if del := mon.inbox.waitFor(t, prefix+"/delete/accepted", token("x1")); del["version"] != 2.0 {
		t.Fatalf("delete: %v", del)
	}
	mon.publish(t, prefix+"/get", `{"clientToken":"g2"}`)
	mon.inbox.waitFor(t, prefix+"/get/rejected", token("g2"))
}

func TestNamedShadow(t *testing.T) {
	l := newLab(t, "")
	dev := l.mustConnect(t, "device", thing)
	named := prefix + "/name/config"
	dev.subscribe(t, named+"/update/accepted", named+"/get/rejected")
	dev.publish(t, named+"/get", "")
	if rej := dev.inbox.waitFor(t, named+"/get/rejected", nil); rej["message"] != "No shadow exists with name: 'config'" {
		t.Fatalf("named 404: %v", rej)
	}
	dev.publish(t, named+"/update", `{"state":{"reported":{"mode":"eco"}},"clientToken":"n1"}`)
	dev.inbox.waitFor(t, named+"/update/accepted", token("n1"))
}

func TestPayloadLimits(t *testing.T) {
	l := newLab(t, "")
	mon := l.mustConnect(t, "monitor", "iotwatch-limits")
	mon.subscribe(t, prefix+"/update/rejected")
	big := `{"state":{"reported":{"x":"` + strings.Repeat("a", 9000) + `"}},"clientToken":"big"}`
	mon.publish(t, prefix+"/update", big)
	if rej := mon.inbox.waitFor(t, prefix+"/update/rejected", token("big")); rej["code"] != 413.0 {
		t.Fatalf("8 KB limit: %v", rej)
	}
	huge := strings.Repeat("a", maxPayload+1)
	mon.Publish("plain/topic", 1, false, huge)
	if !lostWithin(mon, 10*time.Second) {
		t.Fatal("a payload over 128 KiB did not close the connection")
	}
}

func lostWithin(c *client, d time.Duration) bool {
	select {
	case <-c.lost:
		return true
	case <-time.After(d):
		return false
	}
}

func TestRefusals(t *testing.T) {
	l := newLab(t, "")
	base := l.tlsFor(t, "device")
	ca, err := pki.LoadCA(filepath.Join(l.dir, pki.CACertFile), filepath.Join(l.dir, pki.CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := pki.NewCA("stranger")
	foreign, _ := other.Issue(pki.Spec{CommonName: thing})
	expired, _ := ca.Issue(pki.Spec{CommonName: thing, NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0)})
	with := func(leaf *pki.Leaf) *tls.Config {
		conf := base.Clone()
		conf.Certificates = nil
		if leaf != nil {
			pair, _ := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
			conf.Certificates = []tls.Certificate{pair}
		}
		return conf
	}
	for name, conf := range map[string]*tls.Config{"no certificate": with(nil), "unknown CA": with(foreign), "expired": with(expired)} {
		if _, err := l.connectTLS(t, conf, thing); err == nil {
			t.Errorf("%s: connection accepted", name)
		}
	}
	if _, err := l.connect(t, "device", "not-the-thing"); err == nil {
		t.Error("device connected with a client id other than its thing name")
	}
	if !strings.Contains(l.log.String(), "connect_failed client=not-the-thing") {
		t.Errorf("no connect_failed line: %s", l.log.String())
	}
}

func TestDeviceConfinedToItsThing(t *testing.T) {
	l := newLab(t, "")
	dev := l.mustConnect(t, "device", thing)
	codes := dev.subscribe(t, "$aws/things/other/shadow/update/delta", prefix+"/update/delta", "#")
	if codes["$aws/things/other/shadow/update/delta"] != 0x80 || codes["#"] != 0x80 || codes[prefix+"/update/delta"] != 1 {
		t.Fatalf("SUBACK codes: %v", codes)
	}
	dev.Publish("$aws/things/other/shadow/update", 1, false, `{"state":{"reported":{"x":1}}}`)
	if !lostWithin(dev, 10*time.Second) {
		t.Fatal("publishing to another thing's shadow did not disconnect the device")
	}
}

func TestQoS2PublishDisconnects(t *testing.T) {
	l := newLab(t, "")
	mon := l.mustConnect(t, "monitor", "iotwatch-qos2")
	mon.Publish(prefix+"/update", 2, false, `{"state":{"reported":{"x":1}}}`)
	if !lostWithin(mon, 10*time.Second) {
		t.Fatal("QoS 2 publish accepted")
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	data := t.TempDir()
	l := newLab(t, data)
	mon := l.mustConnect(t, "monitor", "iotwatch-persist")
	mon.subscribe(t, prefix+"/update/accepted", prefix+"/get/accepted")
	mon.publish(t, prefix+"/update", `{"state":{"desired":{"setpoint":22.5}},"clientToken":"p1"}`)
	mon.inbox.waitFor(t, prefix+"/update/accepted", token("p1"))
	addr := l.srv.Addr()
	mon.Disconnect(0)
	if err := l.srv.Close(); err != nil {
		t.Fatal(err)
	}
	l.start(t, addr, data)
	mon2 := l.mustConnect(t, "monitor", "iotwatch-persist")
	mon2.subscribe(t, prefix+"/get/accepted")
	mon2.publish(t, prefix+"/get", `{"clientToken":"after"}`)
	doc := mon2.inbox.waitFor(t, prefix+"/get/accepted", token("after"))
	desired := doc["state"].(map[string]any)["desired"].(map[string]any)
	if desired["setpoint"] != 22.5 || doc["version"] != 1.0 {
		t.Fatalf("after restart: %v", doc)
	}
}

func TestLifecycleEvents(t *testing.T) {
	l := newLab(t, "")
	mon := l.mustConnect(t, "monitor", "iotwatch-life")
	mon.subscribe(t, "$aws/events/presence/+/"+thing)
	first := l.mustConnect(t, "device", thing)
	conn := mon.inbox.waitFor(t, "$aws/events/presence/connected/"+thing, nil)
	for _, field := range []string{"clientId", "timestamp", "eventType", "sessionIdentifier", "principalIdentifier", "ipAddress", "versionNumber"} {
		if _, ok := conn[field]; !ok {
			t.Errorf("connected event lacks %s: %v", field, conn)
		}
	}
	waitConnectRate()
	l.mustConnect(t, "device", thing) // takes over the client id
	dup := mon.inbox.waitFor(t, "$aws/events/presence/disconnected/"+thing, nil)
	if dup["disconnectReason"] != "DUPLICATE_CLIENTID" || dup["clientInitiatedDisconnect"] != false || dup["versionNumber"] != conn["versionNumber"] {
		t.Fatalf("takeover event: %v", dup)
	}
	_ = first
	if !l.srv.Kick(thing) {
		t.Fatal("Kick found no client")
	}
	mon.inbox.waitFor(t, "$aws/events/presence/disconnected/"+thing, func(d map[string]any) bool {
		return d["disconnectReason"] == "SERVER_INITIATED_DISCONNECT"
	})
	waitConnectRate()
	third := l.mustConnect(t, "device", thing)
	third.Disconnect(100)
	mon.inbox.waitFor(t, "$aws/events/presence/disconnected/"+thing, func(d map[string]any) bool {
		return d["disconnectReason"] == "CLIENT_INITIATED_DISCONNECT" && d["clientInitiatedDisconnect"] == true
	})
	if !strings.Contains(l.log.String(), "reason=DUPLICATE_CLIENTID") {
		t.Errorf("log lacks the takeover: %s", l.log.String())
	}
}

// TestShutdownPublishesNoPresence: the emulator's own shutdown is an outage,
// not something the devices did, so it publishes no disconnected events (an
// inline subscriber, which shutdown does not disconnect, would see them).
func TestShutdownPublishesNoPresence(t *testing.T) {
	l := newLab(t, "")
	var mu sync.Mutex
	var seen []string
	err := l.srv.broker.Subscribe("$aws/events/presence/#", 1, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		mu.Lock()
		seen = append(seen, pk.TopicName)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	l.mustConnect(t, "device", thing)
	// The connected event follows the CONNACK: wait for it before closing.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
	}
	l.srv.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "$aws/events/presence/connected/"+thing {
		t.Fatalf("presence events: %v, want only the device's connected", seen)
	}
	if !strings.Contains(l.log.String(), "disconnected client="+thing) {
		t.Fatalf("the shutdown disconnect was not logged: %s", l.log.String())
	}
}
