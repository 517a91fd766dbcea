package e2e

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// buildBinary builds iotwatch once per test into its temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "iotwatch")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	return bin
}

// keys sends tmux key names (Escape, Enter) or literal text.
func (term *terminal) keys(keys ...string) {
	term.tmux(append([]string{"send-keys", "-t", "e2e"}, keys...)...)
}

var versionRe = regexp.MustCompile(`  v[1-9]\d*\b`)

// TestDemoScreens drives every screen of the demo at 80×24 and 160×50 in a
// real terminal: the frame fills the terminal without a line too wide, the
// header keeps device state, link and version, the footer ends in "? help
// • q quit", and help, document, raw topics, editor, soak panel and a
// dropout each show what they are for.
func TestDemoScreens(t *testing.T) {
	bin := buildBinary(t)
	for _, size := range [][2]int{{80, 24}, {160, 50}} {
		t.Run(strconv.Itoa(size[0])+"x"+strconv.Itoa(size[1]), func(t *testing.T) {
			term := startSized(t, "TMPDIR="+t.TempDir()+" "+bin+" demo", size[0], size[1])
			check := func(what string, match func(string) bool) string {
				t.Helper()
				s := term.waitFor(what, match)
				lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
				if len(lines) != size[1] || !strings.HasSuffix(strings.TrimRight(lines[len(lines)-1], " "), "? help • q quit") && !strings.Contains(s, "q   quit") {
					t.Errorf("%s: %d lines, last %q:\n%s", what, len(lines), lines[len(lines)-1], s)
				}
				for i, l := range lines {
					if !utf8.ValidString(l) || utf8.RuneCountInString(l) > size[0] {
						t.Errorf("%s: line %d too wide: %q", what, i, l)
					}
				}
				return s
			}
			check("the device reporting", func(s string) bool {
				return strings.Contains(s, "device online") && strings.Contains(s, "link up") && versionRe.MatchString(s) &&
					strings.Contains(s, "┤") && strings.Contains(s, "iotwatch-sim/0.1.0") && strings.Contains(s, "round trip p50")
			})
			check("the plot's min and max its bottom and top labels", plotAgrees)
			term.keys("?")
			check("the full help", contains("esc close help or pane"))
			term.keys("Escape")
			check("the help closed by esc", func(s string) bool { return !strings.Contains(s, "esc close help") && strings.Contains(s, "┤") })
			term.keys("d")
			check("the shadow document", func(s string) bool {
				return strings.Contains(s, "shadow document v") && strings.Contains(s, `"reported": {`) && strings.Contains(s, "reported: ")
			})
			// Escape then a key at once reads as alt+key: wait for each Escape to act.
			closed := func(what string) { check(what+" closed", func(s string) bool { return !strings.Contains(s, what) }) }
			term.keys("Escape")
			closed("shadow document")
			term.keys("t")
			check("the filter prompt", contains("filter: "))
			term.keys("Enter") // on the empty prompt: the filter shown in grey
			check("raw messages", func(s string) bool {
				return strings.Contains(s, "subscribed: $aws/things/+/shadow/#") && strings.Contains(s, "/s ") && strings.Contains(s, `"reported": {`)
			})
			term.keys("Escape")
			closed("raw topics")
			term.keys("e")
			check("the editor", contains("ctrl+s send"))
			term.keys("-l", "{,")
			term.keys("C-s")
			check("the editor's error", contains("line 1, column 2: invalid character ','"))
			term.keys("Escape")
			closed("invalid character") // the error stands where the editor's hint was
			term.keys("s")
			check("the soak statistics", func(s string) bool { return strings.Contains(s, "soak statistics") && strings.Contains(s, "  key ") })
			term.keys("s") // keys sent together arrive as one: wait for each
			closed("soak statistics")
			term.keys("D")
			check("a dropout", func(s string) bool { return strings.Contains(s, "✖") && strings.Contains(s, "device offline") })
			check("the demo key's status gone", func(s string) bool { return !strings.Contains(s, "demo: device drops") })
			check("the plot's min and max its bottom and top labels", plotAgrees)
			term.keys("q")
			term.waitExit()
		})
	}
}

var (
	titleRe = regexp.MustCompile(`min (-?\d+\.\d+)  max (-?\d+\.\d+)`)
	labelRe = regexp.MustCompile(`(?m)^\s*(-?\d+\.\d+) [┤┼]`)
)

// plotAgrees is whether the plot title's min and max are the y axis's
// bottom and top labels (the axis ran past the reports, or short of them).
func plotAgrees(screen string) bool {
	title, labels := titleRe.FindStringSubmatch(screen), labelRe.FindAllStringSubmatch(screen, -1)
	return title != nil && len(labels) > 1 && title[2] == labels[0][1] && title[1] == labels[len(labels)-1][1]
}
