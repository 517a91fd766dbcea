package qualify

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// Counts tallies verdicts.
func (r *Report) Counts() map[Verdict]int {
	n := map[Verdict]int{}
	for _, res := range r.Results {
		n[res.Verdict]++
	}
	return n
}

// Connected: the device came to at least one case.
func (r *Report) Connected() bool {
	for _, res := range r.Results {
		if _, ok := res.Timeline.first(is(Accepted, "")); ok {
			return true
		}
	}
	return false
}

// Summary is one line: counts by verdict.
func (r *Report) Summary() string {
	n := r.Counts()
	return fmt.Sprintf("%d cases: %d PASS, %d PASS_WITH_WARNINGS, %d FAIL, %d ERROR",
		len(r.Results), n[Pass], n[Warn], n[Fail], n[Error])
}

// Markdown is the report for people: a table of cases, then a section
// per case with what was observed and its timeline.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Device qualification: %s\n\n", r.Thing)
	fmt.Fprintf(&b, "Server %s, started %s, %s per case. %s.\n\n", r.Listen, r.Started.UTC().Format(time.RFC3339), r.Timeout, r.Summary())
	b.WriteString("| Case | Verdict | Reason |\n|---|---|---|\n")
	for _, res := range r.Results {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", res.Case, res.Verdict, escapeCell(res.Reason))
	}
	for _, res := range r.Results {
		fmt.Fprintf(&b, "\n## %s: %s\n\n%s.\n\n%s (%.1f s).\n", res.Case, res.Verdict, sentence(res.Doc), sentence(res.Reason), res.Duration.Seconds())
		if len(res.Delays) > 0 {
			fmt.Fprintf(&b, "\nWaits before each retry: %s.\n", formatDelays(res.Delays))
		}
		for _, o := range res.Observed {
			fmt.Fprintf(&b, "\n- %s", o)
		}
		if len(res.Observed) > 0 {
			b.WriteString("\n")
		}
		if len(res.Timeline) > 0 {
			b.WriteString("\n```\n")
			for _, e := range res.Timeline {
				fmt.Fprintf(&b, "%8.3f  #%-3d %s\n", e.At.Sub(res.Started).Seconds(), e.Conn, describe(e))
			}
			b.WriteString("```\n")
		}
	}
	return b.String()
}

// describe is one timeline line.
func describe(e Event) string {
	parts := []string{string(e.Kind)}
	if e.Packet != "" {
		parts = append(parts, e.Packet)
	}
	if e.ID != 0 {
		parts = append(parts, fmt.Sprintf("id=%d", e.ID))
	}
	if e.Kind == Received && e.Packet == "CONNECT" {
		parts = append(parts, fmt.Sprintf("client=%s clean=%v keepalive=%ds", e.ClientID, e.Clean, e.KeepAlive))
	}
	if e.Packet == "CONNACK" {
		parts = append(parts, fmt.Sprintf("session_present=%v", e.SessionPresent))
	}
	if e.Packet == "PUBLISH" {
		parts = append(parts, fmt.Sprintf("qos=%d dup=%v %s (%d bytes)", e.QoS, e.Dup, e.Topic, e.Size))
	}
	if len(e.Filters) > 0 {
		parts = append(parts, strings.Join(e.Filters, " "))
	}
	if e.Kind == Hello {
		parts = append(parts, fmt.Sprintf("sni=%q %d suites", e.SNI, len(e.Suites)))
	}
	if e.Kind == TLSFail {
		parts = append(parts, fmt.Sprintf("alert=%v", e.Alert))
	}
	if e.Kind == Closed || e.Kind == TLSFail {
		by := "by the server"
		if e.ByDevice {
			by = "by the device"
		}
		parts = append(parts, by)
	}
	if e.Detail != "" {
		parts = append(parts, "("+e.Detail+")")
	}
	return strings.Join(parts, " ")
}

// sentence starts s with a capital letter.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// JSON is the report for programs.
func (r *Report) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// JUnit is the report for CI: one testcase per case; FAIL and ERROR as
// failure and error with their reason, warnings in system-out.
func (r *Report) JUnit() ([]byte, error) {
	type result struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string  `xml:"name,attr"`
		Classname string  `xml:"classname,attr"`
		Time      string  `xml:"time,attr"`
		Failure   *result `xml:"failure,omitempty"`
		Error     *result `xml:"error,omitempty"`
		SystemOut string  `xml:"system-out,omitempty"`
	}
	type suite struct {
		XMLName   xml.Name   `xml:"testsuite"`
		Name      string     `xml:"name,attr"`
		Tests     int        `xml:"tests,attr"`
		Failures  int        `xml:"failures,attr"`
		Errors    int        `xml:"errors,attr"`
		Time      string     `xml:"time,attr"`
		Timestamp string     `xml:"timestamp,attr"`
		Cases     []testcase `xml:"testcase"`
	}
	n := r.Counts()
	s := suite{Name: "iotwatch qualify " + r.Thing, Tests: len(r.Results), Failures: n[Fail], Errors: n[Error],
		Timestamp: r.Started.UTC().Format(time.RFC3339)}
	var total time.Duration
	for _, res := range r.Results {
		total += res.Duration
		tc := testcase{Name: res.Case, Classname: "qualify." + r.Thing, Time: fmt.Sprintf("%.3f", res.Duration.Seconds()),
			SystemOut: string(res.Verdict) + ": " + res.Reason}
		detail := res.Reason
		if len(res.Delays) > 0 {
			detail += "\nwaits: " + formatDelays(res.Delays)
		}
		switch res.Verdict {
		case Fail:
			tc.Failure = &result{Message: res.Reason, Text: detail}
		case Error:
			tc.Error = &result{Message: res.Reason, Text: detail}
		}
		s.Cases = append(s.Cases, tc)
	}
	s.Time = fmt.Sprintf("%.3f", total.Seconds())
	out, err := xml.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}
