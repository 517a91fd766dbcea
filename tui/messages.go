package tui

import "github.com/iotwatch/iotwatch/event"

// eventsMsg carries a batch of events drained from the connection.
type eventsMsg []event.Event

// streamClosedMsg says the connection's event stream ended.
type streamClosedMsg struct{}

// tickMsg is the redraw tick; tag drops stale loops.
type tickMsg struct{ tag int }

// desiredResultMsg is the outcome of sending a desired patch.
type desiredResultMsg struct{ err error }

// statusMsg is a line for the status bar.
type statusMsg string

// gotShadowMsg is the outcome of a get the user asked for (g).
type gotShadowMsg struct{ err error }
