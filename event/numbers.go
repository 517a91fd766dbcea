package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
)

// DecodeJSON is json.Unmarshal except for numbers: a number beyond float64
// (1e400, which the shadow service accepts) stays a json.Number holding its
// text instead of making the whole document fail; every other number in the
// maps of into becomes a float64 as usual. Call Fit on each map[string]any
// of into afterwards. into must be a pointer to a zero value.
func DecodeJSON(data []byte, into any) error {
	// The common case at json.Unmarshal's speed; only a document with a
	// number that does not fit is read again keeping numbers as text.
	err := json.Unmarshal(data, into)
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) || !strings.HasPrefix(typeErr.Value, "number") {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("invalid character after top-level value")
	}
	return nil
}

// Fit turns, in place, every json.Number leaf of m that a float64 holds into
// that float64; the others (beyond ±1.8e308) stay json.Number. It returns m.
func Fit(m map[string]any) map[string]any {
	for k, v := range m {
		m[k] = fit(v)
	}
	return m
}

func fit(v any) any {
	switch n := v.(type) {
	case json.Number:
		if f, err := strconv.ParseFloat(string(n), 64); err == nil && !math.IsInf(f, 0) {
			return f
		}
		return n
	case map[string]any:
		return Fit(n)
	case []any:
		for i := range n {
			n[i] = fit(n[i])
		}
	}
	return v
}
