package tui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/iotwatch/iotwatch/event"
)

// RawConn is what the raw-topics pane needs of the connection besides Conn;
// awsconn.Conn has it.
type RawConn interface {
	SubscribeRaw(filter string) error
	UnsubscribeRaw(filter string) error
}

// rateWindow is the span the message rate is measured over.
const rateWindow = 10 * time.Second

// maxTopics bounds the topics the pane keeps (a '#' on a busy broker).
const maxTopics = 500

// topicStat is what the pane shows of one topic.
type topicStat struct {
	count   int
	last    time.Time
	payload []byte
	recent  []time.Time // arrivals within rateWindow of the last
}

// topics is the raw-topics pane's state.
type topics struct {
	input   textinput.Model
	typing  bool
	filters []string          // subscribed, in order
	refused map[string]string // filter → why it was refused
	stats   map[string]*topicStat
	names   []string // topics, sorted
	cursor  int
}

func newTopics() topics {
	in := textinput.New()
	in.Placeholder = "$aws/things/+/shadow/#"
	in.Prompt = "filter: "
	in.CharLimit = 256
	return topics{input: in, refused: map[string]string{}, stats: map[string]*topicStat{}}
}

func (t *topics) add(r event.Raw) {
	st, ok := t.stats[r.Topic]
	if !ok {
		if len(t.stats) >= maxTopics {
			return
		}
		st = &topicStat{}
		t.stats[r.Topic] = st
		i := sort.SearchStrings(t.names, r.Topic)
		t.names = slices.Insert(t.names, i, r.Topic)
	}
	st.count++
	st.last, st.payload = r.At, r.Payload
	st.recent = append(st.recent, r.At)
	for len(st.recent) > 0 && r.At.Sub(st.recent[0]) > rateWindow {
		st.recent = st.recent[1:]
	}
}

// rate is messages per second over the last rateWindow before now.
func (st *topicStat) rate(now time.Time) float64 {
	n := 0
	for _, at := range st.recent {
		if now.Sub(at) <= rateWindow {
			n++
		}
	}
	return float64(n) / rateWindow.Seconds()
}

// rawSubscribedMsg is the outcome of a subscribe or unsubscribe.
type rawSubscribedMsg struct {
	filter      string
	unsubscribe bool
	err         error
}

func subscribeRaw(c RawConn, filter string, unsubscribe bool) tea.Cmd {
	return func() tea.Msg {
		if unsubscribe {
			return rawSubscribedMsg{filter, true, c.UnsubscribeRaw(filter)}
		}
		return rawSubscribedMsg{filter, false, c.SubscribeRaw(filter)}
	}
}

// openTopics opens the pane, typing a filter when none is subscribed yet.
func (m Model) openTopics() (Model, tea.Cmd) {
	m.pane = paneTopics
	if len(m.topics.filters) == 0 {
		return m.startTyping()
	}
	return m, nil
}

func (m Model) startTyping() (Model, tea.Cmd) {
	m.topics.typing = true
	m.topics.input.SetValue("")
	return m, m.topics.input.Focus()
}

// handleTopicsKey runs the pane's own keys; the rest fall through.
func (m Model) handleTopicsKey(msg tea.KeyMsg) (Model, tea.Cmd, bool) {
	t := &m.topics
	if t.typing {
		switch msg.String() {
		case "esc":
			t.typing = false
			t.input.Blur()
			if len(t.filters) == 0 {
				m.pane = paneLog
			}
		case "enter":
			filter := strings.TrimSpace(t.input.Value())
			if filter == "" { // the grey example is the one offered
				filter = t.input.Placeholder
			}
			t.typing = false
			t.input.Blur()
			rc, ok := m.o.Conn.(RawConn)
			switch {
			case !ok:
				m.status = "raw topics need a connection to a broker"
			default:
				m.status = "subscribing to " + filter + "…"
				return m, subscribeRaw(rc, filter, false), true
			}
		default:
			var cmd tea.Cmd
			t.input, cmd = t.input.Update(msg)
			return m, cmd, true
		}
		return m, nil, true
	}
	switch {
	case key.Matches(msg, m.keys.TopicFilter):
		m, cmd := m.startTyping()
		return m, cmd, true
	case key.Matches(msg, m.keys.TopicDrop):
		if rc, ok := m.o.Conn.(RawConn); ok && len(t.filters) > 0 {
			return m, subscribeRaw(rc, t.filters[len(t.filters)-1], true), true
		}
		return m, nil, true
	case key.Matches(msg, m.keys.Up):
		t.cursor = max(0, t.cursor-1)
		return m, nil, true
	case key.Matches(msg, m.keys.Down):
		t.cursor = max(0, min(t.cursor+1, len(t.names)-1))
		return m, nil, true
	}
	return m, nil, false
}

func (m *Model) rawSubscribed(msg rawSubscribedMsg) {
	t := &m.topics
	switch {
	case msg.err != nil:
		t.refused[msg.filter] = msg.err.Error()
	case msg.unsubscribe:
		t.filters = slices.DeleteFunc(t.filters, func(f string) bool { return f == msg.filter })
	default:
		delete(t.refused, msg.filter)
		if !slices.Contains(t.filters, msg.filter) {
			t.filters = append(t.filters, msg.filter)
		}
	}
	m.status = "" // the pane lists the subscriptions and refusals
}

// topicsPane lists the topics seen with their count, rate and last
// payload, and pretty-prints the selected one's payload below.
func (m *Model) topicsPane(height int) string {
	s, t := m.styles, &m.topics
	lines := []string{s.Label.Render("raw topics") + s.Muted.Render("  / subscribe (+ # wildcards) • u unsubscribe last • ↑/↓ select • esc close")}
	if t.typing {
		lines = append(lines, t.input.View())
	}
	subs := "subscribed: " + strings.Join(t.filters, ", ")
	if len(t.filters) == 0 {
		subs = "subscribed: nothing yet"
	}
	lines = append(lines, s.Muted.Render(subs))
	for _, f := range slices.Sorted(maps.Keys(t.refused)) {
		lines = append(lines, s.Bad.Render(truncate(t.refused[f], m.width)))
	}
	if len(t.names) == 0 {
		return strings.Join(append(lines, s.Muted.Render("no message yet")), "\n")
	}
	t.cursor = max(0, min(t.cursor, len(t.names)-1))
	listRows := max(1, min(len(t.names), (height-len(lines))/2))
	top := max(0, min(t.cursor-listRows/2, len(t.names)-listRows))
	topicWidth := min(48, max(12, m.width/3))
	lines = append(lines, s.Label.Render(fmt.Sprintf("  %s %6s %7s %8s  %s", pad("topic", topicWidth), "msgs", "rate", "last", "payload")))
	for i := top; i < top+listRows; i++ {
		name := t.names[i]
		st := t.stats[name]
		mark := "  "
		if i == t.cursor {
			mark = "› "
		}
		lines = append(lines, truncate(fmt.Sprintf("%s%s %6d %5.1f/s %8s  %s", mark, pad(truncateLeft(name, topicWidth), topicWidth), st.count, st.rate(m.now),
			st.last.Format("15:04:05"), oneLine(st.payload)), m.width))
	}
	selected := t.stats[t.names[t.cursor]]
	lines = append(lines, s.Label.Render(t.names[t.cursor]))
	body := strings.Split(prettyPayload(selected.payload), "\n")
	return strings.Join(append(lines, clipLines(body, height-len(lines), m.width)...), "\n")
}

// prettyPayload indents JSON; anything else is shown as text.
func prettyPayload(p []byte) string {
	var b bytes.Buffer
	if json.Indent(&b, p, "", "  ") == nil {
		return b.String()
	}
	return string(p)
}

func oneLine(p []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, p) == nil {
		return b.String()
	}
	return strings.ReplaceAll(string(p), "\n", " ")
}
