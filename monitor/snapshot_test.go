package monitor

import (
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// TestSnapshotIsNotChangedByLaterEvents takes a snapshot in the middle of a
// run with a pending value, an open dropout and a full event log, goes on
// applying events, and finds the snapshot as it was.
func TestSnapshotIsNotChangedByLaterEvents(t *testing.T) {
	m := New(Options{MaxEvents: 4, DropoutAfter: 2.5})
	m.Apply(event.Link{At: t0, State: event.LinkUp})
	for i := 1; i <= 5; i++ {
		m.Apply(report(t0.Add(time.Duration(i)*time.Second), int64(i), map[string]any{"temp": float64(i), "seq": float64(i), "interval_s": 1.0}))
	}
	m.Apply(event.DesiredSent{At: t0.Add(5 * time.Second), ClientToken: "a", Patch: map[string]any{"led": true}})
	m.Tick(t0.Add(9 * time.Second))
	at := t0.Add(9 * time.Second)
	snap := m.Snapshot(at, Want{Plots: []PlotRequest{{Field: "temp", Window: 10 * time.Second, Points: 10, End: at}}, Stats: true})
	want := deepCopy(t, snap)

	m.Apply(report(t0.Add(10*time.Second), 6, map[string]any{"temp": 6.0, "seq": 6.0, "led": true}))
	m.Apply(event.Rejected{At: t0.Add(11 * time.Second), Op: "update", Code: 400, Message: "bad", ClientToken: "a"})
	m.Apply(event.DesiredSent{At: t0.Add(12 * time.Second), ClientToken: "b", Patch: map[string]any{"led": false}})
	m.Apply(event.Deleted{At: t0.Add(13 * time.Second), Version: 6})
	if got, was := describeSnapshot(snap), describeSnapshot(want); got != was {
		t.Fatalf("the snapshot changed:\n%s\nwas\n%s", got, was)
	}
	if snap.Device != DeviceOffline || len(snap.Dropouts) != 1 || !snap.Dropouts[0].End.IsZero() || snap.Pending["led"].Value != true {
		t.Fatalf("snapshot: device %v, dropouts %+v, pending %+v", snap.Device, snap.Dropouts, snap.Pending)
	}
	if len(snap.Events) != 3 || snap.EventsLogged != 3 || snap.Stats == nil || len(snap.Stats.Dropouts) != 1 {
		t.Fatalf("snapshot: %d events of %d, stats %+v", len(snap.Events), snap.EventsLogged, snap.Stats)
	}
	if p := snap.Plots[0]; len(p.Values) != 10 || p.Values[6] != 5 || !math.IsNaN(p.Values[9]) || p.Summary.N != 5 {
		t.Fatalf("plot %+v", p)
	}
}

// describeSnapshot prints every value (fmt, unlike reflect.DeepEqual, finds
// NaN equal to NaN) and Stats by value, not address.
func describeSnapshot(s Snapshot) string {
	stats := *s.Stats
	s.Stats = nil
	return fmt.Sprintf("%+v %+v", s, stats)
}

// deepCopy copies a snapshot through reflection, so the comparison does not
// share a single map or slice with the original.
func deepCopy(t *testing.T, s Snapshot) Snapshot {
	t.Helper()
	return clone(reflect.ValueOf(s)).Interface().(Snapshot)
}

func clone(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), clone(it.Value()))
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(clone(v.Index(i)))
		}
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(clone(v.Elem()))
		return out
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(clone(v.Elem()))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v) // unexported fields (time.Time's) are values
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(clone(v.Field(i)))
			}
		}
		return out
	}
	return v
}
