package policy

import (
	"strings"
	"time"
)

// Request is one authorization question.
type Request struct {
	Action   string // "iot:Publish"
	Resource string // "arn:aws:iot:eu-west-1:123456789012:topic/a/b"
	// Vars resolves policy variables by name without ${}: "iot:ClientId",
	// "iot:Connection.Thing.ThingName", ... A missing name is unresolved,
	// and a pattern using it matches nothing (AWS denies).
	Vars map[string]string
	// Context holds condition keys (case-insensitive) with their values,
	// e.g. "iot:ConnectAttributes": ["LastWill"].
	Context map[string][]string
	// Now is aws:CurrentTime and aws:EpochTime; zero is the clock's time.
	Now time.Time
}

func (r Request) now() time.Time {
	if r.Now.IsZero() {
		return time.Now()
	}
	return r.Now
}

// Decision is the outcome of Evaluate.
type Decision int

const (
	ImplicitDeny Decision = iota // no statement allowed it
	Allowed
	ExplicitDeny // a Deny statement matched: no Allow can override it
)

func (d Decision) String() string {
	return [...]string{"implicit deny", "allowed", "explicit deny"}[d]
}

// Evaluate applies every statement of every document to req.
func Evaluate(docs []*Document, req Request) Decision {
	req.Action = strings.ToLower(req.Action) // statements keep theirs lower-cased
	out := ImplicitDeny
	for _, d := range docs {
		for _, st := range d.Statements {
			if !st.applies(req) {
				continue
			}
			if !st.Allow {
				return ExplicitDeny
			}
			out = Allowed
		}
	}
	return out
}

func (st Statement) applies(req Request) bool {
	if anyMatch(st.Actions, req.Action, nil) == st.NotAction {
		return false
	}
	if anyMatch(st.Resources, req.Resource, req.Vars) == st.NotResource {
		return false
	}
	for _, c := range st.Conditions {
		if !c.holds(req) {
			return false
		}
	}
	return true
}

func anyMatch(patterns []string, s string, vars map[string]string) bool {
	for _, p := range patterns {
		pat, ok := Substitute(p, vars)
		if !ok {
			continue
		}
		if Match(pat, s) {
			return true
		}
	}
	return false
}

// Literal markers left by Substitute for ${*}, ${?} and ${$}: characters a
// pattern cannot otherwise hold, so Match treats them as the literal
// character rather than as a wildcard.
const (
	litStar     = '\x01'
	litQuestion = '\x02'
)

// Substitute replaces ${name} with vars[name]; ${*}, ${?} and ${$} stand
// for the literal characters. ok is false when a variable is unresolved.
// Replaced values are literal: a * in a client id is no wildcard.
func Substitute(p string, vars map[string]string) (string, bool) {
	if !strings.Contains(p, "${") {
		return p, true
	}
	var b strings.Builder
	for {
		i := strings.Index(p, "${")
		if i < 0 {
			b.WriteString(p)
			return b.String(), true
		}
		j := strings.IndexByte(p[i:], '}')
		if j < 0 {
			b.WriteString(p)
			return b.String(), true
		}
		b.WriteString(p[:i])
		name := p[i+2 : i+j]
		switch name {
		case "*":
			b.WriteByte(litStar)
		case "?":
			b.WriteByte(litQuestion)
		case "$":
			b.WriteByte('$')
		default:
			v, ok := vars[name]
			if !ok {
				return "", false
			}
			b.WriteString(literal(v))
		}
		p = p[i+j+1:]
	}
}

var literals = strings.NewReplacer("*", string(litStar), "?", string(litQuestion))

func literal(v string) string {
	if !strings.ContainsAny(v, "*?") {
		return v
	}
	return literals.Replace(v)
}

// Match reports whether s matches the IAM pattern p: * is any run of
// characters (across /), ? exactly one; everything else, + and # included,
// is literal.
func Match(p, s string) bool {
	// Iterative glob with one backtrack point: linear enough for ARNs.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || same(p[pi], s[si])):
			pi++
			si++
		case star >= 0:
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func same(pc, sc byte) bool {
	switch pc {
	case litStar:
		return sc == '*'
	case litQuestion:
		return sc == '?'
	}
	return pc == sc
}

// ARN builds an AWS IoT resource ARN: kind is client, topic, topicfilter,
// thing or cert.
func ARN(region, account, kind, name string) string {
	return "arn:aws:iot:" + region + ":" + account + ":" + kind + "/" + name
}
