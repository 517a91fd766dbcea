package monitor

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// vitalsDevice plays a device through the monitor: reports every second,
// a connect every `every` reports, heap given by heap(i, connects).
type vitalsDevice struct {
	m        *Monitor
	at       time.Time
	seq      float64
	uptime   float64
	connects int64
}

func newVitalsDevice() *vitalsDevice {
	d := &vitalsDevice{m: New(Options{Field: "temp", DropoutAfter: 1000}), at: time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)}
	d.m.Apply(event.Link{At: d.at, State: event.LinkUp})
	return d
}

func (d *vitalsDevice) connect() {
	d.connects++
	d.m.Apply(event.Presence{At: d.at, ClientID: "pico", EventType: "connected", VersionNumber: d.connects})
}

func (d *vitalsDevice) report(heap map[string]any) {
	d.seq++
	d.uptime++
	d.at = d.at.Add(time.Second)
	fields := map[string]any{"seq": d.seq, "uptime_s": d.uptime, "temp": 20.0}
	for k, v := range heap {
		fields[k] = v
	}
	d.m.Apply(event.ShadowDoc{At: d.at, Kind: event.DocAccepted, Version: int64(d.seq), Reported: fields})
}

func (d *vitalsDevice) vitals() VitalsStats { return d.m.Stats(d.at).Vitals }

// The oracle: a device that loses exactly `leak` bytes per connect, with
// noise between connects that a reconnect's first report does not see,
// is measured at that loss, whatever the leak, the reconnect count and
// the reports between reconnects.
func TestVitalsLossPerReconnectMatchesTheLeak(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 9))
	for range 200 {
		leak := float64(rng.IntN(20000) - 2000) // a gain too
		reconnects := 3 + rng.IntN(20)
		between := 1 + rng.IntN(10)
		d := newVitalsDevice()
		heap := 200000.0
		for c := 0; c <= reconnects; c++ {
			d.connect()
			if c > 0 {
				heap -= leak
			}
			for i := range between {
				noise := 0.0
				if i > 0 {
					noise = float64(rng.IntN(5000))
				}
				d.report(map[string]any{"heap_free": heap - noise})
			}
		}
		v := d.vitals()
		if v.LossPerReconnect == nil || math.Abs(*v.LossPerReconnect-leak) > 1e-6 || v.Reconnects != reconnects || v.Field != "heap_free" {
			t.Fatalf("leak %g over %d reconnects, %d reports each: got %+v (loss %v)", leak, reconnects, between, v, deref(v.LossPerReconnect))
		}
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func TestVitalsFollowHeapUsedWhenTheDeviceHasNoHeapFree(t *testing.T) {
	d := newVitalsDevice()
	used := 1e6
	for range 5 {
		d.connect()
		d.report(map[string]any{"heap_free": nil, "heap_min_free": nil, "heap_used": used})
		used += 65536
	}
	v := d.vitals()
	if v.Field != "heap_used" || v.LossPerReconnect == nil || *v.LossPerReconnect != 65536 || v.LowestFree != nil {
		t.Fatalf("got %+v, loss %v", v, deref(v.LossPerReconnect))
	}
}

func TestVitalsNeedThreeReconnectsAndTakeTheWorstBoot(t *testing.T) {
	d := newVitalsDevice()
	for i := range 2 {
		d.connect()
		d.report(map[string]any{"heap_free": 100000.0 - float64(i)*5000, "heap_min_free": 90000.0, "heap_largest_block": 60000.0})
	}
	if v := d.vitals(); v.LossPerReconnect != nil {
		t.Fatalf("two samples gave a trend: %v", *v.LossPerReconnect)
	}
	d.connect()
	d.report(map[string]any{"heap_free": 90000.0, "heap_largest_block": 41000.0})
	if v := d.vitals(); v.LossPerReconnect == nil || *v.LossPerReconnect != 5000 {
		t.Fatalf("want 5000 B per reconnect: %+v", v)
	}
	// A reboot gives the heap back: the next boot, clean, is its own line,
	// and the leaking boot stays the verdict's.
	d.uptime = 0
	for range 6 {
		d.connect()
		d.report(map[string]any{"heap_free": 180000.0})
	}
	v := d.vitals()
	if v.LossPerReconnect == nil || *v.LossPerReconnect != 5000 || v.Reconnects != 2 {
		t.Fatalf("want the leaking boot's 5000 B over 2 reconnects: %+v", v)
	}
	if *v.LowestFree != 90000 || *v.LowestBlock != 41000 {
		t.Fatalf("lowest free %v, lowest block %v", *v.LowestFree, *v.LowestBlock)
	}
}

func TestVitalsLossPerHourNeedsTenMinutes(t *testing.T) {
	d := newVitalsDevice()
	d.connect()
	for i := range 600 { // 599 s from the first to the last
		d.report(map[string]any{"heap_free": 200000 - float64(i)}) // 1 B a second: 3600 B an hour
	}
	if v := d.vitals(); v.LossPerHour != nil {
		t.Fatalf("a trend per hour from under 10 minutes: %v", *v.LossPerHour)
	}
	d.report(map[string]any{"heap_free": 200000 - 600.0})
	v := d.vitals()
	if v.LossPerHour == nil || math.Abs(*v.LossPerHour-3600) > 1e-6 || v.HourlySpan != 10*time.Minute {
		t.Fatalf("want 3600 B an hour: %+v %v", v, deref(v.LossPerHour))
	}
}

func TestVitalsWithoutHeapFigures(t *testing.T) {
	d := newVitalsDevice()
	for range 5 {
		d.connect()
		d.report(nil)
	}
	if v := d.vitals(); v.Field != "" || v.LossPerReconnect != nil || v.LossPerHour != nil || v.LowestFree != nil {
		t.Fatalf("want no trend: %+v", v)
	}
}
