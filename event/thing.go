package event

import "strings"

// ThingOf is the thing an event is about, the one answer to that question
// for every router (the pipeline, awsconn's fleet, the TUI): the Thing field
// of the events that carry one, the thing of a malformed message's shadow or
// lifecycle topic, else "" (an event about no one thing: alive, overflow, a
// link, a fleet run's session; or a single thing's event, whose thing is the
// run's).
func ThingOf(ev Event) string {
	switch e := ev.(type) {
	case ShadowDoc:
		return e.Thing
	case Rejected:
		return e.Thing
	case Deleted:
		return e.Thing
	case Presence:
		return e.Thing
	case DesiredSent:
		return e.Thing
	case Session:
		return e.Thing
	case Jobs:
		return e.Thing
	case Malformed:
		return TopicThing(e.Topic)
	}
	return ""
}

// WithThing names thing on an event about one thing (ThingOf's kinds but a
// malformed message, which its topic names); other events come back as
// they are.
func WithThing(ev Event, thing string) Event {
	switch e := ev.(type) {
	case ShadowDoc:
		e.Thing = thing
		return e
	case Rejected:
		e.Thing = thing
		return e
	case Deleted:
		e.Thing = thing
		return e
	case Presence:
		e.Thing = thing
		return e
	case DesiredSent:
		e.Thing = thing
		return e
	case Jobs:
		e.Thing = thing
		return e
	}
	return ev
}

// TopicThing is the thing a shadow topic ($aws/things/T/shadow/…) or a
// lifecycle topic ($aws/events/presence/…/T, where a device's client id is
// its thing name) names, else "". It reads topics only as far as naming
// their thing, so event stays free of the shadow package.
func TopicThing(topic string) string {
	if rest, ok := strings.CutPrefix(topic, "$aws/things/"); ok {
		thing, tail, ok := strings.Cut(rest, "/")
		if ok && strings.HasPrefix(tail, "shadow/") {
			return thing
		}
		return ""
	}
	if rest, ok := strings.CutPrefix(topic, "$aws/events/presence/"); ok {
		if _, client, ok := strings.Cut(rest, "/"); ok && client != "" && !strings.Contains(client, "/") {
			return client
		}
	}
	return ""
}
