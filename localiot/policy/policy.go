// Package policy evaluates AWS IoT (and IAM-style) policy documents the way
// AWS IoT Core does: default deny, any matching Allow grants, an explicit
// Deny beats every Allow across all the policies of a principal. Resources
// and actions match with IAM's `*` and `?` wildcards (MQTT's `+` and `#`
// are literal characters), after policy variables such as ${iot:ClientId}
// are replaced. It is pure: it imports only the standard library.
package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// MaxSize is AWS's limit on a policy document: 2048 characters, whitespace
// excluded (CreatePolicy's documentation).
const MaxSize = 2048

// Document is a parsed policy document.
type Document struct {
	Statements []Statement
}

// Statement is one statement of a document.
type Statement struct {
	Allow       bool
	Actions     []string // patterns; the statement applies to the others when NotAction
	Resources   []string // patterns; the others when NotResource
	NotAction   bool
	NotResource bool
	Conditions  []Condition
}

// MalformedError is a document AWS would refuse with
// MalformedPolicyException; the message names the offending part.
type MalformedError struct{ Msg string }

func (e *MalformedError) Error() string { return e.Msg }

func malformed(format string, a ...any) error {
	return &MalformedError{Msg: fmt.Sprintf(format, a...)}
}

// rawStatement keeps the JSON shapes IAM allows: a string or a list.
type rawStatement struct {
	Effect      string                             `json:"Effect"`
	Action      stringOrList                       `json:"Action"`
	NotAction   stringOrList                       `json:"NotAction"`
	Resource    stringOrList                       `json:"Resource"`
	NotResource stringOrList                       `json:"NotResource"`
	Condition   map[string]map[string]stringOrList `json:"Condition"`
}

type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("expected a string or a list of strings, got %s", b)
	}
	*s = many
	return nil
}

// Size counts a document's characters without whitespace, as AWS's limit does.
func Size(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// Parse checks a document as CreatePolicy does and returns it parsed.
func Parse(doc string) (*Document, error) {
	if n := Size(doc); n > MaxSize {
		return nil, malformed("policy document is %d characters long without whitespace; the limit is %d", n, MaxSize)
	}
	var top struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	if err := dec.Decode(&top); err != nil {
		return nil, malformed("policy document is not valid JSON: %v", err)
	}
	if top.Version != "2012-10-17" && top.Version != "2008-10-17" {
		return nil, malformed(`policy document: "Version" must be "2012-10-17" (got %q)`, top.Version)
	}
	raws, err := statements(top.Statement)
	if err != nil {
		return nil, err
	}
	d := &Document{}
	for i, r := range raws {
		st, err := r.compile()
		if err != nil {
			return nil, malformed("policy document: statement %d: %v", i+1, err)
		}
		d.Statements = append(d.Statements, st)
	}
	return d, nil
}

// statements accepts one statement object or a list of them.
func statements(raw json.RawMessage) ([]rawStatement, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, malformed(`policy document has no "Statement"`)
	}
	var list []rawStatement
	if raw[0] == '{' {
		var one rawStatement
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, malformed("policy document: Statement: %v", err)
		}
		list = []rawStatement{one}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, malformed("policy document: Statement must be an object or a list of objects: %v", err)
	}
	if len(list) == 0 {
		return nil, malformed(`policy document: "Statement" is empty`)
	}
	return list, nil
}

func (r rawStatement) compile() (Statement, error) {
	var st Statement
	switch r.Effect {
	case "Allow":
		st.Allow = true
	case "Deny":
	default:
		return st, fmt.Errorf(`"Effect" must be "Allow" or "Deny" (got %q)`, r.Effect)
	}
	var err error
	if st.Actions, st.NotAction, err = either("Action", r.Action, r.NotAction); err != nil {
		return st, err
	}
	if st.Resources, st.NotResource, err = either("Resource", r.Resource, r.NotResource); err != nil {
		return st, err
	}
	for i, a := range st.Actions {
		if a != "*" && !strings.Contains(a, ":") {
			return st, fmt.Errorf("action %q: write service:Action, e.g. iot:Connect", a)
		}
		st.Actions[i] = strings.ToLower(a) // action names are case-insensitive
	}
	for _, res := range st.Resources {
		if res != "*" && !strings.HasPrefix(res, "arn:") {
			return st, fmt.Errorf("resource %q: write an ARN, e.g. arn:aws:iot:REGION:ACCOUNT:topic/NAME, or *", res)
		}
	}
	st.Conditions, err = compileConditions(r.Condition)
	return st, err
}

// either returns the list given as X or as NotX; exactly one must be there.
func either(name string, pos, neg stringOrList) ([]string, bool, error) {
	switch {
	case len(pos) > 0 && len(neg) > 0:
		return nil, false, fmt.Errorf("%q and \"Not%s\" together", name, name)
	case len(pos) > 0:
		return pos, false, nil
	case len(neg) > 0:
		return neg, true, nil
	}
	return nil, false, fmt.Errorf("no %q", name)
}
