package localiot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"
	"github.com/mochi-mqtt/server/v2/packets"
)

// TestWillReachesTheShadowService: a device's will on its own
// shadow/update ("reported: offline") is a shadow update, as on AWS: the
// shadow changes and update/accepted is published.
func TestWillReachesTheShadowService(t *testing.T) {
	l := newLab(t, "")
	mon := l.mustConnect(t, "monitor", "iotwatch-mon")
	mon.subscribe(t, prefix+"/update/accepted")
	sub := l.mosquitto(t, "mosquitto_sub", "device", "mqttv311", "-i", thing, "-t", prefix+"/update/delta",
		"--will-topic", prefix+"/update", "--will-qos", "1", "--will-payload", `{"state":{"reported":{"online":false}},"clientToken":"will"}`)
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Process.Kill(); sub.Wait() })
	l.waitLog(t, " connected client="+thing+" ")
	sub.Process.Kill() // a device that dies: the broker publishes its will
	mon.inbox.waitFor(t, prefix+"/update/accepted", token("will"))
	sh, err := l.srv.store.Get(shadowKey(thing, ""))
	if err != nil || sh.Reported["online"] != false {
		t.Fatalf("shadow after the will: reported %s %v", sh.Reported, err)
	}
}

// TestWildcardWillRefused: a will topic is a topic name, which holds no
// wildcard (MQTT-4.7.0-1): MQTT 3.1.1 is closed without CONNACK, MQTT 5
// gets 0x90 (topic name invalid), and the log says why.
func TestWildcardWillRefused(t *testing.T) {
	l := newLab(t, "")
	for _, c := range []struct {
		version byte
		topic   string
	}{{4, "lab/#"}, {4, "lab/+/x"}, {5, "lab/#"}} {
		raw := l.dialRaw(t, "monitor", c.version)
		ack, err := raw.connect(packets.ConnectParams{Clean: true, Keepalive: 60, ClientIdentifier: "wild",
			WillFlag: true, WillTopic: c.topic, WillPayload: []byte("gone"), WillQos: 1}, packets.Properties{})
		switch {
		case c.version == 4 && err == nil:
			t.Errorf("MQTT 3.1.1, will topic %s: answered %+v, want the connection closed", c.topic, ack)
		case c.version == 5 && (err != nil || ack.ReasonCode != packets.ErrTopicNameInvalid.Code):
			t.Errorf("MQTT 5, will topic %s: %+v %v, want CONNACK 0x90", c.topic, ack, err)
		}
		l.waitLog(t, `refused client=wild: will topic "`+c.topic+`" holds a wildcard`)
		waitConnectRate()
	}
}

// TestBadProtocolConnack: an MQTT 3.1.1-style CONNECT with another
// protocol name or level gets CONNACK 0x01, unacceptable protocol version
// (MQTT-3.1.2-2), not an MQTT 5 code.
func TestBadProtocolConnack(t *testing.T) {
	l := newLab(t, "")
	for _, c := range []struct {
		name  string
		level byte
	}{{"MQTX", 4}, {"MQTT", 3}, {"MQTT", 6}, {"MQIsdp", 3}} {
		raw := l.dialRaw(t, "monitor", c.level)
		ack, err := raw.connect(packets.ConnectParams{ProtocolName: []byte(c.name), Clean: true, Keepalive: 60, ClientIdentifier: "old"}, packets.Properties{})
		if err != nil || ack.FixedHeader.Type != packets.Connack || ack.ReasonCode != 0x01 {
			t.Errorf("protocol %s level %d: %+v %v, want CONNACK 0x01", c.name, c.level, ack, err)
		}
	}
}

// TestPasswordWithoutUserName: MQTT 3.1.1 forbids a password without a
// user name (MQTT-3.1.2-22): the connection is closed without CONNACK and
// the log says why; MQTT 5 allows it.
func TestPasswordWithoutUserName(t *testing.T) {
	l := newLab(t, "")
	raw := l.dialRaw(t, "monitor", 4)
	if ack, err := raw.connect(packets.ConnectParams{Clean: true, Keepalive: 60, ClientIdentifier: "pw",
		PasswordFlag: true, Password: []byte("secret")}, packets.Properties{}); err == nil {
		t.Errorf("MQTT 3.1.1 password without user name answered %+v, want the connection closed", ack)
	}
	l.waitLog(t, "refused client=pw: a password without a user name (MQTT-3.1.2-22)")
	waitConnectRate()
	raw = l.dialRaw(t, "monitor", 5)
	if ack, err := raw.connect(packets.ConnectParams{Clean: true, Keepalive: 60, ClientIdentifier: "pw",
		PasswordFlag: true, Password: []byte("secret")}, packets.Properties{}); err != nil || ack.ReasonCode != 0 {
		t.Errorf("MQTT 5 password without user name: %+v %v, want accepted", ack, err)
	}
}

// TestThingAttributesValidated: AWS's attribute limits without a thing
// type: 3 attributes, names and values of a-zA-Z0-9_.,@/:#- (≤ 128 and
// ≤ 800 characters).
func TestThingAttributesValidated(t *testing.T) {
	l := newAPILab(t, "", "")
	c, ctx := l.iotClient(t), context.Background()
	for i, tc := range []struct {
		attrs map[string]string
		ok    bool
	}{
		{map[string]string{"model": "esp32-s3", "site": "lab/bench#2", "owner": "a.b,c@d:e_f"}, true},
		{map[string]string{"empty": ""}, true},
		{map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"}, false},
		{map[string]string{"a b": "1"}, false},
		{map[string]string{"a": "has space"}, false},
		{map[string]string{"a": "é"}, false},
		{map[string]string{strings.Repeat("n", 129): "1"}, false},
		{map[string]string{"a": strings.Repeat("v", 801)}, false},
		{map[string]string{"a": strings.Repeat("v", 800)}, true},
	} {
		_, err := c.CreateThing(ctx, &iot.CreateThingInput{ThingName: aws.String(fmt.Sprintf("attrs-%d", i)),
			AttributePayload: &types.AttributePayload{Attributes: tc.attrs}})
		if tc.ok && err != nil {
			t.Errorf("case %d refused: %v", i, err)
		}
		if !tc.ok {
			wantAPIError(t, fmt.Sprintf("case %d", i), err, "InvalidRequestException")
		}
	}
}

// TestLifecycleEventsCarryNoThingName: AWS's presence events have no
// thingName field (the log line still names the thing).
func TestLifecycleEventsCarryNoThingName(t *testing.T) {
	l := newLab(t, "")
	mon := l.mustConnect(t, "monitor", "iotwatch-mon")
	mon.subscribe(t, "$aws/events/presence/+/"+thing)
	l.mustConnect(t, "device", thing)
	mon.inbox.waitFor(t, "$aws/events/presence/connected/"+thing, nil)
	mon.inbox.mu.Lock()
	defer mon.inbox.mu.Unlock()
	for _, m := range mon.inbox.msgs {
		var ev map[string]any
		json.Unmarshal(m.payload, &ev)
		if _, has := ev["thingName"]; has {
			t.Errorf("%s carries thingName: %s", m.topic, m.payload)
		}
	}
	l.waitLog(t, "connected client="+thing+" thing="+thing)
}

// TestRefusedSubscriptionLogged: a filter the policy refuses writes a log
// line like the other refusals (before, only the SUBACK said so).
func TestRefusedSubscriptionLogged(t *testing.T) {
	l := newLab(t, "")
	dev := l.mustConnect(t, "device", thing)
	if codes := dev.subscribe(t, "$aws/things/other/shadow/update/delta"); codes["$aws/things/other/shadow/update/delta"] != 0x80 {
		t.Fatalf("SUBACK %v", codes)
	}
	l.waitLog(t, "refused client="+thing+": SUBSCRIBE to $aws/things/other/shadow/update/delta: its policies do not allow iot:Subscribe")
	dev.subscribe(t, strings.Repeat("a/", 8)+"x")
	l.waitLog(t, "refused client="+thing+": SUBSCRIBE to "+strings.Repeat("a/", 8)+"x: over AWS's 256 bytes or 7 slashes")
}
