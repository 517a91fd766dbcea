package monitor

import (
	"math"
	"sort"
	"time"
)

// DeviceState is what the monitor believes about the device now.
type DeviceState uint8

const (
	DeviceUnknown DeviceState = iota
	DeviceOnline
	DeviceLate
	DeviceOffline
)

func (s DeviceState) String() string {
	return [...]string{"unknown", "online", "late", "offline"}[s]
}

// Expected is the expected report interval: configured, else the device's
// interval_s, else the median of recent gaps; 0 when unknown.
func (m *Monitor) Expected() time.Duration {
	if m.o.Interval > 0 {
		return m.o.Interval
	}
	if s, ok := m.Reported["interval_s"].(float64); ok && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	if len(m.gaps) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), m.gaps...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return sorted[len(sorted)/2]
}

// Device is the device's state at now: unknown while iotwatch's own link is
// down, since nothing it could see would say otherwise.
func (m *Monitor) Device(now time.Time) DeviceState {
	if !m.s.blindSince.IsZero() {
		return DeviceUnknown
	}
	if m.Presence.EventType == "disconnected" && m.Presence.At.After(m.lastAt) {
		return DeviceOffline
	}
	expected := m.Expected()
	if m.lastAt.IsZero() || expected == 0 {
		if m.Presence.EventType == "connected" {
			return DeviceOnline
		}
		return DeviceUnknown
	}
	age := now.Sub(m.lastAt)
	switch {
	case age <= expected*3/2:
		return DeviceOnline
	case age <= m.Threshold():
		return DeviceLate
	}
	return DeviceOffline
}

// LastReport is when the device last reported (zero before the first).
func (m *Monitor) LastReport() time.Time { return m.lastAt }

// Series returns points means of field over the window ending at now, NaN
// where nothing was reported.
func (m *Monitor) Series(field string, window time.Duration, points int, now time.Time) []float64 {
	h, ok := m.history[field]
	if !ok || points <= 0 {
		out := make([]float64, max(points, 0))
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	return h.series(window, points, now)
}

// Summary is last / min / max / mean of a field over a window.
type Summary struct {
	Last, Min, Max, Mean float64
	HasLast              bool // Last holds the reported value (else there is none)
	N                    int  // samples in the window: Min, Max and Mean mean nothing at 0
}

// Summarize returns the field's summary over the window ending at now.
func (m *Monitor) Summarize(field string, window time.Duration, now time.Time) Summary {
	h, ok := m.history[field]
	if !ok {
		return Summary{}
	}
	b := h.summary(window, now)
	s := Summary{Min: b.min, Max: b.max, N: int(b.n)}
	if b.n > 0 {
		s.Mean = b.sum / float64(b.n)
	}
	s.Last, s.HasLast = m.Reported[field].(float64)
	return s
}

// ClearHistory forgets every sample.
func (m *Monitor) ClearHistory() { m.history = map[string]*history{} }

// RoundTripPercentile returns the p-th percentile (0–100) of recent round trips.
func (m *Monitor) RoundTripPercentile(p float64) time.Duration {
	if len(m.RoundTrip) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), m.RoundTrip...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return sorted[min(len(sorted)-1, int(p/100*float64(len(sorted))))]
}
