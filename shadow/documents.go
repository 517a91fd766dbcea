package shadow

import (
	"encoding/json"
	"strconv"
)

// The answer documents, with AWS's field names.

type answer struct {
	State       map[string]any `json:"state,omitempty"`
	Metadata    any            `json:"metadata,omitempty"`
	Version     int64          `json:"version"`
	Timestamp   int64          `json:"timestamp"`
	ClientToken string         `json:"clientToken,omitempty"`
}

type rejection struct {
	Code        int    `json:"code"`
	Message     string `json:"message"`
	Timestamp   int64  `json:"timestamp,omitempty"`
	ClientToken string `json:"clientToken,omitempty"`
}

// snapshotOf is the documents' view of a shadow, JSON null when it did not
// exist.
func snapshotOf(s Shadow) json.RawMessage {
	switch {
	case !s.Exists:
		return json.RawMessage("null")
	case s.rendered != nil:
		return s.rendered
	}
	return renderSnapshot(encodeTree(sections(s.Desired, s.Reported)),
		encodeTree(sections(s.DesiredMeta, s.ReportedMeta)), s.Version)
}

// The documents message is assembled from already-marshalled parts: it is
// on every update's path, and re-encoding (and compacting) them would
// double its cost.

func renderSnapshot(state, metadata []byte, version int64) []byte {
	b := make([]byte, 0, len(state)+len(metadata)+48)
	b = append(b, `{"state":`...)
	b = append(b, state...)
	b = append(b, `,"metadata":`...)
	b = append(b, metadata...)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, version, 10)
	return append(b, '}')
}

func renderDocuments(previous, current []byte, ts int64, token string) []byte {
	b := make([]byte, 0, len(previous)+len(current)+128)
	b = append(b, `{"previous":`...)
	b = append(b, previous...)
	b = append(b, `,"current":`...)
	b = append(b, current...)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, ts, 10)
	if token != "" {
		b = append(b, `,"clientToken":`...)
		b = appendString(b, token)
	}
	return append(b, '}')
}

// sections builds {"desired":…, "reported":…}, leaving out absent ones.
func sections(desired, reported map[string]any) map[string]any {
	out := map[string]any{}
	if desired != nil {
		out["desired"] = desired
	}
	if reported != nil {
		out["reported"] = reported
	}
	return out
}

// marshal cannot fail on decoded JSON trees; a failure is a programming error.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("shadow: marshal: " + err.Error())
	}
	return b
}
