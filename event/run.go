package event

import "time"

// Stall says iotwatch itself stood still from Since to At: its monotonic
// clock jumped between two ticks (SIGSTOP, a suspended laptop, a machine
// starved of CPU). Nothing was watched meanwhile: the time is blind, and
// the events that queued up arrive after it. The run loop sends it before
// the tick that found the jump; it is logged so that a replay knows too.
type Stall struct {
	At    time.Time // the tick that found the jump
	Since time.Time // the tick before it
}

// End closes one run of iotwatch in a log: a log whose last run has none
// was cut short (kill -9, a full disk), and the time after its last line is
// unknown.
type End struct {
	At     time.Time
	Reason string // "completed", "signal" or "error"
	Signal string // the signal's name (SIGTERM, SIGINT, SIGHUP) when Reason is "signal"
	Error  string // what ended it when Reason is "error"
}

// End reasons.
const (
	EndCompleted = "completed"
	EndSignal    = "signal"
	EndError     = "error"
)

func (e Stall) Time() time.Time { return e.At }
func (e End) Time() time.Time   { return e.At }
