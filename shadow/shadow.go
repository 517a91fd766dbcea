package shadow

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// maxStateSize is AWS's limit on the stored desired + reported, serialized.
const maxStateSize = 8192

// Shadow is one stored shadow (a thing's classic shadow or a named one).
type Shadow struct {
	Desired      map[string]any `json:"desired,omitempty"`
	Reported     map[string]any `json:"reported,omitempty"`
	DesiredMeta  map[string]any `json:"desiredMeta,omitempty"`
	ReportedMeta map[string]any `json:"reportedMeta,omitempty"`
	// Version is kept after a delete so that a re-created shadow continues.
	Version int64 `json:"version"`
	// Exists is false before the first accepted update and after a delete.
	Exists bool `json:"exists"`

	// rendered caches the documents' JSON of this version, so the next
	// update's "previous" costs nothing; it is rebuilt when absent.
	rendered []byte
}

// Decode reads a Shadow stored with json.Marshal, keeping numbers exact.
func Decode(data []byte) (Shadow, error) {
	var s Shadow
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	err := dec.Decode(&s)
	return s, err
}

// Result of one request. Exactly one of Accepted and Rejected is non-nil.
type Result struct {
	Next      Shadow // what to store (the input when nothing changed)
	Changed   bool   // Next must be persisted
	Accepted  []byte // payload for <prefix>/<op>/accepted
	Rejected  []byte // payload for <prefix>/<op>/rejected
	Delta     []byte // update only: payload for <prefix>/update/delta, nil when none
	Documents []byte // update only: payload for <prefix>/update/documents
}

// Update applies an update request to cur at now.
func Update(cur Shadow, payload []byte, now time.Time) Result {
	req, err := parseRequest(payload)
	if err == nil {
		err = req.validateUpdate(cur)
	}
	if err != nil {
		return reject(cur, err, req.token, now)
	}
	ts := now.Unix()
	next := Shadow{Desired: cur.Desired, Reported: cur.Reported, DesiredMeta: cur.DesiredMeta,
		ReportedMeta: cur.ReportedMeta, Version: cur.Version + 1, Exists: true}
	if !cur.Exists {
		next.Desired, next.Reported, next.DesiredMeta, next.ReportedMeta = nil, nil, nil, nil
	}
	applySection(&next.Desired, &next.DesiredMeta, req.state, "desired", ts)
	applySection(&next.Reported, &next.ReportedMeta, req.state, "reported", ts)
	stateJSON := encodeTree(sections(next.Desired, next.Reported))
	if len(stateJSON) > maxStateSize {
		return reject(cur, errTooLarge, req.token, now)
	}
	next.rendered = renderSnapshot(stateJSON, encodeTree(sections(next.DesiredMeta, next.ReportedMeta)), next.Version)
	res := Result{Next: next, Changed: true}
	res.Accepted = answer{State: req.state, Metadata: metaOf(req.state, ts),
		Version: next.Version, Timestamp: ts, ClientToken: req.token}.encode()
	res.Documents = renderDocuments(snapshotOf(cur), next.rendered, ts, req.token)
	if delta := Delta(next.Desired, next.Reported); delta != nil {
		res.Delta = answer{State: delta, Metadata: project(next.DesiredMeta, delta),
			Version: next.Version, Timestamp: ts, ClientToken: req.token}.encode()
	}
	return res
}

// Get answers a get request; name is the thing name for the classic shadow,
// the shadow name for a named one.
func Get(cur Shadow, payload []byte, name string, now time.Time) Result {
	req, err := parseTokenOnly(payload)
	if err == nil && !cur.Exists {
		err = errNoShadow(name)
	}
	if err != nil {
		return reject(cur, err, req.token, now)
	}
	state := sections(cur.Desired, cur.Reported)
	if delta := Delta(cur.Desired, cur.Reported); delta != nil {
		state["delta"] = delta
	}
	return Result{Next: cur, Accepted: answer{State: state,
		Metadata: sections(cur.DesiredMeta, cur.ReportedMeta), Version: cur.Version,
		Timestamp: now.Unix(), ClientToken: req.token}.encode()}
}

// Delete answers a delete request. The version survives the delete.
func Delete(cur Shadow, payload []byte, name string, now time.Time) Result {
	req, err := parseTokenOnly(payload)
	if err == nil && !cur.Exists {
		err = errNoShadow(name)
	}
	if err != nil {
		return reject(cur, err, req.token, now)
	}
	return Result{Next: Shadow{Version: cur.Version}, Changed: true,
		Accepted: answer{Version: cur.Version, Timestamp: now.Unix(), ClientToken: req.token}.encode()}
}

func applySection(doc, meta *map[string]any, state map[string]any, key string, ts int64) {
	patch, present := state[key]
	if !present {
		return
	}
	if patch == nil {
		*doc, *meta = nil, nil
		return
	}
	*doc, *meta = merge(*doc, *meta, patch.(map[string]any), ts)
}

func reject(cur Shadow, err *Error, token string, now time.Time) Result {
	r := rejection{Code: err.Code, Message: err.Message, ClientToken: token}
	if err.Code != 404 {
		r.Timestamp = now.Unix()
	}
	return Result{Next: cur, Rejected: marshal(r)}
}

// isUTF8 is checked before JSON decoding, which would silently replace
// invalid bytes.
func isUTF8(b []byte) bool { return utf8.Valid(b) }
