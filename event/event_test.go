package event

import (
	"encoding/json"
	"testing"
)

func TestDecodeJSONKeepsNumbersBeyondFloat64(t *testing.T) {
	var m map[string]any
	if err := DecodeJSON([]byte(`{"big":1e400,"neg":-1e999,"t":21.5,"tiny":1e-400,"a":[1,{"b":2e308}],"s":"x"}`), &m); err != nil {
		t.Fatal(err)
	}
	Fit(m)
	if m["big"] != json.Number("1e400") || m["neg"] != json.Number("-1e999") || m["t"] != 21.5 || m["tiny"] != 0.0 || m["s"] != "x" {
		t.Fatalf("decoded %#v", m)
	}
	inner := m["a"].([]any)
	if inner[0] != 1.0 || inner[1].(map[string]any)["b"] != json.Number("2e308") {
		t.Fatalf("nested %#v", inner)
	}
	for _, bad := range []string{`{"a":1} x`, `{"a":`, `[1] [2]`} {
		if err := DecodeJSON([]byte(bad), &m); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
