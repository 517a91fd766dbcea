package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/monitor"
)

func fleetThing(name string, o Outcome, reports int) Thing {
	return Thing{Run: Run{Thing: name, Field: "temp"}, Stats: monitor.Stats{Reports: reports},
		Verdict: verdict(o, o.String()+" rule", map[Outcome][]string{Fail: {"1 dropouts > max_dropouts 0"}}[o])}
}

func TestFleetVerdictIsTheWorst(t *testing.T) {
	cases := []struct {
		name     string
		outcomes []Outcome
		want     Outcome
		rule     string
	}{
		{"all pass", []Outcome{Pass, Pass}, Pass, "2 of 2 PASS"},
		{"one inconclusive", []Outcome{Pass, Inconclusive, Pass}, Inconclusive, "1 of 3 INCONCLUSIVE (t1), 2 of 3 PASS"},
		{"fail beats inconclusive", []Outcome{Inconclusive, Pass, Fail}, Fail, "1 of 3 FAIL (t2), 1 of 3 INCONCLUSIVE (t0), 1 of 3 PASS"},
		{"no thing", nil, Inconclusive, "no thing of the fleet was seen"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var things []Thing
			for i, o := range c.outcomes {
				things = append(things, fleetThing("t"+string(rune('0'+i)), o, 1))
			}
			v := FleetVerdict(things)
			if v.Outcome != c.want || !strings.Contains(v.Rule, c.rule) || v.Pass != (c.want == Pass) {
				t.Fatalf("got %v %q, want %v containing %q", v.Outcome, v.Rule, c.want, c.rule)
			}
		})
	}
}

func TestFleetReportWorstFirst(t *testing.T) {
	things := []Thing{fleetThing("b", Pass, 10), fleetThing("c", Inconclusive, 0), fleetThing("a", Pass, 9), fleetThing("d", Fail, 3)}
	WorstFirst(things)
	var order []string
	for _, th := range things {
		order = append(order, th.Run.Thing)
	}
	if got := strings.Join(order, ","); got != "d,c,a,b" {
		t.Fatalf("order %s, want d,c,a,b", got)
	}
	things[0].SVGName = "soak-d.svg"
	v := FleetVerdict(things)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	md := string(FleetMarkdown(t0, t0.Add(time.Hour), Thresholds{MaxBlind: 5}, "[soak] of w.toml", things, v))
	for _, want := range []string{"# Fleet soak report: 4 things", "**FAIL**: the fleet is as good as its worst thing: 1 of 4 FAIL (d)",
		"| [d](#d) | FAIL | 3 | 0 | – | – | 0 | 0 |\n| [c](#c) | INCONCLUSIVE |", "\n## d\n", "![temp over time](soak-d.svg)"} {
		if !strings.Contains(md, want) {
			t.Fatalf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Index(md, "\n## d\n") > strings.Index(md, "\n## c\n") || strings.Count(md, "How the verdict is decided") != 1 {
		t.Fatalf("sections not worst first, or the rules not once:\n%s", md)
	}
	var sum FleetSummary
	if err := json.Unmarshal(FleetJSON(t0, t0.Add(time.Hour), things, v), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Verdict != "FAIL" || sum.Pass || len(sum.Things) != 4 || sum.Things[0].Thing != "d" || sum.Things[0].Verdict != "FAIL" ||
		len(sum.Reasons) != 1 || sum.Reasons[0] != "d: 1 dropouts > max_dropouts 0" {
		t.Fatalf("summary %+v", sum)
	}
}
