package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/iotwatch/iotwatch/monitor"
)

// eventLog shows the newest entries, or, once paged back, holds the same
// entries in place while new ones arrive below, with a line saying how
// many. Entries are shown whole: one that does not fit above the others is
// left out (the layout gives the bottom one its rows, logNeed).
func (m *Model) eventLog(height, width int) string {
	m.logRows, m.logShown = height, 0
	if height < 1 {
		return ""
	}
	end, rows := m.logEnd(), height
	if m.logPin > 0 {
		rows = height - 1
	}
	first := m.snap.EventsLogged - len(m.snap.Events) // entry number before events[0]
	var lines []string
	for i := end - first - 1; i >= 0; i-- {
		entry := m.logEntry(m.snap.Events[i], max(10, width-1))
		if len(lines)+len(entry) > rows {
			if len(lines) == 0 { // not even the bottom one fits: its head
				lines = entry[:max(0, rows)]
			}
			break
		}
		lines = append(entry, lines...)
		m.logShown++
	}
	if m.logPin > 0 {
		lines = append(lines, m.styles.Label.Render(truncate(fmt.Sprintf("▼ %d newer (pgdn, end follows)", m.snap.EventsLogged-end), max(10, width-1))))
	}
	return strings.Join(lines, "\n")
}

// logEnd is the number of the entry at the bottom of the log: the newest,
// or the one paged back to.
func (m *Model) logEnd() int {
	total := m.snap.EventsLogged
	if m.logPin > 0 {
		return max(min(m.logPin, total), total-len(m.snap.Events)+1)
	}
	return total
}

// logNeed is the rows the log needs to show its bottom entry whole at
// width, with the line under it once paged back.
func (m *Model) logNeed(width int) int {
	i := m.logEnd() - (m.snap.EventsLogged - len(m.snap.Events)) - 1
	if i < 0 || i >= len(m.snap.Events) {
		return 0
	}
	need := len(m.logEntry(m.snap.Events[i], max(10, width-1)))
	if m.logPin > 0 {
		need++
	}
	return need
}

// logEntry is one entry of the event log, wrapped to width: long lines
// continue under the text, never cut.
func (m *Model) logEntry(e monitor.Entry, width int) []string {
	style := map[monitor.Severity]lipgloss.Style{monitor.Info: m.styles.Muted, monitor.Good: m.styles.Good, monitor.Warn: m.styles.Warn, monitor.Bad: m.styles.Bad}[e.Severity]
	const stamp = len("15:04:05 ")
	wrapped := strings.Split(ansi.Wrap(e.Text, max(1, width-stamp), " "), "\n")
	for i, l := range wrapped {
		prefix := strings.Repeat(" ", stamp) // continuations sit under the text
		if i == 0 {
			prefix = e.At.Format("15:04:05") + " "
		}
		wrapped[i] = style.Render(prefix + l)
	}
	return wrapped
}

func (m *Model) footer() string {
	status := ""
	switch {
	case m.confirm != nil:
		status = m.styles.Bad.Render(truncate(m.confirm.prompt, m.width)) + "\n"
	case m.status != "":
		status = m.styles.Warn.Render(truncate(m.status, m.width)) + "\n"
	}
	if m.help.ShowAll {
		return status + m.fullHelp()
	}
	return status + m.shortHelp()
}

// shortHelp is one line that always ends in "? help • q quit": the
// controls before them give way when the line is too narrow.
func (m *Model) shortHelp() string {
	tail := m.help
	tail.Width = 0
	end := tail.ShortHelpView([]key.Binding{m.keys.Help, m.keys.Quit})
	if len(m.keys.Controls) == 0 {
		return end
	}
	sep := tail.Styles.ShortSeparator.Render(tail.ShortSeparator)
	head := m.help
	head.Width = max(1, m.width-lipgloss.Width(end)-lipgloss.Width(sep))
	controls := head.ShortHelpView(m.keys.Controls)
	if controls == "" {
		return end
	}
	return controls + sep + end
}

// editorPane is the desired-state editor with its hint or its error.
func (m *Model) editorPane(width int) string {
	m.editor.SetWidth(max(10, width-1))
	msg := m.styles.Muted.Render(truncate("desired state as JSON (null or a deleted key removes it) — ctrl+s send, esc cancel", width))
	if m.editErr != "" {
		msg = m.styles.Bad.Render(ansi.Wrap(m.editErr, width, " "))
	}
	return lipgloss.JoinVertical(lipgloss.Left, m.editor.View(), msg)
}

// fullHelp lays the key groups out in as many rows as the width needs.
func (m *Model) fullHelp() string { return wrappedHelp(m.help, m.keys.FullHelp(), m.width) }

// wrappedHelp lays key groups out in as many rows as width needs, where
// bubbles/help would cut the groups that do not fit.
func wrappedHelp(h help.Model, groups [][]key.Binding, width int) string {
	h.Width = 0
	var rows []string
	var row [][]key.Binding
	for _, group := range groups {
		if len(row) > 0 && lipgloss.Width(h.FullHelpView(append(row, group))) > width {
			rows = append(rows, h.FullHelpView(row))
			row = nil
		}
		row = append(row, group)
	}
	return strings.Join(append(rows, h.FullHelpView(row)), "\n")
}

// soakLines are the soak statistics, shown in the pane.
func (m *Model) soakLines() []string {
	st := m.snap.Stats
	if st == nil {
		return nil
	}
	gaps, trips := st.LongestGap > 0, st.RoundTrips > 0
	lines := []string{m.styles.Label.Render("soak statistics (s closes)"),
		fmt.Sprintf("observed %s   blind %s   availability %s", st.Observed.Round(time.Second), st.Blind.Round(time.Second), availability(st.Availability, st.Observed, st.Reports, 3)),
		fmt.Sprintf("dropouts %d   longest gap %s   MTBF %s", len(st.Dropouts), figure(gaps, "%s", st.LongestGap.Round(time.Millisecond)), figure(len(st.Dropouts) > 0, "%s", st.MTBF.Round(time.Second))),
		fmt.Sprintf("gap p50 %s   p95 %s   p99 %s", figure(gaps, "%s", st.GapP50.Round(time.Millisecond)), figure(gaps, "%s", st.GapP95.Round(time.Millisecond)), figure(gaps, "%s", st.GapP99.Round(time.Millisecond))),
		fmt.Sprintf("reboots %d   lost reports %d   device reconnects %d", st.Reboots, st.LostReports, st.DeviceReconnects),
		fmt.Sprintf("desired round trip p50 %s   p95 %s", figure(trips, "%s", st.RoundTripP50.Round(time.Millisecond)), figure(trips, "%s", st.RoundTripP95.Round(time.Millisecond)))}
	for i := max(0, len(st.Dropouts)-5); i < len(st.Dropouts); i++ {
		d := st.Dropouts[i]
		lines = append(lines, m.styles.Bad.Render(fmt.Sprintf("  dropout %s for %s (%s)", d.Start.Format("15:04:05"), d.Duration(m.now).Round(100*time.Millisecond), d.Cause)))
	}
	return lines
}
