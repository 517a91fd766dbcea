package shadow

import "encoding/json"

// The answer documents, with AWS's field names.

type answer struct {
	State       map[string]any `json:"state,omitempty"`
	Metadata    any            `json:"metadata,omitempty"`
	Version     int64          `json:"version"`
	Timestamp   int64          `json:"timestamp"`
	ClientToken string         `json:"clientToken,omitempty"`
}

type snapshot struct {
	State    any            `json:"state"` // a map, or its JSON already marshalled
	Metadata map[string]any `json:"metadata"`
	Version  int64          `json:"version"`
}

type documents struct {
	Previous    *snapshot `json:"previous"`
	Current     *snapshot `json:"current"`
	Timestamp   int64     `json:"timestamp"`
	ClientToken string    `json:"clientToken,omitempty"`
}

type rejection struct {
	Code        int    `json:"code"`
	Message     string `json:"message"`
	Timestamp   int64  `json:"timestamp,omitempty"`
	ClientToken string `json:"clientToken,omitempty"`
}

// snapshotOf is the documents' view of a shadow; nil when it did not exist.
func snapshotOf(s Shadow) *snapshot {
	if !s.Exists {
		return nil
	}
	return &snapshot{State: sections(s.Desired, s.Reported),
		Metadata: sections(s.DesiredMeta, s.ReportedMeta), Version: s.Version}
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
