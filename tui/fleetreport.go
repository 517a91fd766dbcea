package tui

import "github.com/iotwatch/iotwatch/event"

// reportIn finds the device report in a fleet's update/documents message:
// a fleet follows documents only (six filters a thing), so the reported
// fields this update wrote, those whose metadata timestamp is the update's,
// become the update/accepted the monitor counts reports, seq and history
// from. False: the update wrote no reported field (a desired change).
func reportIn(d event.ShadowDoc) (event.ShadowDoc, bool) {
	if d.Kind != event.DocCurrent || d.Timestamp == 0 {
		return event.ShadowDoc{}, false
	}
	written := map[string]any{}
	for k, v := range d.Reported {
		if writtenAt(d.ReportedMetadata[k], d.Timestamp) {
			written[k] = v
		}
	}
	if len(written) == 0 {
		return event.ShadowDoc{}, false
	}
	return event.ShadowDoc{At: d.At, Thing: d.Thing, Kind: event.DocAccepted, Version: d.Version, Timestamp: d.Timestamp,
		ClientToken: d.ClientToken, Reported: written}, true
}

// writtenAt is whether a field's metadata (a timestamp, or an object of
// them for an object field) says it was written at ts or later.
func writtenAt(meta any, ts int64) bool {
	m, ok := meta.(map[string]any)
	if !ok {
		return false
	}
	if t, ok := m["timestamp"].(float64); ok {
		return int64(t) >= ts
	}
	for _, v := range m {
		if writtenAt(v, ts) {
			return true
		}
	}
	return false
}
