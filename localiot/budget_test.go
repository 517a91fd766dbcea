package localiot

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mochi-mqtt/server/v2/packets"
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
	l.floodUntilThrottled(t, mon, "iotwatch-frozen", 64<<10)
}

// floodUntilThrottled publishes payloads of size bytes on plain/flood
// until the subscriber frozen, which reads nothing, is disconnected, then
// checks it was for its write budget (THROTTLED, a log line) and that the
// publisher was left alone. mon watches frozen's disconnected event.
func (l *lab) floodUntilThrottled(t *testing.T, mon *client, frozen string, size int) {
	t.Helper()
	pub := l.mustConnect(t, "monitor", "iotwatch-flooder")
	payload := strings.Repeat("x", size)
	for start := time.Now(); !strings.Contains(l.log.String(), "disconnected client="+frozen); time.Sleep(time.Second / publishesPerSecond) {
		if time.Since(start) > 60*time.Second {
			t.Fatalf("the frozen subscriber was never disconnected:\n%s", l.log.String())
		}
		pub.Publish("plain/flood", 0, false, payload)
	}
	ev := mon.inbox.waitFor(t, "$aws/events/presence/disconnected/"+frozen, nil)
	if ev["disconnectReason"] != "THROTTLED" || !strings.Contains(l.log.String(), "disconnecting client="+frozen+": not reading: 1024 KiB") {
		t.Fatalf("event %v, log:\n%s", ev, l.log.String())
	}
	if !pub.IsConnectionOpen() {
		t.Fatal("the publisher was disconnected too")
	}
}

// TestSlowWebSocketReaderDisconnected: a subscriber over /mqtt that stops
// reading gets the same 1 MiB budget as one over TLS: disconnected
// THROTTLED, with the same log line; before, it was queued for without
// bound (RSS 21 → 367 MiB in the run).
func TestSlowWebSocketReaderDisconnected(t *testing.T) {
	l := newAPILab(t, "", "")
	mon := l.mustConnect(t, "monitor", "iotwatch-presence")
	mon.subscribe(t, "$aws/events/presence/disconnected/ws-frozen")
	conf := l.tlsFor(t, "monitor")
	conf.Certificates = nil
	ws, _, err := (&websocket.Dialer{TLSClientConfig: conf, Subprotocols: []string{"mqtt"}}).Dial(l.presignedMQTT(t, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	for _, pk := range []packets.Packet{
		{FixedHeader: packets.FixedHeader{Type: packets.Connect}, Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 600, ClientIdentifier: "ws-frozen"}},
		{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1, Filters: packets.Subscriptions{{Filter: "plain/flood"}}},
	} {
		if err := ws.WriteMessage(websocket.BinaryMessage, encode(t, pk)); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if cl, ok := l.srv.broker.Clients.Get("ws-frozen"); ok && cl.State.Subscriptions.Len() == 1 {
			break
		} else if time.Now().After(deadline) {
			t.Fatal("the WebSocket client never subscribed")
		}
	}
	l.floodUntilThrottled(t, mon, "ws-frozen", 120<<10) // from here on the client reads nothing
}
