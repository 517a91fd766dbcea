package monitor

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// stream decodes fuzz bytes into a time-ordered event stream, the ticks a
// live soak would add between them, and the times of the reports.
type stream struct {
	events []event.Event
	ticks  map[int][]time.Time // ticks before event i
	end    time.Time
	// stepsBack: the clock went back somewhere; the spans then need not
	// add up to the run.
	stepsBack bool
}

func decodeStream(data []byte) stream {
	s := stream{ticks: map[int][]time.Time{}}
	at := t0
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	for len(data) > 0 {
		op, arg := next(), next()
		step := time.Duration(next()) * 37 * time.Millisecond
		if op >= 240 { // now and then the wall clock steps back
			step = -step
			s.stepsBack = true
		}
		at = at.Add(step)
		var ev event.Event
		switch op % 14 {
		case 0, 1, 2:
			ev = report(at, int64(arg%8), map[string]any{"seq": float64(arg % 16), "uptime_s": float64(arg % 32), "interval_s": 1.0})
		case 3:
			meta := map[string]any{"seq": map[string]any{"timestamp": float64(at.Add(-time.Duration(arg)*100*time.Millisecond).UnixMicro()) / 1e6}}
			ev = event.ShadowDoc{At: at, Kind: event.DocGet, Version: int64(arg % 8), Reported: map[string]any{"seq": float64(arg % 16)}, ReportedMetadata: meta}
		case 4:
			ev = event.ShadowDoc{At: at, Kind: event.DocCurrent, Version: int64(arg % 8), Desired: map[string]any{"led": arg%2 == 0}, Reported: map[string]any{"seq": float64(arg % 16)}}
		case 5:
			ev = event.ShadowDoc{At: at, Kind: event.DocDelta, Version: int64(arg % 8), Delta: map[string]any{"led": true}}
		case 6:
			ev = event.Link{At: at, State: event.LinkState(arg % 3)}
		case 7:
			ev = event.Presence{At: at, EventType: [...]string{"connected", "disconnected"}[arg%2], VersionNumber: int64(arg / 2), DisconnectReason: "MQTT_KEEP_ALIVE_TIMEOUT"}
		case 8:
			ev = event.Session{At: at}
		case 9:
			ev = event.Deleted{At: at, Version: int64(arg)}
		case 10:
			ev = []event.Event{event.Rejected{At: at, Op: "get", Code: 404}, event.Alive{At: at},
				event.DesiredSent{At: at, Patch: map[string]any{"led": arg%2 == 0}}}[arg%3]
		case 11:
			s.ticks[len(s.events)] = append(s.ticks[len(s.events)], at)
			continue
		case 12:
			ev = event.Stall{At: at, Since: at.Add(-step)}
		case 13:
			ev = event.Overflow{At: at, Count: int(arg%4) + 1}
		}
		s.events = append(s.events, ev)
	}
	s.end = at.Add(time.Second)
	return s
}

func (s stream) run(live bool) (*Monitor, Stats) {
	m := New(Options{Field: "temp", Interval: time.Second, DropoutAfter: 2.5})
	for i, ev := range s.events {
		_, session := ev.(event.Session)
		if live && !session { // a soak ticks while it runs, never between runs
			for _, t := range s.ticks[i] {
				m.Tick(t)
			}
		}
		m.Apply(ev)
	}
	m.Tick(s.end)
	return m, m.Stats(s.end)
}

// FuzzEventStreams checks what must hold for any stream: no panic,
// availability within 0–100 (NaN only with nothing observed or no report), blind and
// unwatched time within the run, a dropout for every silence between two
// reports longer than the threshold, and live ticks changing nothing.
func FuzzEventStreams(f *testing.F) {
	f.Add([]byte{6, 1, 1, 0, 3, 27, 0, 4, 27, 11, 0, 80, 0, 5, 120, 6, 2, 1, 6, 1, 50, 3, 9, 1})
	f.Add([]byte{8, 0, 0, 6, 1, 2, 0, 1, 27, 0, 2, 27, 7, 3, 5, 0, 3, 200, 8, 0, 250, 6, 1, 3, 0, 9, 27})
	f.Add([]byte{0, 1, 0, 0, 2, 255, 0, 3, 255, 6, 2, 0, 0, 4, 255, 6, 1, 255, 0, 5, 10})
	f.Add([]byte{6, 1, 1, 246, 2, 9, 0, 1, 20, 248, 0, 200, 6, 1, 40, 0, 7, 30})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := decodeStream(data)
		m, st := s.run(false)
		_, live := s.run(true)
		if math.IsNaN(st.Availability) != (st.Observed <= 0 || st.Reports == 0) || st.Availability < 0 || st.Availability > 100 {
			t.Fatalf("availability %v with %s observed", st.Availability, st.Observed)
		}
		if st.Blind < 0 || st.Unwatched < 0 || st.Observed < 0 || !s.stepsBack && st.Blind+st.Unwatched+st.Observed != st.Span {
			t.Fatalf("blind %s unwatched %s observed %s span %s", st.Blind, st.Unwatched, st.Observed, st.Span)
		}
		if math.IsNaN(st.Availability) {
			st.Availability, live.Availability = 0, 0
		}
		// A live soak's ticks and events share one monotonic clock.
		if !s.stepsBack && !reflect.DeepEqual(st, live) {
			t.Fatalf("live ticks changed the figures:\n live   %+v\n replay %+v", live, st)
		}
		// Two reports one after the other, the link up, further apart
		// than the threshold: the dropout between them is there (when the
		// clock only went forward).
		up, disconnected := false, false
		for i, ev := range s.events {
			switch e := ev.(type) {
			case event.Link:
				up = e.State == event.LinkUp
			case event.Session:
				up = false // a new run connects anew
			case event.Presence:
				disconnected = e.EventType == "disconnected" // reports may be another client's
			}
			if disconnected {
				continue
			}
			a, ok := ev.(event.ShadowDoc)
			if !ok || a.Kind != event.DocAccepted || i+1 == len(s.events) || !up || s.stepsBack {
				continue
			}
			b, ok := s.events[i+1].(event.ShadowDoc)
			if !ok || b.Kind != event.DocAccepted || b.At.Sub(a.At) <= 2500*time.Millisecond {
				continue
			}
			if !hasDropout(m.Dropouts(), a.At, b.At) {
				t.Fatalf("no dropout for the silence %s–%s: %+v", a.At.Sub(t0), b.At.Sub(t0), m.Dropouts())
			}
		}
	})
}

func hasDropout(ds []Dropout, from, to time.Time) bool {
	for _, d := range ds {
		if d.Start.Equal(from) && d.End.Equal(to) {
			return true
		}
	}
	return false
}
