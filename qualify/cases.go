package qualify

import (
	"fmt"
	"slices"
	"strings"
)

// certKind is the server certificate a case presents.
type certKind int

const (
	labCert       certKind = iota // the emulator's own
	untrustedCert                 // right names, signed by a CA the device does not trust
	wrongNameCert                 // the lab CA's, for a name the device did not dial
	expiredCert                   // the lab CA's, right names, expired
	largeCert                     // the lab CA's, right names, padded to a large size
)

// Plan is how the server misbehaves in a case: data the recorder's hooks
// read. The zero Plan is a well-behaved AWS IoT.
type Plan struct {
	Cert certKind
	// WithholdConnacks CONNECTs in a row go unanswered, then one is
	// answered; Rounds times (the server disconnects the device after
	// each answered one but the last).
	WithholdConnacks, Rounds int
	// Kicks: the server disconnects the device this many times, each
	// KickAfter its CONNACK (KickAfterScale: that many hundredths of the
	// case's timeout, at least 1 s).
	Kicks          int
	KickAfterScale int
	// WithholdPubacks: the first QoS 1 PUBLISHes to the publish topic go unacknowledged.
	WithholdPubacks int
	// WithholdSubacks: the first SUBSCRIBEs naming the subscribe topic go unanswered.
	WithholdSubacks int
	// Silent: nothing the device sends after its CONNACK is answered.
	Silent bool
	// Trigger > 0: once the device subscribed to the subscribe topic, the
	// server sends a QoS 1 message of that many bytes on it.
	Trigger int
	// Desired: once the device subscribed to the subscribe topic, the
	// server sets the shadow's desired state (clientToken
	// DeviceAdvisorShadowTestCaseSetup).
	Desired bool
	// Session: once the device subscribed on a CleanSession=0 connection,
	// the server disconnects it, keeping its session (then sends Trigger
	// bytes after its reconnect) or, with Expire, discarding it.
	Session, Expire bool
	// Long: MQTT_Long_Duration's phases (long.go) over the case's timeout.
	Long bool
}

// Case is one of Device Advisor's test cases.
type Case struct {
	Name  string
	Doc   string // what the server does and what passes, one line
	Plan  Plan
	Grade func(Timeline, Params) Outcome
}

// triggerSize is Client_Puback_QoS1's message; fragmentSize fills TLS
// records of the maximum size (16 KiB of plaintext) and more.
const (
	triggerSize  = 128
	fragmentSize = 20 * 1024
)

// Cases is every case, in the order they run.
var Cases = []Case{
	{"TLS_Connect", "the device completes a TLS handshake", Plan{}, gradeTLSConnect},
	{"TLS_Support_AWS_IoT_Cipher_Suites", "the ClientHello offers AWS IoT's recommended cipher suites and no unsupported one", Plan{}, gradeCipherSuites},
	{"TLS_Unsecure_Server_Cert", "the server presents a certificate from a CA the device does not trust; the device must refuse it", Plan{Cert: untrustedCert}, gradeRefusal("is not signed by the CA it trusts")},
	{"TLS_Incorrect_Subject_Name_Server_Cert", "the server presents a trusted certificate for another name; the device must refuse it", Plan{Cert: wrongNameCert}, gradeRefusal("names another host")},
	{"TLS_Expired_Server_Cert", "the server presents a trusted, expired certificate; the device must refuse it", Plan{Cert: expiredCert}, gradeRefusal("has expired")},
	{"TLS_Large_Size_Server_Cert", "the server presents a large certificate; the device must complete the handshake", Plan{Cert: largeCert}, gradeLargeCert},
	{"TLS_Receive_Maximum_Size_Fragments", "the server sends a message in maximum-size TLS records on the subscribe topic; the device must PUBACK it", Plan{Trigger: fragmentSize}, func(tl Timeline, p Params) Outcome {
		return triggerAcked(tl, p, "the message filling maximum-size TLS records")
	}},
	{"MQTT_Connect", "the device sends CONNECT", Plan{}, gradeConnect},
	{"MQTT_Connect_Jitter_Backoff_Retries", "CONNACK withheld 5 times, then sent, twice (12 CONNECTs); retries must use jittered backoff (pure exponential warns)", Plan{WithholdConnacks: 5, Rounds: 2}, gradeConnackRounds(2, 5, jitterRule)},
	{"MQTT_Connect_Exponential_Backoff_Retries", "CONNACK withheld 5 times; retries must back off exponentially (with or without jitter)", Plan{WithholdConnacks: 5, Rounds: 1}, gradeConnackRounds(1, 5, exponentialRule)},
	{"MQTT_ReconnectionAfterSuccessfulConnection", "the server disconnects the device right after each CONNACK, 5 times; it must reconnect each time (constant or linear backoff warns, at once fails)", Plan{Kicks: 5}, gradeReconnects(5, reconnectRule)},
	{"MQTT_Reconnect_Backoff_Retries_On_Server_Disconnect", "the server disconnects the device a while after each CONNACK, 5 times; reconnects must back off exponentially or with jitter (linear or constant fails)", Plan{Kicks: 5, KickAfterScale: 2}, gradeReconnects(5, exponentialRule)},
	{"MQTT_Publish", "the device publishes to the publish topic", Plan{}, gradePublish},
	{"MQTT_Client_Puback_QoS1", "the server sends a QoS 1 message on the subscribe topic; the device must PUBACK it", Plan{Trigger: triggerSize}, func(tl Timeline, p Params) Outcome {
		return triggerAcked(tl, p, "the QoS 1 message")
	}},
	{"MQTT_Publish_Retry_No_Puback", "the PUBACK of the first QoS 1 publish is withheld; the device must publish again with the same packet id on the same connection", Plan{WithholdPubacks: 1}, gradePublishRetry},
	{"MQTT_Subscribe", "the device subscribes to the subscribe topic", Plan{}, gradeSubscribe},
	{"MQTT_Subscribe_Retry_No_Suback", "the SUBACK of the first SUBSCRIBE to the subscribe topic is withheld; the device must subscribe again", Plan{WithholdSubacks: 1}, gradeSubscribeRetry},
	{"MQTT_No_Ack_PingResp", "nothing is answered after CONNACK, PINGREQ included; the device must close the connection within 1.5 × its keep-alive", Plan{Silent: true}, gradeNoPingResp},
	{"MQTT_Persistent_Session_Happy_Case", "the device (CleanSession=0) is disconnected after subscribing; reconnected, it must get the message sent to its kept subscription", Plan{Session: true, Trigger: triggerSize}, gradePersistent},
	{"MQTT_Expired_Persistent_Session", "the device (CleanSession=0) is disconnected after subscribing and its session discarded; reconnected, it must subscribe again", Plan{Session: true, Expire: true}, gradeExpiredSession},
	{"Shadow_Publish_Reported_State", "the device publishes a reported state to its shadow's update topic", Plan{}, gradeShadowReported},
	{"Shadow_Update_Reported_State", "the server sets desired (clientToken DeviceAdvisorShadowTestCaseSetup); the device must report those values", Plan{Desired: true}, gradeShadowUpdate},
	{"MQTT_Long_Duration", "basic operation, three server disconnects after random up times, an outage of a sixth of the timeout, then service: the device must come back each time with a backoff, its free heap not falling with every reconnection", Plan{Long: true}, gradeLong},
	{"Security_Device_Policies", "the policies attached to the device's certificate have no wildcard reaching past its thing", Plan{}, gradePolicies},
}

// Suites name lists of cases. qualification is what AWS's Device
// Qualification Program asks of a device for the features iotwatch
// emulates (its Jobs cases aside).
var Suites = map[string][]string{
	"qualification": {"TLS_Connect", "TLS_Incorrect_Subject_Name_Server_Cert", "TLS_Unsecure_Server_Cert",
		"MQTT_Connect", "MQTT_Connect_Jitter_Backoff_Retries", "MQTT_Publish", "MQTT_Subscribe",
		"Shadow_Publish_Reported_State", "Shadow_Update_Reported_State"},
	"all":  allNames(),
	"long": {"MQTT_Long_Duration"},
}

// allNames is every case but the long one.
func allNames() []string {
	var out []string
	for _, c := range Cases {
		if !c.Plan.Long {
			out = append(out, c.Name)
		}
	}
	return out
}

// Select resolves --case names and --suite into cases in run order; no
// name and no suite is the qualification suite.
func Select(names []string, suite string) ([]Case, error) {
	want := slices.Clone(names)
	if suite != "" {
		s, ok := Suites[suite]
		if !ok {
			return nil, fmt.Errorf("unknown suite %q: use qualification, all or long", suite)
		}
		want = append(want, s...)
	}
	if len(want) == 0 {
		want = Suites["qualification"]
	}
	var out []Case
	for _, c := range Cases {
		if slices.Contains(want, c.Name) {
			out = append(out, c)
		}
	}
	for _, n := range want {
		if !slices.ContainsFunc(Cases, func(c Case) bool { return c.Name == n }) {
			return nil, fmt.Errorf("unknown case %q; cases: %s", n, strings.Join(allNames(), ", "))
		}
	}
	return out, nil
}
