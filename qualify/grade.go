package qualify

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Verdict is a case's result, as Device Advisor names them.
type Verdict string

const (
	Pass    Verdict = "PASS"
	Warn    Verdict = "PASS_WITH_WARNINGS"
	Fail    Verdict = "FAIL"
	Error   Verdict = "ERROR" // the device never came
	pending Verdict = ""      // not decided yet
)

// Params are what grading needs besides the timeline.
type Params struct {
	Thing          string
	PublishTopic   string         // what the device publishes (default its shadow/update)
	SubscribeTopic string         // what it subscribes to (default its shadow/update/delta)
	Desired        map[string]any // Shadow_Update_Reported_State's desired state
	Policies       map[string]string
	Now            time.Time // grading's "now": deadlines past it decide
	Final          bool      // the case's time is up: decide
}

// Outcome is a graded case: Verdict pending while it waits, Reason then
// saying for what.
type Outcome struct {
	Verdict  Verdict         `json:"verdict"`
	Reason   string          `json:"reason"`
	Observed []string        `json:"observed,omitempty"`
	Delays   []time.Duration `json:"delays_ns,omitempty"` // the device's waits before each retry
}

func decided(v Verdict, format string, a ...any) Outcome {
	return Outcome{Verdict: v, Reason: fmt.Sprintf(format, a...)}
}

func waiting(what string) Outcome { return Outcome{Reason: what} }

// never is the outcome of a case whose time ran out with nothing from the device.
func never(tl Timeline, p Params, what string) Outcome {
	if !p.Final {
		return waiting(what)
	}
	if _, ok := tl.first(is(Accepted, "")); !ok {
		return decided(Error, "the device never connected")
	}
	return decided(Fail, "the device never sent %s", strings.TrimPrefix(what, "the device's "))
}

// gradeTLSConnect: the handshake completes.
func gradeTLSConnect(tl Timeline, p Params) Outcome {
	if _, ok := tl.first(is(TLSDone, "")); ok {
		return decided(Pass, "the device completed the TLS handshake")
	}
	if e, ok := tl.first(is(TLSFail, "")); ok && p.Final {
		return decided(Fail, "the TLS handshake failed: %s", e.Detail)
	}
	return never(tl, p, "the device's TLS handshake")
}

// gradeRefusal: a handshake with a certificate the device must not trust
// must end with the device closing the connection, ideally with an alert.
func gradeRefusal(what string) func(Timeline, Params) Outcome {
	return func(tl Timeline, p Params) Outcome {
		if _, ok := tl.first(is(TLSDone, "")); ok {
			return decided(Fail, "the device completed the TLS handshake with a server certificate that %s: it would talk to an impostor", what)
		}
		e, ok := tl.first(is(TLSFail, ""))
		switch {
		case ok && e.Alert:
			return decided(Pass, "the device refused the server certificate that %s with a TLS alert (%s)", what, e.Detail)
		case ok && e.ByDevice:
			return decided(Warn, "the device refused the server certificate that %s but closed the connection without a TLS alert", what)
		case ok:
			return decided(Fail, "the device neither refused nor accepted the server certificate that %s: %s", what, e.Detail)
		}
		return never(tl, p, "the device's TLS handshake")
	}
}

// gradeLargeCert: the handshake completes with a large certificate chain.
func gradeLargeCert(tl Timeline, p Params) Outcome {
	if _, ok := tl.first(is(TLSDone, "")); ok {
		return decided(Pass, "the device completed the TLS handshake with a large server certificate")
	}
	if e, ok := tl.first(is(TLSFail, "")); ok {
		return decided(Fail, "the device failed the TLS handshake with a large server certificate: %s", e.Detail)
	}
	return never(tl, p, "the device's TLS handshake")
}

// gradeConnect: a CONNECT arrives.
func gradeConnect(tl Timeline, p Params) Outcome {
	if e, ok := tl.first(is(Received, "CONNECT")); ok {
		return decided(Pass, "the device sent CONNECT (client id %q, keep-alive %d s)", e.ClientID, e.KeepAlive)
	}
	return never(tl, p, "the device's CONNECT")
}

// gradePublish: a PUBLISH to the publish topic arrives.
func gradePublish(tl Timeline, p Params) Outcome {
	if e, ok := tl.first(func(e Event) bool { return e.Kind == Received && e.Packet == "PUBLISH" && e.Topic == p.PublishTopic }); ok {
		return decided(Pass, "the device published %d bytes to %s at QoS %d", e.Size, e.Topic, e.QoS)
	}
	return never(tl, p, "a PUBLISH to "+p.PublishTopic)
}

// subscribes matches a SUBSCRIBE naming filter.
func subscribes(filter string) func(Event) bool {
	return func(e Event) bool {
		return (e.Kind == Received || e.Kind == Withheld) && e.Packet == "SUBSCRIBE" && slices.Contains(e.Filters, filter)
	}
}

// gradeSubscribe: a SUBSCRIBE naming the subscribe topic arrives.
func gradeSubscribe(tl Timeline, p Params) Outcome {
	if _, ok := tl.first(subscribes(p.SubscribeTopic)); ok {
		return decided(Pass, "the device subscribed to %s", p.SubscribeTopic)
	}
	return never(tl, p, "a SUBSCRIBE to "+p.SubscribeTopic)
}

// triggerAcked: the device acknowledged the server's QoS 1 message on the
// subscribe topic. Outcome pending while it may still come.
func triggerAcked(tl Timeline, p Params, what string) Outcome {
	sent, ok := tl.first(func(e Event) bool {
		return e.Kind == Sent && e.Packet == "PUBLISH" && e.Topic == p.SubscribeTopic && e.QoS == 1
	})
	if !ok {
		if _, sub := tl.first(subscribes(p.SubscribeTopic)); !sub {
			return never(tl, p, "a SUBSCRIBE to "+p.SubscribeTopic)
		}
		return never(tl, p, "the server's message on "+p.SubscribeTopic)
	}
	after := tl.Filter(func(e Event) bool { return e.Conn == sent.Conn && !e.At.Before(sent.At) })
	if _, ok := after.first(func(e Event) bool { return e.Kind == Received && e.Packet == "PUBACK" && e.ID == sent.ID }); ok {
		return decided(Pass, "the device acknowledged %s (%d bytes, packet id %d) with PUBACK", what, sent.Size, sent.ID)
	}
	if e, ok := after.first(is(Closed, "")); ok {
		by := "the server"
		if e.ByDevice {
			by = "the device"
		}
		return decided(Fail, "%s closed the connection after %s (%d bytes) without a PUBACK", by, what, sent.Size)
	}
	if p.Final {
		return decided(Fail, "the device never acknowledged %s (%d bytes, packet id %d)", what, sent.Size, sent.ID)
	}
	return waiting("a PUBACK for packet id " + fmt.Sprint(sent.ID))
}

// gradePublishRetry: the device publishes again with the packet id whose
// PUBACK was withheld, on the same connection.
func gradePublishRetry(tl Timeline, p Params) Outcome {
	w, ok := tl.first(func(e Event) bool { return e.Kind == Withheld && e.Packet == "PUBLISH" })
	if !ok {
		if q0, ok := tl.first(func(e Event) bool { return e.Kind == Received && e.Packet == "PUBLISH" && e.Topic == p.PublishTopic }); ok && p.Final {
			return decided(Fail, "the device publishes to %s at QoS %d only: no PUBACK to wait for, nothing to retry", q0.Topic, q0.QoS)
		}
		return never(tl, p, "a QoS 1 PUBLISH to "+p.PublishTopic)
	}
	later := tl.Filter(func(e Event) bool {
		return e.Kind == Received && e.Packet == "PUBLISH" && e.Topic == w.Topic && e.QoS == 1 && e.At.After(w.At)
	})
	for _, e := range later {
		switch {
		case e.Conn != w.Conn:
			return decided(Fail, "the device retried only after reconnecting (connection %d, packet id %d): a retry must keep the connection", e.Conn, e.ID)
		case e.ID == w.ID && e.Dup:
			return decided(Pass, "the device retried the publish with the same packet id %d and DUP set after %.3g s", e.ID, e.At.Sub(w.At).Seconds())
		case e.ID == w.ID:
			return decided(Warn, "the device retried the publish with the same packet id %d after %.3g s, without the DUP flag", e.ID, e.At.Sub(w.At).Seconds())
		default:
			return decided(Fail, "the device published again with a new packet id %d instead of retrying packet id %d", e.ID, w.ID)
		}
	}
	if c, ok := tl.first(func(e Event) bool { return e.Kind == Closed && e.Conn == w.Conn }); ok && c.ByDevice {
		return decided(Fail, "the device closed the connection instead of retrying packet id %d", w.ID)
	}
	if p.Final {
		return decided(Fail, "the device never retried the publish whose PUBACK was withheld (packet id %d)", w.ID)
	}
	return waiting("a retry of packet id " + fmt.Sprint(w.ID))
}

// gradeSubscribeRetry: the device subscribes again after a withheld SUBACK.
func gradeSubscribeRetry(tl Timeline, p Params) Outcome {
	w, ok := tl.first(func(e Event) bool { return e.Kind == Withheld && e.Packet == "SUBSCRIBE" })
	if !ok {
		return never(tl, p, "a SUBSCRIBE to "+p.SubscribeTopic)
	}
	if e, ok := tl.first(func(e Event) bool { return subscribes(p.SubscribeTopic)(e) && e.At.After(w.At) }); ok {
		after := e.At.Sub(w.At).Seconds()
		if e.Conn != w.Conn {
			return decided(Warn, "the device subscribed again only after reconnecting, %.3g s later", after)
		}
		return decided(Pass, "the device retried the SUBSCRIBE after %.3g s (packet id %d, first %d)", after, e.ID, w.ID)
	}
	if p.Final {
		return decided(Fail, "the device never retried the SUBSCRIBE whose SUBACK was withheld (packet id %d)", w.ID)
	}
	return waiting("a retry of the SUBSCRIBE")
}

// gradeNoPingResp: with nothing answered, the device must close the
// connection within 1.5 × its keep-alive of the server's last packet.
func gradeNoPingResp(tl Timeline, p Params) Outcome {
	ack, ok := tl.first(is(Sent, "CONNACK"))
	if !ok {
		return never(tl, p, "the device's CONNECT")
	}
	conn := tl.conn(ack.Conn)
	c, _ := conn.first(is(Received, "CONNECT"))
	if c.KeepAlive == 0 {
		return decided(Fail, "the device asked for no keep-alive (0): it never checks the connection")
	}
	last := ack.At
	for _, e := range conn.Filter(is(Sent, "")) {
		last = e.At
	}
	ka := time.Duration(c.KeepAlive) * time.Second
	limit := ka * 3 / 2
	slack := ka/10 + 250*time.Millisecond
	pings := len(conn.Filter(is(Withheld, "PINGREQ")))
	if end, ok := conn.first(is(Closed, "")); ok {
		took := end.At.Sub(last)
		switch {
		case !end.ByDevice:
			return decided(Fail, "the server closed the silent connection after %.3g s: the device never gave up on it (%d PINGREQ unanswered)", took.Seconds(), pings)
		case took > limit+slack:
			return decided(Fail, "the device closed the connection %.3g s after the server's last packet, more than 1.5 × its keep-alive of %d s", took.Seconds(), c.KeepAlive)
		}
		return decided(Pass, "the device closed the connection %.3g s after the server's last packet (keep-alive %d s, %d PINGREQ unanswered)", took.Seconds(), c.KeepAlive, pings)
	}
	if p.Now.Sub(last) > limit+slack || p.Final {
		return decided(Fail, "the device stayed connected %.3g s after the server's last packet, past 1.5 × its keep-alive of %d s (%d PINGREQ unanswered)", p.Now.Sub(last).Seconds(), c.KeepAlive, pings)
	}
	return waiting(fmt.Sprintf("the device to give up on a silent connection (keep-alive %d s)", c.KeepAlive))
}

// backoffRule says what each kind of backoff gets in a case.
type backoffRule map[Backoff]Verdict

// gradeRetries grades the waits of retries of the connections kept, once
// want retries came, for a case whose server misbehaved as what says.
func gradeRetries(tl Timeline, p Params, rs []Retry, want int, rule backoffRule, what string) Outcome {
	if len(rs) < want {
		if !p.Final {
			return waiting(fmt.Sprintf("%d retries (%d so far)", want, len(rs)))
		}
		if _, ok := tl.first(is(Accepted, "")); !ok {
			return decided(Error, "the device never connected")
		}
		o := decided(Fail, "the device retried %d times of the %d needed after %s", len(rs), want, what)
		o.Delays = delays(rs)
		return o
	}
	d := delays(rs[:want])
	kind := ClassifyBackoff(d)
	v, ok := rule[kind]
	if !ok {
		v = Fail
	}
	o := decided(v, "after %s the device waited %s: %s backoff", what, formatDelays(d), kind)
	o.Delays = d
	return o
}

// retriesAfter are the retries whose previous connection ended as prev says.
func retriesAfter(tl Timeline, prev func(conn Timeline) bool) []Retry {
	var out []Retry
	for _, r := range tl.retries(func(Event) bool { return true }) {
		if prev(tl.conn(r.Prev)) {
			out = append(out, r)
		}
	}
	return out
}

func withheldConnack(conn Timeline) bool {
	_, ok := conn.first(is(Withheld, "CONNECT"))
	return ok
}

func kicked(conn Timeline) bool {
	_, ok := conn.first(is(Kicked, ""))
	return ok
}

var (
	jitterRule      = backoffRule{BackoffJitter: Pass, BackoffIncreasing: Pass, BackoffExponential: Warn}
	exponentialRule = backoffRule{BackoffJitter: Pass, BackoffIncreasing: Pass, BackoffExponential: Pass}
	reconnectRule   = backoffRule{BackoffJitter: Pass, BackoffIncreasing: Pass, BackoffExponential: Pass, BackoffConstant: Warn, BackoffLinear: Warn}
)

// gradeConnackRounds grades Connect_*_Backoff_Retries: rounds of withheld
// CONNACKs; each round's waits are classified apart (a device starts its
// backoff again after a successful connect), the worst verdict counts.
func gradeConnackRounds(rounds, per int, rule backoffRule) func(Timeline, Params) Outcome {
	return func(tl Timeline, p Params) Outcome {
		rs := retriesAfter(tl, withheldConnack)
		want := rounds * per
		what := fmt.Sprintf("%d unanswered CONNECTs", per)
		if len(rs) < want {
			return gradeRetries(tl, p, rs, want, rule, what)
		}
		// A deterministic backoff repeats its kind in every round; a round
		// of random waits proves jitter even if another lined up by chance.
		var worst Outcome
		var worstKind Backoff
		var parts []string
		var all []time.Duration
		random := false
		for r := range rounds {
			o := gradeRetries(tl, p, rs[r*per:(r+1)*per], per, rule, what)
			all = append(all, o.Delays...)
			kind := ClassifyBackoff(o.Delays)
			parts = append(parts, fmt.Sprintf("%s (%s)", formatDelays(o.Delays), kind))
			random = random || kind == BackoffJitter
			if kind == BackoffImmediate || rank(o.Verdict) > rank(worst.Verdict) {
				worst, worstKind = o, kind
			}
		}
		if random && worstKind != BackoffImmediate {
			worst.Verdict, worstKind = rule[BackoffJitter], BackoffJitter
		}
		if rounds > 1 {
			worst.Reason = fmt.Sprintf("after %s, %d times, the device waited %s: %s backoff", what, rounds, strings.Join(parts, "; then "), worstKind)
		}
		if worstKind == BackoffExponential && worst.Verdict == Warn {
			worst.Reason += " without jitter (devices retry in lockstep)"
		}
		worst.Delays = all
		return worst
	}
}

func rank(v Verdict) int {
	return map[Verdict]int{Pass: 1, Warn: 2, Fail: 3, Error: 4}[v]
}

// gradeReconnects grades reconnections after server disconnects.
func gradeReconnects(want int, rule backoffRule) func(Timeline, Params) Outcome {
	return func(tl Timeline, p Params) Outcome {
		return gradeRetries(tl, p, retriesAfter(tl, kicked), want, rule, "each server disconnect")
	}
}

// reportedIn is the state.reported object of an update's payload.
func reportedIn(payload []byte) (map[string]any, bool) {
	var doc struct {
		State struct {
			Reported map[string]any `json:"reported"`
		} `json:"state"`
	}
	if json.Unmarshal(payload, &doc) != nil || len(doc.State.Reported) == 0 {
		return nil, false
	}
	return doc.State.Reported, true
}

// gradeShadowReported: the device publishes a reported state to its update topic.
func gradeShadowReported(tl Timeline, p Params) Outcome {
	for _, e := range tl.Filter(is(Received, "PUBLISH")) {
		if e.Topic != p.PublishTopic {
			continue
		}
		if r, ok := reportedIn(e.Payload); ok {
			return decided(Pass, "the device reported %d keys to %s", len(r), e.Topic)
		}
	}
	return never(tl, p, "a reported state on "+p.PublishTopic)
}

// gradeShadowUpdate: after the server set desired, the device reports
// every desired key with its value.
func gradeShadowUpdate(tl Timeline, p Params) Outcome {
	set, ok := tl.first(func(e Event) bool { return e.Kind == Note && strings.HasPrefix(e.Detail, "desired") })
	if !ok {
		return never(tl, p, "a SUBSCRIBE to "+p.SubscribeTopic)
	}
	for _, e := range tl.Filter(is(Received, "PUBLISH")) {
		if e.Topic != p.PublishTopic || e.At.Before(set.At) {
			continue
		}
		if r, ok := reportedIn(e.Payload); ok && covers(r, p.Desired) {
			return decided(Pass, "the device reported the desired state %s %.3g s after it was set", mustJSON(p.Desired), e.At.Sub(set.At).Seconds())
		}
	}
	if p.Final {
		return decided(Fail, "the device never reported the desired state %s", mustJSON(p.Desired))
	}
	return waiting("a report of " + mustJSON(p.Desired))
}

// covers: every key of want is in got with an equal JSON value.
func covers(got, want map[string]any) bool {
	for k, v := range want {
		a, _ := json.Marshal(got[k])
		b, _ := json.Marshal(v)
		var x, y any
		json.Unmarshal(a, &x)
		json.Unmarshal(b, &y)
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// persistentConnect: the persistent-session cases need a first CONNECT
// with CleanSession=0; false with the outcome otherwise.
func persistentConnect(tl Timeline, p Params) (Outcome, bool) {
	c, ok := tl.first(is(Received, "CONNECT"))
	if !ok {
		return never(tl, p, "the device's CONNECT"), false
	}
	if c.Clean {
		return decided(Fail, "the device connects with CleanSession=1: it keeps no persistent session"), false
	}
	return Outcome{}, true
}

// gradePersistent: the device reconnects with CleanSession=0 to a session
// the server kept, and receives the message sent to its kept subscription.
func gradePersistent(tl Timeline, p Params) Outcome {
	if o, ok := persistentConnect(tl, p); !ok {
		return o
	}
	k, ok := tl.first(is(Kicked, ""))
	if !ok {
		return never(tl, p, "a SUBSCRIBE to "+p.SubscribeTopic)
	}
	back, ok := tl.first(func(e Event) bool { return e.Kind == Received && e.Packet == "CONNECT" && e.At.After(k.At) })
	if !ok {
		if p.Final {
			return decided(Fail, "the device never reconnected after the server disconnected it")
		}
		return waiting("the device to reconnect")
	}
	if back.Clean {
		return decided(Fail, "the device reconnected with CleanSession=1, dropping its persistent session")
	}
	return triggerAcked(tl.Filter(func(e Event) bool { return e.At.After(back.At) || e.Kind == Received && e.Packet == "SUBSCRIBE" }), p, "the message on its persisted subscription")
}

// gradeExpiredSession: told by CONNACK that its session is gone, the
// device subscribes again.
func gradeExpiredSession(tl Timeline, p Params) Outcome {
	if o, ok := persistentConnect(tl, p); !ok {
		return o
	}
	x, ok := tl.first(func(e Event) bool { return e.Kind == Note && strings.HasPrefix(e.Detail, "session expired") })
	if !ok {
		return never(tl, p, "a SUBSCRIBE to "+p.SubscribeTopic)
	}
	ack, ok := tl.first(func(e Event) bool { return e.Kind == Sent && e.Packet == "CONNACK" && e.At.After(x.At) })
	if !ok {
		if p.Final {
			return decided(Fail, "the device never reconnected after its session expired")
		}
		return waiting("the device to reconnect")
	}
	if _, ok := tl.first(func(e Event) bool { return subscribes(p.SubscribeTopic)(e) && e.Conn == ack.Conn }); ok {
		return decided(Pass, "told its session was gone (session present 0), the device subscribed to %s again", p.SubscribeTopic)
	}
	if _, closed := tl.first(func(e Event) bool { return e.Kind == Closed && e.Conn == ack.Conn }); closed || p.Final {
		return decided(Fail, "after its session expired the device never subscribed to %s again: it would wait for messages that never come", p.SubscribeTopic)
	}
	return waiting("a SUBSCRIBE to " + p.SubscribeTopic)
}
