// Package event holds the typed events that awsconn and devicesim send and that
// monitor, eventlog and tui read: the one vocabulary between the client and
// the pipeline. It imports only the standard library.
package event

import "time"

// Event is one thing the monitor learns about the thing or about its own
// link. awsconn produces them from MQTT messages; tests and log replays build
// them directly. At is when the monitor received it (its own clock).
type Event interface{ Time() time.Time }

// DocKind says which shadow topic a ShadowDoc came from.
type DocKind uint8

const (
	DocGet      DocKind = iota // get/accepted: the full document, Delta included
	DocCurrent                 // update/documents "current": full desired and reported
	DocAccepted                // update/accepted: only what that update set
	DocDelta                   // update/delta: Delta holds every differing leaf
)

func (k DocKind) String() string {
	return [...]string{"get", "documents", "accepted", "delta"}[k]
}

// ShadowDoc is a decoded shadow document. Maps hold decoded JSON values
// (float64, string, bool, nil, []any, map[string]any) and are nil when the
// document has no such section. Metadata maps mirror Desired and Reported with
// {"timestamp": seconds} leaves.
type ShadowDoc struct {
	At               time.Time
	Thing            string `json:",omitempty"` // set by a fleet connection; empty: the single configured thing
	Kind             DocKind
	Version          int64
	Timestamp        int64 // shadow timestamp, seconds since the epoch
	ClientToken      string
	Desired          map[string]any
	Reported         map[string]any
	Delta            map[string]any
	DesiredMetadata  map[string]any
	ReportedMetadata map[string]any
}

// Rejected is a */rejected answer. Op is "get", "update" or "delete".
type Rejected struct {
	At          time.Time
	Thing       string `json:",omitempty"` // as ShadowDoc.Thing
	Op          string
	Code        int
	Message     string
	ClientToken string
}

// Deleted is a delete/accepted answer: Version is the version deleted.
type Deleted struct {
	At          time.Time
	Thing       string `json:",omitempty"` // as ShadowDoc.Thing
	Version     int64
	ClientToken string
}

// Presence is an AWS IoT lifecycle event for the device's client id.
type Presence struct {
	At               time.Time
	Thing            string `json:",omitempty"` // as ShadowDoc.Thing
	ClientID         string
	EventType        string    // "connected", "disconnected" or "connect_failed"
	Timestamp        time.Time // the event's own time (AWS sends milliseconds)
	VersionNumber    int64
	DisconnectReason string // AWS's disconnectReason, e.g. "DUPLICATE_CLIENTID"
	ClientInitiated  bool
	FailureReason    string // connectFailureReason of connect_failed
}

// LinkState is the state of iotwatch's own MQTT connection.
type LinkState uint8

const (
	LinkConnecting LinkState = iota
	LinkUp
	LinkDown
)

func (s LinkState) String() string {
	return [...]string{"connecting", "up", "down"}[s]
}

// Link reports a change of iotwatch's own connection. While it is not up,
// time is blind: never counted as a device dropout.
type Link struct {
	At      time.Time
	State   LinkState
	Attempt int    // reconnect attempt number, 0 on the first connect
	Err     string // why it went down or failed to connect
	// Things are the things a fleet's connection follows (blind while it
	// is not up); nil for the single configured thing's connection.
	Things []string `json:",omitempty"`
}

// DesiredSent records a desired-state update iotwatch published; it stays
// pending until the device reports the values.
type DesiredSent struct {
	At          time.Time
	Thing       string `json:",omitempty"` // as ShadowDoc.Thing
	ClientToken string
	Patch       map[string]any
}

// Malformed is a message that could not be decoded. It is counted and shown;
// Payload keeps at most the first 256 bytes.
type Malformed struct {
	At      time.Time
	Topic   string
	Err     string
	Payload []byte
}

// Overflow says the local event queue was full and Count events were dropped
// before reaching the monitor (a local problem, not a device dropout).
type Overflow struct {
	At    time.Time
	Count int
}

// Session opens one run of iotwatch in a log: runs may append to the same
// file, and the time between one run's last line and the next run's Session
// was watched by nobody.
type Session struct {
	At           time.Time
	Program      string // iotwatch's version, e.g. "iotwatch v0.3.0 (vcs 1a2b3c4)"
	Thing        string
	ConfigDigest string // SHA-256 of the configuration's bytes, hex (empty without a file)
}

// Alive says iotwatch was watching at At; a soak logs one when nothing else
// was logged for a while, so a run's last line is close to its end.
type Alive struct {
	At time.Time
}

func (e ShadowDoc) Time() time.Time   { return e.At }
func (e Session) Time() time.Time     { return e.At }
func (e Alive) Time() time.Time       { return e.At }
func (e Rejected) Time() time.Time    { return e.At }
func (e Deleted) Time() time.Time     { return e.At }
func (e Presence) Time() time.Time    { return e.At }
func (e Link) Time() time.Time        { return e.At }
func (e DesiredSent) Time() time.Time { return e.At }
func (e Malformed) Time() time.Time   { return e.At }
func (e Overflow) Time() time.Time    { return e.At }

// Raw is a message on a topic filter the user subscribed to by hand
// (awsconn's SubscribeRaw), as it came: the raw-topics view reads it, the
// monitor does not.
type Raw struct {
	At      time.Time
	Filter  string // the subscription it arrived on
	Topic   string
	Payload []byte
}

func (e Raw) Time() time.Time { return e.At }
