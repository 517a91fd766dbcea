package eventlog

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// Header is what a run's session lines record beyond event.Session: the
// run's id (on every line it writes), how long it was to last and the soak
// settings in force, so that a report of the log judges by them.
type Header struct {
	ID       string        // unique per run; CreateRun makes one when empty
	Planned  time.Duration // the run's --duration; 0: until stopped
	Settings *Settings     // the [soak] settings in force; nil: not a soak (watch)
}

// Settings are the [soak] settings a run had.
type Settings struct {
	Interval        Seconds `json:"interval_s"`
	DropoutAfter    float64 `json:"dropout_after"`
	MaxDropouts     int     `json:"max_dropouts"`
	MinAvailability float64 `json:"min_availability"`
	MaxGap          Seconds `json:"max_gap_s"`
	MaxBlind        float64 `json:"max_blind"`
	// RequireJobsSucceeded: absent in logs from before it (false).
	RequireJobsSucceeded bool `json:"require_jobs_succeeded,omitzero"`
}

// Seconds is a duration written as seconds (a JSON number).
type Seconds time.Duration

// MarshalJSON writes seconds.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprint(time.Duration(s).Seconds())), nil
}

// UnmarshalJSON reads seconds.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	var f float64
	if _, err := fmt.Sscan(string(b), &f); err != nil {
		return fmt.Errorf("%s is not a number of seconds", b)
	}
	*s = Seconds(f * float64(time.Second))
	return nil
}

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// RunInfo is one run of iotwatch found in a log.
type RunInfo struct {
	ID     string    // "" in logs from before run ids
	Start  time.Time // its first session line
	Fleet  bool      // opened by a session without a thing
	Things []string  // things its session lines name, in order
	Header Header    // Settings nil and Planned 0 in logs from before they were recorded
	End    *event.End
	Last   time.Time // its last line
	Line   int       // its first session line's number
}

// Ended says whether the run closed its log: a run without its closing line
// was killed or could not write, and the time after Last is unknown.
func (r RunInfo) Ended() bool { return r.End != nil }

// Cut says whether the run's log was cut short: written by a version that
// closes its runs (its lines carry a run id) and without its closing line.
// A run from before closing lines is not cut, only old.
func (r RunInfo) Cut() bool { return r.ID != "" && r.End == nil }

// runs groups a log's lines into runs as they are read.
type runs struct {
	list     []RunInfo
	byID     map[string]int
	current  int // the run the latest session line opened, -1 before one
	overlaps []string
	reported map[[2]int]bool
}

func newRuns() *runs { return &runs{byID: map[string]int{}, current: -1, reported: map[[2]int]bool{}} }

// add takes one decoded line (number n).
func (r *runs) add(n int, l line, ev event.Event) {
	i := r.runOf(n, l, ev)
	if i < 0 {
		return // a log from before sessions
	}
	run := &r.list[i]
	if t := ev.Time(); t.After(run.Last) {
		run.Last = t
	}
	switch e := ev.(type) {
	case event.Session:
		if e.Thing != "" && !slices.Contains(run.Things, e.Thing) {
			run.Things = append(run.Things, e.Thing)
		}
		if l.Settings != nil {
			run.Header.Settings = l.Settings
		}
		if l.PlannedS > 0 {
			run.Header.Planned = time.Duration(l.PlannedS * float64(time.Second))
		}
	case event.End:
		run.End = &e
	}
	if i != r.current && l.Run != "" {
		r.overlap(n, i, r.current) // an older run still writing after a newer one began
	}
}

// runOf is the index of the run a line belongs to, opening a new one at a
// session line of a new run.
func (r *runs) runOf(n int, l line, ev event.Event) int {
	s, session := ev.(event.Session)
	if l.Run != "" {
		if i, ok := r.byID[l.Run]; ok {
			if session {
				r.current = i
			}
			return i
		}
		if !session {
			return r.current // a run whose session line was lost
		}
	} else if !session || r.current >= 0 && r.list[r.current].Fleet && r.list[r.current].ID == "" && s.Thing != "" {
		// Before run ids a fleet run's things' session lines follow its
		// own; any other line belongs to the latest run.
		return r.current
	}
	r.list = append(r.list, RunInfo{ID: l.Run, Start: s.At, Fleet: s.Thing == "", Header: Header{ID: l.Run}, Line: n})
	r.current = len(r.list) - 1
	if l.Run != "" {
		r.byID[l.Run] = r.current
	}
	return r.current
}

func (r *runs) overlap(n, a, b int) {
	if a > b {
		a, b = b, a
	}
	if r.reported[[2]int{a, b}] {
		return
	}
	r.reported[[2]int{a, b}] = true
	ra, rb := r.list[a], r.list[b]
	r.overlaps = append(r.overlaps, fmt.Sprintf("runs %s (from %s, line %d) and %s (from %s, line %d) wrote to the log at the same time (first seen at line %d): their lines are interleaved",
		ra.ID, stamp(ra.Start), ra.Line, rb.ID, stamp(rb.Start), rb.Line, n))
}

// Things lists every thing the log's lines name (session lines and the
// thing field of events), sorted.
func (l *Log) Things() []string {
	out := make([]string, 0, len(l.things))
	for t := range l.things {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Holds says whether the log names thing.
func (l *Log) Holds(thing string) bool { return l.things[thing] }

// Fleet says whether the log must be reported as a fleet: a run of it
// opened by a session without a thing (a fleet soak or watch), or lines
// naming more than one thing. Crediting one thing's lines to another is
// then impossible: each thing is replayed through its own monitor.
func (l *Log) Fleet() bool {
	if len(l.things) > 1 {
		return true
	}
	for _, r := range l.Runs {
		if r.Fleet {
			return true
		}
	}
	return false
}

// LastRun is the log's last run (the zero RunInfo for a log without
// session lines).
func (l *Log) LastRun() RunInfo {
	if len(l.Runs) == 0 {
		return RunInfo{}
	}
	return l.Runs[len(l.Runs)-1]
}
