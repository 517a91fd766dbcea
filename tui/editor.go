package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/iotwatch/iotwatch/shadow"
)

// editorRows is the editor's height; it grows with the document up to
// editorMaxRows.
const (
	editorRows    = 3
	editorMaxRows = 12
)

// openEditor starts the editor from the current desired state, pretty
// printed: what the user changes is sent, a null or a deleted key removes it.
func (m Model) openEditor() (Model, tea.Cmd) {
	m.pane, m.editErr = paneEditor, ""
	m.editFrom = maps.Clone(m.snap.Desired)
	m.editor.Reset()
	if len(m.editFrom) > 0 {
		text, _ := json.MarshalIndent(m.editFrom, "", "  ")
		m.editor.SetValue(string(text))
	}
	m.editor.SetHeight(max(editorRows, min(editorMaxRows, m.editor.LineCount())))
	return m, m.editor.Focus()
}

// handleEditorKey runs the desired-state editor: ctrl+s sends, esc cancels.
func (m Model) handleEditorKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	switch msg.String() {
	case "esc":
		m.pane = paneLog
		m.editor.Blur()
		return m, nil
	case "ctrl+s":
		edited, err := parsePatch(m.editor.Value())
		if err != nil {
			m.editErr = err.Error()
			return m, nil
		}
		patch := changes(m.editFrom, edited)
		if len(patch) == 0 {
			m.editErr = "nothing changed: edit a value, set one to null to remove it"
			return m, nil
		}
		m.pane = paneLog
		m.editor.Blur()
		return m, sendDesired(m.o.Thing, m.o.Conn, patch)
	}
	var cmd tea.Cmd
	m.editor, cmd = m.editor.Update(msg)
	return m, cmd
}

// changes is the desired patch from the state the editor started from to
// the edited one: changed and new keys, and null for removed ones.
func changes(from, to map[string]any) map[string]any {
	patch := map[string]any{}
	for k, v := range to {
		if old, ok := from[k]; !ok || !shadow.Equal(old, v) || v == nil {
			patch[k] = v
		}
	}
	for k := range from {
		if _, ok := to[k]; !ok {
			patch[k] = nil
		}
	}
	return patch
}

// parsePatch reads the editor's text: one JSON object. Its errors name the
// line and column and say what is wrong there.
func parsePatch(text string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	var v any
	if err := dec.Decode(&v); err != nil {
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &syntax):
			at := int(syntax.Offset) - 1
			return nil, fmt.Errorf("%s: %s%s", position(text, at), syntax.Error(), hint(text, at))
		case errors.Is(err, io.EOF) && strings.TrimSpace(text) == "":
			return nil, errors.New(`empty: write the desired values as a JSON object, e.g. {"led": true}`)
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return nil, fmt.Errorf("%s: the JSON ends before the object is closed (a missing } or \")", position(text, len(text)))
		}
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: text after the JSON object: write one object", position(text, int(dec.InputOffset())+leadingSpace(text[dec.InputOffset():])))
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a JSON object but %s: write the desired values as {\"field\": value}", position(text, leadingSpace(text)), kindOf(v))
	}
	return obj, nil
}

// hint names the usual cause of a syntax error at offset: a trailing comma.
func hint(text string, offset int) string {
	before := strings.TrimRight(text[:max(0, min(offset, len(text)))], " \t\r\n")
	if strings.HasSuffix(before, ",") && offset < len(text) && strings.ContainsRune("}]", rune(text[offset])) {
		return " (a trailing comma: JSON allows none before " + string(text[offset]) + ")"
	}
	return ""
}

func leadingSpace(s string) int { return len(s) - len(strings.TrimLeft(s, " \t\r\n")) }

// position is "line L, column C" of a byte offset (columns count characters).
func position(text string, offset int) string {
	offset = max(0, min(offset, len(text)))
	before := text[:offset]
	line := strings.Count(before, "\n") + 1
	col := len([]rune(before[strings.LastIndex(before, "\n")+1:])) + 1
	return fmt.Sprintf("line %d, column %d", line, col)
}

func kindOf(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// confirmation is a question in the status line; y runs do, any other key cancels.
type confirmation struct {
	prompt string
	do     func(m Model) (Model, tea.Cmd)
}

// askClearDesired asks before removing every desired key.
func (m *Model) askClearDesired() {
	keys := slices.Sorted(maps.Keys(m.snap.Desired))
	if len(keys) == 0 {
		m.status = "desired is already empty"
		return
	}
	m.confirm = &confirmation{
		prompt: fmt.Sprintf("clear all of desired (%s)? y/n", strings.Join(keys, ", ")),
		do: func(m Model) (Model, tea.Cmd) {
			patch := map[string]any{}
			for _, k := range keys {
				patch[k] = nil
			}
			return m, sendDesired(m.o.Thing, m.o.Conn, patch)
		},
	}
}

func (m Model) answer(msg tea.KeyMsg) (Model, tea.Cmd) {
	c := m.confirm
	m.confirm = nil
	if msg.String() == "y" {
		return c.do(m)
	}
	m.status = "cancelled"
	return m, nil
}
