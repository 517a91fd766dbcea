package shadow

import "strings"

const thingsPrefix = "$aws/things/"

// Prefix is the topic prefix of a thing's classic shadow (shadowName "") or
// of one of its named shadows.
func Prefix(thing, shadowName string) string {
	if shadowName == "" {
		return thingsPrefix + thing + "/shadow"
	}
	return thingsPrefix + thing + "/shadow/name/" + shadowName
}

// answers lists, per request operation, the answer topics AWS publishes.
var answers = map[string][]string{
	"get":    {"accepted", "rejected"},
	"delete": {"accepted", "rejected"},
	"update": {"accepted", "rejected", "delta", "documents"},
}

// ParseTopic splits a shadow topic. op is "get", "update" or "delete"; rest
// is "" for a request topic, else the answer kind ("accepted", "delta", ...).
func ParseTopic(topic string) (thing, shadowName, op, rest string, ok bool) {
	tail, found := strings.CutPrefix(topic, thingsPrefix)
	if !found {
		return "", "", "", "", false
	}
	parts := strings.Split(tail, "/")
	if len(parts) < 3 || parts[1] != "shadow" || !ValidThingName(parts[0]) {
		return "", "", "", "", false
	}
	thing, parts = parts[0], parts[2:]
	if parts[0] == "name" {
		if len(parts) < 3 || !ValidShadowName(parts[1]) {
			return "", "", "", "", false
		}
		shadowName, parts = parts[1], parts[2:]
	}
	kinds, known := answers[parts[0]]
	if !known || len(parts) > 2 {
		return "", "", "", "", false
	}
	op = parts[0]
	if len(parts) == 2 {
		rest = parts[1]
		if !contains(kinds, rest) {
			return "", "", "", "", false
		}
	}
	return thing, shadowName, op, rest, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ValidThingName reports whether s is 1–128 of a-zA-Z0-9:_-.
func ValidThingName(s string) bool { return validName(s, 128) }

// ValidShadowName reports whether s is 1–64 of a-zA-Z0-9:_-.
func ValidShadowName(s string) bool { return validName(s, 64) }

func validName(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == ':' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}
