package pipeline

import (
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
)

// TestReplayNeverCreditsAnotherThing appends random runs to one log — one
// thing's runs (some written as logs were before single runs named their
// thing), fleets with things named at start and found later, links cut,
// alive lines, dropped events, malformed messages — and replays it: each
// thing has exactly the reports its generator made for it, and only the
// things that ran are in it. The truth is the generator's own count, not
// the pipeline's rule.
func TestReplayNeverCreditsAnotherThing(t *testing.T) {
	pool := []string{"a", "b", "c", "d"}
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 19))
		path := filepath.Join(t.TempDir(), "mixed.jsonl")
		truth := map[string]int{}
		clock := t0
		for run := 0; run < 1+rng.IntN(4); run++ {
			clock = clock.Add(time.Duration(1+rng.IntN(30)) * time.Second)
			var things []string
			fleet := rng.IntN(2) == 0
			if fleet {
				for _, th := range pool {
					if rng.IntN(2) == 0 {
						things = append(things, th)
					}
				}
				if len(things) == 0 {
					things = pool[:1]
				}
			} else {
				things = []string{pool[rng.IntN(len(pool))]}
			}
			clock = randomRun(t, rng, path, fleet, things, clock, truth, fleet || rng.IntN(3) > 0)
		}
		r, err := Replay(path, func(*eventlog.Log) Options { return Options{Monitor: opts, Thing: "from-the-file-name"} })
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Sorted(maps.Keys(truth))
		if !slices.Equal(r.Things(), want) {
			t.Fatalf("seed %d: replay holds %v, the runs were of %v", seed, r.Things(), want)
		}
		for th, n := range truth {
			if got := r.Monitor(th).Counts.Reports; got != n {
				data, _ := os.ReadFile(path)
				t.Fatalf("seed %d: %s credited with %d reports, it made %d\n%s", seed, th, got, n, data)
			}
		}
	}
}

// randomRun writes one run of things to path as the command line does
// (through a pipeline, or for a single run without stamped things when
// stamped is false, as older logs were) and counts each thing's reports in
// truth; it returns the run's end.
func randomRun(t *testing.T, rng *rand.Rand, path string, fleet bool, things []string, start time.Time, truth map[string]int, stamped bool) time.Time {
	t.Helper()
	s := event.Session{At: start, Program: "iotwatch test", Thing: things[0]}
	if fleet {
		s.Thing = ""
	}
	w, err := eventlog.CreateRun(path, s, eventlog.Header{})
	if err != nil {
		t.Fatal(err)
	}
	var out Log = w
	var p *Pipeline
	if stamped {
		p = New(Options{Monitor: opts, Log: &skipFirst{w: w}})
		named := things
		if fleet {
			named = things[:1+rng.IntN(len(things))] // the rest are found later
		}
		if fleet {
			p.Open(s, named...)
		} else {
			p.Open(s)
		}
		out = nil
	}
	emit := func(ev event.Event) {
		if p != nil {
			p.Apply(ev)
		} else if err := out.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, th := range things {
		if _, ok := truth[th]; !ok {
			truth[th] = 0
		}
	}
	at := start
	step := func() time.Time { at = at.Add(time.Duration(100+rng.IntN(1500)) * time.Millisecond); return at }
	link := func(state event.LinkState) event.Link {
		l := event.Link{At: step(), State: state}
		if fleet {
			l.Things = things
		}
		return l
	}
	emit(link(event.LinkUp))
	seq := map[string]int{}
	for i := 0; i < 5+rng.IntN(40); i++ {
		th := things[rng.IntN(len(things))]
		switch k := rng.IntN(20); {
		case k == 0:
			emit(link(event.LinkDown))
			emit(link(event.LinkUp))
		case k == 1:
			emit(event.Alive{At: step()})
		case k == 2:
			emit(event.Overflow{At: step(), Count: 1 + rng.IntN(3)})
		case k == 3:
			emit(event.Malformed{At: step(), Topic: "$aws/things/" + th + "/shadow/update/documents", Err: "not JSON"})
		default:
			seq[th]++
			truth[th]++
			for _, ev := range reportOf(step(), th, seq[th], fleet) {
				emit(ev)
			}
		}
	}
	emit(event.End{At: step(), Reason: event.EndCompleted})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return at
}

// reportOf is one report as the run's connection delivers it: a single
// thing's update/accepted then update/documents (naming no thing), a
// fleet's update/documents naming its thing.
func reportOf(at time.Time, thing string, seq int, fleet bool) []event.Event {
	ts := map[string]any{"timestamp": float64(at.Unix()) + float64(at.Nanosecond()/1000)/1e6}
	d := event.ShadowDoc{At: at, Kind: event.DocCurrent, Version: int64(seq), Reported: map[string]any{"seq": float64(seq)},
		ReportedMetadata: map[string]any{"seq": ts}}
	if fleet {
		d.Thing = thing
		return []event.Event{d}
	}
	accepted := d
	accepted.Kind = event.DocAccepted
	d.At = at.Add(time.Millisecond)
	return []event.Event{accepted, d}
}

// skipFirst is a log whose session line CreateRun wrote already.
type skipFirst struct {
	w    *eventlog.Writer
	done bool
}

func (s *skipFirst) Write(ev event.Event) error {
	if !s.done {
		s.done = true
		return nil
	}
	return s.w.Write(ev)
}
