// Package devicesim is a simulated ESP32 with the firmware's behaviour: it
// reports its temperature and vitals to its shadow every interval, applies
// desired state from deltas and reports what it applied, and can inject the
// faults a soak run must catch. device.go is the pure device; sim.go runs it
// over awsconn. It imports awsconn, event and shadow.
package devicesim

import (
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Version is reported as fw.
const Version = "iotwatch-sim/0.1.0"

// Limits the firmware enforces on desired values.
const (
	minInterval, maxInterval = 1, 3600
	minSetpoint, maxSetpoint = -40.0, 125.0
)

// Device is the simulated device's state.
type Device struct {
	LED         bool
	Setpoint    float64
	IntervalS   int
	Seq         int64
	Boot        time.Time
	ResetReason string
	FW          string // the running image's version (an OTA job changes it)
	rng         *rand.Rand
}

// NewDevice boots a device at now with the given report interval.
func NewDevice(now time.Time, intervalS int, seed uint64) *Device {
	return &Device{Setpoint: 21, IntervalS: intervalS, Boot: now, ResetReason: "POWERON", FW: Version,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Reboot restarts the device: seq and uptime start again.
func (d *Device) Reboot(now time.Time, reason string) {
	d.Seq, d.Boot, d.ResetReason = 0, now, reason
}

// Temperature is the seed article's slow 10→40 °C ramp (one cycle every ten
// minutes) plus a little noise.
func (d *Device) Temperature(now time.Time) float64 {
	phase := math.Mod(now.Sub(d.Boot).Seconds(), 600) / 600
	t := 10 + 30*phase + (d.rng.Float64()-0.5)*0.4
	return math.Round(t*100) / 100
}

// Report builds the next reported state; each call is one report.
func (d *Device) Report(now time.Time) map[string]any {
	d.Seq++
	return map[string]any{
		"temp": d.Temperature(now), "seq": d.Seq, "uptime_s": int64(now.Sub(d.Boot).Seconds()),
		"interval_s": d.IntervalS, "led": d.LED, "setpoint": d.Setpoint,
		"rssi": -55 - d.rng.IntN(15), "heap_free": 180000 + d.rng.IntN(4000),
		"fw": d.FW, "reset_reason": d.ResetReason,
	}
}

// Applied is the outcome of applying desired values.
type Applied struct {
	// Reported holds the values now in use for every key the delta named.
	Reported map[string]any
	// Desired corrects desired where a value was refused (set to what the
	// device uses, or null for unknown keys) so that the delta clears.
	Desired map[string]any
	// Ignored lists unknown keys, reported back as "ignored".
	Ignored []string
}

// Apply applies a delta (or the desired section of a get) with the
// firmware's validation.
func (d *Device) Apply(delta map[string]any) Applied {
	out := Applied{Reported: map[string]any{}, Desired: map[string]any{}}
	for key, value := range delta {
		used, known, ok := d.applyOne(key, value)
		switch {
		case !known:
			out.Ignored = append(out.Ignored, key)
			out.Desired[key] = nil
		case !ok:
			out.Desired[key] = used
			out.Reported[key] = used
		default:
			out.Reported[key] = used
		}
	}
	sort.Strings(out.Ignored)
	if len(out.Ignored) > 0 {
		out.Reported["ignored"] = out.Ignored
	}
	return out
}

// applyOne returns the value in use after trying value, whether the key is
// known, and whether value was accepted.
func (d *Device) applyOne(key string, value any) (used any, known, ok bool) {
	switch key {
	case "led":
		if b, isBool := value.(bool); isBool {
			d.LED = b
			return d.LED, true, true
		}
		return d.LED, true, false
	case "setpoint":
		if f, isNum := value.(float64); isNum && f >= minSetpoint && f <= maxSetpoint {
			d.Setpoint = f
			return d.Setpoint, true, true
		}
		return d.Setpoint, true, false
	case "interval_s":
		if f, isNum := value.(float64); isNum && f == math.Trunc(f) && f >= minInterval && f <= maxInterval {
			d.IntervalS = int(f)
			return d.IntervalS, true, true
		}
		return d.IntervalS, true, false
	}
	return nil, false, false
}
