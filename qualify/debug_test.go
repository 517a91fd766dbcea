package qualify

import (
	"testing"
	"time"
)

func TestQualifyDebug(t *testing.T) {
	dir := newLab(t)
	res := qualifyDevice(t, dir, []string{"MQTT_No_Ack_PingResp"}, 6*time.Second, func(addr string) *testDevice {
		d := goodDevice(t, dir, addr, testThing)
		d.pingWait = 0
		return d
	})
	for _, e := range res["MQTT_No_Ack_PingResp"].Timeline {
		t.Logf("%s %d %s %s id=%d %s by=%v %s", e.At.Format("05.000"), e.Conn, e.Kind, e.Packet, e.ID, e.Topic, e.ByDevice, e.Detail)
	}
}
