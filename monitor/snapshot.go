package monitor

import (
	"maps"
	"slices"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// Snapshot is everything a view or a report reads of the monitor, taken at
// one instant. It shares nothing the monitor changes afterwards: Desired,
// Reported and Delta are shared because the monitor only ever replaces those
// maps whole (mergeTop builds a new one), everything else is copied. Readers
// treat every map and slice in it as read-only.
type Snapshot struct {
	At                       time.Time
	Field                    string // the configured plotted field
	Desired, Reported, Delta map[string]any
	Version                  int64
	FieldAt                  map[string]time.Time
	Link                     event.Link
	Presence                 event.Presence
	Device                   DeviceState
	LastReport               time.Time
	Expected                 time.Duration
	Threshold                time.Duration // the silence after which a dropout opens
	AnnouncedInterval        time.Duration // the device's interval_s when longer than max_gap (ignored), else 0
	Skew                     Skew
	Counts                   Counts
	Pending                  map[string]Pending
	PendingText              map[string]string // why a pending value waits or was settled; "" while in flight
	RoundTrips               int               // round trips measured so far
	RoundTripP50             time.Duration
	Dropouts                 []Dropout // computed once; the last may be open
	Availability             float64   // NaN: unknown (nothing observed, or no report yet): show "–"
	Observed, Blind          time.Duration
	Events                   []Entry // the event log, oldest first
	EventsLogged             int     // see Monitor.EventsLogged
	Plots                    []Plot  // one per Want.Plots, in order
	Stats                    *Stats  // when Want.Stats
}

// Want names the parts of a snapshot that cost more than a copy.
type Want struct {
	Plots []PlotRequest
	Stats bool // the soak statistics sort every gap: only when shown
}

// PlotRequest asks for a field's series: Points means over Window ending at End.
type PlotRequest struct {
	Field  string
	Window time.Duration
	Points int
	End    time.Time
}

// Plot is one requested series with its summary over the same window.
type Plot struct {
	PlotRequest
	Values  []float64 // NaN where nothing was reported
	Summary Summary
}

// Snapshot copies the state at now, with the costly parts want asks for.
func (m *Monitor) Snapshot(now time.Time, want ...Want) Snapshot {
	s := Snapshot{At: now, Field: m.o.Field, Desired: m.Desired, Reported: m.Reported, Delta: m.Delta,
		Version: m.Version, FieldAt: maps.Clone(m.FieldAt), Link: m.Link, Presence: m.Presence,
		Device: m.Device(now), LastReport: m.lastAt, Expected: m.Expected(), Threshold: m.Threshold(),
		AnnouncedInterval: m.AnnouncedInterval(), Skew: m.Skew(), Counts: m.Counts,
		Pending: make(map[string]Pending, len(m.Pending)), PendingText: make(map[string]string, len(m.Pending)),
		RoundTrips: len(m.RoundTrip), RoundTripP50: m.RoundTripPercentile(50),
		Dropouts: slices.Clone(m.s.dropouts), Events: slices.Clone(m.events), EventsLogged: m.logged}
	for k, p := range m.Pending {
		s.Pending[k] = *p
		s.PendingText[k] = m.PendingText(p, now)
	}
	s.Availability, s.Observed, s.Blind = m.Availability(now)
	for _, w := range want {
		for _, r := range w.Plots {
			s.Plots = append(s.Plots, Plot{PlotRequest: r, Values: m.Series(r.Field, r.Window, r.Points, r.End),
				Summary: m.Summarize(r.Field, r.Window, r.End)})
		}
		if w.Stats {
			st := m.Stats(now)
			s.Stats = &st
		}
	}
	return s
}

// Numeric is whether the device reports field as a number (one that can be plotted).
func (s Snapshot) Numeric(field string) bool {
	_, ok := s.Reported[field].(float64)
	return ok
}
