package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// typeErrorRe matches BurntSushi/toml's wording of a value of the wrong type.
var typeErrorRe = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]+)"\): incompatible types: TOML value has type (\w+); destination has type (\w+)`)

// tomlTypeNames turn the library's Go-ish type names into TOML's.
var tomlTypeNames = map[string]string{"int64": "an integer", "integer": "an integer", "float": "a number",
	"float64": "a number", "string": "a string", "bool": "true or false", "slice": "an array", "map": "a table"}

// explainDecodeError words a TOML error for a person: the file and line,
// the key as written in the file, what it should be and how to write it.
func explainDecodeError(path string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: not valid TOML: %s", path, pe.Position.Line, pe.Message)
	}
	m := typeErrorRe.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	line, key, got, want := m[1], m[2], typeName(m[3]), typeName(m[4])
	section, name, _ := strings.Cut(key, ".")
	fix := ""
	switch want {
	case "an integer", "a number":
		fix = fmt.Sprintf(": write it without quotes, e.g. %s = %s", name, map[string]string{"an integer": "8883", "a number": "2.5"}[want])
	case "a string":
		fix = fmt.Sprintf(`: put it in quotes, e.g. %s = "value"`, name)
	}
	table := "[" + section + "]"
	if section == "control" {
		table = "[[control]]"
	}
	return fmt.Errorf("%s:%s: %s %s must be %s, not %s%s", path, line, table, name, want, got, fix)
}

func typeName(t string) string {
	if n, ok := tomlTypeNames[t]; ok {
		return n
	}
	return t
}
