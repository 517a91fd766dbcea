package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const arn = "arn:aws:iot:us-east-1:123456789012:"

// Policies from the AWS IoT developer guide (connect-policy.md,
// pub-sub-policy.md, thing-policy-variables.md, retained-message-policy-
// examples.md) and the tutorial's allow-all policy.
var guide = map[string]string{
	"tutorial": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":["iot:Connect","iot:Publish","iot:Subscribe","iot:Receive"],"Resource":"*"}]}`,
	"denyClient1and2": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Deny","Action":["iot:Connect"],"Resource":["` + arn + `client/client1","` + arn + `client/client2"]},
		{"Effect":"Allow","Action":["iot:Connect"],"Resource":["` + arn + `client/${iot:Connection.Thing.ThingName}"]}]}`,
	"thingPrefix": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["iot:Connect"],"Resource":["` + arn + `client/${iot:Connection.Thing.ThingName}"]},
		{"Effect":"Allow","Action":["iot:Publish"],"Resource":["` + arn + `topic/${iot:Connection.Thing.ThingName}/*"]}]}`,
	"clientIdFilter": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iot:Subscribe","Resource":"` + arn + `topicfilter/${iot:ClientId}/+/status"},
		{"Effect":"Allow","Action":"iot:Receive","Resource":"` + arn + `topic/${iot:ClientId}/?/status"}]}`,
	"attachedOnly": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect",
		"Resource":"` + arn + `client/${iot:Connection.Thing.ThingName}",
		"Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"true"}}}]}`,
	"cnTopic": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish",
		"Resource":"` + arn + `topic/${iot:Certificate.Subject.CommonName}/data"}]}`,
	"retainedWill": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect",
		"Resource":"` + arn + `client/uniqueMqttClientId",
		"Condition":{"ForAllValues:StringEquals":{"iot:ConnectAttributes":["LastWill"]}}}]}`,
	"notAction": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iot:Publish","Resource":"*"}}`,
	// From AWS's docs (basic-policy-variables.md) and IAM's condition
	// operators, as users paste them.
	"sourceIp": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["iot:Connect"],"Resource":["` + arn + `client/clientid1"]},
		{"Effect":"Allow","Action":["iot:Publish"],"Resource":["` + arn + `topic/my/topic/${iot:ClientId}"],
		 "Condition":{"IpAddress":{"aws:SourceIp":"123.45.167.89"}}}]}`,
	"labNet": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*",
		"Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.1.0/24"]},"NotIpAddress":{"aws:SourceIp":"10.9.9.9"}}}]}`,
	"ifExists": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*",
		"Condition":{"StringEqualsIfExists":{"iot:Connection.Thing.ThingTypeName":"sensor"}}}]}`,
	"null": `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iot:Connect","Resource":"*",
		"Condition":{"Null":{"iot:Connection.Thing.ThingName":true}}},
		{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`,
	"until2030": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*",
		"Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"DateGreaterThanEquals":{"aws:EpochTime":1767225600}}}]}`,
	"arnLike": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*",
		"Condition":{"ArnLike":{"iot:Arn":"arn:aws:iot:*:*:thing/lab-*"}}}]}`,
	"boolBare": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*",
		"Condition":{"Bool":{"iot:Connection.Thing.IsAttached":true},"NumericLessThan":{"iot:Level":10}}}]}`,
	"literalStar": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"` + arn + `topic/a/${*}"}]}`,
}

// now is the requests' aws:CurrentTime.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// TestDateConditions: DateLessThan on aws:CurrentTime, DateGreaterThanEquals
// on aws:EpochTime (given unquoted), against the request's time.
func TestDateConditions(t *testing.T) {
	d, err := Parse(guide["until2030"])
	if err != nil {
		t.Fatal(err)
	}
	for at, want := range map[time.Time]Decision{now: Allowed, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC): ImplicitDeny,
		time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC): ImplicitDeny} {
		if got := Evaluate([]*Document{d}, Request{Action: "iot:Connect", Resource: arn + "client/x", Now: at}); got != want {
			t.Errorf("at %v: %v, want %v", at, got, want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	thing := map[string]string{"iot:ClientId": "sensor1", "iot:Connection.Thing.ThingName": "sensor1",
		"iot:Connection.Thing.IsAttached": "true", "iot:Certificate.Subject.CommonName": "cn-7"}
	noThing := map[string]string{"iot:ClientId": "client1"}
	detached := map[string]string{"iot:ClientId": "sensor1", "iot:Connection.Thing.ThingName": "sensor1",
		"iot:Connection.Thing.IsAttached": "false"}
	cases := []struct {
		name     string
		policies []string
		action   string
		resource string
		vars     map[string]string
		ctx      map[string][]string
		want     Decision
	}{
		{"tutorial allows connect", []string{"tutorial"}, "iot:Connect", "client/anything", nil, nil, Allowed},
		{"tutorial does not grant shadow REST", []string{"tutorial"}, "iot:GetThingShadow", "thing/x", nil, nil, ImplicitDeny},
		{"action names are case-insensitive", []string{"tutorial"}, "IOT:publish", "topic/a", nil, nil, Allowed},
		{"explicit deny beats the thing-name allow", []string{"denyClient1and2"}, "iot:Connect", "client/client1",
			map[string]string{"iot:ClientId": "client1", "iot:Connection.Thing.ThingName": "client1"}, nil, ExplicitDeny},
		{"thing name as client id", []string{"denyClient1and2"}, "iot:Connect", "client/sensor1", thing, nil, Allowed},
		{"other client id", []string{"denyClient1and2"}, "iot:Connect", "client/sensor2", thing, nil, ImplicitDeny},
		{"unresolved thing variable denies", []string{"thingPrefix"}, "iot:Connect", "client/client1", noThing, nil, ImplicitDeny},
		{"* crosses levels", []string{"thingPrefix"}, "iot:Publish", "topic/sensor1/a/b/c", thing, nil, Allowed},
		{"prefix needs the slash", []string{"thingPrefix"}, "iot:Publish", "topic/sensor1", thing, nil, ImplicitDeny},
		{"publish is not subscribe", []string{"thingPrefix"}, "iot:Subscribe", "topicfilter/sensor1/a", thing, nil, ImplicitDeny},
		{"+ in a filter is literal: same filter", []string{"clientIdFilter"}, "iot:Subscribe", "topicfilter/sensor1/+/status", thing, nil, Allowed},
		{"+ in a filter is literal: concrete level", []string{"clientIdFilter"}, "iot:Subscribe", "topicfilter/sensor1/x/status", thing, nil, ImplicitDeny},
		{"# is no wildcard", []string{"clientIdFilter"}, "iot:Subscribe", "topicfilter/sensor1/#", thing, nil, ImplicitDeny},
		{"? is one character", []string{"clientIdFilter"}, "iot:Receive", "topic/sensor1/x/status", thing, nil, Allowed},
		{"? is not two", []string{"clientIdFilter"}, "iot:Receive", "topic/sensor1/xy/status", thing, nil, ImplicitDeny},
		{"a * in the client id is literal", []string{"clientIdFilter"}, "iot:Subscribe", "topicfilter/other/+/status",
			map[string]string{"iot:ClientId": "*"}, nil, ImplicitDeny},
		{"attached thing", []string{"attachedOnly"}, "iot:Connect", "client/sensor1", thing, nil, Allowed},
		{"thing not attached", []string{"attachedOnly"}, "iot:Connect", "client/sensor1", detached, nil, ImplicitDeny},
		{"certificate CN", []string{"cnTopic"}, "iot:Publish", "topic/cn-7/data", thing, nil, Allowed},
		{"other CN", []string{"cnTopic"}, "iot:Publish", "topic/cn-8/data", thing, nil, ImplicitDeny},
		{"connect with a will", []string{"retainedWill"}, "iot:Connect", "client/uniqueMqttClientId", nil,
			map[string][]string{"iot:ConnectAttributes": {"LastWill"}}, Allowed},
		{"will plus persistent session is more than allowed", []string{"retainedWill"}, "iot:Connect", "client/uniqueMqttClientId", nil,
			map[string][]string{"iot:ConnectAttributes": {"LastWill", "PersistentConnect"}}, ImplicitDeny},
		{"NotAction allows the rest", []string{"notAction"}, "iot:Receive", "topic/x", nil, nil, Allowed},
		{"NotAction excludes publish", []string{"notAction"}, "iot:Publish", "topic/x", nil, nil, ImplicitDeny},
		{"several policies: one allows", []string{"cnTopic", "thingPrefix"}, "iot:Publish", "topic/sensor1/t", thing, nil, Allowed},
		{"several policies: a deny in one wins", []string{"tutorial", "denyClient1and2"}, "iot:Connect", "client/client2", noThing, nil, ExplicitDeny},
		{"no policy denies", nil, "iot:Connect", "client/x", nil, nil, ImplicitDeny},
		{"${*} is a literal star", []string{"literalStar"}, "iot:Publish", "topic/a/*", nil, nil, Allowed},
		{"${*} is no wildcard", []string{"literalStar"}, "iot:Publish", "topic/a/b", nil, nil, ImplicitDeny},
		{"IpAddress: that address", []string{"sourceIp"}, "iot:Publish", "topic/my/topic/c1",
			map[string]string{"iot:ClientId": "c1", "aws:SourceIp": "123.45.167.89"}, nil, Allowed},
		{"IpAddress: another address", []string{"sourceIp"}, "iot:Publish", "topic/my/topic/c1",
			map[string]string{"iot:ClientId": "c1", "aws:SourceIp": "123.45.167.90"}, nil, ImplicitDeny},
		{"IpAddress: in a CIDR block", []string{"labNet"}, "iot:Connect", "client/x", map[string]string{"aws:SourceIp": "192.168.1.77"}, nil, Allowed},
		{"IpAddress: outside every block", []string{"labNet"}, "iot:Connect", "client/x", map[string]string{"aws:SourceIp": "192.168.2.1"}, nil, ImplicitDeny},
		{"NotIpAddress: the excluded address", []string{"labNet"}, "iot:Connect", "client/x", map[string]string{"aws:SourceIp": "10.9.9.9"}, nil, ImplicitDeny},
		{"IfExists: key absent", []string{"ifExists"}, "iot:Connect", "client/x", nil, nil, Allowed},
		{"IfExists: key present, equal", []string{"ifExists"}, "iot:Connect", "client/x", map[string]string{"iot:Connection.Thing.ThingTypeName": "sensor"}, nil, Allowed},
		{"IfExists: key present, other", []string{"ifExists"}, "iot:Connect", "client/x", map[string]string{"iot:Connection.Thing.ThingTypeName": "lamp"}, nil, ImplicitDeny},
		{"Null true: no thing, denied", []string{"null"}, "iot:Connect", "client/x", noThing, nil, ExplicitDeny},
		{"Null true: a thing, allowed", []string{"null"}, "iot:Connect", "client/x", thing, nil, Allowed},
		{"ArnLike matches", []string{"arnLike"}, "iot:Connect", "client/x", map[string]string{"iot:Arn": "arn:aws:iot:eu-west-1:1:thing/lab-7"}, nil, Allowed},
		{"ArnLike does not", []string{"arnLike"}, "iot:Connect", "client/x", map[string]string{"iot:Arn": "arn:aws:iot:eu-west-1:1:thing/prod-7"}, nil, ImplicitDeny},
		{"unquoted Bool and number", []string{"boolBare"}, "iot:Connect", "client/x", map[string]string{"iot:Connection.Thing.IsAttached": "true", "iot:Level": "9"}, nil, Allowed},
		{"unquoted number, over", []string{"boolBare"}, "iot:Connect", "client/x", map[string]string{"iot:Connection.Thing.IsAttached": "true", "iot:Level": "10"}, nil, ImplicitDeny},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var docs []*Document
			for _, p := range c.policies {
				d, err := Parse(guide[p])
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				docs = append(docs, d)
			}
			res := c.resource
			if res != "*" {
				res = arn + res
			}
			got := Evaluate(docs, Request{Action: c.action, Resource: res, Vars: c.vars, Context: c.ctx, Now: now})
			if got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"a*", "a", true}, {"a*c", "abbbc", true}, {"a*c", "abbbd", false},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"*/status", "x/y/status", true},
		{"a+b", "a+b", true}, {"a+b", "axb", false}, {"a/#", "a/b", false}, {"**a", "ba", true},
	}
	for _, c := range cases {
		if got := Match(c.p, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"` +
		"arn:" + strings.Repeat("x", MaxSize) + `"}]}`
	spaced := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"*"}]}` +
		strings.Repeat(" \n", MaxSize)
	if _, err := Parse(spaced); err != nil {
		t.Errorf("whitespace must not count toward the limit: %v", err)
	}
	cases := []struct{ name, doc, says string }{
		{"not JSON", `{"Version":`, "not valid JSON"},
		{"no version", `{"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`, `"Version"`},
		{"no statement", `{"Version":"2012-10-17"}`, `no "Statement"`},
		{"empty statement list", `{"Version":"2012-10-17","Statement":[]}`, "empty"},
		{"bad effect", `{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"iot:*","Resource":"*"}]}`, `"Effect"`},
		{"no action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}`, `no "Action"`},
		{"no resource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*"}]}`, `no "Resource"`},
		{"action without service", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"Connect","Resource":"*"}]}`, "service:Action"},
		{"action not a string", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":7,"Resource":"*"}]}`, "string"},
		{"unknown operator", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"Regex":{"a":"b"}}}]}`, "Regex"},
		{"resource not an ARN", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"topic/a"}]}`, "write an ARN"},
		{"too large", big, "limit is 2048"},
		{"trailing garbage", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]} x`, "data after"},
		{"two objects", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}{"Version":"2012-10-17"}`, "data after"},
		{"lower-case effect key", `{"Version":"2012-10-17","Statement":[{"effect":"Allow","Action":"iot:*","Resource":"*"}]}`, `unknown key "effect"`},
		{"upper-case version key", `{"VERSION":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`, `unknown key "VERSION"`},
		{"duplicate effect", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Effect":"Allow","Action":"iot:*","Resource":"*"}]}`, `"Effect" appears twice`},
		{"duplicate, case apart", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","effect":"Allow","Action":"iot:*","Resource":"*"}]}`, `unknown key "effect"`},
		{"duplicate condition key", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"Bool":{"a":"true","a":"false"}}}]}`, `"a" appears twice`},
		{"Null…IfExists", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"NullIfExists":{"a":"true"}}}]}`, "NullIfExists"},
	}
	for _, c := range cases {
		_, err := Parse(c.doc)
		var m *MalformedError
		if !errors.As(err, &m) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: got %v, want a MalformedError saying %q", c.name, err, c.says)
		}
	}
}
