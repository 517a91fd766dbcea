package tui

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/shadow"
)

// document is one version of the shadow as a get or update/documents gave it.
type document struct {
	At                                           time.Time
	Version, Timestamp                           int64
	Desired, Reported, DesiredMeta, ReportedMeta map[string]any
}

// maxDocuments bounds the version history the document pane keeps.
const maxDocuments = 200

// docHistory is the versions seen, oldest first.
type docHistory struct{ docs []document }

// add keeps a full document (get or update/documents) newer than the last.
func (h *docHistory) add(d event.ShadowDoc) {
	if d.Kind != event.DocGet && d.Kind != event.DocCurrent {
		return
	}
	if n := len(h.docs); n > 0 && d.Version <= h.docs[n-1].Version {
		return // a get of a version already held, or one arriving late
	}
	h.docs = append(h.docs, document{At: d.At, Version: d.Version, Timestamp: d.Timestamp, Desired: d.Desired,
		Reported: d.Reported, DesiredMeta: d.DesiredMetadata, ReportedMeta: d.ReportedMetadata})
	if len(h.docs) > maxDocuments {
		h.docs = slices.Delete(h.docs, 0, len(h.docs)-maxDocuments)
	}
}

// reset forgets the history: the shadow was deleted.
func (h *docHistory) reset() { h.docs = nil }

// fullJSON is the latest document in AWS's layout, with the delta the
// monitor holds (update/documents carries none).
func (h *docHistory) fullJSON(delta map[string]any) string {
	if len(h.docs) == 0 {
		return ""
	}
	d := h.docs[len(h.docs)-1]
	type sections struct {
		Desired  map[string]any `json:"desired,omitempty"`
		Reported map[string]any `json:"reported,omitempty"`
		Delta    map[string]any `json:"delta,omitempty"`
	}
	doc := struct {
		State     sections `json:"state"`
		Metadata  sections `json:"metadata"`
		Version   int64    `json:"version"`
		Timestamp int64    `json:"timestamp,omitempty"`
	}{sections{d.Desired, d.Reported, delta}, sections{Desired: d.DesiredMeta, Reported: d.ReportedMeta}, d.Version, d.Timestamp}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return string(b)
}

// changes lists, newest first, what each version changed against the one
// before it: one line per section that changed.
func (h *docHistory) changes() []string {
	var out []string
	for i := len(h.docs) - 1; i > 0; i-- {
		prev, cur := h.docs[i-1], h.docs[i]
		stamp := fmt.Sprintf("v%d %s", cur.Version, cur.At.Format("15:04:05"))
		for _, sec := range []struct {
			name     string
			old, new map[string]any
		}{{"desired", prev.Desired, cur.Desired}, {"reported", prev.Reported, cur.Reported}} {
			if diff := diffLeaves(sec.old, sec.new); len(diff) > 0 {
				out = append(out, fmt.Sprintf("%s %s: %s", stamp, sec.name, strings.Join(diff, ", ")))
			}
		}
		if cur.Version > prev.Version+1 {
			out = append(out, fmt.Sprintf("v%d–v%d not seen (iotwatch was not connected)", prev.Version+1, cur.Version-1))
		}
	}
	if n := len(h.docs); n > 0 {
		out = append(out, fmt.Sprintf("v%d %s: first version seen", h.docs[0].Version, h.docs[0].At.Format("15:04:05")))
	}
	return out
}

// diffLeaves compares two sections leaf by leaf: "a.b 1 → 2", "c + 3"
// (added), "d − 4" (removed), sorted by path.
func diffLeaves(old, new map[string]any) []string {
	o, n := leaves(old, ""), leaves(new, "")
	var paths []string
	for p := range o {
		paths = append(paths, p)
	}
	for p := range n {
		if _, ok := o[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	var out []string
	for _, p := range paths {
		ov, had := o[p]
		nv, has := n[p]
		switch {
		case !had:
			out = append(out, fmt.Sprintf("%s + %s", p, compact(nv)))
		case !has:
			out = append(out, fmt.Sprintf("%s − %s", p, compact(ov)))
		case !shadow.Equal(ov, nv):
			out = append(out, fmt.Sprintf("%s %s → %s", p, compact(ov), compact(nv)))
		}
	}
	return out
}

// leaves flattens nested objects into dotted paths; arrays are leaves.
func leaves(m map[string]any, prefix string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			for p, lv := range leaves(sub, prefix+k+".") {
				out[p] = lv
			}
			continue
		}
		out[prefix+k] = v
	}
	return out
}

func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// documentPane is the whole shadow document beside (wide) or above its
// version history; ↑/↓ scroll the document.
func (m *Model) documentPane(height int) string {
	s := m.styles
	title := s.Label.Render(fmt.Sprintf("shadow document v%d (d or esc closes, ↑/↓ scroll)", m.snap.Version))
	body := m.docs.fullJSON(m.snap.Delta)
	if body == "" {
		return title + "\n" + s.Muted.Render("no document yet: it arrives with the first get (g) or update")
	}
	docLines := strings.Split(body, "\n")
	history := append([]string{s.Label.Render("version history (newest first)")}, m.docs.changes()...)
	rows := max(1, height-1)
	if m.width >= wideFrom {
		left := m.scrolled(docLines, rows)
		width := max(20, m.width/2)
		return title + "\n" + joinColumns(left, width, clipLines(history, rows, m.width-width-1))
	}
	top := max(1, min(len(docLines), max(rows/2, rows-len(history))))
	return title + "\n" + strings.Join(append(m.scrolled(docLines, top), clipLines(history, rows-top, m.width)...), "\n")
}

// scrolled is rows lines of lines from the document's scroll position.
func (m *Model) scrolled(lines []string, rows int) []string {
	m.docScroll = max(0, min(m.docScroll, len(lines)-rows))
	return lines[m.docScroll:min(len(lines), m.docScroll+rows)]
}

func clipLines(lines []string, rows, width int) []string {
	lines = lines[:min(len(lines), max(0, rows))]
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = truncate(l, width)
	}
	return out
}

// joinColumns puts right beside left, left padded to width.
func joinColumns(left []string, width int, right []string) string {
	n := max(len(left), len(right))
	out := make([]string, n)
	for i := range n {
		l, r := "", ""
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		out[i] = pad(l, width) + " " + r
	}
	return strings.Join(out, "\n")
}
