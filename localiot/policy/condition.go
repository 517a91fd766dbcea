package policy

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Condition is one operator applied to one key, e.g.
// "ForAllValues:StringEquals": {"iot:ConnectAttributes": ["LastWill"]}.
type Condition struct {
	op       string // StringEquals, …, Bool, Null, NumericLessThan, DateLessThan, ArnLike, IpAddress, …
	ifExists bool   // …IfExists: a missing key satisfies it
	set      string // "", "ForAllValues" or "ForAnyValue"
	key      string // lower case: IAM condition keys are case-insensitive
	values   []string
}

// The operators of IAM's condition element (IAM User Guide, "Condition
// operators"); each but Null may end in IfExists.
var operators = map[string]bool{"Null": true, "Bool": true, "IpAddress": true, "NotIpAddress": true,
	"StringEquals": true, "StringNotEquals": true, "StringLike": true, "StringNotLike": true,
	"StringEqualsIgnoreCase": true, "StringNotEqualsIgnoreCase": true,
	"ArnEquals": true, "ArnNotEquals": true, "ArnLike": true, "ArnNotLike": true,
	"NumericEquals": true, "NumericNotEquals": true, "NumericLessThan": true, "NumericLessThanEquals": true,
	"NumericGreaterThan": true, "NumericGreaterThanEquals": true,
	"DateEquals": true, "DateNotEquals": true, "DateLessThan": true, "DateLessThanEquals": true,
	"DateGreaterThan": true, "DateGreaterThanEquals": true}

func compileConditions(raw map[string]map[string]valueList) ([]Condition, error) {
	var out []Condition
	for opName, keys := range raw {
		set, op, found := strings.Cut(opName, ":")
		if !found {
			set, op = "", opName
		}
		base, ifExists := strings.CutSuffix(op, "IfExists")
		if !operators[base] || ifExists && base == "Null" || (set != "" && set != "ForAllValues" && set != "ForAnyValue") {
			return nil, fmt.Errorf("condition operator %q is not one of IAM's (StringEquals, StringLike, Bool, Null, NumericLessThan, DateLessThan, ArnLike, IpAddress, …, optionally …IfExists, ForAllValues:, ForAnyValue:)", opName)
		}
		for key, values := range keys {
			out = append(out, Condition{op: base, ifExists: ifExists, set: set, key: strings.ToLower(key), values: values})
		}
	}
	// Map order is random; keep evaluation order stable for tests and logs.
	sort.Slice(out, func(i, j int) bool { return out[i].op+out[i].key < out[j].op+out[j].key })
	return out, nil
}

// negated operators hold when none of their values matches, and for a
// missing key (IAM's rule).
func (c Condition) negated() bool { return strings.Contains(c.op, "Not") }

func (c Condition) holds(req Request) bool {
	actual, present := lookup(req, c.key)
	if c.op == "Null" { // "true": the key is absent; "false": present
		for _, v := range c.values {
			if strings.EqualFold(v, "true") != present {
				return true
			}
		}
		return false
	}
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
		return c.ifExists || c.negated()
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
	switch key { // IAM's global time keys, for Date… conditions
	case "aws:currenttime":
		return []string{req.now().UTC().Format(time.RFC3339)}, true
	case "aws:epochtime":
		return []string{strconv.FormatInt(req.now().Unix(), 10)}, true
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
	return hit != c.negated()
}

// positive compares the request's value a with the condition's value v,
// without the operator's negation; a value of the wrong kind (a number
// that is not one, a date, an address) matches nothing.
func (c Condition) positive(a, v string) bool {
	switch {
	case c.op == "StringLike" || c.op == "StringNotLike" || strings.HasPrefix(c.op, "Arn"):
		return Match(v, a)
	case c.op == "StringEqualsIgnoreCase" || c.op == "StringNotEqualsIgnoreCase" || c.op == "Bool":
		return strings.EqualFold(restore(v), a)
	case c.op == "IpAddress" || c.op == "NotIpAddress":
		return inPrefix(a, restore(v))
	case strings.HasPrefix(c.op, "Numeric"):
		x, errA := strconv.ParseFloat(a, 64)
		y, errV := strconv.ParseFloat(restore(v), 64)
		return errA == nil && errV == nil && compare(c.op, cmpFloat(x, y))
	case strings.HasPrefix(c.op, "Date"):
		x, okA := parseDate(a)
		y, okV := parseDate(restore(v))
		return okA && okV && compare(c.op, x.Compare(y))
	}
	return restore(v) == a
}

// compare applies a Numeric… or Date… operator to a comparison's sign
// (the Not… form is applied by one).
func compare(op string, sign int) bool {
	switch {
	case strings.HasSuffix(op, "LessThanEquals"):
		return sign <= 0
	case strings.HasSuffix(op, "LessThan"):
		return sign < 0
	case strings.HasSuffix(op, "GreaterThanEquals"):
		return sign >= 0
	case strings.HasSuffix(op, "GreaterThan"):
		return sign > 0
	}
	return sign == 0 // …Equals, …NotEquals
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// parseDate reads IAM's dates: ISO 8601 (a date, or a time in UTC or with
// an offset) or seconds since the epoch.
func parseDate(s string) (time.Time, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// inPrefix: is address a within v, a CIDR block or one address?
func inPrefix(a, v string) bool {
	addr, err := netip.ParseAddr(a)
	if err != nil {
		return false
	}
	if p, err := netip.ParsePrefix(v); err == nil {
		return p.Contains(addr)
	}
	one, err := netip.ParseAddr(v)
	return err == nil && one == addr
}

// restore turns Substitute's literal markers back into characters, for
// operators that compare without wildcards.
var restorer = strings.NewReplacer(string(litStar), "*", string(litQuestion), "?")

func restore(v string) string { return restorer.Replace(v) }
