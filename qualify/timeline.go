package qualify

import (
	"time"
)

// Kind is what happened in one timeline event.
type Kind string

const (
	Accepted Kind = "accepted"   // a TCP connection came
	Hello    Kind = "hello"      // its TLS ClientHello (Suites, SNI)
	TLSDone  Kind = "tls"        // the handshake completed
	TLSFail  Kind = "tls-failed" // the handshake failed (Alert: the device sent one; ByDevice: it closed)
	Received Kind = "received"   // a packet from the device
	Withheld Kind = "withheld"   // a packet from the device the server does not answer (the case's misbehaviour)
	Sent     Kind = "sent"       // a packet to the device
	Kicked   Kind = "kicked"     // the server disconnects the device (the case's misbehaviour)
	Closed   Kind = "closed"     // the connection ended (ByDevice: the device ended it)
	Note     Kind = "note"       // something else the server did (set desired, expire a session)
)

// Event is one thing seen on the server side. Conn numbers the TCP
// connections of a run from 1.
type Event struct {
	At             time.Time `json:"at"`
	Conn           int       `json:"conn"`
	Kind           Kind      `json:"kind"`
	Packet         string    `json:"packet,omitempty"` // CONNECT, PUBLISH, …
	ID             uint16    `json:"id,omitempty"`     // packet identifier
	QoS            byte      `json:"qos,omitempty"`
	Dup            bool      `json:"dup,omitempty"`
	Topic          string    `json:"topic,omitempty"`
	Filters        []string  `json:"filters,omitempty"`
	Size           int       `json:"size,omitempty"` // payload bytes
	Payload        []byte    `json:"-"`
	ClientID       string    `json:"client_id,omitempty"`
	Clean          bool      `json:"clean,omitempty"`
	KeepAlive      uint16    `json:"keep_alive,omitempty"` // seconds, as the CONNECT asked
	SessionPresent bool      `json:"session_present,omitempty"`
	Suites         []uint16  `json:"suites,omitempty"`
	SNI            string    `json:"sni,omitempty"`
	Alert          bool      `json:"alert,omitempty"`
	ByDevice       bool      `json:"by_device,omitempty"`
	Detail         string    `json:"detail,omitempty"`
}

// Timeline is what a case saw, in order.
type Timeline []Event

// Filter is the events for which keep is true.
func (tl Timeline) Filter(keep func(Event) bool) Timeline {
	var out Timeline
	for _, e := range tl {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// is matches a kind and, when packet is not "", a packet type.
func is(k Kind, packet string) func(Event) bool {
	return func(e Event) bool { return e.Kind == k && (packet == "" || e.Packet == packet) }
}

// first is the first event keep accepts.
func (tl Timeline) first(keep func(Event) bool) (Event, bool) {
	for _, e := range tl {
		if keep(e) {
			return e, true
		}
	}
	return Event{}, false
}

// conn is the events of one connection.
func (tl Timeline) conn(n int) Timeline { return tl.Filter(func(e Event) bool { return e.Conn == n }) }

// closedAt is when connection n ended; false while it is open.
func (tl Timeline) closedAt(n int) (Event, bool) {
	return tl.first(func(e Event) bool { return e.Conn == n && (e.Kind == Closed || e.Kind == TLSFail) })
}

// Retry is one connection attempt after the one before it ended.
type Retry struct {
	Prev  int           `json:"prev_conn"`
	Conn  int           `json:"conn"`
	Delay time.Duration `json:"delay_ns"` // from the previous connection's end to this one's TCP accept
}

// retries lists, for each connection keep accepts after the first, the
// delay since the previous one ended (none when it never ended).
func (tl Timeline) retries(keep func(Event) bool) []Retry {
	var out []Retry
	prev := 0
	for _, e := range tl.Filter(func(e Event) bool { return e.Kind == Accepted }) {
		if !keep(e) {
			continue
		}
		// The previous connection's end may be recorded just after the
		// next one's accept (a device retrying at once): no wait.
		if end, ok := tl.closedAt(prev); prev != 0 && ok {
			out = append(out, Retry{Prev: prev, Conn: e.Conn, Delay: max(0, e.At.Sub(end.At))})
		}
		prev = e.Conn
	}
	return out
}

// connects are the connections that sent a CONNECT, by number, in order.
func (tl Timeline) connects() []int {
	var out []int
	for _, e := range tl.Filter(is(Received, "CONNECT")) {
		out = append(out, e.Conn)
	}
	return out
}
