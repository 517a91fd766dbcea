package monitor

import (
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// TestReportsInDocuments: a fleet's connection sees reports only as
// update/documents; with ReportsInDocuments each document with a new
// report counts once, and a document of a desired-only change does not.
func TestReportsInDocuments(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	doc := func(s int, version int64, seq float64, led bool) event.ShadowDoc {
		ts := float64(t0.Unix() + int64(s))
		return event.ShadowDoc{At: t0.Add(time.Duration(s)*time.Second + 100*time.Millisecond), Kind: event.DocCurrent, Version: version,
			Desired:          map[string]any{"led": led},
			Reported:         map[string]any{"seq": seq, "temp": 20.0},
			ReportedMetadata: map[string]any{"seq": map[string]any{"timestamp": ts}, "temp": map[string]any{"timestamp": ts}}}
	}
	sameSecond := doc(2, 4, 3, true)
	sameSecond.ReportedMetadata = doc(2, 3, 2, true).ReportedMetadata
	timeline := []event.Event{
		event.Session{At: t0}, event.Link{At: t0, State: event.LinkUp},
		doc(1, 1, 1, false),
		doc(1, 2, 1, true), // desired changed, reported as it was
		doc(2, 3, 2, true),
		sameSecond, // a second report within the metadata's second
	}
	cases := []struct {
		name      string
		documents bool
		want      int
	}{{"fleet connection", true, 3}, {"single connection (reports from update/accepted)", false, 0}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := testOptions
			o.ReportsInDocuments = c.documents
			m := New(o)
			for _, ev := range timeline {
				m.Apply(ev)
			}
			if m.Counts.Reports != c.want || m.LastSeq != 3 && c.documents {
				t.Fatalf("reports %d (last seq %v), want %d", m.Counts.Reports, m.LastSeq, c.want)
			}
		})
	}
}
