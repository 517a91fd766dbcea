package shadow

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var t0 = time.Unix(1764000000, 0)

// apply runs a sequence of updates from an empty shadow and returns the last result.
func apply(t *testing.T, payloads ...string) Result {
	t.Helper()
	var cur Shadow
	var res Result
	for _, p := range payloads {
		res = Update(cur, []byte(p), t0)
		cur = res.Next
	}
	return res
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, b)
	}
	return m
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUpdateRejections(t *testing.T) {
	deep := `{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}`
	big := `{"state":{"reported":{"x":"` + strings.Repeat("a", 8200) + `"}}}`
	cases := []struct {
		name, payload string
		code          int
		message       string
		token         string
	}{
		{"not json", `{"state":`, 400, "Invalid JSON", ""},
		{"not an object", `[1,2]`, 400, "Invalid JSON", ""},
		{"trailing data", `{"state":{"reported":{"a":1}}} x`, 400, "Invalid JSON", ""},
		{"data after NUL", "{\"state\":{\"reported\":{\"a\":1}}}\x00x", 400, "Invalid JSON", ""},
		{"NUL inside", "{\"state\":{\"reported\":{\"a\":1}}\x00}", 400, "Invalid JSON", ""},
		{"only NULs", "\x00\x00", 400, "Invalid JSON", ""},
		{"not utf8", "{\"state\":{\"reported\":{\"a\":\"\xff\"}}}", 415, "Unsupported documented encoding; supported encoding is UTF-8", ""},
		{"no state", `{"clientToken":"t1"}`, 400, "Missing required node: state", "t1"},
		{"empty state", `{"state":{}}`, 400, "Missing required node: state", ""},
		{"state string", `{"state":"x"}`, 400, "State node must be an object", ""},
		{"desired number", `{"state":{"desired":5}}`, 400, "Desired node must be an object", ""},
		{"reported array", `{"state":{"reported":[1]}}`, 400, "Reported node must be an object", ""},
		{"unknown node", `{"state":{"delta":{"a":1}}}`, 400, "State contains an invalid node", ""},
		{"bad version", `{"state":{"reported":{"a":1}},"version":"x"}`, 400, "Invalid version", ""},
		{"negative version", `{"state":{"reported":{"a":1}},"version":-1}`, 400, "Invalid version", ""},
		{"token not string", `{"state":{"reported":{"a":1}},"clientToken":5}`, 400, "Invalid clientToken", ""},
		{"token too long", `{"state":{"reported":{"a":1}},"clientToken":"` + strings.Repeat("t", 65) + `"}`, 400, "Invalid clientToken", ""},
		{"too deep", `{"state":{"desired":` + deep + `}}`, 400, "JSON contains too many levels of nesting; maximum is 6", ""},
		{"null in array", `{"state":{"desired":{"a":[1,null]}}}`, 400, "Invalid JSON", ""},
		{"version conflict", `{"state":{"reported":{"a":1}},"version":7,"clientToken":"c"}`, 409, "Version conflict", "c"},
		{"too large", big, 413, "The payload exceeds the maximum size allowed", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Update(Shadow{}, []byte(c.payload), t0)
			if res.Accepted != nil || res.Changed || res.Delta != nil || res.Documents != nil {
				t.Fatalf("rejected request produced answers: %+v", res)
			}
			got := decode(t, res.Rejected)
			if int(got["code"].(float64)) != c.code || got["message"] != c.message {
				t.Fatalf("got %s, want %d %q", res.Rejected, c.code, c.message)
			}
			if tok, _ := got["clientToken"].(string); tok != c.token {
				t.Fatalf("clientToken %q, want %q", tok, c.token)
			}
			if got["timestamp"] != float64(t0.Unix()) {
				t.Fatalf("timestamp missing: %s", res.Rejected)
			}
		})
	}
}

// TestTrailingNULAccepted: the C SDK's shadow demo sends its JSON with the
// C string's terminator (length + 1); AWS accepts it, as any NULs after
// the JSON.
func TestTrailingNULAccepted(t *testing.T) {
	for _, tail := range []string{"\x00", "\x00\x00\x00", " \x00"} {
		res := Update(Shadow{}, []byte(`{"state":{"desired":{"powerOn":1}},"clientToken":"c1"}`+tail), t0)
		if res.Rejected != nil || !res.Changed {
			t.Fatalf("payload + %q: %s", tail, res.Rejected)
		}
		if g := Get(res.Next, []byte(`{"clientToken":"g1"}`+tail), "esp32", t0); g.Rejected != nil {
			t.Fatalf("get + %q: %s", tail, g.Rejected)
		}
		if g := Get(res.Next, []byte(tail), "esp32", t0); g.Rejected != nil {
			t.Fatalf("get of only %q: %s", tail, g.Rejected)
		}
	}
}

func TestDepthSixAccepted(t *testing.T) {
	six := `{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}`
	if res := Update(Shadow{}, []byte(`{"state":{"desired":`+six+`}}`), t0); res.Accepted == nil {
		t.Fatalf("six levels rejected: %s", res.Rejected)
	}
}

func TestUpdateAcceptedDocuments(t *testing.T) {
	res := apply(t, `{"state":{"reported":{"temp":21.5,"led":false}},"clientToken":"a"}`,
		`{"state":{"desired":{"led":true,"cfg":{"x":[1,2]}}},"clientToken":"b"}`)
	if res.Next.Version != 2 || !res.Next.Exists {
		t.Fatalf("version %d exists %v", res.Next.Version, res.Next.Exists)
	}
	ts := t0.Unix()
	wantAccepted := mustJSON(t, map[string]any{
		"state":    map[string]any{"desired": map[string]any{"led": true, "cfg": map[string]any{"x": []any{1, 2}}}},
		"metadata": map[string]any{"desired": map[string]any{"led": map[string]any{"timestamp": ts}, "cfg": map[string]any{"x": []any{map[string]any{"timestamp": ts}, map[string]any{"timestamp": ts}}}}},
		"version":  2, "timestamp": ts, "clientToken": "b"})
	if mustJSON(t, decode(t, res.Accepted)) != wantAccepted {
		t.Fatalf("accepted\n got %s\nwant %s", res.Accepted, wantAccepted)
	}
	wantDelta := mustJSON(t, map[string]any{
		"state":    map[string]any{"led": true, "cfg": map[string]any{"x": []any{1, 2}}},
		"metadata": map[string]any{"led": map[string]any{"timestamp": ts}, "cfg": map[string]any{"x": []any{map[string]any{"timestamp": ts}, map[string]any{"timestamp": ts}}}},
		"version":  2, "timestamp": ts, "clientToken": "b"})
	if mustJSON(t, decode(t, res.Delta)) != wantDelta {
		t.Fatalf("delta\n got %s\nwant %s", res.Delta, wantDelta)
	}
	docs := decode(t, res.Documents)
	prev := docs["previous"].(map[string]any)
	cur := docs["current"].(map[string]any)
	if prev["version"] != 1.0 || cur["version"] != 2.0 || docs["clientToken"] != "b" {
		t.Fatalf("documents: %s", res.Documents)
	}
	if _, has := prev["state"].(map[string]any)["desired"]; has {
		t.Fatalf("previous has desired: %s", res.Documents)
	}
}

func TestFirstDocumentsPreviousNull(t *testing.T) {
	res := apply(t, `{"state":{"reported":{"a":1}}}`)
	if !strings.Contains(string(res.Documents), `"previous":null`) || res.Delta != nil {
		t.Fatalf("documents %s delta %s", res.Documents, res.Delta)
	}
	if strings.Contains(string(res.Accepted), "clientToken") {
		t.Fatalf("clientToken without request token: %s", res.Accepted)
	}
}

func TestMerge(t *testing.T) {
	cases := []struct {
		name     string
		updates  []string
		desired  string
		reported string
	}{
		{"nested merge", []string{`{"state":{"desired":{"a":{"b":1,"c":2}}}}`, `{"state":{"desired":{"a":{"c":3,"d":4}}}}`}, `{"a":{"b":1,"c":3,"d":4}}`, `null`},
		{"array replaces", []string{`{"state":{"desired":{"a":[1,2,3]}}}`, `{"state":{"desired":{"a":[4]}}}`}, `{"a":[4]}`, `null`},
		{"null deletes key", []string{`{"state":{"desired":{"a":1,"b":2}}}`, `{"state":{"desired":{"a":null}}}`}, `{"b":2}`, `null`},
		{"last key drops section", []string{`{"state":{"desired":{"a":1},"reported":{"a":1}}}`, `{"state":{"desired":{"a":null}}}`}, `null`, `{"a":1}`},
		{"emptied object disappears", []string{`{"state":{"reported":{"a":{"b":1},"c":1}}}`, `{"state":{"reported":{"a":{"b":null}}}}`}, `null`, `{"c":1}`},
		{"section null", []string{`{"state":{"desired":{"a":1},"reported":{"b":2}}}`, `{"state":{"reported":null}}`}, `{"a":1}`, `null`},
		{"scalar replaces object", []string{`{"state":{"reported":{"a":{"b":1}}}}`, `{"state":{"reported":{"a":5}}}`}, `null`, `{"a":5}`},
		{"object replaces scalar", []string{`{"state":{"reported":{"a":5}}}`, `{"state":{"reported":{"a":{"b":1}}}}`}, `null`, `{"a":{"b":1}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := apply(t, c.updates...)
			if res.Rejected != nil {
				t.Fatalf("rejected: %s", res.Rejected)
			}
			if got := mustJSON(t, res.Next.Desired); got != c.desired {
				t.Errorf("desired %s, want %s", got, c.desired)
			}
			if got := mustJSON(t, res.Next.Reported); got != c.reported {
				t.Errorf("reported %s, want %s", got, c.reported)
			}
			if mustJSON(t, res.Next.DesiredMeta) == "null" != (c.desired == "null") {
				t.Errorf("desired metadata %s does not mirror %s", mustJSON(t, res.Next.DesiredMeta), c.desired)
			}
		})
	}
}

func TestMergeDoesNotMutateInput(t *testing.T) {
	first := apply(t, `{"state":{"desired":{"a":{"b":1}}}}`).Next
	before := mustJSON(t, first)
	Update(first, []byte(`{"state":{"desired":{"a":{"b":2,"c":null}}}}`), t0)
	if after := mustJSON(t, first); after != before {
		t.Fatalf("stored shadow changed: %s -> %s", before, after)
	}
}

func TestDelta(t *testing.T) {
	cases := []struct{ desired, reported, want string }{
		{`{"a":1}`, `{"a":1}`, `null`},
		{`{"a":1}`, `{"a":1.0}`, `null`},
		{`{"a":1}`, `{"a":2}`, `{"a":1}`},
		{`{"a":1}`, `{}`, `{"a":1}`},
		{`{"a":{"b":1,"c":2}}`, `{"a":{"b":1,"c":3}}`, `{"a":{"c":2}}`},
		{`{"a":{"b":1}}`, `{"a":5}`, `{"a":{"b":1}}`},
		{`{"a":[1,2]}`, `{"a":[1,2]}`, `null`},
		{`{"a":[1,2]}`, `{"a":[2,1]}`, `{"a":[1,2]}`},
		{`{"a":"x","b":true}`, `{"a":"x","b":false,"c":1}`, `{"b":true}`},
	}
	for _, c := range cases {
		var d, r map[string]any
		json.Unmarshal([]byte(c.desired), &d)
		json.Unmarshal([]byte(c.reported), &r)
		if got := mustJSON(t, Delta(d, r)); got != c.want {
			t.Errorf("Delta(%s, %s) = %s, want %s", c.desired, c.reported, got, c.want)
		}
	}
}

func TestDeltaCarriesWholeCurrentDelta(t *testing.T) {
	res := apply(t, `{"state":{"desired":{"a":1,"b":2}}}`, `{"state":{"desired":{"b":3}},"clientToken":"z"}`)
	got := decode(t, res.Delta)
	if mustJSON(t, got["state"]) != `{"a":1,"b":3}` || got["clientToken"] != "z" {
		t.Fatalf("delta: %s", res.Delta)
	}
}

func TestVersioning(t *testing.T) {
	s := apply(t, `{"state":{"reported":{"a":1}}}`).Next
	res := Update(s, []byte(`{"state":{"reported":{"a":2}},"version":1}`), t0)
	if res.Accepted == nil || res.Next.Version != 2 {
		t.Fatalf("matching version rejected: %s", res.Rejected)
	}
	del := Delete(res.Next, []byte(`{"clientToken":"d"}`), "thing1", t0)
	if string(del.Accepted) != `{"version":2,"timestamp":1764000000,"clientToken":"d"}` {
		t.Fatalf("delete accepted: %s", del.Accepted)
	}
	if del.Next.Exists || del.Next.Version != 2 || !del.Changed {
		t.Fatalf("after delete: %+v", del.Next)
	}
	again := Update(del.Next, []byte(`{"state":{"reported":{"b":1}}}`), t0)
	if again.Next.Version != 3 || mustJSON(t, again.Next.Reported) != `{"b":1}` {
		t.Fatalf("re-created shadow: %+v", again.Next)
	}
	if !strings.Contains(string(again.Documents), `"previous":null`) {
		t.Fatalf("re-created shadow documents: %s", again.Documents)
	}
}

func TestGet(t *testing.T) {
	s := apply(t, `{"state":{"desired":{"led":true},"reported":{"led":false,"t":20}}}`).Next
	for _, payload := range []string{``, `{"clientToken":"g1"}`, `{"clientToken":"g1","version":9}`} {
		res := Get(s, []byte(payload), "thing1", t0)
		got := decode(t, res.Accepted)
		state := got["state"].(map[string]any)
		if mustJSON(t, state["delta"]) != `{"led":true}` || got["version"] != 1.0 {
			t.Fatalf("get(%q): %s", payload, res.Accepted)
		}
		if _, ok := got["metadata"].(map[string]any)["reported"]; !ok || res.Changed {
			t.Fatalf("get(%q): %s", payload, res.Accepted)
		}
	}
}

func TestNotFound(t *testing.T) {
	for name, res := range map[string]Result{
		"get":    Get(Shadow{}, []byte(`{"clientToken":"x"}`), "esp32", t0),
		"delete": Delete(Shadow{Version: 4}, nil, "esp32", t0),
	} {
		got := decode(t, res.Rejected)
		if got["code"] != 404.0 || got["message"] != "No shadow exists with name: 'esp32'" {
			t.Errorf("%s: %s", name, res.Rejected)
		}
		if _, has := got["timestamp"]; has {
			t.Errorf("%s: 404 carries a timestamp: %s", name, res.Rejected)
		}
	}
	if res := Get(Shadow{}, []byte(`nope`), "esp32", t0); !strings.Contains(string(res.Rejected), "Invalid JSON") {
		t.Errorf("get with bad JSON: %s", res.Rejected)
	}
}

func TestNumbersExact(t *testing.T) {
	res := apply(t, `{"state":{"reported":{"big":12345678901234567890,"f":1.10}}}`)
	if !strings.Contains(string(res.Accepted), `"big":12345678901234567890`) || !strings.Contains(string(res.Accepted), `"f":1.10`) {
		t.Fatalf("numbers changed: %s", res.Accepted)
	}
	round, err := Decode([]byte(mustJSON(t, res.Next)))
	if err != nil || mustJSON(t, round) != mustJSON(t, res.Next) {
		t.Fatalf("Decode round trip: %v", err)
	}
}

func TestParseTopic(t *testing.T) {
	cases := []struct {
		topic                 string
		thing, name, op, rest string
		ok                    bool
	}{
		{"$aws/things/t1/shadow/update", "t1", "", "update", "", true},
		{"$aws/things/t1/shadow/get/accepted", "t1", "", "get", "accepted", true},
		{"$aws/things/t1/shadow/name/cfg/update/delta", "t1", "cfg", "update", "delta", true},
		{"$aws/things/t1/shadow/delete/rejected", "t1", "", "delete", "rejected", true},
		{"$aws/things/t1/shadow/get/delta", "", "", "", "", false},
		{"$aws/things/t1/shadow/update/accepted/x", "", "", "", "", false},
		{"$aws/things/t 1/shadow/update", "", "", "", "", false},
		{"$aws/things/t1/shadow/name/update", "", "", "", "", false},
		{"$aws/things/t1/other/update", "", "", "", "", false},
		{"things/t1/shadow/update", "", "", "", "", false},
	}
	for _, c := range cases {
		thing, name, op, rest, ok := ParseTopic(c.topic)
		if ok != c.ok || thing != c.thing || name != c.name || op != c.op || rest != c.rest {
			t.Errorf("ParseTopic(%q) = %q %q %q %q %v", c.topic, thing, name, op, rest, ok)
		}
	}
	if Prefix("t1", "") != "$aws/things/t1/shadow" || Prefix("t1", "n") != "$aws/things/t1/shadow/name/n" {
		t.Error("Prefix")
	}
}

func TestNames(t *testing.T) {
	cases := []struct {
		s             string
		thing, shadow bool
	}{
		{"esp32-pico_1:a", true, true},
		{"", false, false},
		{strings.Repeat("a", 64), true, true},
		{strings.Repeat("a", 65), true, false},
		{strings.Repeat("a", 129), false, false},
		{"a/b", false, false},
		{"a b", false, false},
	}
	for _, c := range cases {
		if ValidThingName(c.s) != c.thing || ValidShadowName(c.s) != c.shadow {
			t.Errorf("%q: thing %v shadow %v", c.s, ValidThingName(c.s), ValidShadowName(c.s))
		}
	}
}
