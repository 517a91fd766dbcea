package eventlog

import (
	"fmt"
	"slices"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// Schema is the version of the line format written, stated on each run's
// session line (docs/eventlog.md). Logs from before schema 1 have no session
// line and nest each event under "event"; they still read.
const Schema = 1

// line is one log line of schema 1: every field of every type, snake_case,
// empty ones left out (absent means zero, empty or false).
type line struct {
	Schema int    `json:"schema,omitzero"`
	Time   string `json:"time"`
	Type   string `json:"type"`
	// Run is the id of the run that wrote the line (its session's id):
	// runs appending to one log at once are told apart by it.
	Run string `json:"run,omitzero"`

	Program      string    `json:"program,omitzero"`
	Thing        string    `json:"thing,omitzero"`
	ConfigDigest string    `json:"config_digest,omitzero"`
	PlannedS     float64   `json:"planned_s,omitzero"`
	Settings     *Settings `json:"settings,omitzero"`

	Reason string `json:"reason,omitzero"`
	Signal string `json:"signal,omitzero"`
	Since  string `json:"since,omitzero"`

	Kind             string         `json:"kind,omitzero"`
	Version          int64          `json:"version,omitzero"`
	ShadowTime       string         `json:"shadow_time,omitzero"`
	ClientToken      string         `json:"client_token,omitzero"`
	Desired          map[string]any `json:"desired,omitzero"`
	Reported         map[string]any `json:"reported,omitzero"`
	Delta            map[string]any `json:"delta,omitzero"`
	DesiredMetadata  map[string]any `json:"desired_metadata,omitzero"`
	ReportedMetadata map[string]any `json:"reported_metadata,omitzero"`

	Op      string `json:"op,omitzero"`
	Code    int    `json:"code,omitzero"`
	Message string `json:"message,omitzero"`

	ClientID         string `json:"client_id,omitzero"`
	EventType        string `json:"event_type,omitzero"`
	EventTime        string `json:"event_time,omitzero"`
	VersionNumber    int64  `json:"version_number,omitzero"`
	DisconnectReason string `json:"disconnect_reason,omitzero"`
	ClientInitiated  bool   `json:"client_initiated,omitzero"`
	FailureReason    string `json:"failure_reason,omitzero"`

	State   string `json:"state,omitzero"`
	Attempt int    `json:"attempt,omitzero"`
	Error   string `json:"error,omitzero"`
	// Things are the things a fleet connection's link state blinds.
	Things []string `json:"things,omitzero"`

	Patch   map[string]any `json:"patch,omitzero"`
	Topic   string         `json:"topic,omitzero"`
	Payload string         `json:"payload,omitzero"`
	Count   int            `json:"count,omitzero"`

	Suggestion string `json:"suggestion,omitzero"`

	// Executions are a jobs line's (a thing's job executions); present,
	// maybe empty, on every jobs line.
	Executions *[]jobLine `json:"executions,omitzero"`
}

// jobLine is one job execution of a jobs line.
type jobLine struct {
	JobID         string            `json:"job_id"`
	Status        string            `json:"status"`
	StatusDetails map[string]string `json:"status_details,omitzero"`
	QueuedAt      string            `json:"queued_at,omitzero"`
	StartedAt     string            `json:"started_at,omitzero"`
	LastUpdatedAt string            `json:"last_updated_at,omitzero"`
}

var docKinds = map[string]event.DocKind{"get": event.DocGet, "documents": event.DocCurrent, "accepted": event.DocAccepted, "delta": event.DocDelta}

var linkStates = map[string]event.LinkState{"connecting": event.LinkConnecting, "up": event.LinkUp, "down": event.LinkDown}

// toLine is the schema 1 line of an event.
func toLine(ev event.Event) line {
	l := line{Time: stamp(ev.Time())}
	switch e := ev.(type) {
	case event.Session:
		l.Type, l.Schema, l.Program, l.Thing, l.ConfigDigest = "session", Schema, e.Program, e.Thing, e.ConfigDigest
	case event.Alive:
		l.Type = "alive"
	case event.ShadowDoc:
		l.Type, l.Thing, l.Kind, l.Version, l.ClientToken = "shadow", e.Thing, e.Kind.String(), e.Version, e.ClientToken
		l.Desired, l.Reported, l.Delta, l.DesiredMetadata, l.ReportedMetadata = e.Desired, e.Reported, e.Delta, e.DesiredMetadata, e.ReportedMetadata
		if e.Timestamp != 0 {
			l.ShadowTime = stamp(time.Unix(e.Timestamp, 0))
		}
	case event.Rejected:
		l.Type, l.Thing, l.Op, l.Code, l.Message, l.ClientToken = "rejected", e.Thing, e.Op, e.Code, e.Message, e.ClientToken
	case event.Deleted:
		l.Type, l.Thing, l.Version, l.ClientToken = "deleted", e.Thing, e.Version, e.ClientToken
	case event.Presence:
		l.Type, l.Thing, l.ClientID, l.EventType, l.VersionNumber = "presence", e.Thing, e.ClientID, e.EventType, e.VersionNumber
		l.DisconnectReason, l.ClientInitiated, l.FailureReason = e.DisconnectReason, e.ClientInitiated, e.FailureReason
		if !e.Timestamp.IsZero() {
			l.EventTime = stamp(e.Timestamp)
		}
	case event.Link:
		l.Type, l.State, l.Attempt, l.Error, l.Things = "link", e.State.String(), e.Attempt, e.Err, e.Things
	case event.DesiredSent:
		l.Type, l.Thing, l.ClientToken, l.Patch = "desired", e.Thing, e.ClientToken, e.Patch
	case event.Malformed:
		l.Type, l.Topic, l.Error, l.Payload = "malformed", e.Topic, e.Err, string(e.Payload)
	case event.Overflow:
		l.Type, l.Count = "overflow", e.Count
	case event.Unregistered:
		l.Type, l.Thing, l.Suggestion = "unregistered", e.Thing, e.Suggestion
	case event.Jobs:
		l.Type, l.Thing = "jobs", e.Thing
		xs := make([]jobLine, 0, len(e.Executions))
		for _, x := range e.Executions {
			xs = append(xs, jobLine{JobID: x.JobID, Status: x.Status, StatusDetails: x.StatusDetails,
				QueuedAt: stampOrEmpty(x.QueuedAt), StartedAt: stampOrEmpty(x.StartedAt), LastUpdatedAt: stampOrEmpty(x.LastUpdatedAt)})
		}
		l.Executions = &xs
	case event.Stall:
		l.Type, l.Since = "stall", stamp(e.Since)
	case event.End:
		l.Type, l.Reason, l.Signal, l.Error = "end", e.Reason, e.Signal, e.Error
	}
	return l
}

// event turns a schema 1 line back into its event.
func (l line) event() (event.Event, error) {
	at, err := parseTime("time", l.Time)
	if err != nil {
		return nil, err
	}
	switch l.Type {
	case "session":
		return event.Session{At: at, Program: l.Program, Thing: l.Thing, ConfigDigest: l.ConfigDigest}, nil
	case "alive":
		return event.Alive{At: at}, nil
	case "shadow":
		kind, ok := docKinds[l.Kind]
		if !ok {
			return nil, fmt.Errorf("shadow kind %q is not one of get, documents, accepted, delta", l.Kind)
		}
		d := event.ShadowDoc{At: at, Thing: l.Thing, Kind: kind, Version: l.Version, ClientToken: l.ClientToken,
			Desired: event.Fit(l.Desired), Reported: event.Fit(l.Reported), Delta: event.Fit(l.Delta),
			DesiredMetadata: event.Fit(l.DesiredMetadata), ReportedMetadata: event.Fit(l.ReportedMetadata)}
		if l.ShadowTime != "" {
			st, err := parseTime("shadow_time", l.ShadowTime)
			if err != nil {
				return nil, err
			}
			d.Timestamp = st.Unix()
		}
		return d, nil
	case "rejected":
		return event.Rejected{At: at, Thing: l.Thing, Op: l.Op, Code: l.Code, Message: l.Message, ClientToken: l.ClientToken}, nil
	case "deleted":
		return event.Deleted{At: at, Thing: l.Thing, Version: l.Version, ClientToken: l.ClientToken}, nil
	case "presence":
		p := event.Presence{At: at, Thing: l.Thing, ClientID: l.ClientID, EventType: l.EventType, VersionNumber: l.VersionNumber,
			DisconnectReason: l.DisconnectReason, ClientInitiated: l.ClientInitiated, FailureReason: l.FailureReason}
		if l.EventTime != "" {
			if p.Timestamp, err = parseTime("event_time", l.EventTime); err != nil {
				return nil, err
			}
		}
		return p, nil
	case "link":
		state, ok := linkStates[l.State]
		if !ok {
			return nil, fmt.Errorf("link state %q is not one of connecting, up, down", l.State)
		}
		return event.Link{At: at, State: state, Attempt: l.Attempt, Err: l.Error, Things: l.Things}, nil
	case "desired":
		return event.DesiredSent{At: at, Thing: l.Thing, ClientToken: l.ClientToken, Patch: event.Fit(l.Patch)}, nil
	case "malformed":
		m := event.Malformed{At: at, Topic: l.Topic, Err: l.Error}
		if l.Payload != "" {
			m.Payload = []byte(l.Payload)
		}
		return m, nil
	case "overflow":
		return event.Overflow{At: at, Count: l.Count}, nil
	case "unregistered":
		return event.Unregistered{At: at, Thing: l.Thing, Suggestion: l.Suggestion}, nil
	case "jobs":
		return l.jobs(at)
	case "stall":
		since, err := parseTime("since", l.Since)
		if err != nil {
			return nil, err
		}
		return event.Stall{At: at, Since: since}, nil
	case "end":
		if !slices.Contains([]string{event.EndCompleted, event.EndSignal, event.EndError}, l.Reason) {
			return nil, fmt.Errorf("end reason %q is not one of completed, signal, error", l.Reason)
		}
		return event.End{At: at, Reason: l.Reason, Signal: l.Signal, Error: l.Error}, nil
	}
	return nil, fmt.Errorf("unknown event type %q", l.Type)
}

// jobs reads a jobs line back.
func (l line) jobs(at time.Time) (event.Event, error) {
	if l.Thing == "" || l.Executions == nil {
		return nil, fmt.Errorf("a jobs line needs a thing and executions (a list, maybe empty)")
	}
	j := event.Jobs{At: at, Thing: l.Thing, Executions: []event.JobExecution{}}
	for i, x := range *l.Executions {
		e := event.JobExecution{JobID: x.JobID, Status: x.Status, StatusDetails: x.StatusDetails}
		for _, f := range []struct {
			name, text string
			to         *time.Time
		}{{"queued_at", x.QueuedAt, &e.QueuedAt}, {"started_at", x.StartedAt, &e.StartedAt}, {"last_updated_at", x.LastUpdatedAt, &e.LastUpdatedAt}} {
			if f.text == "" {
				continue
			}
			t, err := parseTime(fmt.Sprintf("executions[%d].%s", i, f.name), f.text)
			if err != nil {
				return nil, err
			}
			*f.to = t
		}
		if e.JobID == "" || e.Status == "" {
			return nil, fmt.Errorf("executions[%d] needs a job_id and a status", i)
		}
		j.Executions = append(j.Executions, e)
	}
	return j, nil
}

func stampOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return stamp(t)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time", field, s)
	}
	return t, nil
}
