package tui

import (
	"fmt"
	"testing"

	"github.com/iotwatch/iotwatch/event"
)

func TestReportIn(t *testing.T) {
	ts := func(v float64) map[string]any { return map[string]any{"timestamp": v} }
	for _, tc := range []struct {
		name string
		doc  event.ShadowDoc
		want string // the report's reported fields; "" none
	}{
		{"a report", event.ShadowDoc{Kind: event.DocCurrent, Timestamp: 100, Reported: map[string]any{"temp": 21.0, "led": true},
			ReportedMetadata: map[string]any{"temp": ts(100), "led": ts(90)}}, "map[temp:21]"},
		{"a desired change", event.ShadowDoc{Kind: event.DocCurrent, Timestamp: 100, Reported: map[string]any{"temp": 21.0},
			ReportedMetadata: map[string]any{"temp": ts(90)}, Desired: map[string]any{"led": true}}, ""},
		{"an object field", event.ShadowDoc{Kind: event.DocCurrent, Timestamp: 100, Reported: map[string]any{"net": map[string]any{"rssi": -60.0}},
			ReportedMetadata: map[string]any{"net": map[string]any{"rssi": ts(100)}}}, "map[net:map[rssi:-60]]"},
		{"not documents", event.ShadowDoc{Kind: event.DocGet, Timestamp: 100, Reported: map[string]any{"temp": 21.0},
			ReportedMetadata: map[string]any{"temp": ts(100)}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := reportIn(tc.doc)
			got := ""
			if ok {
				got = fmt.Sprint(r.Reported)
				if r.Kind != event.DocAccepted {
					t.Errorf("kind %v", r.Kind)
				}
			}
			if got != tc.want {
				t.Errorf("report %q, want %q", got, tc.want)
			}
		})
	}
}
