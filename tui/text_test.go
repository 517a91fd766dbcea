package tui

import (
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

func TestTruncateAndPadByDisplayWidth(t *testing.T) {
	cases := []struct {
		in         string
		width      int
		trunc, pad string
	}{
		{"abc", 5, "abc", "abc  "},
		{"abcdef", 4, "abc…", "abc…"},
		{"éééééé", 4, "ééé…", "ééé…"},
		{"ééé", 4, "ééé", "ééé "},
		{"温度温度", 5, "温度…", "温度…"},
		{"温度温度", 4, "温…", "温… "},
		{"温度", 4, "温度", "温度"},
		{"", 3, "", "   "},
	}
	for _, c := range cases {
		got, padded := truncate(c.in, c.width), pad(c.in, c.width)
		if got != c.trunc || padded != c.pad {
			t.Errorf("truncate(%q, %d) = %q, pad = %q; want %q and %q", c.in, c.width, got, padded, c.trunc, c.pad)
		}
		if !utf8.ValidString(got) || ansi.StringWidth(got) > c.width || ansi.StringWidth(padded) != c.width {
			t.Errorf("%q at %d: %q is invalid UTF-8 or the wrong width", c.in, c.width, got)
		}
	}
}
