package monitor

import "time"

// Note logs what the user did that the events do not show (a get asked
// for by hand), so the log tells the whole story.
func (m *Monitor) Note(at time.Time, text string) { m.log(at, Info, "%s", text) }
