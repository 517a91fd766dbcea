package qualify

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Backoff is how a device spaces its reconnections.
type Backoff string

const (
	BackoffUnknown     Backoff = "unknown"     // fewer than two retries seen
	BackoffImmediate   Backoff = "immediate"   // no wait: a reconnect storm
	BackoffConstant    Backoff = "constant"    // the same wait every time
	BackoffLinear      Backoff = "linear"      // a wait growing by the same step
	BackoffExponential Backoff = "exponential" // a wait multiplied by the same factor (up to a cap)
	BackoffJitter      Backoff = "jitter"      // randomized waits
	BackoffIncreasing  Backoff = "increasing"  // growing waits, neither linear nor exponential
)

// immediate is a wait too short to be a backoff at all.
const immediate = 100 * time.Millisecond

// ClassifyBackoff names the pattern of a device's successive waits.
// Tolerances leave room for a loaded machine's scheduling (tens of
// milliseconds) and for a cap the waits reach. Five random waits can line
// up by chance: a few in a hundred rounds of the simulator's jitter read as
// linear or exponential (TestClassifySimulatorJitter measures it), which is
// why a case with two rounds takes any random round as proof of jitter.
func ClassifyBackoff(d []time.Duration) Backoff {
	if len(d) < 2 {
		return BackoffUnknown
	}
	sorted := slices.Sorted(slices.Values(d))
	lo, hi, med := sorted[0], sorted[len(sorted)-1], sorted[len(sorted)/2]
	switch {
	case med < immediate:
		return BackoffImmediate
	case float64(hi) <= 1.3*float64(lo)+float64(50*time.Millisecond):
		return BackoffConstant
	}
	// A wait falling well below an earlier one is neither a schedule nor a
	// cap: random. Then linear before exponential: its factors fall slowly
	// (2, 1.5, 1.33…) and a loaded machine's noise can make them look steady
	// enough.
	grow := uncapped(d)
	switch {
	case !nonDecreasing(d):
		return BackoffJitter
	case linear(grow):
		return BackoffLinear
	case exponential(grow):
		return BackoffExponential
	}
	return BackoffIncreasing
}

// uncapped drops the waits after the first one at the maximum (a cap).
func uncapped(d []time.Duration) []time.Duration {
	top := slices.Max(d)
	for i, x := range d {
		if float64(x) >= 0.9*float64(top) {
			return d[:i+1]
		}
	}
	return d
}

func nonDecreasing(d []time.Duration) bool {
	for i := 1; i < len(d); i++ {
		if float64(d[i]) < 0.9*float64(d[i-1]) {
			return false
		}
	}
	return true
}

// exponential: at least three steps, each multiplying the wait by the same
// factor (1.4 or more) within 15% or 150 ms (a loaded machine's clock). A jittered backoff's factors wander
// further: equal jitter's range from 1 to 4.
func exponential(d []time.Duration) bool {
	if len(d) < 4 {
		return false
	}
	var ratios []float64
	for i := 1; i < len(d); i++ {
		ratios = append(ratios, float64(d[i])/float64(d[i-1]))
	}
	mean := 0.0
	for _, r := range ratios {
		mean += r / float64(len(ratios))
	}
	if mean < 1.4 {
		return false
	}
	for i := 1; i < len(d); i++ {
		want := mean * float64(d[i-1])
		if math.Abs(float64(d[i])-want) > max(0.15*want, float64(150*time.Millisecond)) {
			return false
		}
	}
	return true
}

// linear: at least three steps, growing by steps within a third of their
// mean. (Two steps alike are a coin toss for random waits.)
func linear(d []time.Duration) bool {
	if len(d) < 4 {
		return false
	}
	var steps []float64
	for i := 1; i < len(d); i++ {
		steps = append(steps, float64(d[i]-d[i-1]))
	}
	lo, hi := slices.Min(steps), slices.Max(steps)
	mean := (float64(d[len(d)-1]) - float64(d[0])) / float64(len(steps))
	return lo > 0 && hi-lo <= mean/3+float64(150*time.Millisecond)
}

// delays are the waits of retries.
func delays(rs []Retry) []time.Duration {
	out := make([]time.Duration, len(rs))
	for i, r := range rs {
		out[i] = r.Delay
	}
	return out
}

// formatDelays writes waits as "0.25 s, 0.5 s, 1 s".
func formatDelays(d []time.Duration) string {
	if len(d) == 0 {
		return "–"
	}
	parts := make([]string, len(d))
	for i, x := range d {
		parts[i] = fmt.Sprintf("%.3g s", x.Seconds())
	}
	return strings.Join(parts, ", ")
}
