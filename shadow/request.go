package shadow

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// request is a decoded update, get or delete payload.
type request struct {
	fields  map[string]any
	state   map[string]any
	token   string
	version *int64
}

// parseRequest decodes a payload and its clientToken and version fields.
// The token is kept even when a later field is invalid, so a rejection can
// echo it.
func parseRequest(payload []byte) (request, *Error) {
	var req request
	payload = trimNUL(payload)
	if !isUTF8(payload) {
		return req, errNotUTF8
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return req, errInvalidJSON
	}
	fields, ok := v.(map[string]any)
	if !ok {
		return req, errInvalidJSON
	}
	req.fields = fields
	if raw, present := fields["clientToken"]; present {
		tok, ok := raw.(string)
		if !ok || len(tok) == 0 || len(tok) > maxTokenLen {
			return req, errInvalidToken
		}
		req.token = tok
	}
	if raw, present := fields["version"]; present {
		n, ok := raw.(json.Number)
		ver, err := strconv.ParseInt(string(n), 10, 64)
		if !ok || err != nil || ver < 0 {
			return req, errInvalidVersion
		}
		req.version = &ver
	}
	return req, nil
}

// trimNUL drops the NUL bytes that follow the JSON in the AWS IoT Device
// SDK for Embedded C's shadow demo (it sends the C string's terminator)
// and esp-aws-iot's thing_shadow example: AWS accepts such a payload.
func trimNUL(payload []byte) []byte { return bytes.TrimRight(payload, "\x00") }

// parseTokenOnly reads a get or delete payload: empty, or an object whose
// clientToken is echoed (a version there is ignored, as AWS does).
func parseTokenOnly(payload []byte) (request, *Error) {
	if len(bytes.TrimSpace(trimNUL(payload))) == 0 {
		return request{}, nil
	}
	req, err := parseRequest(payload)
	if err == errInvalidVersion {
		err = nil
	}
	return req, err
}

// validateUpdate checks the state node and the version against cur.
func (req *request) validateUpdate(cur Shadow) *Error {
	raw, present := req.fields["state"]
	if !present || raw == nil {
		return errMissingState
	}
	state, ok := raw.(map[string]any)
	if !ok {
		return errStateNotObject
	}
	if len(state) == 0 {
		return errMissingState
	}
	for key, section := range state {
		if err := checkSection(key, section); err != nil {
			return err
		}
	}
	if req.version != nil && *req.version != cur.Version {
		return errVersionConflict
	}
	req.state = state
	return nil
}

func checkSection(key string, section any) *Error {
	typeErr := map[string]*Error{"desired": errDesiredType, "reported": errReportedType}[key]
	if typeErr == nil {
		return errInvalidNode
	}
	if section == nil {
		return nil
	}
	if _, ok := section.(map[string]any); !ok {
		return typeErr
	}
	return checkTree(section, 1)
}
