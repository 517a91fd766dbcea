package shadow

import (
	"bytes"
	"encoding/json"
	"testing"
)

func FuzzUpdate(f *testing.F) {
	for _, seed := range []string{
		`{"state":{"desired":{"a":1,"b":{"c":[1,2]}},"reported":{"a":2}}}`,
		`{"state":{"reported":null},"version":3,"clientToken":"x"}`,
		`{"state":{"desired":{"a":null}}}`, `{}`, `[]`, `{"state":{"x":1}}`,
	} {
		f.Add([]byte(`{"state":{"desired":{"a":1},"reported":{"b":2}}}`), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		cur := Update(Shadow{}, first, t0).Next
		res := Update(cur, second, t0)
		if (res.Accepted == nil) == (res.Rejected == nil) {
			t.Fatalf("exactly one of accepted/rejected expected: %+v", res)
		}
		if res.Rejected != nil {
			if res.Changed || res.Next.Version != cur.Version {
				t.Fatalf("rejection changed the shadow")
			}
			return
		}
		next := res.Next
		if next.Version != cur.Version+1 || !json.Valid(res.Accepted) || !json.Valid(res.Documents) {
			t.Fatalf("accepted update broke an invariant: %+v", res)
		}
		if len(marshal(sections(next.Desired, next.Reported))) > maxStateSize {
			t.Fatalf("stored state over the size limit")
		}
		for _, section := range []map[string]any{next.Desired, next.Reported} {
			if err := checkTree(section, 1); err != nil {
				t.Fatalf("stored section breaks limits: %v", err)
			}
		}
		delta := Delta(next.Desired, next.Reported)
		if (delta == nil) != (res.Delta == nil) {
			t.Fatalf("delta message %s disagrees with Delta %v", res.Delta, delta)
		}
	})
}

func FuzzMergeDelta(f *testing.F) {
	f.Add([]byte(`{"a":{"b":1},"c":[1]}`), []byte(`{"a":{"b":2},"d":null}`))
	f.Fuzz(func(t *testing.T, base, patch []byte) {
		var b, p map[string]any
		if json.Unmarshal(base, &b) != nil || json.Unmarshal(patch, &p) != nil {
			return
		}
		merged, _ := merge(b, nil, p, 1)
		// After merging a patch into itself, nothing differs: delta is empty.
		if d := Delta(merged, merged); d != nil {
			t.Fatalf("Delta(x, x) = %v", d)
		}
		// Every key of the patch that is not null ends in merged.
		for k, v := range p {
			if _, has := merged[k]; v != nil && !has && !isEmptyObject(v) {
				t.Fatalf("key %q lost", k)
			}
		}
	})
}

func isEmptyObject(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, e := range m {
		if e != nil && !isEmptyObject(e) {
			return false
		}
	}
	return true
}

func BenchmarkUpdateDeviceReport(b *testing.B) {
	cur := Update(Shadow{}, []byte(`{"state":{"desired":{"led":true,"setpoint":21}}}`), t0).Next
	report := []byte(`{"state":{"reported":{"temp":23.4,"seq":1234,"uptime_s":86400,"interval_s":5,"led":true,"setpoint":21,"rssi":-61,"heap_free":182000,"fw":"1.0.0","reset_reason":"POWERON"}},"clientToken":"r-1234"}`)
	b.ReportAllocs()
	for b.Loop() {
		cur = Update(cur, report, t0).Next
	}
}

// FuzzEncodeTree: the hand encoder writes exactly what encoding/json writes.
func FuzzEncodeTree(f *testing.F) {
	f.Add([]byte(`{"b":[1,"x<y",true,null,{"z":1.50}],"a":"é\n","c":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		if got, want := encodeTree(v), marshal(v); !bytes.Equal(got, want) {
			t.Fatalf("encodeTree %s, encoding/json %s", got, want)
		}
	})
}
