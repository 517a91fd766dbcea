package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Condition is one operator applied to one key, e.g.
// "ForAllValues:StringEquals": {"iot:ConnectAttributes": ["LastWill"]}.
type Condition struct {
	op     string // StringEquals, StringNotEquals, StringLike, StringNotLike, Bool
	set    string // "", "ForAllValues" or "ForAnyValue"
	key    string // lower case: IAM condition keys are case-insensitive
	values []string
}

var operators = map[string]bool{"StringEquals": true, "StringNotEquals": true,
	"StringLike": true, "StringNotLike": true, "StringEqualsIgnoreCase": true,
	"StringNotEqualsIgnoreCase": true, "Bool": true}

func compileConditions(raw map[string]map[string]stringOrList) ([]Condition, error) {
	var out []Condition
	for opName, keys := range raw {
		set, op, found := strings.Cut(opName, ":")
		if !found {
			set, op = "", opName
		}
		if !operators[op] || (set != "" && set != "ForAllValues" && set != "ForAnyValue") {
			return nil, fmt.Errorf("condition operator %q is not supported (StringEquals, StringLike, Bool, … optionally with ForAllValues:/ForAnyValue:)", opName)
		}
		for key, values := range keys {
			out = append(out, Condition{op: op, set: set, key: strings.ToLower(key), values: values})
		}
	}
	// Map order is random; keep evaluation order stable for tests and logs.
	sort.Slice(out, func(i, j int) bool { return out[i].op+out[i].key < out[j].op+out[j].key })
	return out, nil
}

func (c Condition) holds(req Request) bool {
	actual, present := lookup(req, c.key)
	switch c.set {
	case "ForAllValues": // every value of the key is among the condition's
		for _, a := range actual {
			if !c.one(a, req) {
				return false
			}
		}
		return true
	case "ForAnyValue":
		for _, a := range actual {
			if c.one(a, req) {
				return true
			}
		}
		return false
	}
	if !present {
		// A missing key satisfies only the negated operators (IAM rule).
		return c.op == "StringNotEquals" || c.op == "StringNotLike" || c.op == "StringNotEqualsIgnoreCase"
	}
	return c.one(actual[0], req)
}

func lookup(req Request, key string) ([]string, bool) {
	for k, v := range req.Context {
		if strings.ToLower(k) == key {
			return v, len(v) > 0
		}
	}
	if v, ok := req.Vars[key]; ok {
		return []string{v}, true
	}
	for k, v := range req.Vars {
		if strings.ToLower(k) == key {
			return []string{v}, true
		}
	}
	return nil, false
}

// one: does the single value a satisfy the operator against any of the
// condition's values (variables in them resolved)?
func (c Condition) one(a string, req Request) bool {
	hit := false
	for _, raw := range c.values {
		v, ok := Substitute(raw, req.Vars)
		if !ok {
			continue
		}
		if c.positive(a, v) {
			hit = true
			break
		}
	}
	if strings.Contains(c.op, "Not") {
		return !hit
	}
	return hit
}

func (c Condition) positive(a, v string) bool {
	switch c.op {
	case "StringLike", "StringNotLike":
		return Match(v, a)
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "Bool":
		return strings.EqualFold(restore(v), a)
	}
	return restore(v) == a
}

// restore turns Substitute's literal markers back into characters, for
// operators that compare without wildcards.
var restorer = strings.NewReplacer(string(litStar), "*", string(litQuestion), "?")

func restore(v string) string { return restorer.Replace(v) }
