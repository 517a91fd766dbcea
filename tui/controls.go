package tui

import (
	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/shadow"
)

// controlPatch turns a [[control]] into the desired patch it sends, from the
// value the device reports (or, before any report, the desired one).
func controlPatch(c config.Control, snap monitor.Snapshot) map[string]any {
	cur, ok := snap.Reported[c.Field]
	if !ok {
		cur = snap.Desired[c.Field]
	}
	var next any
	switch c.Action {
	case "toggle":
		b, _ := cur.(bool)
		next = !b
	case "step":
		f, _ := cur.(float64)
		next = f + c.Step
	case "cycle":
		next = nextInCycle(c.Values, cur)
	case "set":
		next = c.Value
	}
	return map[string]any{c.Field: normalize(next)}
}

func nextInCycle(values []any, cur any) any {
	for i, v := range values {
		if shadow.Equal(v, cur) {
			return values[(i+1)%len(values)]
		}
	}
	return values[0]
}

// normalize makes TOML integers JSON numbers like those decoded from MQTT.
func normalize(v any) any {
	if n, ok := v.(int64); ok {
		return float64(n)
	}
	return v
}
