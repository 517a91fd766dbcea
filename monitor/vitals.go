package monitor

import (
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// The device's heap trend, the classic field failure: heap lost on every
// reconnect (a TLS context or a buffer not freed) until the handshake can no
// longer allocate. The trend follows heap_free, or, from a device that
// reports none (fw-host: Linux has no fixed heap), heap_used, whose growth
// is the same loss. It is fitted by least squares in each boot (a reboot
// gives the heap back) two ways: per reconnect, over the first report after
// each device connect, where a leak per connect shows however rarely the
// device reconnects; and per hour, over every report, for leaks that do not
// follow connects.

// Minimum samples for a trend: a line through two points is any line.
const (
	minTrendSamples = 3
	minHourlySpan   = 10 * time.Minute
)

// VitalsStats is the heap trend; a figure without enough samples is nil.
type VitalsStats struct {
	Field            string   // "heap_free", "heap_used", or "" when no report carried either
	LowestFree       *float64 // the lowest heap_free or heap_min_free reported
	LowestBlock      *float64 // the lowest heap_largest_block reported
	LossPerReconnect *float64 // bytes lost per device reconnect, the worst boot's (negative: gained)
	Reconnects       int      // reconnects that fitted LossPerReconnect
	LossPerHour      *float64 // bytes lost per hour, the worst boot's
	HourlySpan       time.Duration
}

// fit is a running least-squares line y = a + b·x.
type fit struct{ n, sx, sy, sxx, sxy float64 }

func (f *fit) add(x, y float64) {
	f.n++
	f.sx += x
	f.sy += y
	f.sxx += x * x
	f.sxy += x * y
}

// slope is b, false while the points cannot fix a line.
func (f fit) slope() (float64, bool) {
	d := f.n*f.sxx - f.sx*f.sx
	if f.n < minTrendSamples || d == 0 {
		return 0, false
	}
	return (f.n*f.sxy - f.sx*f.sy) / d, true
}

// boot is the trend of one boot of the device.
type boot struct {
	perConnect  fit
	perHour     fit
	connects    int // device connects seen in this boot
	sampled     int // connects already sampled (-1: none yet)
	start, last time.Time
	uptime      float64
}

type vitals struct {
	field           string
	lowestFree      *float64
	lowestBlock     *float64
	cur             *boot
	worstPerConnect *float64
	worstReconnects int
	worstPerHour    *float64
	worstHourlySpan time.Duration
	connectsPending int // connects seen before the boot's first report
}

// connected counts a device connect toward the per-reconnect trend.
func (v *vitals) connected(p event.Presence) {
	if p.EventType != "connected" {
		return
	}
	if v.cur == nil {
		v.connectsPending++
		return
	}
	v.cur.connects++
}

// report takes one device report.
func (v *vitals) report(d event.ShadowDoc) {
	level, field, ok := heapLevel(d.Reported)
	for _, k := range []string{"heap_free", "heap_min_free"} {
		v.lowestFree = lower(v.lowestFree, d.Reported[k])
	}
	v.lowestBlock = lower(v.lowestBlock, d.Reported["heap_largest_block"])
	if !ok {
		return
	}
	up, hasUp := d.Reported["uptime_s"].(float64)
	if v.cur == nil || field != v.field || (hasUp && up < v.cur.uptime) {
		v.closeBoot()
		v.field = field
		v.cur = &boot{sampled: -1, start: d.At, connects: v.connectsPending}
		v.connectsPending = 0
	}
	b := v.cur
	if hasUp {
		b.uptime = up
	}
	if b.connects > b.sampled {
		b.perConnect.add(float64(b.connects), level)
		b.sampled = b.connects
	}
	b.perHour.add(d.At.Sub(b.start).Hours(), level)
	b.last = d.At
}

// heapLevel is the level the trend follows: heap_free, or heap_used
// negated, so that a loss is always a fall.
func heapLevel(r map[string]any) (float64, string, bool) {
	if f, ok := r["heap_free"].(float64); ok {
		return f, "heap_free", true
	}
	if u, ok := r["heap_used"].(float64); ok {
		return -u, "heap_used", true
	}
	return 0, "", false
}

func lower(cur *float64, v any) *float64 {
	f, ok := v.(float64)
	if !ok || (cur != nil && *cur <= f) {
		return cur
	}
	return &f
}

// closeBoot keeps the worst trends of the boot that ends.
func (v *vitals) closeBoot() {
	st := v.stats()
	v.worstPerConnect, v.worstReconnects = st.LossPerReconnect, st.Reconnects
	v.worstPerHour, v.worstHourlySpan = st.LossPerHour, st.HourlySpan
	v.cur = nil
}

// stats is the trend so far: the worst of the ended boots and this one.
func (v *vitals) stats() VitalsStats {
	st := VitalsStats{Field: v.field, LowestFree: v.lowestFree, LowestBlock: v.lowestBlock,
		LossPerReconnect: v.worstPerConnect, Reconnects: v.worstReconnects,
		LossPerHour: v.worstPerHour, HourlySpan: v.worstHourlySpan}
	if v.cur == nil {
		return st
	}
	if s, ok := v.cur.perConnect.slope(); ok && (st.LossPerReconnect == nil || -s > *st.LossPerReconnect) {
		st.LossPerReconnect, st.Reconnects = ptrTo(-s), int(v.cur.perConnect.n)-1
	}
	span := v.cur.last.Sub(v.cur.start)
	if s, ok := v.cur.perHour.slope(); ok && span >= minHourlySpan && (st.LossPerHour == nil || -s > *st.LossPerHour) {
		st.LossPerHour, st.HourlySpan = ptrTo(-s), span
	}
	return st
}

func ptrTo(f float64) *float64 { return &f }
