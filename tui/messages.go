package tui

import "github.com/iotwatch/iotwatch/event"

// eventsMsg carries a batch of events drained from the connection.
type eventsMsg []event.Event

// streamClosedMsg says the connection's event stream ended.
type streamClosedMsg struct{}

// tickMsg is the redraw tick; tag drops stale loops.
type tickMsg struct{ tag int }

// desiredResultMsg is the outcome of sending a desired patch to thing: it
// goes to that thing's screen, whichever screen is open.
type desiredResultMsg struct {
	thing string
	err   error
}

// statusMsg is a line for the status bar.
type statusMsg string

// gotShadowMsg is the outcome of a get of thing's shadow the user asked
// for (g), for that thing's screen.
type gotShadowMsg struct {
	thing string
	err   error
}
