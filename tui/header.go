package tui

import (
	"fmt"
	"math"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/monitor"
)

// header is the thing's state, then the counters, each flowed into as many
// lines as the width needs: at 80 columns device, link and version stay
// whole on the first line.
func (m *Model) header() string {
	s := m.styles
	title := s.Title.Render("iotwatch") + "  " + s.Label.Render(m.o.Thing)
	state := flow([]string{title, m.linkText(), m.deviceText(), fmt.Sprintf("v%d", m.snap.Version), "@ " + m.o.Endpoint}, m.width)
	counters := m.counters()
	for i, c := range counters {
		counters[i] = s.Muted.Render(c)
	}
	out := state + "\n" + flow(counters, m.width)
	if m.snap.Unregistered != "" {
		out += "\n" + flow([]string{s.Bad.Render(m.snap.Unregistered)}, m.width)
	}
	return out
}

func (m *Model) linkText() string {
	s, link := m.styles, m.snap.Link
	text := s.Warn.Render(link.State.String())
	switch link.State {
	case event.LinkUp:
		text = s.Good.Render("up")
	case event.LinkDown:
		text = s.Bad.Render("down: " + link.Err)
	case event.LinkConnecting:
		if link.Attempt > 0 {
			text = s.Warn.Render(fmt.Sprintf("reconnecting (attempt %d)", link.Attempt))
		}
	}
	return "link " + text
}

func (m *Model) deviceText() string {
	s, dev := m.styles, m.snap.Device
	devStyle := map[monitor.DeviceState]lipgloss.Style{monitor.DeviceOnline: s.Good, monitor.DeviceLate: s.Warn, monitor.DeviceOffline: s.Bad}[dev]
	if dev == monitor.DeviceUnknown {
		devStyle = s.Muted
	}
	age := "no report yet"
	if last := m.snap.LastReport; !last.IsZero() {
		age = "last report " + ago(m.now.Sub(last))
	}
	return fmt.Sprintf("device %s (%s)", devStyle.Render(dev.String()), age)
}

// counters are the running totals, one item each.
func (m *Model) counters() []string {
	c := m.snap.Counts
	return []string{fmt.Sprintf("reports %d", c.Reports), fmt.Sprintf("dropouts %d", len(m.snap.Dropouts)),
		"avail " + availability(m.snap.Availability, m.snap.Observed, c.Reports, 2), fmt.Sprintf("lost %d", c.LostReports),
		fmt.Sprintf("reboots %d", c.Reboots), fmt.Sprintf("rejected %d", c.Rejections),
		fmt.Sprintf("malformed %d", c.Malformed), fmt.Sprintf("dropped %d", c.Dropped),
		"round trip p50 " + figure(m.snap.RoundTrips > 0, "%s", m.snap.RoundTripP50.Round(time.Millisecond)),
		fmt.Sprintf("mem %.1f MB", float64(m.o.Memory())/(1<<20))}
}

// availability is a percentage with digits decimals, or "–" while there
// is none: nothing observed, or not one report (a thing that never
// reported was not 100 % available; its name may be a typo).
func availability(percent float64, observed time.Duration, reports, digits int) string {
	return figure(observed > 0 && reports > 0 && !math.IsNaN(percent), "%.*f%%", digits, percent)
}

func ago(d time.Duration) string {
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	}
	return d.Round(time.Second).String() + " ago"
}

// figure formats a value, or shows "–" while there is no data for it: never
// a number that looks real (0.00, 0s, 100 %) before anything was measured.
func figure(known bool, format string, args ...any) string {
	if !known {
		return "–"
	}
	return fmt.Sprintf(format, args...)
}
