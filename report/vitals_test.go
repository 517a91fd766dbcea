package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/monitor"
)

func passingStats() monitor.Stats {
	return monitor.Stats{EverConnected: true, Reports: 100, Span: time.Hour, Observed: time.Hour, Availability: 100}
}

func TestVitalsTrendFailsALeakingDevice(t *testing.T) {
	loss := 65536.0
	st := passingStats()
	st.Vitals = monitor.VitalsStats{Field: "heap_used", LossPerReconnect: &loss, Reconnects: 5}
	th := Thresholds{MinAvailability: 99, MaxBlind: 5}
	if v := Judge(st, th); v.Outcome != Pass {
		t.Fatalf("with the heap threshold off: %v %s", v.Outcome, v.Rule)
	}
	th.Vitals.MaxHeapLossPerReconnect = 4096
	v := Judge(st, th)
	if v.Outcome != Fail || len(v.Reasons) != 1 || v.Reasons[0] != "heap lost 65536 B per reconnect (heap_used over 5 reconnects) > max_heap_loss_per_reconnect 4096 B" {
		t.Fatalf("got %v %q", v.Outcome, v.Reasons)
	}
	// At the threshold, and with no trend at all (too few reconnects), it passes.
	th.Vitals.MaxHeapLossPerReconnect = loss
	if v := Judge(st, th); v.Outcome != Pass {
		t.Fatalf("at the threshold: %v", v.Reasons)
	}
	st.Vitals.LossPerReconnect = nil
	th.Vitals.MaxHeapLossPerReconnect = 1
	if v := Judge(st, th); v.Outcome != Pass {
		t.Fatalf("no trend: %v", v.Reasons)
	}
	hourly := 10000.0
	st.Vitals.LossPerHour, st.Vitals.HourlySpan = &hourly, 2*time.Hour
	th.Vitals.MaxHeapLossPerHour = 4096
	if v := Judge(st, th); v.Outcome != Fail || !strings.Contains(v.Reasons[0], "per hour (heap_used over 2h0m0s) > max_heap_loss_per_hour 4096 B") {
		t.Fatalf("got %v %q", v.Outcome, v.Reasons)
	}
}

func TestVitalsInTheReportAndItsJSON(t *testing.T) {
	loss, low := 1234.4, 150000.0
	st := passingStats()
	st.Vitals = monitor.VitalsStats{Field: "heap_free", LossPerReconnect: &loss, Reconnects: 7, LowestFree: &low}
	run := Run{Thing: "pico", Field: "temp", Start: time.Unix(0, 0), End: time.Unix(3600, 0),
		Thresholds: Thresholds{Vitals: VitalsThresholds{MaxHeapLossPerReconnect: 2048}}}
	md := string(Markdown(run, st, Judge(st, run.Thresholds), ""))
	for _, want := range []string{"## Vitals", "| heap lost per reconnect | 1234 B (over 7 reconnects), max 2048 B |",
		"| heap lost per hour | –, not checked |", "| lowest heap_free / heap_min_free | 150000 B |", "| lowest heap_largest_block | – |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	var sum struct {
		Vitals map[string]any `json:"vitals"`
	}
	if err := json.Unmarshal(JSON(run, st, Judge(st, run.Thresholds)), &sum); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"field": "heap_free", "lowest_heap_free": 150000.0, "lowest_heap_largest_block": nil,
		"heap_loss_per_reconnect": 1234.4, "reconnects_fitted": 7.0, "heap_loss_per_hour": nil,
		"max_heap_loss_per_reconnect": 2048.0, "max_heap_loss_per_hour": 0.0}
	for k, v := range want {
		if got, ok := sum.Vitals[k]; !ok || got != v {
			t.Errorf("vitals.%s = %v, want %v", k, got, v)
		}
	}
	empty := string(Markdown(run, passingStats(), Judge(passingStats(), run.Thresholds), ""))
	if !strings.Contains(empty, "No report carried heap_free or heap_used: no heap trend.") {
		t.Errorf("no vitals, no saying so:\n%s", empty)
	}
}
