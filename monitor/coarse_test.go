package monitor

import (
	"math"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// TestFleetHistoryOptions: Fields keeps history of the listed fields only,
// Coarse keeps it at 10 s buckets (a minute of 1 s reports is six points).
func TestFleetHistoryOptions(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name         string
		o            Options
		tempValues   int // distinct values among the 1 s points of temp over the minute
		seqHasSeries bool
	}{
		{"default", Options{}, 60, true},
		{"fields", Options{Fields: []string{"temp"}}, 60, false},
		{"coarse", Options{Fields: []string{"temp"}, Coarse: true}, 6, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(tc.o)
			for i := range 60 {
				m.Apply(event.ShadowDoc{At: t0.Add(time.Duration(i) * time.Second), Kind: event.DocAccepted, Version: int64(i + 1),
					Reported: map[string]any{"temp": float64(i), "seq": float64(i + 1)}})
			}
			end := t0.Add(time.Minute)
			if got := distinct(m.Series("temp", time.Minute, 60, end)); got != tc.tempValues {
				t.Errorf("temp: %d distinct values, want %d", got, tc.tempValues)
			}
			if got := distinct(m.Series("seq", time.Minute, 60, end)) > 0; got != tc.seqHasSeries {
				t.Errorf("seq has a series: %v, want %v", got, tc.seqHasSeries)
			}
		})
	}
}

// distinct counts the different values that are not NaN.
func distinct(values []float64) int {
	seen := map[float64]bool{}
	for _, v := range values {
		if !math.IsNaN(v) {
			seen[v] = true
		}
	}
	return len(seen)
}

// TestMaxGapSamples: the soak statistics sample at most MaxGapSamples gaps,
// and the longest is kept whatever the sample.
func TestMaxGapSamples(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		max, want int
	}{{0, 99}, {10, 10}} {
		m := New(Options{MaxGapSamples: tc.max, DropoutAfter: 2.5})
		for i := range 100 {
			m.Apply(event.ShadowDoc{At: t0.Add(time.Duration(i) * time.Second), Kind: event.DocAccepted, Version: int64(i + 1),
				Reported: map[string]any{"seq": float64(i + 1)}})
		}
		if got := len(m.s.gaps.sample); got != tc.want || m.s.gaps.n != 99 {
			t.Errorf("MaxGapSamples %d: %d gaps kept of %d, want %d", tc.max, got, m.s.gaps.n, tc.want)
		}
	}
}
