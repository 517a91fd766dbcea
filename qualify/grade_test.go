package qualify

import (
	"crypto/tls"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/devicesim"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestClassifyBackoff(t *testing.T) {
	tests := []struct {
		delays []time.Duration
		want   Backoff
	}{
		{ms(1000), BackoffUnknown},
		{ms(0, 1, 0, 2, 0), BackoffImmediate},
		{ms(1000, 1000, 1010, 990, 1000), BackoffConstant},
		{ms(300, 310, 295, 305, 300), BackoffConstant},
		{ms(1000, 2000, 3000, 4000, 5000), BackoffLinear},
		{ms(250, 500, 750, 1000, 1250), BackoffLinear},
		{ms(315, 506, 753, 1000, 1250), BackoffLinear}, // seen: factors 1.6, 1.49, 1.33, 1.25 are steady within 15%
		{ms(1000, 2000, 4000, 8000, 16000), BackoffExponential},
		{ms(200, 400, 800, 1600, 1600), BackoffExponential},     // capped
		{ms(1000, 2000, 4000, 30000, 30000), BackoffIncreasing}, // a jump to the cap is no steady factor
		{ms(180, 140, 640, 480, 1500), BackoffJitter},
		{ms(1040, 1210, 1450, 1160, 1150), BackoffJitter}, // seen: equal jitter at a 2 s cap, once taken for linear
		{ms(152, 703, 1360, 1750, 659), BackoffJitter},    // seen: fw-host's full jitter, its rising part taken for linear
		{ms(900, 300, 2500, 1200, 4000), BackoffJitter},
		{ms(1000, 1200, 1900, 2200, 5000), BackoffIncreasing},
		{ms(1000, 1500, 2250, 3375), BackoffExponential},   // factor 1.5
		{ms(150, 330, 560, 1400, 1500), BackoffIncreasing}, // equal jitter that happened to grow
		{ms(200, 430, 790, 1650), BackoffExponential},      // doubling, with a loaded machine's noise
	}
	for _, tc := range tests {
		if got := ClassifyBackoff(tc.delays); got != tc.want {
			t.Errorf("ClassifyBackoff(%v) = %s, want %s", tc.delays, got, tc.want)
		}
	}
}

// at builds a timeline event at t0 + s seconds.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(s float64, e Event) Event {
	e.At = t0.Add(time.Duration(s * float64(time.Second)))
	return e
}

func TestGradeNoPingResp(t *testing.T) {
	connect := func(ka uint16) Timeline {
		return Timeline{at(0, Event{Conn: 1, Kind: Accepted}), at(0, Event{Conn: 1, Kind: Received, Packet: "CONNECT", KeepAlive: ka}),
			at(0, Event{Conn: 1, Kind: Sent, Packet: "CONNACK"})}
	}
	tests := []struct {
		name   string
		tl     Timeline
		now    float64
		want   Verdict
		reason string
	}{
		{"closes in time", append(connect(10), at(10, Event{Conn: 1, Kind: Withheld, Packet: "PINGREQ"}), at(14, Event{Conn: 1, Kind: Closed, ByDevice: true})), 20, Pass, "closed the connection 14 s"},
		{"closes late", append(connect(10), at(10, Event{Conn: 1, Kind: Withheld, Packet: "PINGREQ"}), at(17, Event{Conn: 1, Kind: Closed, ByDevice: true})), 20, Fail, "more than 1.5"},
		{"never closes", append(connect(10), at(10, Event{Conn: 1, Kind: Withheld, Packet: "PINGREQ"})), 16.5, Fail, "stayed connected"},
		{"still within", append(connect(10), at(10, Event{Conn: 1, Kind: Withheld, Packet: "PINGREQ"})), 14, pending, "give up"},
		{"server closes", append(connect(10), at(15, Event{Conn: 1, Kind: Closed})), 20, Fail, "server closed"},
		{"no keep-alive", connect(0), 1, Fail, "no keep-alive"},
	}
	for _, tc := range tests {
		o := gradeNoPingResp(tc.tl, Params{Now: t0.Add(time.Duration(tc.now * float64(time.Second)))})
		if o.Verdict != tc.want || !strings.Contains(o.Reason, tc.reason) {
			t.Errorf("%s: %s (%s), want %s with %q", tc.name, o.Verdict, o.Reason, tc.want, tc.reason)
		}
	}
}

func TestGradePublishRetry(t *testing.T) {
	const topic = "$aws/things/d/shadow/update"
	w := at(1, Event{Conn: 1, Kind: Withheld, Packet: "PUBLISH", ID: 7, QoS: 1, Topic: topic})
	pub := func(s float64, conn int, id uint16, dup bool) Event {
		return at(s, Event{Conn: conn, Kind: Received, Packet: "PUBLISH", ID: id, QoS: 1, Dup: dup, Topic: topic})
	}
	tests := []struct {
		name   string
		tl     Timeline
		final  bool
		want   Verdict
		reason string
	}{
		{"same id with DUP", Timeline{w, pub(3, 1, 7, true)}, false, Pass, "same packet id 7 and DUP"},
		{"same id without DUP", Timeline{w, pub(3, 1, 7, false)}, false, Warn, "without the DUP flag"},
		{"new id", Timeline{w, pub(3, 1, 8, false)}, false, Fail, "new packet id 8"},
		{"after a reconnect", Timeline{w, at(2, Event{Conn: 1, Kind: Closed, ByDevice: true}), pub(3, 2, 7, true)}, false, Fail, "only after reconnecting"},
		{"closes instead", Timeline{w, at(2, Event{Conn: 1, Kind: Closed, ByDevice: true})}, false, Fail, "closed the connection instead"},
		{"waiting", Timeline{w}, false, pending, "a retry of packet id 7"},
		{"never", Timeline{w}, true, Fail, "never retried"},
		{"QoS 0 only", Timeline{at(0, Event{Conn: 1, Kind: Accepted}), at(1, Event{Conn: 1, Kind: Received, Packet: "PUBLISH", Topic: topic})}, true, Fail, "QoS 0 only"},
		{"never came", nil, true, Error, "never connected"},
	}
	for _, tc := range tests {
		o := gradePublishRetry(tc.tl, Params{PublishTopic: topic, Final: tc.final})
		if o.Verdict != tc.want || !strings.Contains(o.Reason, tc.reason) {
			t.Errorf("%s: %s (%s), want %s with %q", tc.name, o.Verdict, o.Reason, tc.want, tc.reason)
		}
	}
}

// TestGradeConnackRounds: the waits after withheld CONNACKs, each round
// classified apart.
func TestGradeConnackRounds(t *testing.T) {
	var tl Timeline
	conn, clock := 0, 0.0
	round := func(waits []time.Duration) {
		for i := 0; i <= len(waits); i++ {
			conn++
			tl = append(tl, at(clock, Event{Conn: conn, Kind: Accepted}), at(clock, Event{Conn: conn, Kind: Received, Packet: "CONNECT"}))
			if i < len(waits) {
				tl = append(tl, at(clock, Event{Conn: conn, Kind: Withheld, Packet: "CONNECT"}))
				clock += 0.5
				tl = append(tl, at(clock, Event{Conn: conn, Kind: Closed, ByDevice: true}))
				clock += waits[i].Seconds()
			} else {
				clock += 0.3
				tl = append(tl, at(clock, Event{Conn: conn, Kind: Kicked}), at(clock, Event{Conn: conn, Kind: Closed}))
				clock += 0.2
			}
		}
	}
	round(ms(1000, 2000, 4000, 8000, 16000))
	round(ms(2000, 4000, 8000, 8000, 8000)) // seen: a device starting again from its second wait, capped
	o := gradeConnackRounds(2, 5, jitterRule)(tl, Params{})
	if o.Verdict != Warn || !strings.Contains(o.Reason, "without jitter") || len(o.Delays) != 10 {
		t.Errorf("pure exponential: %s (%s) %v", o.Verdict, o.Reason, o.Delays)
	}
	tl, conn, clock = nil, 0, 0
	round(ms(1000, 2000, 3000, 4000, 5000))
	round(ms(900, 300, 2500, 1200, 4000))
	o = gradeConnackRounds(2, 5, jitterRule)(tl, Params{})
	if o.Verdict != Pass || !strings.Contains(o.Reason, "(linear); then") {
		t.Errorf("a random round after one lined up: %s (%s)", o.Verdict, o.Reason)
	}
	tl, conn, clock = nil, 0, 0
	round(ms(900, 300, 2500, 1200, 4000))
	o = gradeConnackRounds(2, 5, jitterRule)(tl, Params{Final: true})
	if o.Verdict != Fail || !strings.Contains(o.Reason, "retried 5 times of the 10") {
		t.Errorf("one round: %s (%s)", o.Verdict, o.Reason)
	}
}

func TestGradeCipherSuites(t *testing.T) {
	hello := func(s ...uint16) Timeline { return Timeline{{Kind: Hello, Suites: s}} }
	tests := []struct {
		tl   Timeline
		want Verdict
	}{
		{hello(0x0a0a, tls.TLS_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 0x00ff), Pass},
		{hello(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256), Warn},
		{hello(tls.TLS_RSA_WITH_AES_128_CBC_SHA), Warn},
		{hello(tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_RSA_WITH_RC4_128_SHA), Fail},
	}
	for _, tc := range tests {
		if o := gradeCipherSuites(tc.tl, Params{}); o.Verdict != tc.want {
			t.Errorf("%v: %s (%s), want %s", tc.tl[0].Suites, o.Verdict, o.Reason, tc.want)
		}
	}
}

// TestGradePolicies reads the repository's own policies: certs init's
// device policy keeps its wildcards below the thing, the monitor's does not,
// and a policy naming exact topics has none.
func TestGradePolicies(t *testing.T) {
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	done := Timeline{{Kind: TLSDone}}
	exact := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect"],"Resource":["arn:aws:iot:eu-west-1:123456789012:client/dev-1"]},
		{"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:eu-west-1:123456789012:topic/$aws/things/dev-1/shadow/update"},
		{"Effect":"Deny","Action":"iot:*","Resource":"*"}]}`
	tests := []struct {
		name     string
		policies map[string]string
		want     Verdict
	}{
		{"device", map[string]string{"iotwatch-device": read("../localiot/policies/iotwatch-device.json")}, Warn},
		{"least privilege", map[string]string{"lp": read("../docs/policies/device-least-privilege.json")}, Warn},
		{"monitor", map[string]string{"iotwatch-monitor": read("../localiot/policies/iotwatch-monitor.json")}, Fail},
		{"exact", map[string]string{"exact": exact}, Pass},
		{"none", nil, Fail},
		{"iot:*", map[string]string{"all": `{"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"arn:aws:iot:*:*:client/dev-1"}]}`}, Fail},
	}
	for _, tc := range tests {
		o := gradePolicies(done, Params{Thing: "dev-1", Policies: tc.policies})
		if o.Verdict != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, o.Verdict, o.Reason, tc.want)
		}
	}
}

func TestSelect(t *testing.T) {
	if cs, err := Select(nil, ""); err != nil || len(cs) != len(Suites["qualification"]) {
		t.Errorf("default: %d cases, %v", len(cs), err)
	}
	if cs, err := Select([]string{"MQTT_Connect", "TLS_Connect"}, ""); err != nil || cs[0].Name != "TLS_Connect" {
		t.Errorf("order: %v %v", cs, err)
	}
	if _, err := Select([]string{"MQTT_Conect"}, ""); err == nil || !strings.Contains(err.Error(), `unknown case "MQTT_Conect"`) {
		t.Errorf("typo: %v", err)
	}
	if _, err := Select(nil, "nightly"); err == nil {
		t.Error("unknown suite accepted")
	}
}

// TestHeapTrend: heap_free at each connection's first report; a fall at
// every reconnection of 3 % or more warns, the simulator's noise does not.
func TestHeapTrend(t *testing.T) {
	const topic = "$aws/things/d/shadow/update"
	report := func(conn int, heap ...float64) Timeline {
		var tl Timeline
		for _, h := range heap {
			payload, _ := json.Marshal(map[string]any{"state": map[string]any{"reported": map[string]any{"heap_free": h}}})
			tl = append(tl, Event{Conn: conn, Kind: Received, Packet: "PUBLISH", Topic: topic, Payload: payload})
		}
		return tl
	}
	tests := []struct {
		name  string
		heaps [][]float64 // per connection
		want  bool
	}{
		{"leak", [][]float64{{200000, 100}, {196000}, {192000}, {188000}}, true},
		{"noise", [][]float64{{184000}, {183000}, {181500}, {180100}}, false},
		{"recovers", [][]float64{{200000}, {190000}, {195000}, {185000}}, false},
		{"too few", [][]float64{{200000}, {190000}}, false},
	}
	for _, tc := range tests {
		var tl Timeline
		for i, hs := range tc.heaps {
			tl = append(tl, report(i+1, hs...)...)
		}
		if _, got := heapTrend(tl, topic); got != tc.want {
			t.Errorf("%s: falling %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestClassifySimulatorJitter: the simulator's jittered waits, drawn
// 10,000 times for a round from a fresh backoff and for a round at its cap,
// are seldom (under 5 %) taken for a deterministic backoff; a deterministic
// one plus a loaded machine's noise (±60 ms) always is.
func TestClassifySimulatorJitter(t *testing.T) {
	j := devicesim.Jitter(time.Second, 4*time.Second)
	for _, first := range []int{1, 6} {
		wrong := map[Backoff]int{}
		for range 10000 {
			var d []time.Duration
			for n := first; n < first+5; n++ {
				d = append(d, j(n))
			}
			if k := ClassifyBackoff(d); k != BackoffJitter && k != BackoffIncreasing {
				wrong[k]++
			}
		}
		total := 0
		for _, n := range wrong {
			total += n
		}
		t.Logf("attempts %d–%d: %d of 10,000 jittered rounds classified deterministic: %v", first, first+4, total, wrong)
		if total > 500 { // 5 %: five random waits do line up now and then
			t.Errorf("attempts %d–%d: %d of 10,000 jittered rounds classified deterministic: %v", first, first+4, total, wrong)
		}
	}
	noise := func() time.Duration { return time.Duration(rand.Int64N(120)-60) * time.Millisecond }
	for range 1000 {
		var exp, lin, con []time.Duration
		for n := range 5 {
			exp = append(exp, time.Duration(500<<n)*time.Millisecond+noise())
			lin = append(lin, time.Duration(500*(n+1))*time.Millisecond+noise())
			con = append(con, time.Second+noise())
		}
		for _, c := range []struct {
			d    []time.Duration
			want Backoff
		}{{exp, BackoffExponential}, {lin, BackoffLinear}, {con, BackoffConstant}} {
			if got := ClassifyBackoff(c.d); got != c.want {
				t.Fatalf("%v: %s, want %s", c.d, got, c.want)
			}
		}
	}
}
