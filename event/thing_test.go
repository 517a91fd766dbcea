package event

import (
	"testing"
	"time"
)

func TestThingOf(t *testing.T) {
	at := time.Unix(1, 0)
	for _, c := range []struct {
		ev   Event
		want string
	}{
		{ShadowDoc{At: at, Thing: "a"}, "a"},
		{Rejected{At: at, Thing: "b"}, "b"},
		{Deleted{At: at, Thing: "c"}, "c"},
		{Presence{At: at, Thing: "d"}, "d"},
		{DesiredSent{At: at, Thing: "e"}, "e"},
		{Session{At: at, Thing: "f"}, "f"},
		{Malformed{At: at, Topic: "$aws/things/g/shadow/update/documents"}, "g"},
		{Malformed{At: at, Topic: "$aws/things/g/shadow/name/n/update/delta"}, "g"},
		{Malformed{At: at, Topic: "$aws/events/presence/connected/h"}, "h"},
		{Malformed{At: at, Topic: "$aws/things/g/jobs/notify"}, ""},
		{Malformed{At: at, Topic: "sensors/x"}, ""},
		{ShadowDoc{At: at}, ""},
		{Link{At: at, Things: []string{"x"}}, ""},
		{Alive{At: at}, ""},
		{Overflow{At: at}, ""},
	} {
		if got := ThingOf(c.ev); got != c.want {
			t.Errorf("%T %+v: %q, want %q", c.ev, c.ev, got, c.want)
		}
		if c.want == "" {
			continue
		}
		if _, m := c.ev.(Malformed); m {
			continue
		}
		if _, s := c.ev.(Session); s {
			continue
		}
		if got := ThingOf(WithThing(c.ev, "z")); got != "z" {
			t.Errorf("%T: WithThing gave %q", c.ev, got)
		}
	}
}
