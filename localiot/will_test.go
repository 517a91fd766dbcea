package localiot

import (
	"strings"
	"testing"
	"time"
)

// TestForgedWillOnAnotherThingsAnswerIsRefused: a device of thing t2
// connects with a retained QoS 2 will on t1's update/accepted and dies. The
// will must never reach t1's watchers nor stay retained: the connection is
// refused at CONNECT, as AWS checks the will against the policy then.
func TestForgedWillOnAnotherThingsAnswerIsRefused(t *testing.T) {
	l := newLab(t, "")
	mon := l.mustConnect(t, "monitor", "iotwatch-will")
	mon.subscribe(t, prefix+"/update/accepted")
	role := l.issue(t, "t2")
	sub := l.mosquitto(t, "mosquitto_sub", role, "mqttv311", "-i", "t2", "-t", "$aws/things/t2/shadow/update/delta",
		"--will-topic", prefix+"/update/accepted", "--will-payload", `{"state":{"reported":{"seq":1}},"version":999999}`,
		"--will-qos", "2", "--will-retain")
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Process.Kill(); sub.Wait() })
	if l.waitLog(t, "connect_failed client=t2 ", " connected client=t2 ") != "connect_failed client=t2 " {
		t.Error("the connection with a forged will was accepted")
		sub.Process.Kill() // as a crashing device would die
		l.waitLog(t, "disconnected client=t2 ")
	}
	// A real answer, queued to the monitor after any will.
	dev := l.mustConnect(t, "device", thing)
	dev.publish(t, prefix+"/update", `{"state":{"reported":{"seq":1}},"clientToken":"real"}`)
	mon.inbox.waitFor(t, prefix+"/update/accepted", token("real"))
	if forged := mon.inbox.matching(prefix+"/update/accepted", func(d map[string]any) bool { return d["version"] == 999999.0 }); forged > 0 {
		t.Error("the forged will reached the monitor")
	}
	if kept := l.srv.broker.Topics.Messages(prefix + "/update/accepted"); len(kept) > 0 {
		t.Errorf("the forged will is retained: %s", kept[0].Payload)
	}
}

// TestWillRefusals: each will that the client could not publish itself
// refuses the connection, as a forbidden CONNECT: MQTT 3.1.1 is closed
// without a CONNACK, MQTT 5 gets CONNACK 0x87; either way a connect_failed
// event. The allowed will is the control.
func TestWillRefusals(t *testing.T) {
	own := "$aws/things/t2/shadow"
	cases := []struct {
		name, role, clientID, version string
		will                          []string
		refused                       bool
	}{
		{"allowed: own shadow update, QoS 1", "t2", "t2", "mqttv311", []string{"--will-topic", own + "/update", "--will-qos", "1"}, false},
		{"own update/accepted", "t2", "t2", "mqttv311", []string{"--will-topic", own + "/update/accepted"}, true},
		{"own update/delta", "t2", "t2", "mqttv311", []string{"--will-topic", own + "/update/delta"}, true},
		{"own update/documents", "t2", "t2", "mqttv311", []string{"--will-topic", own + "/update/documents"}, true},
		{"own get/rejected", "t2", "t2", "mqttv311", []string{"--will-topic", own + "/get/rejected"}, true},
		{"another thing's update", "t2", "t2", "mqttv311", []string{"--will-topic", prefix + "/update"}, true},
		{"QoS 2", "t2", "t2", "mqttv311", []string{"--will-topic", own + "/update", "--will-qos", "2"}, true},
		{"retained on $aws", "t2", "t2", "mqttv311", []string{"--will-topic", own + "/update", "--will-retain"}, true},
		{"presence forged by the monitor", "monitor", "iotwatch-forger", "mqttv311", []string{"--will-topic", "$aws/events/presence/disconnected/" + thing}, true},
		{"answer forged by the monitor", "monitor", "iotwatch-forger", "mqttv311", []string{"--will-topic", prefix + "/update/accepted"}, true},
		{"MQTT 5: CONNACK 0x87", "t2", "t2", "mqttv5", []string{"--will-topic", prefix + "/update/accepted"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newLab(t, "")
			role := "monitor"
			if c.role != "monitor" {
				role = l.issue(t, c.role)
			}
			args := append([]string{"-i", c.clientID, "-q", "1", "-t", "$aws/things/t2/shadow/get", "-m", "",
				"--will-payload", `{"state":{"reported":{"connected":false}}}`}, c.will...)
			pub := l.mosquitto(t, "mosquitto_pub", role, c.version, args...)
			out, err := pub.CombinedOutput()
			if !c.refused {
				if err != nil {
					t.Fatalf("allowed will refused: %v %s", err, out)
				}
				return
			}
			want := map[string]string{"mqttv311": "The connection was lost", "mqttv5": "Connection error: Not authorized"}[c.version]
			if !strings.Contains(string(out), want) || (c.version == "mqttv5") != (pub.ProcessState.ExitCode() == 0x87) {
				t.Fatalf("exit %d, want %q: %s", pub.ProcessState.ExitCode(), want, out)
			}
			l.waitLog(t, "connect_failed client="+c.clientID+" ")
		})
	}
}

// TestOnlyTheEmulatorPublishesAnswersAndEvents: not even the monitor
// certificate, which may publish to every thing's requests, may publish a
// shadow answer or a lifecycle event; the publish disconnects it (MQTT 3.1.1)
// before anything is delivered.
func TestOnlyTheEmulatorPublishesAnswersAndEvents(t *testing.T) {
	for _, topic := range []string{prefix + "/update/accepted", prefix + "/get/rejected", prefix + "/update/delta",
		prefix + "/update/documents", prefix + "/name/config/update/accepted", "$aws/events/presence/disconnected/" + thing} {
		t.Run(topic, func(t *testing.T) {
			l := newLab(t, "")
			watcher := l.mustConnect(t, "monitor", "iotwatch-watcher")
			watcher.subscribe(t, topic)
			forger := l.mustConnect(t, "monitor", "iotwatch-forger")
			forger.Publish(topic, 1, false, `{"forged":true}`)
			if !lostWithin(forger, 10*time.Second) {
				t.Fatal("the forged publish did not disconnect")
			}
			if n := watcher.inbox.matching(topic, func(d map[string]any) bool { return d["forged"] == true }); n > 0 {
				t.Fatal("the forged message was delivered")
			}
			l.waitLog(t, "reason=FORBIDDEN_ACCESS")
		})
	}
}
