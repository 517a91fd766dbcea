package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/report"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// doc is a report of seq as a connection delivers it: update/accepted for
// the single thing's connection, update/documents (naming its thing) for a
// fleet's.
func doc(s float64, thing string, seq int) event.ShadowDoc {
	ts := map[string]any{"timestamp": float64(at(s).Unix())}
	d := event.ShadowDoc{At: at(s), Thing: thing, Kind: event.DocCurrent, Version: int64(seq),
		Reported:         map[string]any{"seq": float64(seq), "temp": 20 + float64(seq%5)},
		ReportedMetadata: map[string]any{"seq": ts, "temp": ts}}
	if thing == "" {
		d.Kind, d.ReportedMetadata = event.DocAccepted, nil
	}
	return d
}

// fleetTimeline is a minute of three things as awsconn.Fleet delivers it:
// a and b named at start, c found at 30 s (its first event names it); b
// silent for 10 s, a's connection down for 2 s.
func fleetTimeline() []event.Event {
	evs := []event.Event{event.Link{At: at(0.1), State: event.LinkUp, Things: []string{"a", "b"}}}
	for i := 1; i <= 60; i++ {
		s := float64(i)
		if i < 41 || i > 42 {
			evs = append(evs, doc(s, "a", i))
		}
		if i < 20 || i > 29 {
			evs = append(evs, doc(s+0.2, "b", i))
		}
		if i >= 30 {
			evs = append(evs, doc(s+0.4, "c", i-29))
		}
		switch i {
		case 40:
			evs = append(evs, event.Link{At: at(40.5), State: event.LinkDown, Err: "EOF", Things: []string{"a"}})
		case 42:
			evs = append(evs, event.Link{At: at(42.5), State: event.LinkUp, Attempt: 1, Things: []string{"a"}})
		}
	}
	return append(evs, event.Alive{At: at(61)})
}

// singleTimeline is a minute of one thing as awsconn.Conn delivers it (no
// thing named): silent from 20 to 29 s, the link down from 40.5 to 42.5 s.
func singleTimeline() []event.Event {
	evs := []event.Event{event.Link{At: at(0.1), State: event.LinkUp}}
	for i := 1; i <= 60; i++ {
		if i < 20 || i > 29 {
			evs = append(evs, doc(float64(i), "", i))
		}
		switch i {
		case 40:
			evs = append(evs, event.Link{At: at(40.5), State: event.LinkDown, Err: "EOF"})
		case 42:
			evs = append(evs, event.Link{At: at(42.5), State: event.LinkUp, Attempt: 1})
		}
	}
	return append(evs, event.Alive{At: at(61)})
}

var (
	opts = monitor.Options{Field: "temp", DropoutAfter: 2.5}
	th   = report.Thresholds{MinAvailability: 99.9, MaxGap: 30 * time.Second, MaxBlind: 5}
)

// reports are every thing's JSON summary and Markdown at end, one after
// the other: what soak and report print.
func reports(p *Pipeline, end time.Time) []byte {
	var b bytes.Buffer
	for _, t := range p.Things() {
		run := report.Run{Thing: t, Field: "temp", Start: t0, End: end, Thresholds: th}
		st, v := report.Evaluate(p.Monitor(t), end, th)
		b.Write(report.JSON(run, st, v))
		b.Write(report.Markdown(run, st, v, ""))
	}
	return b.Bytes()
}

// TestLiveAndReplayAgree runs one thing and a fleet live, as soak does
// (ticks every 250 ms, the log written at once) and as watch does (no
// ticks, the log written off the UI's goroutine), and replays each log:
// the things, and each thing's report, are the same byte for byte.
func TestLiveAndReplayAgree(t *testing.T) {
	for _, c := range []struct {
		name   string
		fleet  bool
		things []string // named at start
		events []event.Event
		want   []string
	}{
		{"single", false, nil, singleTimeline(), []string{"t1"}},
		{"fleet", true, []string{"a", "b"}, fleetTimeline(), []string{"a", "b", "c"}},
	} {
		for _, how := range []string{"soak", "watch"} {
			t.Run(c.name+"/"+how, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "run.jsonl")
				p := live(t, path, how, c.fleet, c.things, c.events)
				r, err := Replay(path, func(*eventlog.Log) Options { return Options{Monitor: opts, Thing: "from-the-file-name"} })
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(p.Things(), c.want) || !slices.Equal(r.Things(), c.want) || r.Log.Fleet() != c.fleet {
					t.Fatalf("live things %v, replayed %v (fleet %v); want %v (fleet %v)", p.Things(), r.Things(), r.Log.Fleet(), c.want, c.fleet)
				}
				end := at(61)
				if lv, rv := reports(p, end), reports(r.Pipeline, end); !bytes.Equal(lv, rv) {
					t.Fatalf("live and replayed reports differ:\n%s\n---\n%s", lv, rv)
				}
				if len(r.Log.Overlaps) > 0 || !slices.Equal(r.Log.Things(), c.want) {
					t.Fatalf("the log's own reading: overlaps %v, things %v", r.Log.Overlaps, r.Log.Things())
				}
			})
		}
	}
}

// live runs events through a pipeline logging to path, as soak or as watch.
func live(t *testing.T, path, how string, fleet bool, things []string, events []event.Event) *Pipeline {
	t.Helper()
	var w *lazyLog
	var log Log
	w = &lazyLog{t: t, path: path}
	log = w
	var async *Async
	if how == "watch" {
		async = NewAsync(w)
		log = async
	}
	p := New(Options{Monitor: opts, Fleet: fleet, Log: log, LogFailed: func(err error) { t.Fatalf("log: %v", err) }})
	s := event.Session{At: t0, Program: "iotwatch test", Thing: "t1"}
	if fleet {
		s.Thing = ""
	}
	p.Open(s, things...)
	now := t0
	for _, ev := range events {
		for ; how == "soak" && now.Before(ev.Time()); now = now.Add(250 * time.Millisecond) {
			p.Tick(now)
		}
		p.Apply(ev)
	}
	if async != nil {
		if err := async.Close(); err != nil {
			t.Fatal(err)
		}
	} else if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// lazyLog is an eventlog.Writer made at the run's session line (as the
// command line's is).
type lazyLog struct {
	t    *testing.T
	path string
	w    *eventlog.Writer
}

func (l *lazyLog) Write(ev event.Event) error {
	if l.w == nil {
		w, err := eventlog.Create(l.path, ev.(event.Session))
		l.w = w
		return err
	}
	return l.w.Write(ev)
}

func (l *lazyLog) Close() error { return l.w.Close() }

// TestFleetLogNamesEveryThing: every line of a fleet's log but the fleet's
// session and its alive lines names its thing; a thing found in the run
// joins it from the run's start (blind before it was found), never from
// when it was found.
func TestFleetLogNamesEveryThing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleet.jsonl")
	p := live(t, path, "soak", true, []string{"a", "b"}, fleetTimeline())
	logged, _ := os.ReadFile(path)
	for i, l := range strings.Split(strings.TrimSpace(string(logged)), "\n") {
		named := strings.Contains(l, `"thing":"`) || strings.Contains(l, `"things":["`)
		if named == (strings.Contains(l, `"type":"alive"`) || i == 0) {
			t.Errorf("line %d: only the fleet's session and alive lines may name no thing: %s", i+1, l)
		}
	}
	st := p.Monitor("c").Stats(at(61))
	if !p.Start("c").Equal(t0) || st.Blind < 30*time.Second || st.Reports != 31 {
		t.Fatalf("c: start %s, blind %s, %d reports; want the run's start, blind until found at 30.4 s, 31 reports", p.Start("c"), st.Blind, st.Reports)
	}
}

// TestMixedLogs: runs of different things appended to one log are each
// their own thing's (case 9).
func TestMixedLogs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mixed.jsonl")
	// t1 connects and never reports; t2 reports every second.
	w1, _ := eventlog.Create(path, event.Session{At: at(0), Thing: "t1"})
	w1.Write(event.Link{At: at(0.1), State: event.LinkUp})
	w1.Write(event.Alive{At: at(30)})
	w1.Close()
	w2, _ := eventlog.Create(path, event.Session{At: at(31), Thing: "t2"})
	w2.Write(event.Link{At: at(31.1), State: event.LinkUp})
	for i := 1; i <= 30; i++ {
		w2.Write(doc(31+float64(i), "", i)) // a log from before single runs named their thing
	}
	w2.Close()
	r, err := Replay(path, func(*eventlog.Log) Options { return Options{Monitor: opts} })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Things(), []string{"t1", "t2"}) || !r.Log.Fleet() {
		t.Fatalf("things %v, fleet %v", r.Things(), r.Log.Fleet())
	}
	if n := r.Monitor("t1").Counts.Reports; n != 0 {
		t.Fatalf("t1 was credited with %d of t2's reports", n)
	}
	if n := r.Monitor("t2").Counts.Reports; n != 30 {
		t.Fatalf("t2: %d reports, want 30", n)
	}

}

// TestStallIsBlind: a wake of the run loop long after the one before
// (iotwatch stopped) is blind time, not the device's silence.
func TestStallIsBlind(t *testing.T) {
	p := New(Options{Monitor: opts})
	p.Open(event.Session{At: at(0), Thing: "t1"})
	p.Apply(event.Link{At: at(0.1), State: event.LinkUp})
	for i := 1; i <= 10; i++ {
		p.Apply(doc(float64(i), "", i))
	}
	p.Apply(event.Stall{Since: at(10.2), At: at(50)})
	for i := 51; i <= 60; i++ {
		p.Apply(doc(float64(i), "", i))
	}
	st := p.Monitor("t1").Stats(at(60))
	if len(st.Dropouts) != 0 || st.Blind < 39*time.Second {
		t.Fatalf("dropouts %v, blind %s; want none, and the 39.8 s stall blind", st.Dropouts, st.Blind)
	}
}
