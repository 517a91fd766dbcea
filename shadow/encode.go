package shadow

import (
	"encoding/json"
	"slices"
	"strconv"
)

// Encoding JSON trees by hand: encoding/json reflects on every map and
// sorts its keys through reflect.Value, which made it the largest cost of an
// update. Output is the same compact JSON with sorted keys.

// encodeTree returns the JSON of a decoded tree.
func encodeTree(v any) []byte { return appendTree(make([]byte, 0, 512), v) }

func appendTree(b []byte, v any) []byte {
	switch tv := v.(type) {
	case nil:
		return append(b, "null"...)
	case map[string]any:
		return appendObject(b, tv)
	case []any:
		b = append(b, '[')
		for i, e := range tv {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTree(b, e)
		}
		return append(b, ']')
	case json.Number:
		return append(b, tv...)
	case string:
		return appendString(b, tv)
	case bool:
		return strconv.AppendBool(b, tv)
	case int64:
		return strconv.AppendInt(b, tv, 10)
	}
	return append(b, marshal(v)...)
}

func appendObject(b []byte, m map[string]any) []byte {
	var small [16]string // most objects fit: no allocation for the keys
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendTree(b, m[k])
	}
	return append(b, '}')
}

// appendString writes plain ASCII directly and leaves escaping to
// encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return append(b, marshal(s)...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// encode writes an answer document, leaving out empty parts as AWS does.
func (a answer) encode() []byte {
	b := append(make([]byte, 0, 1024), '{')
	if len(a.State) > 0 {
		b = append(b, `"state":`...)
		b = appendObject(b, a.State)
		b = append(b, ',')
	}
	if a.Metadata != nil {
		b = append(b, `"metadata":`...)
		b = appendTree(b, a.Metadata)
		b = append(b, ',')
	}
	b = append(b, `"version":`...)
	b = strconv.AppendInt(b, a.Version, 10)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, a.Timestamp, 10)
	if a.ClientToken != "" {
		b = append(b, `,"clientToken":`...)
		b = appendString(b, a.ClientToken)
	}
	return append(b, '}')
}
