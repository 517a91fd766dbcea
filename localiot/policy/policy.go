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
	"io"
	"sort"
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
	Effect      string                          `json:"Effect"`
	Action      stringOrList                    `json:"Action"`
	NotAction   stringOrList                    `json:"NotAction"`
	Resource    stringOrList                    `json:"Resource"`
	NotResource stringOrList                    `json:"NotResource"`
	Condition   map[string]map[string]valueList `json:"Condition"`
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

// valueList is a condition's values: strings, or booleans and numbers
// written unquoted ({"Bool": {"aws:SecureTransport": true}}), one or a list.
type valueList []string

func (s *valueList) UnmarshalJSON(b []byte) error {
	var many []json.RawMessage
	if err := json.Unmarshal(b, &many); err != nil {
		many = []json.RawMessage{b}
	}
	*s = make([]string, len(many))
	for i, raw := range many {
		var one any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&one); err != nil {
			return err
		}
		switch v := one.(type) {
		case string:
			(*s)[i] = v
		case bool, json.Number:
			(*s)[i] = fmt.Sprint(v)
		default:
			return fmt.Errorf("condition values must be strings, booleans or numbers, got %s", b)
		}
	}
	return nil
}

// Keys are case-sensitive, as AWS's: "effect" or "VERSION" is not a key
// it knows (encoding/json would take them for Effect and Version).
var (
	documentKeys  = map[string]bool{"Version": true, "Id": true, "Statement": true}
	statementKeys = map[string]bool{"Sid": true, "Effect": true, "Action": true, "NotAction": true,
		"Resource": true, "NotResource": true, "Condition": true}
)

// checkJSON reads doc token by token: exactly one JSON value, no object
// holding a key twice (encoding/json would let the last one win, so
// "Effect":"Deny","Effect":"Allow" would allow), and only the keys AWS
// knows, spelled as AWS spells them, in the document and its statements.
func checkJSON(doc string) error {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	if err := walk(dec, "policy document", documentKeys); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return malformed("policy document: data after its JSON object; give one object")
	}
	return nil
}

// walk reads one value; keys, when not nil, are the keys it may have.
func walk(dec *json.Decoder, path string, keys map[string]bool) error {
	tok, err := dec.Token()
	if err != nil {
		return malformed("policy document is not valid JSON: %v", err)
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return malformed("policy document is not valid JSON: %v", err)
			}
			k := kt.(string)
			if seen[k] {
				return malformed("%s: the key %q appears twice", path, k)
			}
			seen[k] = true
			if keys != nil && !keys[k] {
				return malformed("%s: unknown key %q (keys are case-sensitive: %s)", path, k, strings.Join(sortedKeys(keys), ", "))
			}
			var inner map[string]bool
			if keys != nil && k == "Statement" {
				inner = statementKeys
			}
			if err := walk(dec, path+"."+k, inner); err != nil {
				return err
			}
		}
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := walk(dec, fmt.Sprintf("%s[%d]", path, i), keys); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
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
	if err := checkJSON(doc); err != nil {
		return nil, err
	}
	var top struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &top); err != nil {
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
