// Package report renders a soak run's statistics: a pass/fail verdict
// against the [soak] thresholds, a Markdown report with an SVG chart, and a
// JSON summary. It is pure (no IO) and imports only the standard library, monitor, event
// and shadow.
package report

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/monitor"
)

// Thresholds are the [soak] limits a run must stay within.
type Thresholds struct {
	MaxDropouts     int
	MinAvailability float64 // percent
	MaxGap          time.Duration
}

// Verdict is the outcome against the thresholds.
type Verdict struct {
	Pass    bool
	Reasons []string // why it failed, one line each
}

// Judge checks statistics against thresholds.
func Judge(st monitor.Stats, th Thresholds) Verdict {
	var reasons []string
	if n := len(st.Dropouts); n > th.MaxDropouts {
		reasons = append(reasons, fmt.Sprintf("%d dropouts > max_dropouts %d", n, th.MaxDropouts))
	}
	if st.Availability < th.MinAvailability {
		reasons = append(reasons, fmt.Sprintf("availability %.3f%% < min_availability %.3f%%", st.Availability, th.MinAvailability))
	}
	if th.MaxGap > 0 && st.LongestGap > th.MaxGap {
		reasons = append(reasons, fmt.Sprintf("longest gap %s > max_gap %s", st.LongestGap.Round(time.Millisecond), th.MaxGap))
	}
	return Verdict{Pass: len(reasons) == 0, Reasons: reasons}
}

// Run describes the run being reported.
type Run struct {
	Thing      string
	Field      string
	Unit       string // of the field, e.g. °C; may be empty
	Start, End time.Time
}

// Summary is the JSON summary; field names are stable for scripts.
type Summary struct {
	Thing            string    `json:"thing"`
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	Pass             bool      `json:"pass"`
	Reasons          []string  `json:"reasons"`
	Reports          int       `json:"reports"`
	AvailabilityPct  float64   `json:"availability_pct"`
	Dropouts         int       `json:"dropouts"`
	LongestGapS      float64   `json:"longest_gap_s"`
	MTBFS            float64   `json:"mtbf_s"`
	GapP50S          float64   `json:"gap_p50_s"`
	GapP95S          float64   `json:"gap_p95_s"`
	GapP99S          float64   `json:"gap_p99_s"`
	Reboots          int       `json:"reboots"`
	LostReports      int       `json:"lost_reports"`
	DeviceReconnects int       `json:"device_reconnects"`
	BlindS           float64   `json:"blind_s"`
	RoundTripP50Ms   float64   `json:"round_trip_p50_ms"`
	RoundTripP95Ms   float64   `json:"round_trip_p95_ms"`
	Malformed        int       `json:"malformed"`
}

// JSON renders the summary.
func JSON(run Run, st monitor.Stats, v Verdict) []byte {
	s := Summary{Thing: run.Thing, Start: run.Start.UTC(), End: run.End.UTC(), Pass: v.Pass, Reasons: v.Reasons,
		Reports: st.Reports, AvailabilityPct: st.Availability, Dropouts: len(st.Dropouts),
		LongestGapS: st.LongestGap.Seconds(), MTBFS: st.MTBF.Seconds(), GapP50S: st.GapP50.Seconds(),
		GapP95S: st.GapP95.Seconds(), GapP99S: st.GapP99.Seconds(), Reboots: st.Reboots,
		LostReports: st.LostReports, DeviceReconnects: st.DeviceReconnects, BlindS: st.Blind.Seconds(),
		RoundTripP50Ms: ms(st.RoundTripP50), RoundTripP95Ms: ms(st.RoundTripP95), Malformed: st.Malformed}
	if s.Reasons == nil {
		s.Reasons = []string{}
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	return append(b, '\n')
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Markdown renders the human report; svgName is the chart file it links.
func Markdown(run Run, st monitor.Stats, v Verdict, svgName string) []byte {
	var b strings.Builder
	verdict := "PASS"
	if !v.Pass {
		verdict = "FAIL: " + strings.Join(v.Reasons, "; ")
	}
	fmt.Fprintf(&b, "# Soak report: %s\n\n%s → %s (%s)\n\n**%s**\n\n", run.Thing, run.Start.UTC().Format(time.RFC3339),
		run.End.UTC().Format(time.RFC3339), run.End.Sub(run.Start).Round(time.Second), verdict)
	if svgName != "" {
		fmt.Fprintf(&b, "![%s over time](%s)\n\n", run.Field, svgName)
	}
	rows := [][2]string{
		{"reports", fmt.Sprint(st.Reports)}, {"availability (blind time excluded)", fmt.Sprintf("%.3f %%", st.Availability)},
		{"dropouts", fmt.Sprint(len(st.Dropouts))}, {"longest gap", dur(st.LongestGap)}, {"MTBF", dur(st.MTBF)},
		{"gap p50 / p95 / p99", dur(st.GapP50) + " / " + dur(st.GapP95) + " / " + dur(st.GapP99)},
		{"reboots", fmt.Sprint(st.Reboots)}, {"lost reports", fmt.Sprint(st.LostReports)},
		{"device reconnects", fmt.Sprint(st.DeviceReconnects)}, {"blind time (iotwatch offline)", dur(st.Blind)},
		{"desired round trip p50 / p95", dur(st.RoundTripP50) + " / " + dur(st.RoundTripP95)},
		{"malformed messages", fmt.Sprint(st.Malformed)},
	}
	b.WriteString("| statistic | value |\n|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], r[1])
	}
	if len(st.Dropouts) > 0 {
		b.WriteString("\n## Dropouts\n\n| start | duration | cause |\n|---|---|---|\n")
		for _, d := range st.Dropouts {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", d.Start.UTC().Format(time.RFC3339), dur(d.Duration(run.End)), d.Cause)
		}
	}
	return []byte(b.String())
}

func dur(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
