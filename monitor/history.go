package monitor

import (
	"math"
	"time"
)

// history keeps one numeric field at several resolutions, each a fixed ring
// of buckets, so memory stays bounded however long it runs.
type history struct{ levels []*ring }

type bucket struct {
	min, max, sum float64
	n             int32
}

type ring struct {
	res     time.Duration
	buckets []bucket
	index   []int64 // absolute bucket number held by each slot
}

type resolution struct {
	res   time.Duration
	slots int
}

// resolutions: 1 s for an hour, 10 s for a day, 1 min for eight days
// (about 950 KB a field).
var resolutions = []resolution{{time.Second, 3600}, {10 * time.Second, 8640}, {time.Minute, 11520}}

// coarse is Options.Coarse: 10 s for an hour, 2 min for a day, 20 min for
// eight days (about 66 KB a field), for a fleet's many things: still a
// bucket or more for each of a sparkline's 60 columns over any window.
var coarse = []resolution{{10 * time.Second, 360}, {2 * time.Minute, 720}, {20 * time.Minute, 576}}

func newHistory(levels []resolution) *history {
	h := &history{}
	for _, r := range levels {
		h.levels = append(h.levels, &ring{res: r.res, buckets: make([]bucket, r.slots), index: make([]int64, r.slots)})
	}
	return h
}

func (h *history) add(t time.Time, v float64) {
	for _, r := range h.levels {
		r.add(t, v)
	}
}

func (r *ring) add(t time.Time, v float64) {
	n := t.UnixNano() / int64(r.res)
	slot := int(n % int64(len(r.buckets)))
	b := &r.buckets[slot]
	if r.index[slot] != n || b.n == 0 {
		r.index[slot], *b = n, bucket{min: v, max: v}
	}
	b.min, b.max, b.sum, b.n = math.Min(b.min, v), math.Max(b.max, v), b.sum+v, b.n+1
}

// Series is the mean of each of points equal slices of the window ending at
// now; NaN where no sample fell, so gaps stay visible.
func (h *history) series(window time.Duration, points int, now time.Time) []float64 {
	r := h.levelFor(window)
	out := make([]float64, points)
	start := now.Add(-window)
	step := window / time.Duration(points)
	for i := range out {
		b := r.span(start.Add(time.Duration(i)*step), start.Add(time.Duration(i+1)*step))
		out[i] = math.NaN()
		if b.n > 0 {
			out[i] = b.sum / float64(b.n)
		}
	}
	return out
}

// summary aggregates the whole window.
func (h *history) summary(window time.Duration, now time.Time) bucket {
	return h.levelFor(window).span(now.Add(-window), now)
}

// levelFor picks the finest level that still covers the window.
func (h *history) levelFor(window time.Duration) *ring {
	for _, r := range h.levels {
		if r.res*time.Duration(len(r.buckets)) >= window {
			return r
		}
	}
	return h.levels[len(h.levels)-1]
}

func (r *ring) span(from, to time.Time) bucket {
	var out bucket
	r.each(from, to, func(_ time.Time, b bucket) {
		if out.n == 0 {
			out.min, out.max = b.min, b.max
		}
		out.min, out.max, out.sum, out.n = math.Min(out.min, b.min), math.Max(out.max, b.max), out.sum+b.sum, out.n+b.n
	})
	return out
}

// each calls do with every bucket from from to to that holds samples, in
// time order, with the time it starts at.
func (r *ring) each(from, to time.Time, do func(at time.Time, b bucket)) {
	first, last := from.UnixNano()/int64(r.res), (to.UnixNano()-1)/int64(r.res)
	for n := first; n <= last; n++ {
		slot := int(n % int64(len(r.buckets)))
		if b := r.buckets[slot]; r.index[slot] == n && b.n > 0 {
			do(time.Unix(0, n*int64(r.res)), b)
		}
	}
}
