package qualify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// MQTT_Long_Duration, shortened: its phases take shares of the case's
// timeout, so that a CI run can be minutes. After a tenth of basic
// operation, three server disconnects after random up times (intermittent
// connectivity), then an outage (every CONNECT unanswered and closed) of
// a sixth, then normal service to the end.
const (
	longBasic  = 10 // percent of the timeout
	longKicks  = 3
	longUpMin  = 4 // percent, each up time before a disconnect
	longUpMax  = 8
	longOutage = 16
)

// longScript plays the phases; it stops when ctx ends (the case ended).
func (r *recorder) longScript(ctx context.Context, timeout time.Duration) {
	share := func(pct int) time.Duration { return timeout * time.Duration(pct) / 100 }
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	if !sleep(share(longBasic)) {
		return
	}
	for i := range longKicks {
		up := share(longUpMin) + time.Duration(rand.Int64N(int64(share(longUpMax-longUpMin))+1))
		if !sleep(up) {
			return
		}
		if cl, ok := r.srv.Broker().Clients.Get(r.params.Thing); ok && !cl.Closed() {
			r.kick(cl, r.idOf(cl), fmt.Sprintf("intermittent connectivity: disconnect %d of %d after %.1f s up", i+1, longKicks, up.Seconds()))
		}
	}
	r.setOutage(true, share(longOutage))
	if cl, ok := r.srv.Broker().Clients.Get(r.params.Thing); ok && !cl.Closed() {
		r.kick(cl, r.idOf(cl), "an outage begins")
	}
	sleep(share(longOutage))
	r.setOutage(false, 0)
}

func (r *recorder) setOutage(on bool, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outage = on
	if on {
		r.add(Event{Kind: Note, Detail: fmt.Sprintf("outage begins: no CONNACK for %.1f s", d.Seconds())})
	} else {
		r.add(Event{Kind: Note, Detail: "outage ends"})
	}
}

// refuseInOutage (mu held) closes a CONNECT during the outage unanswered.
func (r *recorder) refuseInOutage(cl *mqtt.Client, id int) bool {
	if !r.outage {
		return false
	}
	r.add(Event{Conn: id, Kind: Withheld, Packet: "CONNECT", Detail: "outage: CONNACK withheld"})
	return true
}

// gradeLong grades the whole run at its end: the device came back after
// every disconnect and the outage, with a proper backoff, and its heap did
// not fall with every reconnection.
func gradeLong(tl Timeline, p Params) Outcome {
	if !p.Final {
		return waiting("the end of the long run")
	}
	acks := tl.Filter(is(Sent, "CONNACK"))
	if len(acks) == 0 {
		return never(tl, p, "the device's CONNECT")
	}
	var o Outcome
	kicks := tl.Filter(is(Kicked, ""))
	end, ended := tl.first(func(e Event) bool { return e.Kind == Note && e.Detail == "outage ends" })
	rs := retriesAfter(tl, func(c Timeline) bool { return kicked(c) || withheldConnack(c) })
	o.Delays = delays(rs)
	kind := ClassifyBackoff(o.Delays)
	reports := tl.Filter(func(e Event) bool { return e.Kind == Received && e.Packet == "PUBLISH" && e.Topic == p.PublishTopic })
	o.Observed = []string{
		fmt.Sprintf("%d connections, %d with a CONNACK, %d server disconnects, %d reports", len(tl.Filter(is(Accepted, ""))), len(acks), len(kicks), len(reports)),
		fmt.Sprintf("waits before reconnecting: %s (%s)", formatDelays(o.Delays), kind),
		fmt.Sprintf("offline: %s", downtime(tl)),
	}
	heap, falling := heapTrend(tl, p.PublishTopic)
	if heap != "" {
		o.Observed = append(o.Observed, heap)
	}
	last := kicks[len(kicks)-1:]
	switch {
	case len(kicks) > 0 && !ackAfter(acks, last[0].At):
		o.Verdict, o.Reason = Fail, "the device did not come back after the server's last disconnect"
	case ended && !ackAfter(acks, end.At):
		o.Verdict, o.Reason = Fail, "the device did not come back after the outage"
	case kind == BackoffImmediate:
		o.Verdict, o.Reason = Fail, "the device reconnected at once after disconnects: a reconnect storm"
	case falling:
		o.Verdict, o.Reason = Warn, "the device's free heap fell with every reconnection: "+heap
	case kind == BackoffConstant || kind == BackoffLinear:
		o.Verdict, o.Reason = Warn, fmt.Sprintf("the device came back every time, with %s backoff", kind)
	default:
		o.Verdict, o.Reason = Pass, fmt.Sprintf("the device came back after %d disconnects and the outage (%s backoff) and kept reporting", len(kicks), kind)
	}
	return o
}

func ackAfter(acks Timeline, t time.Time) bool {
	for _, a := range acks {
		if a.At.After(t) {
			return true
		}
	}
	return false
}

// downtime sums the gaps between an established connection's end and the
// next CONNACK.
func downtime(tl Timeline) string {
	var total, longest time.Duration
	var down time.Time
	up := map[int]bool{}
	for _, e := range tl {
		switch {
		case e.Kind == Sent && e.Packet == "CONNACK":
			up[e.Conn] = true
			if !down.IsZero() {
				gap := e.At.Sub(down)
				total, longest, down = total+gap, max(longest, gap), time.Time{}
			}
		case e.Kind == Closed && up[e.Conn]:
			down = e.At
		}
	}
	return fmt.Sprintf("%.1f s in all, longest %.1f s", total.Seconds(), longest.Seconds())
}

// heapTrend reads heap_free from the reported states, first per
// connection; falling is true when it fell at each of two or more
// reconnections, by 3 % or more overall (more than the
// simulator's random 180–184 kB).
func heapTrend(tl Timeline, topic string) (string, bool) {
	var firsts []float64
	seen := map[int]bool{}
	for _, e := range tl.Filter(is(Received, "PUBLISH")) {
		if e.Topic != topic || seen[e.Conn] {
			continue
		}
		r, ok := reportedIn(e.Payload)
		if !ok {
			continue
		}
		if h, ok := r["heap_free"].(float64); ok {
			seen[e.Conn] = true
			firsts = append(firsts, h)
		}
	}
	if len(firsts) < 2 {
		return "", false
	}
	parts := make([]string, len(firsts))
	falling := len(firsts) >= 3
	for i, h := range firsts {
		parts[i] = fmt.Sprint(h)
		if i > 0 && h >= firsts[i-1] {
			falling = false
		}
	}
	falling = falling && firsts[len(firsts)-1] <= 0.97*firsts[0]
	return "heap_free at each connection's first report: " + strings.Join(parts, ", "), falling
}
