package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/monitor"
)

// Thing is one thing's part of a fleet soak: its run, statistics, verdict
// and the chart its section links (empty: none).
type Thing struct {
	Run     Run
	Stats   monitor.Stats
	Verdict Verdict
	SVGName string
}

// severity orders outcomes from best to worst: a fleet is as good as its
// worst thing, and a FAIL (something broke) outranks an INCONCLUSIVE
// (something was not seen).
func severity(o Outcome) int { return [...]int{Pass: 0, Inconclusive: 1, Fail: 2}[o] }

// WorstFirst sorts things by verdict, worst first, then by name.
func WorstFirst(things []Thing) {
	slices.SortStableFunc(things, func(a, b Thing) int {
		if c := cmp.Compare(severity(b.Verdict.Outcome), severity(a.Verdict.Outcome)); c != 0 {
			return c
		}
		return cmp.Compare(a.Run.Thing, b.Run.Thing)
	})
}

// FleetVerdict is the worst thing's outcome, its rule counting the things
// of each outcome and naming those not PASS; no thing at all is
// INCONCLUSIVE (nothing was watched).
func FleetVerdict(things []Thing) Verdict {
	if len(things) == 0 {
		return verdict(Inconclusive, "no thing of the fleet was seen", nil)
	}
	worst := Pass
	byOutcome := map[Outcome][]string{}
	var reasons []string
	for _, t := range things {
		o := t.Verdict.Outcome
		byOutcome[o] = append(byOutcome[o], t.Run.Thing)
		if severity(o) > severity(worst) {
			worst = o
		}
		for _, r := range t.Verdict.Reasons {
			reasons = append(reasons, t.Run.Thing+": "+r)
		}
	}
	var parts []string
	for _, o := range []Outcome{Fail, Inconclusive, Pass} {
		if names := byOutcome[o]; len(names) > 0 && o != Pass {
			parts = append(parts, fmt.Sprintf("%d of %d %s (%s)", len(names), len(things), o, strings.Join(names, ", ")))
		} else if len(names) > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d PASS", len(names), len(things)))
		}
	}
	return verdict(worst, "the fleet is as good as its worst thing: "+strings.Join(parts, ", "), reasons)
}

// FleetSummary is the fleet's JSON summary: the fleet's verdict and each
// thing's summary (as a single thing's), worst first.
type FleetSummary struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Verdict string    `json:"verdict"`
	Rule    string    `json:"rule"`
	Pass    bool      `json:"pass"`
	Reasons []string  `json:"reasons"`
	Things  []Summary `json:"things"`
}

// FleetJSON renders the fleet's summary; things are in the order given.
func FleetJSON(start, end time.Time, things []Thing, v Verdict) []byte {
	s := FleetSummary{Start: start.UTC(), End: end.UTC(), Verdict: v.Outcome.String(), Rule: v.Rule, Pass: v.Pass,
		Reasons: v.Reasons, Things: []Summary{}}
	if s.Reasons == nil {
		s.Reasons = []string{}
	}
	for _, t := range things {
		s.Things = append(s.Things, summaryOf(t.Run, t.Stats, t.Verdict))
	}
	return marshal(s)
}

// FleetMarkdown renders the fleet's report: its verdict and thresholds, a
// table of every thing (in the order given, worst first from WorstFirst),
// then one section per thing with what a single thing's report holds, and
// the rules once.
func FleetMarkdown(start, end time.Time, th Thresholds, from string, things []Thing, v Verdict) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Fleet soak report: %d things\n\n%s → %s (%s)\n\n**%s**: %s.\n\n", len(things), start.UTC().Format(time.RFC3339),
		end.UTC().Format(time.RFC3339), end.Sub(start).Round(time.Second), v.Outcome, v.Rule)
	fmt.Fprintf(&b, "Thresholds for each thing (%s): %s.\n\n", from, thresholdsText(th))
	b.WriteString("| thing | verdict | reports | dropouts | availability | longest gap | reboots | lost reports |\n|---|---|---|---|---|---|---|---|\n")
	for _, t := range things {
		st := t.Stats
		avail := availText(st)
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %d | %d | %s | %s | %d | %d |\n", t.Run.Thing, anchor(t.Run.Thing), t.Verdict.Outcome,
			st.Reports, len(st.Dropouts), avail, orDash(st.LongestGap), st.Reboots, st.LostReports)
	}
	for _, t := range things {
		fmt.Fprintf(&b, "\n## %s\n\n%s → %s\n\n**%s**: %s.\n\n", t.Run.Thing, t.Run.Start.UTC().Format(time.RFC3339),
			t.Run.End.UTC().Format(time.RFC3339), t.Verdict.Outcome, t.Verdict.Rule)
		writeNotes(&b, t.Run, t.Stats)
		writeFigures(&b, t.Run, t.Stats, t.SVGName, "###")
		writeJobs(&b, t.Stats.Jobs, "###")
	}
	writeRules(&b)
	return []byte(b.String())
}

// anchor is the heading id GitHub and most renderers give "## name":
// lower case, characters other than letters, digits, - and _ dropped.
func anchor(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return -1
	}, name)
}
