package shadow

import (
	"encoding/json"
	"strconv"
)

// Documents are trees of decoded JSON: map[string]any, []any, json.Number,
// string, bool and nil. Merges copy what they change so that a stored
// Shadow is never mutated in place.

// maxDepth is AWS's nesting limit inside desired or reported; the section's
// own keys are level 1.
const maxDepth = 6

// merge applies patch to dst (a copy is returned) and records a timestamp
// for every leaf the patch sets in meta (also copied). null deletes a key;
// an object left empty disappears; arrays and scalars replace.
func merge(dst, meta, patch map[string]any, ts int64) (map[string]any, map[string]any) {
	dst, meta = copyMap(dst), copyMap(meta)
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(dst, k)
			delete(meta, k)
		case map[string]any:
			sub, _ := dst[k].(map[string]any)
			subMeta, _ := meta[k].(map[string]any)
			sub, subMeta = merge(sub, subMeta, pv, ts)
			if len(sub) == 0 {
				delete(dst, k)
				delete(meta, k)
				continue
			}
			dst[k], meta[k] = sub, subMeta
		default:
			dst[k], meta[k] = v, metaOf(v, ts)
		}
	}
	return emptyToNil(dst), emptyToNil(meta)
}

// metaOf mirrors v with {"timestamp": ts} leaves; arrays become arrays of
// per-element metadata.
func metaOf(v any, ts int64) any {
	switch tv := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(tv))
		for k, e := range tv {
			m[k] = metaOf(e, ts)
		}
		return m
	case []any:
		a := make([]any, len(tv))
		for i, e := range tv {
			a[i] = metaOf(e, ts)
		}
		return a
	default:
		return map[string]any{"timestamp": ts}
	}
}

// Delta returns every leaf of desired whose value differs from reported or
// is missing there, recursively (arrays compare whole); nil when none.
func Delta(desired, reported map[string]any) map[string]any {
	var out map[string]any
	for k, dv := range desired {
		rv, present := reported[k]
		dm, dIsMap := dv.(map[string]any)
		rm, rIsMap := rv.(map[string]any)
		var diff any
		switch {
		case dIsMap && rIsMap:
			if sub := Delta(dm, rm); sub != nil {
				diff = sub
			}
		case !present || !Equal(dv, rv):
			diff = dv
		}
		if diff != nil {
			if out == nil {
				out = map[string]any{}
			}
			out[k] = diff
		}
	}
	return out
}

// project keeps the parts of meta that have the shape of delta.
func project(meta, delta map[string]any) map[string]any {
	out := make(map[string]any, len(delta))
	for k, dv := range delta {
		sub, isMap := dv.(map[string]any)
		subMeta, metaIsMap := meta[k].(map[string]any)
		if isMap && metaIsMap {
			out[k] = project(subMeta, sub)
		} else if m, ok := meta[k]; ok {
			out[k] = m
		}
	}
	return out
}

// Equal compares two JSON values the way the shadow service does: objects
// key by key, arrays element by element, numbers by value (1 equals 1.0),
// whether they are json.Number (the service's own decoding), float64 (what
// encoding/json decodes) or a TOML integer. It is the one value equality of
// iotwatch.
func Equal(a, b any) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, e := range av {
			if f, ok := bv[k]; !ok || !Equal(e, f) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !Equal(av[i], bv[i]) {
				return false
			}
		}
		return true
	}
	if x, ok := numberText(a); ok {
		y, ok := numberText(b)
		return ok && numbersEqual(x, y)
	}
	return a == b
}

// numberText is a number's JSON text, for the number types iotwatch decodes.
func numberText(v any) (json.Number, bool) {
	switch n := v.(type) {
	case json.Number:
		return n, true
	case float64:
		return json.Number(strconv.FormatFloat(n, 'g', -1, 64)), true
	case int64:
		return json.Number(strconv.FormatInt(n, 10)), true
	case int:
		return json.Number(strconv.Itoa(n)), true
	}
	return "", false
}

// numbersEqual compares by value; a number beyond float64 (1e400) equals
// only its own text.
func numbersEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, errA := strconv.ParseFloat(string(a), 64)
	y, errB := strconv.ParseFloat(string(b), 64)
	return errA == nil && errB == nil && x == y
}

// checkTree enforces the depth limit and rejects null inside arrays. level
// is the depth of v's own keys.
func checkTree(v any, level int) *Error {
	switch tv := v.(type) {
	case map[string]any:
		if level > maxDepth && len(tv) > 0 {
			return errTooDeep
		}
		for _, e := range tv {
			if err := checkTree(e, level+1); err != nil {
				return err
			}
		}
	case []any:
		if level > maxDepth && len(tv) > 0 {
			return errTooDeep
		}
		for _, e := range tv {
			if e == nil {
				return errInvalidJSON
			}
			if err := checkTree(e, level+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func emptyToNil(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return m
}
