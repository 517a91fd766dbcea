package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/monitor"
)

// The device's heap trend against [soak] max_heap_loss_per_reconnect and
// max_heap_loss_per_hour (0: not checked): a leaking device FAILs however
// well it otherwise reported, as it is on its way to a TLS handshake that
// cannot allocate.

// VitalsThresholds are the heap trend's limits, in bytes; 0 is off.
type VitalsThresholds struct {
	MaxHeapLossPerReconnect float64
	MaxHeapLossPerHour      float64
}

// vitalsReasons lists the heap thresholds the trend breaks.
func vitalsReasons(v monitor.VitalsStats, th VitalsThresholds) []string {
	var out []string
	if th.MaxHeapLossPerReconnect > 0 && v.LossPerReconnect != nil && *v.LossPerReconnect > th.MaxHeapLossPerReconnect {
		out = append(out, fmt.Sprintf("heap lost %.0f B per reconnect (%s over %d reconnects) > max_heap_loss_per_reconnect %.0f B",
			*v.LossPerReconnect, v.Field, v.Reconnects, th.MaxHeapLossPerReconnect))
	}
	if th.MaxHeapLossPerHour > 0 && v.LossPerHour != nil && *v.LossPerHour > th.MaxHeapLossPerHour {
		out = append(out, fmt.Sprintf("heap lost %.0f B per hour (%s over %s) > max_heap_loss_per_hour %.0f B",
			*v.LossPerHour, v.Field, v.HourlySpan.Round(time.Second), th.MaxHeapLossPerHour))
	}
	return out
}

// VitalsSummary is the trend in the JSON summary; null where unknown.
type VitalsSummary struct {
	Field                   string   `json:"field"` // heap_free, heap_used, or "" when no report had either
	LowestFree              *float64 `json:"lowest_heap_free"`
	LowestLargestBlock      *float64 `json:"lowest_heap_largest_block"`
	HeapLossPerReconnect    *float64 `json:"heap_loss_per_reconnect"`
	Reconnects              int      `json:"reconnects_fitted"`
	HeapLossPerHour         *float64 `json:"heap_loss_per_hour"`
	MaxHeapLossPerReconnect float64  `json:"max_heap_loss_per_reconnect"`
	MaxHeapLossPerHour      float64  `json:"max_heap_loss_per_hour"`
}

func vitalsSummary(v monitor.VitalsStats, th VitalsThresholds) VitalsSummary {
	return VitalsSummary{Field: v.Field, LowestFree: v.LowestFree, LowestLargestBlock: v.LowestBlock,
		HeapLossPerReconnect: v.LossPerReconnect, Reconnects: v.Reconnects, HeapLossPerHour: v.LossPerHour,
		MaxHeapLossPerReconnect: th.MaxHeapLossPerReconnect, MaxHeapLossPerHour: th.MaxHeapLossPerHour}
}

// writeVitals writes the trend's section (under a heading of level h).
func writeVitals(b *strings.Builder, v monitor.VitalsStats, th VitalsThresholds, h string) {
	fmt.Fprintf(b, "\n%s Vitals\n\n", h)
	if v.Field == "" && v.LowestFree == nil {
		b.WriteString("No report carried heap_free or heap_used: no heap trend.\n")
		return
	}
	perReconnect, perHour := "–", "–"
	if v.LossPerReconnect != nil {
		perReconnect = fmt.Sprintf("%.0f B (over %d reconnects)", *v.LossPerReconnect, v.Reconnects)
	}
	if v.LossPerHour != nil {
		perHour = fmt.Sprintf("%.0f B (over %s)", *v.LossPerHour, v.HourlySpan.Round(time.Second))
	}
	rows := [][2]string{
		{"heap trend of", orDashText(v.Field)},
		{"heap lost per reconnect", perReconnect + limit(th.MaxHeapLossPerReconnect)},
		{"heap lost per hour", perHour + limit(th.MaxHeapLossPerHour)},
		{"lowest heap_free / heap_min_free", bytesOrDash(v.LowestFree)},
		{"lowest heap_largest_block", bytesOrDash(v.LowestBlock)},
	}
	b.WriteString("| vital | value |\n|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %s |\n", r[0], r[1])
	}
	b.WriteString("\nA loss is fitted by least squares within each boot: per reconnect over the first report after each device connect (at least 3), per hour over every report (at least 10 minutes); the worst boot counts. Negative is heap gained.\n")
}

func limit(max float64) string {
	if max <= 0 {
		return ", not checked"
	}
	return fmt.Sprintf(", max %.0f B", max)
}

func bytesOrDash(f *float64) string {
	if f == nil {
		return "–"
	}
	return fmt.Sprintf("%.0f B", *f)
}

func orDashText(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
