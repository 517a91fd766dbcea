package tui

import (
	"encoding/json"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

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

// handleEditorKey runs the desired-patch editor: ctrl+s sends, esc cancels.
func (m Model) handleEditorKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	switch msg.String() {
	case "esc":
		m.editing = false
		m.editor.Blur()
		return m, nil
	case "ctrl+s":
		patch, err := parsePatch(m.editor.Value())
		if err != nil {
			m.editErr = err.Error()
			return m, nil
		}
		m.editing = false
		m.editor.Blur()
		return m, sendDesired(m.o.Conn, patch)
	}
	var cmd tea.Cmd
	m.editor, cmd = m.editor.Update(msg)
	return m, cmd
}

// parsePatch validates the editor's text: a JSON object of desired values.
func parsePatch(text string) (map[string]any, error) {
	var patch map[string]any
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(&patch); err != nil || dec.More() {
		return nil, fmt.Errorf("not a JSON object: write the desired values, e.g. {\"led\": true}")
	}
	if len(patch) == 0 {
		return nil, fmt.Errorf("empty patch: name at least one desired field")
	}
	return patch, nil
}
