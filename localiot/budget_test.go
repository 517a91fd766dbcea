package localiot

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSlowReaderDisconnected: a subscriber that stops reading (a frozen
// mosquitto_sub) is disconnected once 1 MiB is queued for it, with a log
// line naming it and a THROTTLED disconnect event; the publisher is not.
func TestSlowReaderDisconnected(t *testing.T) {
	l := newLab(t, "")
	mon := l.mustConnect(t, "monitor", "iotwatch-presence")
	mon.subscribe(t, "$aws/events/presence/disconnected/iotwatch-frozen")
	sub := l.mosquitto(t, "mosquitto_sub", "monitor", "mqttv311", "-i", "iotwatch-frozen", "-q", "0", "-t", "plain/flood")
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Process.Kill(); sub.Wait() })
	l.waitLog(t, " connected client=iotwatch-frozen ")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if cl, ok := l.srv.broker.Clients.Get("iotwatch-frozen"); ok && cl.State.Subscriptions.Len() == 1 {
			break
		} else if time.Now().After(deadline) {
			t.Fatal("mosquitto_sub never subscribed")
		}
	}
	sub.Process.Signal(syscall.SIGSTOP)
	pub := l.mustConnect(t, "monitor", "iotwatch-flooder")
	payload := strings.Repeat("x", 64<<10)
	for start := time.Now(); !strings.Contains(l.log.String(), "disconnected client=iotwatch-frozen"); time.Sleep(time.Second / publishesPerSecond) {
		if time.Since(start) > 60*time.Second {
			t.Fatalf("the frozen subscriber was never disconnected:\n%s", l.log.String())
		}
		pub.Publish("plain/flood", 0, false, payload)
	}
	ev := mon.inbox.waitFor(t, "$aws/events/presence/disconnected/iotwatch-frozen", nil)
	if ev["disconnectReason"] != "THROTTLED" || !strings.Contains(l.log.String(), "disconnecting client=iotwatch-frozen: not reading: 1024 KiB") {
		t.Fatalf("event %v, log:\n%s", ev, l.log.String())
	}
	if !pub.IsConnectionOpen() {
		t.Fatal("the publisher was disconnected too")
	}
}
