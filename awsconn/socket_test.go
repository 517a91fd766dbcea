package awsconn

import (
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// TestCutIsConnectionLost: Cut ends the device's connection as a dropped
// network does (the emulator's lifecycle event says CONNECTION_LOST), Close
// as a client that says goodbye (CLIENT_INITIATED_DISCONNECT).
func TestCutIsConnectionLost(t *testing.T) {
	l := newLab(t)
	mon := l.dial(t, Monitor, "iotwatch-cut", 0)
	waitEvent(t, mon, "link up", linkIs(event.LinkUp))
	for _, c := range []struct {
		end  func(*Conn)
		want string
	}{{(*Conn).Cut, "CONNECTION_LOST"}, {(*Conn).Close, "CLIENT_INITIATED_DISCONNECT"}} {
		time.Sleep(1100 * time.Millisecond) // AWS's 1 CONNECT per second per client id
		dev := l.dial(t, Device, thing, 0)
		waitEvent(t, dev, "device link up", linkIs(event.LinkUp))
		c.end(dev)
		ev := waitEvent(t, mon, "the device's disconnected event", func(ev event.Event) bool {
			p, ok := ev.(event.Presence)
			return ok && p.EventType == "disconnected"
		}).(event.Presence)
		if ev.DisconnectReason != c.want {
			t.Errorf("disconnect reason %s, want %s", ev.DisconnectReason, c.want)
		}
	}
}
