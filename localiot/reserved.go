package localiot

import (
	"strings"

	"github.com/iotwatch/iotwatch/jobs"
	"github.com/iotwatch/iotwatch/shadow"
)

// AWS IoT's reserved topics ($aws/…) take publishes only where a service
// listens (AWS's developer guide, "Reserved topics"); every other publish
// to them is refused whatever the policy, over MQTT as over HTTPS. A topic
// whose service the emulator does not run (fleet provisioning, Device
// Defender) is an accepted publish and nothing more.

// basicIngestPrefix starts Basic Ingest topics, $aws/rules/<ruleName>/…:
// AWS hands them to the rule only, never to subscribers.
const basicIngestPrefix = "$aws/rules/"

// publishableReserved says whether a client may publish to topic as far as
// AWS's reserved topics go: true for every topic outside $aws/.
func publishableReserved(topic string) bool {
	rest, reserved := strings.CutPrefix(topic, "$aws/")
	if !reserved {
		return true
	}
	if _, _, _, answer, ok := shadow.ParseTopic(topic); ok {
		return answer == "" // get, update, delete; never an answer topic
	}
	if _, ok := basicIngest(topic); ok {
		return true
	}
	p := strings.Split(rest, "/")
	switch {
	case p[0] == "things" && len(p) >= 3 && shadow.ValidThingName(p[1]) && p[2] == "jobs":
		_, request, _ := jobs.ParseTopic(topic) // a malformed request is answered InvalidTopic
		return request
	case p[0] == "things" && len(p) == 5 && shadow.ValidThingName(p[1]) && p[2] == "defender" && p[3] == "metrics":
		return payloadFormat(p[4])
	case p[0] == "certificates" && len(p) == 3 && (p[1] == "create" || p[1] == "create-from-csr"):
		return payloadFormat(p[2])
	case p[0] == "provisioning-templates" && len(p) == 4 && p[1] != "" && p[2] == "provision":
		return payloadFormat(p[3])
	}
	return false
}

// payloadFormat: Device Defender and fleet provisioning take JSON or CBOR.
func payloadFormat(s string) bool { return s == "json" || s == "cbor" }

// basicIngest splits a Basic Ingest topic: the topic past
// $aws/rules/<ruleName>/ (which AWS counts against the topic limits) and
// whether topic is one. Rule names are [a-zA-Z0-9_]+.
func basicIngest(topic string) (sub string, ok bool) {
	rest, found := strings.CutPrefix(topic, basicIngestPrefix)
	if !found {
		return "", false
	}
	rule, sub, _ := strings.Cut(rest, "/")
	if rule == "" || strings.TrimFunc(rule, func(r rune) bool {
		return r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}) != "" {
		return "", false
	}
	return sub, true
}
