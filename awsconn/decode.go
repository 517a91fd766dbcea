package awsconn

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/shadow"
)

// wire is every field the shadow answers and lifecycle events carry.
type wire struct {
	State       json.RawMessage `json:"state"`
	Metadata    json.RawMessage `json:"metadata"`
	Current     *wire           `json:"current"`
	Version     int64           `json:"version"`
	Timestamp   int64           `json:"timestamp"`
	ClientToken string          `json:"clientToken"`
	Code        int             `json:"code"`
	Message     string          `json:"message"`

	ClientID             string `json:"clientId"`
	EventType            string `json:"eventType"`
	VersionNumber        int64  `json:"versionNumber"`
	DisconnectReason     string `json:"disconnectReason"`
	ClientInitiated      bool   `json:"clientInitiatedDisconnect"`
	ConnectFailureReason string `json:"connectFailureReason"`
}

type sections struct {
	Desired  map[string]any `json:"desired"`
	Reported map[string]any `json:"reported"`
	Delta    map[string]any `json:"delta"`
}

var errNotObject = errors.New("payload is not a JSON object")

// decode turns one message into a monitor event. Numbers beyond float64 stay
// json.Number (the service accepts 1e400, so every later full document holds
// it): one odd value must not make the rest of the shadow unreadable.
func decode(topic string, payload []byte, at time.Time) (event.Event, string, error) {
	var w wire
	if err := event.DecodeJSON(payload, &w); err != nil {
		return nil, "", err
	}
	if strings.HasPrefix(topic, "$aws/events/presence/") {
		return event.Presence{At: at, ClientID: w.ClientID, EventType: w.EventType,
			Timestamp: time.UnixMilli(w.Timestamp), VersionNumber: w.VersionNumber,
			DisconnectReason: w.DisconnectReason, ClientInitiated: w.ClientInitiated,
			FailureReason: w.ConnectFailureReason}, "", nil
	}
	_, _, op, rest, ok := shadow.ParseTopic(topic)
	if !ok {
		return nil, "", errors.New("not a shadow or lifecycle topic")
	}
	switch {
	case rest == "rejected":
		return event.Rejected{At: at, Op: op, Code: w.Code, Message: w.Message, ClientToken: w.ClientToken}, w.ClientToken, nil
	case op == "delete":
		return event.Deleted{At: at, Version: w.Version, ClientToken: w.ClientToken}, w.ClientToken, nil
	}
	return decodeDoc(w, op, rest, at)
}

func decodeDoc(w wire, op, rest string, at time.Time) (event.Event, string, error) {
	kind := map[string]event.DocKind{"get/accepted": event.DocGet, "update/accepted": event.DocAccepted,
		"update/delta": event.DocDelta, "update/documents": event.DocCurrent}[op+"/"+rest]
	src := w
	if kind == event.DocCurrent {
		if w.Current == nil {
			return nil, "", errors.New("documents without current")
		}
		src = *w.Current
	}
	doc := event.ShadowDoc{At: at, Kind: kind, Version: src.Version, Timestamp: w.Timestamp, ClientToken: w.ClientToken}
	if kind == event.DocDelta {
		if err := unmarshalObject(src.State, &doc.Delta); err != nil {
			return nil, "", err
		}
		var meta map[string]any
		unmarshalObject(src.Metadata, &meta)
		doc.Delta, doc.DesiredMetadata = event.Fit(doc.Delta), event.Fit(meta)
		return doc, w.ClientToken, nil
	}
	var st, meta sections
	if err := unmarshalObject(src.State, &st); err != nil {
		return nil, "", err
	}
	unmarshalObject(src.Metadata, &meta)
	event.Fit(st.Desired)
	event.Fit(st.Reported)
	event.Fit(st.Delta)
	event.Fit(meta.Desired)
	event.Fit(meta.Reported)
	doc.Desired, doc.Reported, doc.Delta = st.Desired, st.Reported, st.Delta
	doc.DesiredMetadata, doc.ReportedMetadata = meta.Desired, meta.Reported
	return doc, w.ClientToken, nil
}

func unmarshalObject(raw json.RawMessage, into any) error {
	if len(raw) == 0 || raw[0] != '{' {
		return errNotObject
	}
	return event.DecodeJSON(raw, into)
}

// truncate keeps the start of a malformed payload for display.
func truncate(b []byte) []byte {
	if len(b) > 256 {
		b = b[:256]
	}
	return append([]byte(nil), b...)
}
