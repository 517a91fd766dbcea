package config

import (
	"fmt"
	"path"
	"slices"

	"github.com/iotwatch/iotwatch/shadow"
)

// Fleet is true when [thing] chooses more than the one named thing.
func (t Thing) Fleet() bool { return len(t.Names) > 0 || t.Match != "" }

// Matches says whether a thing belongs to the fleet: one of Names, or
// matched by the Match glob (path.Match syntax: * ? [a-z]).
func (t Thing) Matches(name string) bool {
	if slices.Contains(t.Names, name) {
		return true
	}
	ok, _ := path.Match(t.Match, name) // validated at load
	return t.Match != "" && ok
}

// defaultName makes the first of names the thing of single-thing commands
// when name is left out.
func (t *Thing) defaultName() {
	if t.Name == "" && len(t.Names) > 0 {
		t.Name = t.Names[0]
	}
}

func thingNameError(t Thing) string {
	return fmt.Sprintf("[thing] name %q: use 1–128 characters of a-zA-Z0-9:_-", t.Name)
}

// OneThing is nil when the configuration names the one thing that
// single-thing commands (get, update, delete, doctor, sim) use; [thing]
// match alone chooses a fleet for watch and soak but no such thing.
func (c *Config) OneThing(command string) error {
	if c.Thing.Name != "" {
		return nil
	}
	return fmt.Errorf("%s: [thing] name is empty: %s works on one thing and match = %q names none; pass --thing NAME or set name = \"…\" in [thing]", c.Path, command, c.Thing.Match)
}

// validateFleet checks names and match.
func (t Thing) validateFleet() error {
	seen := map[string]bool{}
	for i, n := range t.Names {
		switch {
		case !shadow.ValidThingName(n):
			return fmt.Errorf("[thing] names[%d] %q: use 1–128 characters of a-zA-Z0-9:_-", i, n)
		case seen[n]:
			return fmt.Errorf("[thing] names[%d] %q is listed twice", i, n)
		}
		seen[n] = true
	}
	if t.Match == "" {
		return nil
	}
	if _, err := path.Match(t.Match, ""); err != nil {
		return fmt.Errorf("[thing] match %q is not a glob: use * for any run of characters, ? for one, [0-9] for a set, e.g. \"esp32-*\"", t.Match)
	}
	for _, r := range t.Match {
		if !globRune(r) {
			return fmt.Errorf("[thing] match %q: %q can never be in a thing name (a-zA-Z0-9:_- and the glob's * ? [ ] ^ \\)", t.Match, r)
		}
	}
	return nil
}

func globRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == ':' || r == '_' || r == '-' || r == '*' || r == '?' || r == '[' || r == ']' || r == '^' || r == '\\'
}
