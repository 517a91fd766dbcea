package localiot

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/shadow"
)

// The data plane's wire layer: the shadow service and the broker are its
// backends, the same ones MQTT clients use, so an update over HTTPS
// publishes the same accepted, delta and documents messages on MQTT.

// shadowErrorTypes maps the shadow service's codes to AWS's error types.
var shadowErrorTypes = map[int]string{400: "InvalidRequestException", 401: "UnauthorizedException",
	403: "ForbiddenException", 404: "ResourceNotFoundException", 409: "ConflictException",
	413: "RequestEntityTooLargeException", 415: "UnsupportedDocumentEncodingException",
	429: "ThrottlingException", 500: "InternalFailureException"}

// shadowCall runs op on the shadow the request names; answers that change
// a shadow (update, delete) are published on MQTT as well.
func (a *api) shadowCall(c *call, op string, payload []byte) (any, error) {
	thing, name := c.label("thingName"), c.query.Get("name")
	if !shadow.ValidThingName(thing) {
		return nil, invalid("thingName %q: use 1–128 characters of a-zA-Z0-9:_-", thing)
	}
	if name != "" && !shadow.ValidShadowName(name) {
		return nil, invalid("shadow name %q: use 1–64 characters of a-zA-Z0-9:_-", name)
	}
	var res shadow.Result
	var err error
	h := a.srv.shadows
	h.serve(thing, name, op, payload, func(r shadow.Result, e error) {
		res, err = r, e
		if e == nil && r.Rejected == nil && op != "get" {
			h.publishAccepted(shadow.Prefix(thing, name)+"/"+op, r)
		}
	})
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "InternalFailureException", "Internal service failure")
	}
	if res.Rejected != nil {
		var rej struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		json.Unmarshal(res.Rejected, &rej)
		typ, ok := shadowErrorTypes[rej.Code]
		if !ok {
			typ = "InternalFailureException"
		}
		return nil, errorf(rej.Code, typ, "%s", rej.Message)
	}
	return rawJSON(res.Accepted), nil
}

func (a *api) getThingShadow(c *call) (any, error)    { return a.shadowCall(c, "get", nil) }
func (a *api) updateThingShadow(c *call) (any, error) { return a.shadowCall(c, "update", c.body) }
func (a *api) deleteThingShadow(c *call) (any, error) { return a.shadowCall(c, "delete", nil) }

func (a *api) listNamedShadows(c *call) (any, error) {
	size, err := intQuery(c, "pageSize", 100)
	if err != nil {
		return nil, err
	}
	names, err := namedShadows(a.srv.store, c.label("thingName"))
	if err != nil {
		return nil, err
	}
	page, next := paginate(names, c.query.Get("nextToken"), size)
	return struct {
		Results   []string `json:"results"`
		NextToken string   `json:"nextToken,omitempty"`
		Timestamp int64    `json:"timestamp"`
	}{append([]string{}, page...), next, time.Now().Unix()}, nil
}

func (a *api) publish(c *call) (any, error) {
	topic := c.label("topic")
	qos, retain := byte(0), boolQuery(c, "retain")
	switch c.query.Get("qos") {
	case "", "0":
	case "1":
		qos = 1
	default:
		return nil, invalid("qos=%q: AWS IoT supports 0 and 1", c.query.Get("qos"))
	}
	if strings.ContainsAny(topic, "+#") {
		return nil, invalid("topic %q: a topic name cannot hold the wildcards + or #", topic)
	}
	if !withinTopicLimits(topic) {
		return nil, invalid("topic %q: AWS IoT allows %d bytes and %d slashes", topic, maxTopicBytes, maxTopicSlashes)
	}
	if !publishableReserved(topic) {
		// The same reserved topics as over MQTT; AWS answers 403.
		return nil, errorf(http.StatusForbidden, "ForbiddenException", "Forbidden: %s is a reserved topic that takes no publish", topic)
	}
	if retain && strings.HasPrefix(topic, "$aws/") {
		return nil, invalid("topic %q: reserved $aws topics cannot be retained", topic)
	}
	if len(c.body) > maxPayload {
		return nil, invalid("the payload is %d bytes; AWS IoT's limit is %d", len(c.body), maxPayload)
	}
	if _, ok := basicIngest(topic); ok {
		return nil, nil // for rules only, never subscribers
	}
	if err := a.srv.broker.Publish(topic, c.body, retain, qos); err != nil {
		return nil, invalid("publishing to %q: %v", topic, err)
	}
	// The shadow service skips the broker's own publishes: hand it a
	// shadow request directly, as if an MQTT client had sent it.
	if thing, name, op, rest, ok := shadow.ParseTopic(topic); ok && rest == "" {
		a.srv.shadows.handle(thing, name, op, c.body)
	}
	return nil, nil
}

func (a *api) getRetainedMessage(c *call) (any, error) {
	topic := c.label("topic")
	pk, ok := a.srv.broker.Topics.Retained.Get(topic)
	if !ok || strings.HasPrefix(topic, "$SYS/") {
		return nil, notFound("No retained message exists for topic: %s", topic)
	}
	return map[string]any{"topic": topic, "payload": pk.Payload, "qos": pk.FixedHeader.Qos,
		"lastModifiedTime": pk.Created * 1000}, nil
}

func (a *api) listRetainedMessages(c *call) (any, error) {
	max, err := intQuery(c, "maxResults", 200)
	if err != nil {
		return nil, err
	}
	all := a.srv.broker.Topics.Retained.GetAll()
	topics := make([]string, 0, len(all))
	for t := range all {
		if !strings.HasPrefix(t, "$SYS/") { // mochi's own statistics, not AWS's
			topics = append(topics, t)
		}
	}
	page, next := paginate(topics, c.query.Get("nextToken"), max)
	type summary struct {
		Topic            string `json:"topic"`
		PayloadSize      int    `json:"payloadSize"`
		Qos              byte   `json:"qos"`
		LastModifiedTime int64  `json:"lastModifiedTime"`
	}
	out := struct {
		RetainedTopics []summary `json:"retainedTopics"`
		NextToken      string    `json:"nextToken,omitempty"`
	}{RetainedTopics: []summary{}, NextToken: next}
	for _, t := range page {
		pk := all[t]
		out.RetainedTopics = append(out.RetainedTopics, summary{t, len(pk.Payload), pk.FixedHeader.Qos, pk.Created * 1000})
	}
	return out, nil
}

// namedShadows lists the named shadows that exist for a thing.
func namedShadows(st store, thing string) ([]string, error) {
	prefix := shadowKey(thing, "")
	var names []string
	add := func(key string, s shadow.Shadow) {
		if name, ok := strings.CutPrefix(key, prefix); ok && name != "" && s.Exists {
			names = append(names, name)
		}
	}
	switch s := st.(type) {
	case *memStore:
		s.mu.Lock()
		defer s.mu.Unlock()
		for k, v := range s.m {
			add(k, v)
		}
	case *boltStore:
		err := s.Load(string(bucket), func(k string, data []byte) error {
			sh, err := shadow.Decode(data)
			add(k, sh)
			return err
		})
		if err != nil {
			return nil, errorf(http.StatusInternalServerError, "InternalFailureException", "reading shadows: %v", err)
		}
	}
	sort.Strings(names)
	return names, nil
}
