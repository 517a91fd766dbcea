package shadow

import (
	"encoding/json"
	"testing"
)

func TestEqual(t *testing.T) {
	cases := []struct {
		a, b any
		want bool
	}{
		{json.Number("1"), json.Number("1.0"), true},
		{json.Number("1"), 1.0, true},
		{int64(60), 60.0, true},
		{60, json.Number("6e1"), true},
		{json.Number("1e400"), json.Number("1e400"), true},
		{json.Number("1e400"), json.Number("2e400"), false},
		{json.Number("1e400"), 1.0, false},
		{1.5, 1.25, false},
		{"1", 1.0, false},
		{true, true, true},
		{true, false, false},
		{nil, nil, true},
		{nil, false, false},
		{map[string]any{"a": 1.0, "b": []any{json.Number("2")}}, map[string]any{"a": json.Number("1"), "b": []any{2.0}}, true},
		{map[string]any{"a": 1.0}, map[string]any{"a": 1.0, "b": 2.0}, false},
		{[]any{1.0, 2.0}, []any{2.0, 1.0}, false},
		{[]any{}, map[string]any{}, false},
	}
	for _, c := range cases {
		if got := Equal(c.a, c.b); got != c.want {
			t.Errorf("Equal(%#v, %#v) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := Equal(c.b, c.a); got != c.want {
			t.Errorf("Equal(%#v, %#v) = %v, want %v (reversed)", c.b, c.a, got, c.want)
		}
	}
}
