package localiot

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// AWS IoT Core's limits per connection (PROTOCOL.md, "Connection").
const (
	maxPayload          = 128 * 1024 // bytes of one message's payload
	maxClientID         = 128        // bytes
	maxTopicBytes       = 256
	maxTopicSlashes     = 7
	maxFiltersPerSub    = 8
	maxSubscriptions    = 50
	maxInflight         = 100 // unacknowledged QoS 1 messages, each way
	publishesPerSecond  = 100
	connectsPerSecond   = 1 // per client id
	minKeepAlive        = 30
	maxKeepAlive        = 1200 // also what AWS makes of 0
	unthrottledInflight = 65535
	maxTopicAlias       = 8 // MQTT 5 topic aliases a client may set
	maxQoS              = 1
	// Persistent sessions expire after an hour of disconnection by
	// default; an account may raise it up to 7 days.
	defaultSessionExpiry = time.Hour
	maxSessionExpiry     = 7 * 24 * time.Hour
)

// sessionExpiry is the session expiry in seconds for a requested duration
// (0: AWS's default).
func sessionExpiry(d time.Duration) (uint32, error) {
	switch {
	case d == 0:
		d = defaultSessionExpiry
	case d < time.Second || d > maxSessionExpiry:
		return 0, fmt.Errorf("session expiry %v: AWS IoT allows 1 s to 7 days (default 1 h)", d)
	}
	return uint32(d / time.Second), nil
}

// limitsHook enforces AWS's limits with AWS's reactions: a refused
// CONNECT, a failure SUBACK, a dropped (throttled) publish or a disconnect.
type limitsHook struct {
	mqtt.HookBase
	events      *lifecycle
	broker      *mqtt.Server
	unthrottled bool // benchmarks of the broker itself lift the rate limits

	mu        sync.Mutex
	publishes map[*mqtt.Client]*tokenBucket
	connects  map[string]*tokenBucket // by client id
	swept     time.Time
}

func newLimitsHook(events *lifecycle, broker *mqtt.Server, unthrottled bool) *limitsHook {
	return &limitsHook{events: events, broker: broker, unthrottled: unthrottled,
		publishes: map[*mqtt.Client]*tokenBucket{}, connects: map[string]*tokenBucket{}}
}

func (h *limitsHook) ID() string { return "iotwatch-limits" }

func (h *limitsHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnect, mqtt.OnSessionEstablished, mqtt.OnPacketRead, mqtt.OnSubscribe,
		mqtt.OnPublish, mqtt.OnDisconnect, mqtt.OnPacketEncode, mqtt.OnClientExpired}, []byte{b})
}

// OnPacketEncode tells an MQTT 5 client AWS's Maximum QoS (1) and Topic
// Alias Maximum (8) in a successful CONNACK; mochi sends neither (it
// refuses QoS 2 itself through limitsHook, not through its capabilities,
// so that an MQTT 3.1.1 client is refused as AWS refuses it).
func (h *limitsHook) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type == packets.Connack && pk.ProtocolVersion >= 5 && pk.ReasonCode < packets.ErrUnspecifiedError.Code {
		pk.Properties.MaximumQos, pk.Properties.MaximumQosFlag = maxQoS, true
		pk.Properties.TopicAliasMaximum = maxTopicAlias
	}
	return pk
}

// OnClientExpired frees what an expired session still holds in the broker:
// mochi forgets the client but not its subscriptions and messages in flight.
func (h *limitsHook) OnClientExpired(cl *mqtt.Client) {
	h.broker.UnsubscribeClient(cl)
	cl.ClearInflights()
}

// OnConnect refuses a client id over 128 bytes and a second CONNECT within
// a second for one client id, and brings the keep-alive into AWS's range.
func (h *limitsHook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	switch {
	case len(cl.ID) > maxClientID:
		h.events.note("refused", cl.ID, fmt.Sprintf("client id of %d bytes; AWS allows %d", len(cl.ID), maxClientID))
		return refuseConnect(h.broker, cl, packets.ErrClientIdentifierNotValid)
	case !h.unthrottled && !h.allowConnect(cl.ID, time.Now()):
		h.events.note("refused", cl.ID, "more than 1 CONNECT per second with this client id (AWS throttles it)")
		return refuseConnect(h.broker, cl, packets.ErrConnectionRateExceeded)
	}
	if ka := keepAlive(cl.State.Keepalive); ka != cl.State.Keepalive {
		// mochi then drops the client after 1.5 × ka of silence, and tells
		// an MQTT 5 client ka as Server Keep Alive in the CONNACK.
		cl.State.Keepalive, cl.State.ServerKeepalive = ka, true
	}
	return nil
}

// OnSessionEstablished names the client to its connection's write budget:
// a client that does not read is disconnected once it holds writeBudget
// bytes, with a log line and a THROTTLED disconnect event.
func (h *limitsHook) OnSessionEstablished(cl *mqtt.Client, pk packets.Packet) {
	if b := budgetOf(cl); b != nil {
		b.onOverflow(func() {
			h.events.note("disconnecting", cl.ID, fmt.Sprintf("not reading: %d KiB of messages queued for it", writeBudget>>10))
			h.events.setReason(cl, "THROTTLED")
		})
	}
}

// budgetOf finds a client's write budget: under TLS for MQTT clients, over
// the WebSocket for WebSocket ones; nil for the emulator's own client.
func budgetOf(cl *mqtt.Client) *budgetConn {
	switch c := cl.Net.Conn.(type) {
	case *budgetConn:
		return c
	case *tls.Conn:
		b, _ := c.NetConn().(*budgetConn)
		return b
	}
	return nil
}

// keepAlive is the keep-alive AWS uses for a requested one: 0 (none) and
// values over 1200 s become 1200 s, values under 30 s become 30 s.
func keepAlive(requested uint16) uint16 {
	switch {
	case requested == 0 || requested > maxKeepAlive:
		return maxKeepAlive
	case requested < minKeepAlive:
		return minKeepAlive
	}
	return requested
}

// refuseConnect answers a refused CONNECT as AWS answers a forbidden one:
// MQTT 5 gets a CONNACK with code; MQTT 3.1.1 is closed without a CONNACK.
func refuseConnect(b *mqtt.Server, cl *mqtt.Client, code packets.Code) error {
	if cl.Properties.ProtocolVersion >= 5 {
		b.SendConnack(cl, code, false, nil)
	}
	return code
}

// OnPacketRead closes the connection on a QoS 2 SUBSCRIBE: AWS sends no
// SUBACK for it, as for a QoS 2 PUBLISH. It also refuses the MQTT 3.1.1
// CONNECTs mochi answers with MQTT 5 codes (connectRefusal).
func (h *limitsHook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Type == packets.Connect {
		return pk, h.refuseMalformedConnect(cl, pk)
	}
	if pk.FixedHeader.Type != packets.Subscribe {
		return pk, nil
	}
	for _, f := range pk.Filters {
		if f.Qos > 1 {
			h.events.note("disconnecting", cl.ID, "QoS 2 SUBSCRIBE to "+f.Filter+" (AWS supports QoS 0 and 1)")
			h.events.setReason(cl, "CLIENT_ERROR")
			return pk, packets.ErrRejectPacket
		}
	}
	return pk, nil
}

// connectRefusal names what is wrong with a CONNECT that is not MQTT 5
// and the 3.1.1 answer: a protocol name or level other than MQTT 4 (or 5)
// gets CONNACK 0x01, unacceptable protocol version (MQTT-3.1.2-2; mochi
// would send its MQTT 5 code 0x82 or 0x81, meaningless to a 3.1.1 client);
// a password without a user name is a protocol violation (MQTT-3.1.2-22),
// closed without CONNACK. MQTT 5 allows the latter; mochi answers the
// former itself.
func connectRefusal(pk packets.Packet) (why string, connack bool) {
	mqttName := string(pk.Connect.ProtocolName) == "MQTT"
	switch {
	case mqttName && pk.ProtocolVersion == 5:
		return "", false
	case !mqttName && string(pk.Connect.ProtocolName) != "MQIsdp", mqttName && pk.ProtocolVersion != 4:
		return fmt.Sprintf("protocol %q level %d; AWS speaks MQTT 3.1.1 (MQTT 4) and 5", pk.Connect.ProtocolName, pk.ProtocolVersion), true
	case pk.Connect.PasswordFlag && !pk.Connect.UsernameFlag:
		return "a password without a user name (MQTT-3.1.2-22)", false
	}
	return "", false // MQIsdp (3.1): mochi answers 0x01 itself
}

func (h *limitsHook) refuseMalformedConnect(cl *mqtt.Client, pk packets.Packet) error {
	why, connack := connectRefusal(pk)
	if why == "" {
		return nil
	}
	h.events.note("refused", pk.Connect.ClientIdentifier, why)
	if connack {
		cl.Properties.ProtocolVersion = 4
		h.broker.SendConnack(cl, packets.ErrUnsupportedProtocolVersion, false, nil) // 0x01 in MQTT 3.1.1
	}
	return packets.ErrRejectPacket
}

// OnSubscribe fails the filters AWS refuses: all of a SUBSCRIBE with more
// than 8, those over the topic limits, those past 50 subscriptions on the
// connection, and Basic Ingest topics. An emptied filter is invalid, so mochi answers it with a
// failure code (0x80; MQTT 5: 0x8F).
func (h *limitsHook) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	held := cl.State.Subscriptions.Len()
	for i := range pk.Filters {
		f := &pk.Filters[i]
		_, renewed := cl.State.Subscriptions.Get(f.Filter)
		why := ""
		switch {
		case len(pk.Filters) > maxFiltersPerSub:
			why = fmt.Sprintf("%d filters in one SUBSCRIBE; AWS allows %d", len(pk.Filters), maxFiltersPerSub)
		case !withinTopicLimits(f.Filter):
			why = fmt.Sprintf("over AWS's %d bytes or %d slashes", maxTopicBytes, maxTopicSlashes)
		case !renewed && held >= maxSubscriptions:
			why = fmt.Sprintf("past AWS's %d subscriptions a connection", maxSubscriptions)
		case strings.HasPrefix(f.Filter, basicIngestPrefix):
			why = "Basic Ingest topics take no subscriptions"
		case !renewed:
			held++ // counted even if authorization refuses it next
		}
		if why != "" {
			h.events.note("refused", cl.ID, fmt.Sprintf("SUBSCRIBE to %s: %s", f.Filter, why))
			f.Filter = ""
		}
	}
	return pk
}

// OnPublish disconnects a client that breaks AWS's publish limits and drops,
// without a PUBACK, what it publishes beyond 100 per second: AWS throttles
// a connection that way and keeps it open.
func (h *limitsHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	if !withinPublishLimits(pk.TopicName, pk.FixedHeader.Qos, pk.FixedHeader.Retain, len(pk.Payload)) {
		h.events.stop(cl, "CLIENT_ERROR")
		return pk, packets.ErrRejectPacket
	}
	if !h.unthrottled && !h.allowPublish(cl, time.Now()) {
		return pk, packets.ErrRejectPacket
	}
	return pk, nil
}

func (h *limitsHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.mu.Lock()
	delete(h.publishes, cl)
	h.mu.Unlock()
}

// withinPublishLimits: AWS's limits on any publish, a will included: QoS 0
// or 1, no RETAIN on reserved topics, the topic limits, 128 KiB of payload.
func withinPublishLimits(topic string, qos byte, retain bool, size int) bool {
	return qos <= 1 && !(retain && strings.HasPrefix(topic, "$aws/")) && withinTopicLimits(topic) && size <= maxPayload
}

// withinTopicLimits: a topic or filter of at most 256 bytes and 7 slashes,
// a Basic Ingest topic's $aws/rules/<ruleName>/ not counted (AWS's quotas).
func withinTopicLimits(topic string) bool {
	if sub, ok := basicIngest(topic); ok {
		topic = sub
	}
	return len(topic) <= maxTopicBytes && strings.Count(topic, "/") <= maxTopicSlashes
}

func (h *limitsHook) allowPublish(cl *mqtt.Client, now time.Time) bool {
	h.mu.Lock()
	b := h.publishes[cl]
	if b == nil {
		b = &tokenBucket{}
		h.publishes[cl] = b
	}
	ok, first := b.take(now, publishesPerSecond)
	h.mu.Unlock()
	if first {
		h.events.note("throttling", cl.ID, fmt.Sprintf("over %d publishes per second: dropping them without PUBACK, as AWS does", publishesPerSecond))
	}
	return ok
}

func (h *limitsHook) allowConnect(clientID string, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if now.Sub(h.swept) > time.Second {
		// Buckets idle for a second are full again: forget them.
		for id, b := range h.connects {
			if now.Sub(b.last) > time.Second {
				delete(h.connects, id)
			}
		}
		h.swept = now
	}
	b := h.connects[clientID]
	if b == nil {
		b = &tokenBucket{}
		h.connects[clientID] = b
	}
	ok, _ := b.take(now, connectsPerSecond)
	return ok
}

// tokenBucket is a token tokenBucket holding up to one second's worth of events.
type tokenBucket struct {
	tokens    float64
	last      time.Time
	throttled bool
}

// take spends a token if there is one; first says this refusal starts a
// run of refusals (worth one log line).
func (b *tokenBucket) take(now time.Time, perSecond float64) (ok, first bool) {
	if b.last.IsZero() {
		b.tokens = perSecond
	} else {
		b.tokens = min(perSecond, b.tokens+now.Sub(b.last).Seconds()*perSecond)
	}
	b.last = now
	if b.tokens < 1 {
		first = !b.throttled
		b.throttled = true
		return false, first
	}
	b.tokens--
	b.throttled = false
	return true, false
}
