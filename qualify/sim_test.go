package qualify

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/devicesim"
)

// simCases are the cases that apply to iotwatch sim, with the verdict it
// gets. It keeps no persistent session (CleanSession=1), and paho retries
// an unacknowledged publish only after reconnecting (MQTT 3.1.1 asks no
// more), so those three cases fail it, for those reasons.
var simCases = map[string]Verdict{
	"TLS_Connect": Pass, "TLS_Support_AWS_IoT_Cipher_Suites": Warn, "TLS_Unsecure_Server_Cert": Pass,
	"TLS_Incorrect_Subject_Name_Server_Cert": Pass, "TLS_Expired_Server_Cert": Pass, "TLS_Large_Size_Server_Cert": Pass,
	"TLS_Receive_Maximum_Size_Fragments": Pass, "MQTT_Connect": Pass, "MQTT_Connect_Jitter_Backoff_Retries": Pass,
	"MQTT_Connect_Exponential_Backoff_Retries": Pass, "MQTT_ReconnectionAfterSuccessfulConnection": Pass,
	"MQTT_Reconnect_Backoff_Retries_On_Server_Disconnect": Pass, "MQTT_Publish": Pass, "MQTT_Client_Puback_QoS1": Pass,
	"MQTT_Subscribe": Pass, "MQTT_Subscribe_Retry_No_Suback": Pass, "MQTT_No_Ack_PingResp": Pass,
	"Shadow_Publish_Reported_State": Pass, "Shadow_Update_Reported_State": Pass, "Security_Device_Policies": Warn,
	"MQTT_Long_Duration": Pass, "MQTT_Publish_Retry_No_Puback": Fail, "MQTT_Persistent_Session_Happy_Case": Fail, "MQTT_Expired_Persistent_Session": Fail,
}

// TestQualifySimulator runs each case against a simulated device of its
// own, eight at a time (timings shortened for a test: keep-alive 2 s,
// CONNACK and SUBACK waits of 2 and 1 s, backoff from 300 ms, its random draws fixed by
// a table: five draws of devicesim.Jitter line up as linear or exponential
// a few times in a hundred, TestClassifySimulatorJitter). A fresh device per
// case, as Device Advisor's runs start: one device through every case
// comes to the backoff cases with its backoff at its cap (it never stayed
// up the 30 s that start it again), and waits at the cap, jittered
// between half and all of it, can be graded constant.
func TestQualifySimulator(t *testing.T) {
	t.Parallel()
	dir := newLab(t)
	results := make([]Result, len(Cases))
	var runs sync.WaitGroup
	slots := make(chan struct{}, 8) // more, and a TLS handshake under the race detector takes a second
	for i, c := range Cases {
		runs.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			results[i] = qualifySim(t, dir, c)
		})
	}
	runs.Wait()
	for _, r := range results {
		t.Logf("%s: %s: %s", r.Case, r.Verdict, r.Reason)
		if want := simCases[r.Case]; r.Verdict != want {
			t.Errorf("%s: %s (%s), want %s", r.Case, r.Verdict, r.Reason, want)
			logTimeline(t, r)
		}
	}
}

// qualifySim runs one case against a new simulated device.
func qualifySim(t *testing.T, dir string, c Case) Result {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	rep, err := Run(ctx, Options{PKIDir: dir, Listen: "127.0.0.1:0", Thing: testThing, Cases: []Case{c}, Timeout: 60 * time.Second,
		Ready: func(addr string) {
			_, port, _ := net.SplitHostPort(addr)
			p, _ := strconv.Atoi(port)
			sim := devicesim.New(devicesim.Options{Interval: time.Second, Conn: awsconn.Options{Host: "localhost", Port: p,
				TLS: deviceTLS(t, dir), Thing: testThing, KeepAlive: 2 * time.Second, ConnectTimeout: 2 * time.Second,
				RequestTimeout: time.Second, SubscribeRetry: 500 * time.Millisecond,
				Backoff: tableJitter(300*time.Millisecond, 2*time.Second)}})
			wg.Go(func() { sim.Run(ctx) })
		}})
	if err != nil {
		t.Error(err)
		return Result{Case: c.Name}
	}
	return rep.Results[0]
}
