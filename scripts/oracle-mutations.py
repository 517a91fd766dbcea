#!/usr/bin/env python3
# Undo each rule of issue 19 in turn (a textual edit of monitor/ or report/, restored afterwards)
# and count the timelines of both oracles (10,000 each) and the unit tests that catch it.
# Run from the repository root on a clean tree: python3 scripts/oracle-mutations.py [INDEX...]
import subprocess, re, sys, os
root = os.getcwd()
M = [
 ("trailing silence not a gap", "monitor/dropout.go", "s.LongestGap = max(m.s.gaps.longest, m.openSilence(now))", "s.LongestGap = m.s.gaps.longest"),
 ("watched silences not gaps", "monitor/dropout.go", "func (m *Monitor) closeSilence(at time.Time) {", "func (m *Monitor) closeSilence(at time.Time) {\n\treturn"),
 ("no dropout before the first report", "monitor/dropout.go", "	since = m.s.deviceLast\n	if since.IsZero() ||", "	since = m.s.deviceLast\n	if since.IsZero() {\n\t\treturn since, false\n\t}\n	if"),
 ("interval_s lifts the threshold past max_gap", "monitor/dropout.go", "		if limit <= 0 || th < limit {", "		if true {"),
 ("no threshold without an interval", "monitor/dropout.go", "	if limit <= 0 {\n		return NoIntervalThreshold\n	}\n	return limit", "	return 1 << 62"),
 ("other clients' reports counted", "monitor/monitor.go", "	if p.EventType != \"disconnected\" || p.DisconnectReason", "	if true || p.DisconnectReason"),
 ("stall not blind", "monitor/monitor.go", "		m.blindAfter(e.Since, e.At, stalled)", ""),
 ("stall: no tick at its last watched instant", "monitor/monitor.go", "		m.Tick(e.Since) // the last instant watched", ""),
 ("dropouts in unheard time not withdrawn", "monitor/dropout.go", "func (m *Monitor) withdraw(from time.Time) {", "func (m *Monitor) withdraw(from time.Time) {\n\treturn"),
 ("deafness not found", "monitor/monitor.go", "	if !m.s.blindSince.IsZero() || !m.s.fresh || d.Version <= m.Version || m.rebase {", "	if true {"),
 ("dropped events not blind", "monitor/monitor.go", "		m.blindAfter(m.s.last, e.At, dropped)", ""),
 ("skew not corrected", "monitor/monitor.go", "	if m.s.skewN == 0 || m.s.skewMin.Abs() < time.Second {", "	if true {"),
 ("skew beyond 5 s not INCONCLUSIVE", "report/report.go", "	if st.Skew.Known && st.Skew.Offset.Abs() > MaxSkew {", "	if false {"),
 ("stopped by a signal not INCONCLUSIVE", "report/report.go", "	case e.Reason == event.EndSignal && e.Planned > 0", "	case false && e.Planned > 0"),
 ("log without closing line not INCONCLUSIVE", "report/report.go", "	case e.Cut:\n		return fmt.Sprintf(\"the log ends", "	case false:\n		return fmt.Sprintf(\"the log ends"),
 ("availability 0/100 without reports", "monitor/dropout.go", "	if m.Counts.Reports == 0 {\n		return nan, observed, blind\n	}", ""),
 ("reports after a stall not placed by metadata", "monitor/monitor.go", "	if meta.Add(time.Second).Before(m.s.watchSince) && !d.At.Before(m.s.watchSince) {", "	if false {"),
 ("thing found late: time before not unwatched", "monitor/dropout.go", "func (m *Monitor) Begin(at time.Time) {", "func (m *Monitor) Begin(at time.Time) {\n\treturn"),
 ("a withdrawn disconnect loses its dropout", "monitor/dropout.go", "	if p := m.Presence; p.EventType == \"disconnected\" && p.At.After(from)", "	if p := m.Presence; false && p.At.After(from)"),
 ("hearing again does not end deafness", "monitor/monitor.go", "	if m.s.deaf {\n		m.endBlind(at)", "	if false {\n		m.endBlind(at)"),
]
only = sys.argv[1:] 
for i, (name, path, old, new) in enumerate(M):
    if only and str(i) not in only: continue
    src = open(path).read()
    if src.count(old) != 1:
        print(f"{i} {name}: pattern found {src.count(old)} times"); continue
    open(path, "w").write(src.replace(old, new))
    try:
        counts = {}
        out = ""
        for test in ("Oracle", "VerdictOracle"):
            o = subprocess.run(["nice", "go", "test", "-count=1", "-run", "^Test%s$" % test, "./report"], capture_output=True, text=True).stdout
            m = re.search(r"(\d+) of (\d+) timelines differ", o)
            counts[test] = m.group(1) if m else "0"
            out += o
        build = "build failed" if "[build failed]" in out or "setup failed" in out else ""
        unit = subprocess.run(["nice", "go", "test", "-count=1", "./monitor", "./report", "-run", "^Test([^OV]|V[^e]|O[^r])"], capture_output=True, text=True).stdout
        failed = sorted(set(re.findall(r"--- FAIL: (\w+)", unit)))
        build += " unit tests failing: " + (", ".join(failed) if failed else "none")
        print(f"{i:2d} {name}: classic oracle {counts['Oracle']}, verdict oracle {counts['VerdictOracle']} of 10000 {build}", flush=True)
    finally:
        open(path, "w").write(src)
