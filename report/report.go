// Package report renders a soak run's statistics: a verdict (PASS, FAIL or
// INCONCLUSIVE) against the [soak] thresholds, a Markdown report with an SVG
// chart, and a JSON summary. It is pure (no IO) and imports only the
// standard library, monitor, event and shadow.
package report

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/monitor"
)

// Thresholds are the [soak] limits a run must stay within.
type Thresholds struct {
	MaxDropouts     int
	MinAvailability float64 // percent
	MaxGap          time.Duration
	MaxBlind        float64 // percent of the run iotwatch may be blind or not running

	// The device's heap trend (vitals.go).
	Vitals VitalsThresholds
	// RequireJobsSucceeded: every job execution seen must be SUCCEEDED by
	// the end (jobs.go).
	RequireJobsSucceeded bool
}

// Outcome is a soak's verdict.
type Outcome uint8

const (
	Pass         Outcome = iota // the device was watched and was there
	Fail                        // the device broke a threshold, or never reported
	Inconclusive                // iotwatch did not watch enough of the run to say
)

func (o Outcome) String() string { return [...]string{"PASS", "FAIL", "INCONCLUSIVE"}[o] }

// ExitCode is the soak's and the report's exit status for the outcome.
func (o Outcome) ExitCode() int { return [...]int{0, 1, 3}[o] }

// Verdict is the outcome against the thresholds.
type Verdict struct {
	Outcome Outcome
	Pass    bool     // Outcome == Pass
	Rule    string   // the rule that decided, in plain words
	Reasons []string // every threshold breached, one line each
}

// Rules are the verdict's rules in the order they are tried, as the report
// prints them.
var Rules = []string{
	"INCONCLUSIVE if iotwatch never connected: the device was not watched at all.",
	"FAIL if, in the time iotwatch watched, the device broke a threshold: more dropouts than max_dropouts, availability under min_availability, a gap longer than max_gap, or a heap trend losing more than max_heap_loss_per_reconnect or max_heap_loss_per_hour, or, with require_jobs_succeeded, a job execution seen that was not SUCCEEDED by the end (FAILED, REJECTED, TIMED_OUT, CANCELED, REMOVED, and one still QUEUED or IN_PROGRESS when the run ended too). Every silence counts: the one before the first report and the one still open at the end too. A dropout opens when a silence passes the threshold (dropout_after × the expected interval, never more than max_gap; max_gap, else 60 s, when no interval is known) or at the device's lifecycle \"disconnected\". A dropout counts even when it began while iotwatch was blind (the shadow says when the device last reported); only its blind part is left out of availability. Reports written while the device's client id was disconnected are another client's and count for nothing.",
	"INCONCLUSIVE if iotwatch was blind (its own link down, itself stood still, deaf to the shadow's updates, or dropping events) or not running (between runs appended to one log) for more than max_blind percent of the run: a dropout could have gone unseen.",
	"INCONCLUSIVE if require_jobs_succeeded is set and no AWS IoT Jobs control plane answered for the thing: its executions are unknown.",
	"INCONCLUSIVE if iotwatch's clock and the service's differ by more than 5 s: the shadow's times cannot be placed on iotwatch's well enough.",
	"INCONCLUSIVE if the run ended before its planned duration (stopped by a signal, ended by an error, or its log ends without the run's closing line): the time after is unknown.",
	"FAIL if the device never reported while iotwatch was connected.",
	"PASS otherwise.",
}

// MaxSkew is the largest difference between iotwatch's clock and the
// service's a verdict accepts.
const MaxSkew = 5 * time.Second

// Ending says how a run ended.
type Ending struct {
	Reason  string        // event.EndCompleted, EndSignal or EndError; "" when unknown (see Cut)
	Signal  string        // SIGTERM, SIGINT, SIGHUP when stopped by a signal
	Error   string        // what ended it, for EndError
	At      time.Time     // when it ended (for Cut: the log's last line)
	Planned time.Duration // the run's --duration; 0: until stopped
	Cut     bool          // the log ends without the run's closing line (killed, disk full)
}

// Early says whether the run ended before its planned duration, and how.
func (e Ending) Early(start time.Time) (string, bool) {
	switch {
	case e.Cut:
		return fmt.Sprintf("the log ends at %s without the run's closing line (iotwatch was killed or could not write): what came after is unknown", stampOf(e.At)), true
	case e.Reason == event.EndError:
		return fmt.Sprintf("the run ended at %s by an error: %s", stampOf(e.At), e.Error), true
	case e.Reason == event.EndSignal && e.Planned > 0 && e.At.Sub(start) < e.Planned:
		return fmt.Sprintf("the run was stopped by %s at %s, %s into its planned %s", e.Signal, stampOf(e.At), dur(e.At.Sub(start)), e.Planned), true
	}
	return "", false
}

func stampOf(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// LogFailure says the event log could not be written: the verdict is from
// the monitor's memory, the log holds less.
type LogFailure struct {
	At   time.Time // the first failed write
	Err  string
	Lost int // events not logged
}

// Evaluate closes the run at its end (a silence still due opens its
// dropout), computes the statistics and judges them by the thresholds.
func Evaluate(m *monitor.Monitor, end time.Time, th Thresholds) (monitor.Stats, Verdict) {
	return EvaluateRun(m, Run{End: end, Thresholds: th})
}

// EvaluateRun is Evaluate with everything the run says (its thresholds,
// how it ended): the one path of both soak and report.
func EvaluateRun(m *monitor.Monitor, run Run) (monitor.Stats, Verdict) {
	m.Tick(run.End)
	st := m.Stats(run.End)
	return st, JudgeRun(st, run)
}

// Judge checks statistics against thresholds, for a run that completed.
func Judge(st monitor.Stats, th Thresholds) Verdict { return JudgeRun(st, Run{Thresholds: th}) }

// JudgeRun checks statistics against the run's thresholds and ending, by
// Rules.
func JudgeRun(st monitor.Stats, run Run) Verdict {
	th := run.Thresholds
	if !st.EverConnected {
		return verdict(Inconclusive, "iotwatch never connected to its endpoint, so the device was not watched at all", nil)
	}
	var reasons []string
	if n := len(st.Dropouts); n > th.MaxDropouts {
		reasons = append(reasons, fmt.Sprintf("%d dropouts > max_dropouts %d", n, th.MaxDropouts))
	}
	if st.Observed > 0 && st.Availability < th.MinAvailability {
		reasons = append(reasons, fmt.Sprintf("availability %.3f%% < min_availability %.3f%%", st.Availability, th.MinAvailability))
	}
	if th.MaxGap > 0 && st.LongestGap > th.MaxGap {
		reasons = append(reasons, fmt.Sprintf("longest gap %s > max_gap %s", st.LongestGap.Round(time.Millisecond), th.MaxGap))
	}
	reasons = append(reasons, vitalsReasons(st.Vitals, th.Vitals)...)
	reasons = append(reasons, jobsReasons(st.Jobs, th.RequireJobsSucceeded)...)
	if len(reasons) > 0 {
		return verdict(Fail, "the device broke a threshold while iotwatch watched it: "+strings.Join(reasons, "; "), reasons)
	}
	if unseen := UnseenPercent(st); unseen > th.MaxBlind {
		return verdict(Inconclusive, fmt.Sprintf("iotwatch could not see the device for %.1f%% of the run (blind %s, not running %s), more than max_blind %g%%: a dropout could have gone unseen",
			unseen, dur(st.Blind), dur(st.Unwatched), th.MaxBlind), nil)
	}
	if th.RequireJobsSucceeded && st.Jobs == nil {
		return verdict(Inconclusive, "require_jobs_succeeded is set, but no AWS IoT Jobs control plane answered for the thing: its job executions are unknown", nil)
	}
	if st.Skew.Known && st.Skew.Offset.Abs() > MaxSkew {
		return verdict(Inconclusive, fmt.Sprintf("iotwatch's clock is %s the service's, more than %s: the shadow's times cannot be placed on iotwatch's clock well enough to judge",
			skewText(st.Skew), MaxSkew), nil)
	}
	if why, early := run.Ending.Early(run.Start); early {
		return verdict(Inconclusive, why+"; no threshold was broken until then", nil)
	}
	if st.Reports == 0 {
		return verdict(Fail, "the device never reported while iotwatch was connected", []string{"the device never reported"})
	}
	jobs := ""
	if th.RequireJobsSucceeded {
		jobs = fmt.Sprintf("; all %d job executions seen SUCCEEDED", st.Jobs.Executions)
	}
	return verdict(Pass, fmt.Sprintf("the device reported throughout with no threshold broken, and iotwatch watched %.1f%% of the run (max_blind %g%%)%s",
		100-UnseenPercent(st), th.MaxBlind, jobs), nil)
}

func verdict(o Outcome, rule string, reasons []string) Verdict {
	return Verdict{Outcome: o, Pass: o == Pass, Rule: rule, Reasons: reasons}
}

// UnseenPercent is the share of the run iotwatch was blind or not running.
func UnseenPercent(st monitor.Stats) float64 {
	if st.Span <= 0 {
		return 100
	}
	return 100 * float64(st.Blind+st.Unwatched) / float64(st.Span)
}

// Run describes the run being reported.
type Run struct {
	Thing      string
	Field      string
	Unit       string // of the field, e.g. °C; may be empty
	Start, End time.Time
	Thresholds Thresholds
	// ThresholdsFrom says where they come from, e.g. "[soak] of watch.toml".
	ThresholdsFrom string
	Ending         Ending
	LogFailure     *LogFailure // nil: the log was written (or there was none)
	// Notes are lines the report prints under the thresholds (e.g. which
	// thresholds differ from the ones the run had: DiffThresholds).
	Notes []string
}

// DiffThresholds names each threshold of used that differs from the
// run's own, e.g. "max_gap 30s (the run had 10s)".
func DiffThresholds(used, run Thresholds) []string {
	var out []string
	add := func(name string, a, b any) {
		if a != b {
			out = append(out, fmt.Sprintf("%s %v (the run had %v)", name, a, b))
		}
	}
	add("max_dropouts", used.MaxDropouts, run.MaxDropouts)
	add("min_availability", used.MinAvailability, run.MinAvailability)
	add("max_gap", used.MaxGap, run.MaxGap)
	add("max_blind", used.MaxBlind, run.MaxBlind)
	add("require_jobs_succeeded", used.RequireJobsSucceeded, run.RequireJobsSucceeded)
	return out
}

// Summary is the JSON summary; field names are stable for scripts. A
// figure that has no data yet is null.
type Summary struct {
	Thing            string    `json:"thing"`
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	Verdict          string    `json:"verdict"` // PASS, FAIL or INCONCLUSIVE
	Rule             string    `json:"rule"`
	Pass             bool      `json:"pass"`
	Reasons          []string  `json:"reasons"`
	Reports          int       `json:"reports"`
	AvailabilityPct  *float64  `json:"availability_pct"`
	Dropouts         int       `json:"dropouts"`
	LongestGapS      float64   `json:"longest_gap_s"`
	MTBFS            *float64  `json:"mtbf_s"`
	GapP50S          float64   `json:"gap_p50_s"`
	GapP95S          float64   `json:"gap_p95_s"`
	GapP99S          float64   `json:"gap_p99_s"`
	Reboots          int       `json:"reboots"`
	LostReports      int       `json:"lost_reports"`
	DeviceReconnects int       `json:"device_reconnects"`
	ObservedS        float64   `json:"observed_s"`
	BlindS           float64   `json:"blind_s"`
	UnwatchedS       float64   `json:"unwatched_s"`
	UnwatchedGaps    int       `json:"unwatched_gaps"`
	Runs             int       `json:"runs"`
	RoundTripP50Ms   *float64  `json:"round_trip_p50_ms"`
	RoundTripP95Ms   *float64  `json:"round_trip_p95_ms"`
	Malformed        int       `json:"malformed"`
	NotPlottable     []string  `json:"not_plottable"`
	// Added by issue 19 (all present, null when unknown).
	ForeignReports     int           `json:"foreign_reports"`
	DroppedEvents      int           `json:"dropped_events"`
	Rejections         int           `json:"rejections"`
	StalledS           float64       `json:"stalled_s"`
	Stalls             int           `json:"stalls"`
	DeafS              float64       `json:"deaf_s"`
	DeafSpells         int           `json:"deaf_spells"`
	DroppedBlindS      float64       `json:"dropped_blind_s"`
	SkewS              *float64      `json:"skew_s"` // iotwatch's clock minus the service's
	ThresholdS         float64       `json:"threshold_s"`
	AnnouncedIntervalS *float64      `json:"announced_interval_s"` // interval_s longer than max_gap, else null
	Ended              EndedJSON     `json:"ended"`
	LogFailure         *FailureJSON  `json:"log_failure"`
	Vitals             VitalsSummary `json:"vitals"` // the heap trend (vitals.go)
	Jobs               *JobsJSON     `json:"jobs"`   // null: no control plane answered (jobs.go)
}

// EndedJSON is how the run ended, for scripts.
type EndedJSON struct {
	Reason   string    `json:"reason"` // completed, signal, error, cut (the log ends without its closing line)
	Signal   string    `json:"signal,omitempty"`
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at"`
	PlannedS float64   `json:"planned_s"`
	Early    bool      `json:"early"`
}

// FailureJSON is a LogFailure, for scripts.
type FailureJSON struct {
	At    time.Time `json:"at"`
	Error string    `json:"error"`
	Lost  int       `json:"lost_events"`
}

// JSON renders the summary.
func JSON(run Run, st monitor.Stats, v Verdict) []byte {
	return marshal(summaryOf(run, st, v))
}

func summaryOf(run Run, st monitor.Stats, v Verdict) Summary {
	s := Summary{Thing: run.Thing, Start: run.Start.UTC(), End: run.End.UTC(), Verdict: v.Outcome.String(), Rule: v.Rule,
		Pass: v.Pass, Reasons: v.Reasons, Reports: st.Reports, Dropouts: len(st.Dropouts),
		LongestGapS: st.LongestGap.Seconds(), GapP50S: st.GapP50.Seconds(),
		GapP95S: st.GapP95.Seconds(), GapP99S: st.GapP99.Seconds(), Reboots: st.Reboots,
		LostReports: st.LostReports, DeviceReconnects: st.DeviceReconnects, ObservedS: st.Observed.Seconds(),
		BlindS: st.Blind.Seconds(), UnwatchedS: st.Unwatched.Seconds(), UnwatchedGaps: st.UnwatchedGaps, Runs: st.Runs,
		Malformed: st.Malformed, NotPlottable: st.NotPlottable, Vitals: vitalsSummary(st.Vitals, run.Thresholds.Vitals), Jobs: jobsJSON(st.Jobs)}
	if known(st) {
		s.AvailabilityPct = &st.Availability
	}
	if len(st.Dropouts) > 0 {
		s.MTBFS = ptr(st.MTBF.Seconds())
	}
	s.ForeignReports, s.DroppedEvents, s.Rejections = st.Foreign, st.Dropped, st.Rejections
	u := st.Unheard
	s.StalledS, s.Stalls, s.DeafS, s.DeafSpells, s.DroppedBlindS = u.Stalled.Seconds(), u.Stalls, u.Deaf.Seconds(), u.DeafSpells, u.Dropped.Seconds()
	if st.Skew.Known {
		s.SkewS = ptr(st.Skew.Offset.Seconds())
	}
	s.ThresholdS = st.Threshold.Seconds()
	if st.AnnouncedInterval > 0 {
		s.AnnouncedIntervalS = ptr(st.AnnouncedInterval.Seconds())
	}
	s.Ended = endedOf(run)
	if f := run.LogFailure; f != nil {
		s.LogFailure = &FailureJSON{At: f.At.UTC(), Error: f.Err, Lost: f.Lost}
	}
	if st.RoundTrips > 0 {
		s.RoundTripP50Ms, s.RoundTripP95Ms = ptr(ms(st.RoundTripP50)), ptr(ms(st.RoundTripP95))
	}
	if s.Reasons == nil {
		s.Reasons = []string{}
	}
	if s.NotPlottable == nil {
		s.NotPlottable = []string{}
	}
	return s
}

func endedOf(run Run) EndedJSON {
	e := run.Ending
	_, early := e.Early(run.Start)
	out := EndedJSON{Reason: e.Reason, Signal: e.Signal, Error: e.Error, At: e.At.UTC(), PlannedS: e.Planned.Seconds(), Early: early}
	switch {
	case e.Cut:
		out.Reason = "cut"
	case e.Reason == "":
		out.Reason = event.EndCompleted
	}
	if e.At.IsZero() {
		out.At = run.End.UTC()
	}
	return out
}

// known says whether the availability is a figure: something was observed
// and the device reported (else it is unknown: "–", null).
func known(st monitor.Stats) bool { return st.Observed > 0 && !math.IsNaN(st.Availability) }

func skewText(sk monitor.Skew) string {
	if sk.Offset < 0 {
		return dur(-sk.Offset) + " behind"
	}
	return dur(sk.Offset) + " ahead of"
}

func marshal(v any) []byte {
	b, _ := json.MarshalIndent(v, "", "  ")
	return append(b, '\n')
}

func ptr(f float64) *float64 { return &f }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Markdown renders the human report; svgName is the chart file it links.
func Markdown(run Run, st monitor.Stats, v Verdict, svgName string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Soak report: %s\n\n%s → %s (%s)\n\n**%s**: %s.\n\n", run.Thing, run.Start.UTC().Format(time.RFC3339),
		run.End.UTC().Format(time.RFC3339), run.End.Sub(run.Start).Round(time.Second), v.Outcome, v.Rule)
	th := run.Thresholds
	fmt.Fprintf(&b, "Thresholds (%s): %s.\n\n", run.ThresholdsFrom, thresholdsText(th))
	writeNotes(&b, run, st)
	writeFigures(&b, run, st, svgName, "##")
	writeVitals(&b, st.Vitals, th.Vitals, "##")
	writeJobs(&b, st.Jobs, "##")
	writeRules(&b)
	return []byte(b.String())
}

// thresholdsText lists the thresholds, as both reports state them.
func thresholdsText(th Thresholds) string {
	s := fmt.Sprintf("max_dropouts %d, min_availability %g %%, max_gap %s, max_blind %g %%", th.MaxDropouts, th.MinAvailability, th.MaxGap, th.MaxBlind)
	if th.RequireJobsSucceeded {
		s += ", require_jobs_succeeded"
	}
	return s
}

// writeNotes writes what the reader must know before the figures: how the
// run ended, a log that could not be written, an announced interval the
// threshold ignores, and the caller's notes.
func writeNotes(b *strings.Builder, run Run, st monitor.Stats) {
	var notes []string
	if why, early := run.Ending.Early(run.Start); early {
		notes = append(notes, "Ended early: "+why+".")
	} else if run.Ending.Reason == event.EndSignal {
		notes = append(notes, fmt.Sprintf("Stopped by %s at %s.", run.Ending.Signal, stampOf(run.Ending.At)))
	}
	if f := run.LogFailure; f != nil {
		notes = append(notes, fmt.Sprintf("The event log could not be written from %s (%s): %d events are missing from it; this verdict is from iotwatch's memory, a report of the log will differ.", stampOf(f.At), f.Err, f.Lost))
	}
	if st.AnnouncedInterval > 0 {
		notes = append(notes, fmt.Sprintf("The device announced interval_s %s, longer than max_gap %s: the silence threshold stays %s.", st.AnnouncedInterval, run.Thresholds.MaxGap, st.Threshold))
	}
	notes = append(notes, run.Notes...)
	for _, n := range notes {
		fmt.Fprintf(b, "- %s\n", n)
	}
	if len(notes) > 0 {
		b.WriteString("\n")
	}
}

// writeFigures writes the chart's link, the statistics and the dropouts
// (under a heading of level h).
func writeFigures(b *strings.Builder, run Run, st monitor.Stats, svgName, h string) {
	if svgName != "" {
		fmt.Fprintf(b, "![%s over time](%s)\n\n", run.Field, svgName)
	}
	avail, mtbf, rt := availText(st), "–", "–"
	if len(st.Dropouts) > 0 {
		mtbf = dur(st.MTBF)
	}
	if st.RoundTrips > 0 {
		rt = dur(st.RoundTripP50) + " / " + dur(st.RoundTripP95)
	}
	gaps := "–"
	if st.LongestGap > 0 {
		gaps = dur(st.GapP50) + " / " + dur(st.GapP95) + " / " + dur(st.GapP99)
	}
	rows := [][2]string{
		{"reports", fmt.Sprint(st.Reports)}, {"availability (of the time watched)", avail},
		{"dropouts", fmt.Sprint(len(st.Dropouts))}, {"longest gap", orDash(st.LongestGap)}, {"MTBF", mtbf},
		{"gap p50 / p95 / p99", gaps},
		{"reboots", fmt.Sprint(st.Reboots)}, {"lost reports", fmt.Sprint(st.LostReports)},
		{"device reconnects", fmt.Sprint(st.DeviceReconnects)}, {"watched", dur(st.Observed)},
		{"silence threshold", dur(st.Threshold)},
		{"blind time (iotwatch could not see)", dur(st.Blind)},
		{"… of it iotwatch stood still", fmt.Sprintf("%s in %d stall(s)", dur(st.Unheard.Stalled), st.Unheard.Stalls)},
		{"… of it deaf (link up, updates not heard)", fmt.Sprintf("%s in %d spell(s)", dur(st.Unheard.Deaf), st.Unheard.DeafSpells)},
		{"… of it dropping events (queue full)", fmt.Sprintf("%s, %d events dropped", dur(st.Unheard.Dropped), st.Dropped)},
		{"unwatched time (iotwatch not running)", unwatched(st)},
		{"reports written by another client (device disconnected)", fmt.Sprint(st.Foreign)},
		{"clock skew (iotwatch − service)", skewCell(st.Skew)},
		{"desired round trip p50 / p95", rt},
		{"malformed messages", fmt.Sprint(st.Malformed)},
		{"rejections", fmt.Sprint(st.Rejections)},
	}
	if len(st.NotPlottable) > 0 {
		rows = append(rows, [2]string{"not plottable (beyond a 64-bit float)", strings.Join(st.NotPlottable, ", ")})
	}
	b.WriteString("| statistic | value |\n|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %s |\n", r[0], r[1])
	}
	if len(st.Dropouts) > 0 {
		fmt.Fprintf(b, "\n%s Dropouts\n\n| start | duration | cause |\n|---|---|---|\n", h)
		for _, d := range st.Dropouts {
			fmt.Fprintf(b, "| %s | %s | %s |\n", d.Start.UTC().Format(time.RFC3339), dur(d.Duration(run.End)), d.Cause)
		}
	}
}

// writeRules lists the verdict's rules, the report's last section.
func writeRules(b *strings.Builder) {
	b.WriteString("\n## How the verdict is decided\n\nThe first rule that applies decides:\n\n")
	for i, r := range Rules {
		fmt.Fprintf(b, "%d. %s\n", i+1, r)
	}
}

func availText(st monitor.Stats) string {
	if !known(st) {
		return "–"
	}
	return fmt.Sprintf("%.3f %%", st.Availability)
}

func skewCell(sk monitor.Skew) string {
	if !sk.Known {
		return "– (no document with a timestamp)"
	}
	return fmt.Sprintf("%s (from %d documents, to within a second)", sk.Offset.Round(time.Millisecond), sk.Documents)
}

func unwatched(st monitor.Stats) string {
	if st.Runs == 0 {
		return "– (a log from before session lines: runs appended to it are not told apart)"
	}
	return fmt.Sprintf("%s in %d gap(s) between %d run(s)", dur(st.Unwatched), st.UnwatchedGaps, st.Runs)
}

func orDash(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return dur(d)
}

func dur(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
