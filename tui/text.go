package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// truncate cuts s to at most width terminal cells, ending in "…" when cut.
// It counts display width, not bytes or runes: "温度" is four cells, and a
// cut never splits a character or an escape sequence.
func truncate(s string, width int) string {
	return ansi.Truncate(s, max(width, 0), "…")
}

// pad truncates s to width cells and fills it with spaces to exactly width.
func pad(s string, width int) string {
	s = truncate(s, width)
	return s + strings.Repeat(" ", max(0, width-ansi.StringWidth(s)))
}

// truncateLeft keeps the end of s within width cells, starting with "…"
// when cut: topics differ at their end.
func truncateLeft(s string, width int) string {
	if ansi.StringWidth(s) <= width {
		return s
	}
	return "…" + ansi.TruncateLeft(s, ansi.StringWidth(s)-width+1, "")
}
