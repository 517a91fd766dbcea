package awsconn

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

func TestNumberBeyondFloat64KeepsDocumentsReadable(t *testing.T) {
	prefix := "$aws/things/" + thing + "/shadow/"
	cases := []struct{ topic, payload string }{
		{"update/accepted", `{"state":{"reported":{"big":1e400,"temp":21.5}},"metadata":{"reported":{"big":{"timestamp":1700000000}}},"version":3}`},
		{"update/documents", `{"current":{"state":{"desired":{"x":1},"reported":{"big":1e400,"temp":21.5}},"version":3},"timestamp":1700000000}`},
		{"get/accepted", `{"state":{"reported":{"big":1e400,"temp":21.5},"delta":{"big":-1e999}},"version":3}`},
		{"update/delta", `{"state":{"big":1e400,"temp":21.5},"version":3}`},
	}
	for _, c := range cases {
		ev, _, err := decode(prefix+c.topic, []byte(c.payload), time.Now())
		if err != nil {
			t.Fatalf("%s: %v", c.topic, err)
		}
		doc := ev.(event.ShadowDoc)
		fields := doc.Reported
		if doc.Kind == event.DocDelta {
			fields = doc.Delta
		}
		if fields["big"] != json.Number("1e400") || fields["temp"] != 21.5 || doc.Version != 3 {
			t.Errorf("%s: %+v", c.topic, doc)
		}
	}
}

func TestDeletedOrLostShadowStartsVersionsAgain(t *testing.T) {
	c := &Conn{o: withDefaults(Options{Thing: thing}), events: make(chan event.Event, 16), seen: map[seenKey]int64{}, waiting: map[string]chan answer{}}
	prefix := "$aws/things/" + thing + "/shadow/"
	accepted := func(v string) {
		c.handle(prefix+"update/accepted", []byte(`{"state":{"reported":{"seq":1}},"version":`+v+`}`))
	}
	accepted("4123")
	c.handle(prefix+"delete/accepted", []byte(`{"version":4123}`))
	accepted("1")
	c.handle(prefix+"get/accepted", []byte(`{"state":{"reported":{"seq":1}},"version":1}`))
	accepted("2")
	accepted("2")                                                       // a duplicate is still dropped
	c.handle(prefix+"get/accepted", []byte(`{"state":{},"version":1}`)) // the service lost the shadow
	accepted("2")
	var got []string
	for len(c.events) > 0 {
		switch e := (<-c.events).(type) {
		case event.ShadowDoc:
			got = append(got, e.Kind.String()+" "+strconv.FormatInt(e.Version, 10))
		case event.Deleted:
			got = append(got, "deleted")
		}
	}
	want := []string{"accepted 4123", "deleted", "accepted 1", "get 1", "accepted 2", "get 1", "accepted 2"}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
}
