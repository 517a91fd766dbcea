// Package alert raises alerts on what the monitor finds (dropouts opened
// and closed, reboots, lost reports, rejections, a verdict breached) and
// delivers them as [[alert]] says: the terminal bell, a desktop
// notification, a command given the alert as JSON, an HTTP POST. The rules
// (Tracker, the rate limit) are pure; the outputs run on their own
// goroutines behind bounded queues, so a slow or failing output never
// blocks or stops the watch. It imports config and monitor.
package alert

import (
	"fmt"
	"time"

	"github.com/iotwatch/iotwatch/monitor"
)

// Kind is what an alert is about; the names are config.AlertKinds.
type Kind string

const (
	DropoutOpened Kind = "dropout_opened"
	DropoutClosed Kind = "dropout_closed"
	Reboot        Kind = "reboot"
	LostReports   Kind = "lost_reports"
	Rejection     Kind = "rejection"
	VerdictBreach Kind = "verdict_breach"
)

// Alert is one alert, as the command and the HTTP POST receive it in JSON.
type Alert struct {
	At      time.Time `json:"at"`
	Thing   string    `json:"thing"`
	Kind    Kind      `json:"kind"`
	Message string    `json:"message"`
	// Suppressed counts the alerts of this thing and kind the rate limit
	// held back since the previous one delivered.
	Suppressed int `json:"suppressed,omitempty"`
}

func (a Alert) String() string {
	s := fmt.Sprintf("%s %s: %s", a.Thing, a.Kind, a.Message)
	if a.Suppressed > 0 {
		s += fmt.Sprintf(" (%d more since the last alert)", a.Suppressed)
	}
	return s
}

// Tracker finds alerts by comparing what a monitor holds with what it held
// at the previous look, per thing.
type Tracker struct{ last map[string]*look }

type look struct {
	opened, closed            int // dropouts alerted as opened, as closed
	reboots, lost, rejections int
	breached                  bool
}

// NewTracker starts with nothing seen.
func NewTracker() *Tracker { return &Tracker{last: map[string]*look{}} }

// Check returns the alerts for what changed in m since the last Check of
// thing. Call it after applying events and after each Tick.
func (t *Tracker) Check(thing string, m *monitor.Monitor, now time.Time) []Alert {
	l := t.of(thing)
	var out []Alert
	add := func(k Kind, format string, args ...any) {
		out = append(out, Alert{At: now, Thing: thing, Kind: k, Message: fmt.Sprintf(format, args...)})
	}
	dropouts := m.Dropouts()
	for ; l.opened < len(dropouts); l.opened++ {
		d := dropouts[l.opened]
		add(DropoutOpened, "device silent since %s (%s)", d.Start.Format("15:04:05"), d.Cause)
	}
	for ; l.closed < len(dropouts) && !dropouts[l.closed].End.IsZero(); l.closed++ {
		d := dropouts[l.closed]
		add(DropoutClosed, "dropout of %s ended (%s)", d.Duration(now).Round(100*time.Millisecond), d.Cause)
	}
	c := m.Counts
	if n := c.Reboots - l.reboots; n > 0 {
		add(Reboot, "device rebooted%s (reset reason %v)", times(n), m.Reported["reset_reason"])
	}
	if n := c.LostReports - l.lost; n > 0 {
		add(LostReports, "%d report(s) lost", n)
	}
	if n := c.Rejections - l.rejections; n > 0 {
		add(Rejection, "%d request(s) rejected", n)
	}
	l.reboots, l.lost, l.rejections = c.Reboots, c.LostReports, c.Rejections
	return out
}

func times(n int) string {
	if n == 1 {
		return ""
	}
	return fmt.Sprintf(" %d times", n)
}

// Verdict returns a VerdictBreach alert when thing's verdict turns from
// pass to fail (reasons say why), and nothing while it stays failed.
func (t *Tracker) Verdict(thing string, pass bool, reasons []string, now time.Time) []Alert {
	l := t.of(thing)
	breach := !pass && !l.breached
	l.breached = !pass
	if !breach {
		return nil
	}
	return []Alert{{At: now, Thing: thing, Kind: VerdictBreach, Message: fmt.Sprintf("soak verdict FAIL: %v", reasons)}}
}

func (t *Tracker) of(thing string) *look {
	l := t.last[thing]
	if l == nil {
		l = &look{}
		t.last[thing] = l
	}
	return l
}

// limiter lets one alert per thing and kind through every span; the ones
// held back are counted into the next.
type limiter struct {
	every time.Duration
	last  map[limitKey]time.Time
	held  map[limitKey]int
}

type limitKey struct {
	thing string
	kind  Kind
}

func newLimiter(every time.Duration) *limiter {
	return &limiter{every: every, last: map[limitKey]time.Time{}, held: map[limitKey]int{}}
}

// allow says whether a goes out now, with Suppressed set when it does.
func (l *limiter) allow(a *Alert) bool {
	k := limitKey{a.Thing, a.Kind}
	if last, ok := l.last[k]; ok && a.At.Sub(last) < l.every {
		l.held[k]++
		return false
	}
	l.last[k] = a.At
	a.Suppressed = l.held[k]
	delete(l.held, k)
	return true
}
