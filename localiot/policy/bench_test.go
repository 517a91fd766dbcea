package policy

import "testing"

// BenchmarkEvaluate is one Receive check against a thing policy with
// variables, as the broker makes per delivery.
func BenchmarkEvaluate(b *testing.B) {
	d, err := Parse(guide["thingPrefix"])
	if err != nil {
		b.Fatal(err)
	}
	docs := []*Document{d, d}
	req := Request{Action: "iot:Publish", Resource: arn + "topic/sensor1/a/b", Vars: map[string]string{
		"iot:ClientId": "sensor1", "iot:Connection.Thing.ThingName": "sensor1"}}
	b.ReportAllocs()
	for b.Loop() {
		if Evaluate(docs, req) != Allowed {
			b.Fatal("denied")
		}
	}
}
