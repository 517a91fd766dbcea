package devicesim

import (
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func TestApply(t *testing.T) {
	cases := []struct {
		name     string
		delta    map[string]any
		reported map[string]any
		desired  map[string]any
	}{
		{"led on", map[string]any{"led": true}, map[string]any{"led": true}, map[string]any{}},
		{"setpoint", map[string]any{"setpoint": 22.5}, map[string]any{"setpoint": 22.5}, map[string]any{}},
		{"interval", map[string]any{"interval_s": 10.0}, map[string]any{"interval_s": 10}, map[string]any{}},
		{"setpoint out of range", map[string]any{"setpoint": 500.0}, map[string]any{"setpoint": 21.0}, map[string]any{"setpoint": 21.0}},
		{"interval not integer", map[string]any{"interval_s": 2.5}, map[string]any{"interval_s": 5}, map[string]any{"interval_s": 5}},
		{"interval zero", map[string]any{"interval_s": 0.0}, map[string]any{"interval_s": 5}, map[string]any{"interval_s": 5}},
		{"led wrong type", map[string]any{"led": "on"}, map[string]any{"led": false}, map[string]any{"led": false}},
		{"unknown key", map[string]any{"colour": "red"}, map[string]any{"ignored": []string{"colour"}}, map[string]any{"colour": nil}},
		{"nested unknown", map[string]any{"cfg": map[string]any{"a": 1.0}}, map[string]any{"ignored": []string{"cfg"}}, map[string]any{"cfg": nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewDevice(t0, 5, 1)
			got := d.Apply(c.delta)
			if !reflect.DeepEqual(got.Reported, c.reported) || !reflect.DeepEqual(got.Desired, c.desired) {
				t.Fatalf("reported %v desired %v; want %v %v", got.Reported, got.Desired, c.reported, c.desired)
			}
		})
	}
}

func TestReportFieldsAndSeq(t *testing.T) {
	d := NewDevice(t0, 5, 1)
	r1 := d.Report(t0.Add(5 * time.Second))
	r2 := d.Report(t0.Add(10 * time.Second))
	for _, key := range []string{"temp", "seq", "uptime_s", "interval_s", "led", "setpoint", "rssi", "heap_free", "fw", "reset_reason"} {
		if _, ok := r1[key]; !ok {
			t.Errorf("report lacks %s", key)
		}
	}
	if r1["seq"] != int64(1) || r2["seq"] != int64(2) || r2["uptime_s"] != int64(10) {
		t.Fatalf("seq/uptime: %v %v", r1, r2)
	}
	d.Reboot(t0.Add(time.Minute), "SW")
	r3 := d.Report(t0.Add(time.Minute + time.Second))
	if r3["seq"] != int64(1) || r3["reset_reason"] != "SW" || r3["uptime_s"] != int64(1) {
		t.Fatalf("after reboot: %v", r3)
	}
}

func TestTemperatureRamp(t *testing.T) {
	d := NewDevice(t0, 5, 1)
	for s := 0; s < 1200; s += 7 {
		temp := d.Temperature(t0.Add(time.Duration(s) * time.Second))
		if temp < 9.7 || temp > 40.3 {
			t.Fatalf("temperature %v at %ds outside the 10–40 ramp", temp, s)
		}
	}
	if d.Temperature(t0.Add(290*time.Second)) <= d.Temperature(t0.Add(10*time.Second)) {
		t.Fatal("temperature does not ramp up")
	}
}
