package localiot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iotdataplane"
)

// The reserved topics AWS's services take publishes on, and some they do not.
var reservedCases = []struct {
	topic string
	ok    bool
}{
	{"lab/a", true},
	{"$aws/things/t1/shadow/update", true},
	{"$aws/things/t1/shadow/name/cfg/get", true},
	{"$aws/things/t1/shadow/update/accepted", false},
	{"$aws/things/t1/shadow/update/delta", false},
	{"$aws/things/t1/shadow/name/cfg/update/documents", false},
	{"$aws/events/presence/disconnected/t1", false},
	{"$aws/events/subscriptions/subscribed/t1", false},
	{"$aws/things/t1/jobs/get", true},
	{"$aws/things/t1/jobs/start-next", true},
	{"$aws/things/t1/jobs/job-7/get", true},
	{"$aws/things/t1/jobs/job-7/update", true},
	{"$aws/things/t1/jobs/notify", false},
	{"$aws/things/t1/jobs/job-7/update/accepted", false},
	{"$aws/rules/myRule", true},
	{"$aws/rules/myRule/a/b", true},
	{"$aws/rules/my-rule/a", false}, // rule names are [a-zA-Z0-9_]
	{"$aws/rules//a", false},
	{"$aws/certificates/create/json", true},
	{"$aws/certificates/create-from-csr/cbor", true},
	{"$aws/certificates/create/json/accepted", false},
	{"$aws/certificates/create/xml", false},
	{"$aws/provisioning-templates/tmpl/provision/json", true},
	{"$aws/provisioning-templates/tmpl/provision/json/accepted", false},
	{"$aws/things/t1/defender/metrics/json", true},
	{"$aws/things/t1/defender/metrics/cbor", true},
	{"$aws/things/t1/defender/metrics/json/accepted", false},
	{"$aws/sitewise/asset-models/m/assets/a/properties/p", false},
	{"$aws/anything", false},
}

func TestPublishableReserved(t *testing.T) {
	for _, c := range reservedCases {
		if got := publishableReserved(c.topic); got != c.ok {
			t.Errorf("%s: publishable %v, want %v", c.topic, got, c.ok)
		}
	}
}

// TestReservedTopicsOverMQTT: with an allow-all policy, the publishes
// AWS's services take are acknowledged and the connection stays up; a
// Basic Ingest publish reaches no subscriber; a forged answer closes the
// MQTT 3.1.1 connection as AWS does.
func TestReservedTopicsOverMQTT(t *testing.T) {
	l := newLab(t, "")
	mon := l.mustConnect(t, "monitor", "mon")
	if codes := mon.subscribe(t, "$aws/+/myRule/#", "lab/marker", "$aws/things/t1/jobs/#"); codes["$aws/+/myRule/#"] != 1 {
		t.Fatalf("SUBACK %v", codes)
	}
	if codes := mon.subscribe(t, "$aws/rules/myRule/#"); codes["$aws/rules/myRule/#"] != 0x80 {
		t.Errorf("a subscription to Basic Ingest topics: SUBACK %v, want 0x80 (AWS: no one subscribes to them)", codes)
	}
	pub := l.mustConnect(t, "monitor", "pub")
	for _, c := range reservedCases {
		if c.ok && strings.HasPrefix(c.topic, "$aws/") {
			pub.publish(t, c.topic, `{"n":1}`)
		}
	}
	pub.publish(t, "$aws/rules/myRule/"+strings.Repeat("l/", 7)+"x", `{"n":2}`) // the prefix does not count
	pub.publish(t, "lab/marker", `{}`)
	mon.inbox.waitFor(t, "lab/marker", nil)
	mon.inbox.waitFor(t, "$aws/things/t1/jobs/get", nil) // delivered: Jobs is an ordinary publish for now
	mon.inbox.mu.Lock()
	for _, m := range mon.inbox.msgs {
		if strings.HasPrefix(m.topic, "$aws/rules/") {
			t.Errorf("a Basic Ingest publish reached a subscriber: %s", m.topic)
		}
	}
	mon.inbox.mu.Unlock()

	tok := pub.Publish("$aws/things/t1/shadow/update/accepted", 1, false, `{}`)
	tok.WaitTimeout(5 * time.Second)
	select {
	case <-pub.lost:
	case <-time.After(10 * time.Second):
		t.Error("a publish to an answer topic did not close the MQTT 3.1.1 connection")
	}
}

// TestReservedTopicsOverHTTPS: iot-data Publish refuses what MQTT refuses:
// forged answers and lifecycle events (403 ForbiddenException), topics
// past AWS's limits (400); Basic Ingest is accepted and delivered to no one.
func TestReservedTopicsOverHTTPS(t *testing.T) {
	l := newAPILab(t, "", "")
	d, ctx := l.dataClient(t), context.Background()
	mon := l.mustConnect(t, "monitor", "mon")
	mon.subscribe(t, "$aws/things/t1/shadow/update/+", "$aws/events/presence/+/t1", "$aws/+/myRule/#", "lab/marker")
	for _, c := range reservedCases {
		_, err := d.Publish(ctx, &iotdataplane.PublishInput{Topic: aws.String(c.topic), Payload: []byte(`{"forged":1}`), Qos: 1})
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.topic, err)
		}
		if !c.ok {
			wantAPIError(t, c.topic, err, "ForbiddenException")
		}
	}
	for _, topic := range []string{"lab/" + strings.Repeat("x", 253), strings.Repeat("l/", 8) + "x", strings.Repeat("a/", 20) + strings.Repeat("b", 361)} {
		_, err := d.Publish(ctx, &iotdataplane.PublishInput{Topic: aws.String(topic), Payload: []byte(`{}`)})
		wantAPIError(t, fmt.Sprintf("a topic of %d bytes, %d slashes", len(topic), strings.Count(topic, "/")), err, "InvalidRequestException")
	}
	if _, err := d.Publish(ctx, &iotdataplane.PublishInput{Topic: aws.String("lab/marker"), Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	mon.inbox.waitFor(t, "lab/marker", nil)
	mon.inbox.mu.Lock()
	defer mon.inbox.mu.Unlock()
	for _, m := range mon.inbox.msgs {
		if strings.Contains(string(m.payload), "forged") { // the shadow's own update/rejected answers are not
			t.Errorf("a subscriber received %s %s", m.topic, m.payload)
		}
	}
}
