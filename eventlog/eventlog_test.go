package eventlog

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

var session = event.Session{At: t0, Program: "iotwatch test", Thing: "esp32", ConfigDigest: "ab12"}

func sample() []event.Event {
	return []event.Event{
		session,
		event.Link{At: t0, State: event.LinkUp},
		event.ShadowDoc{At: t0.Add(time.Second), Kind: event.DocAccepted, Version: 3, Timestamp: 1764064800, ClientToken: "t",
			Reported: map[string]any{"temp": 21.5, "seq": 4.0, "led": true, "fw": "1.0"}},
		event.Rejected{At: t0, Op: "update", Code: 409, Message: "Version conflict", ClientToken: "x"},
		event.Deleted{At: t0, Version: 7},
		event.Presence{At: t0, ClientID: "esp32", EventType: "disconnected", Timestamp: t0.Add(-time.Second), VersionNumber: 2, DisconnectReason: "DUPLICATE_CLIENTID"},
		event.DesiredSent{At: t0, ClientToken: "d", Patch: map[string]any{"led": false}},
		event.Malformed{At: t0, Topic: "$aws/things/x/shadow/update/accepted", Err: "bad", Payload: []byte("{not json")},
		event.Overflow{At: t0, Count: 12},
		event.Unregistered{At: t0, Thing: "esp32", Suggestion: "esp32-s3"},
		event.Jobs{At: t0, Thing: "esp32", Executions: []event.JobExecution{}},
		event.Jobs{At: t0.Add(2 * time.Second), Thing: "esp32", Executions: []event.JobExecution{
			{JobID: "ota-2", Status: "FAILED", StatusDetails: map[string]string{"reason": "sha256 mismatch"}, QueuedAt: t0.Add(-time.Minute), StartedAt: t0, LastUpdatedAt: t0.Add(time.Second)},
			{JobID: "ota-3", Status: "QUEUED", QueuedAt: t0}}},
		event.Alive{At: t0.Add(5 * time.Second)},
		event.ShadowDoc{At: t0.Add(6 * time.Second), Kind: event.DocGet, Version: 4, Reported: map[string]any{"big": json.Number("1e400"), "t": 1.0},
			ReportedMetadata: map[string]any{"big": map[string]any{"timestamp": 1764064806.0}}},
		event.Link{At: t0.Add(7 * time.Second), State: event.LinkConnecting, Attempt: 2, Err: "EOF"},
		event.Stall{At: t0.Add(50 * time.Second), Since: t0.Add(8 * time.Second)},
		event.End{At: t0.Add(60 * time.Second), Reason: event.EndSignal, Signal: "SIGTERM"},
	}
}

var header = Header{ID: "r1", Planned: time.Hour, Settings: &Settings{Interval: Seconds(5 * time.Second), DropoutAfter: 2.5,
	MinAvailability: 99.9, MaxGap: Seconds(10 * time.Second), MaxBlind: 5, RequireJobsSucceeded: true}}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "soak.jsonl")
	w, err := CreateRun(path, session, header)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range sample()[1:] {
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	log, err := Read(path)
	if err != nil || log.Torn || len(log.Problems) > 0 {
		t.Fatalf("read: %v %+v", err, log)
	}
	if !reflect.DeepEqual(log.Events, sample()) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", log.Events, sample())
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(string(data), "\n")
	want := []string{`{"schema":1,"time":"2026-11-25T10:00:00Z","type":"session","run":"r1","program":"iotwatch test","thing":"esp32","config_digest":"ab12","planned_s":3600,"settings":{"interval_s":5,"dropout_after":2.5,"max_dropouts":0,"min_availability":99.9,"max_gap_s":10,"max_blind":5,"require_jobs_succeeded":true}}`,
		`{"time":"2026-11-25T10:00:00Z","type":"link","run":"r1","state":"up"}`,
		`{"time":"2026-11-25T10:00:01Z","type":"shadow","run":"r1","kind":"accepted","version":3,"shadow_time":"2025-11-25T10:00:00Z","client_token":"t","reported":{"fw":"1.0","led":true,"seq":4,"temp":21.5}}`}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, lines[i], w)
		}
	}
	if !strings.Contains(string(data), `"reported":{"big":1e400,"t":1}`) || !strings.Contains(string(data), `"state":"connecting","attempt":2,"error":"EOF"`) ||
		!strings.Contains(string(data), `{"time":"2026-11-25T10:00:50Z","type":"stall","run":"r1","since":"2026-11-25T10:00:08Z"}`) ||
		!strings.Contains(string(data), `{"time":"2026-11-25T10:01:00Z","type":"end","run":"r1","reason":"signal","signal":"SIGTERM"}`) {
		t.Fatalf("format:\n%s", data)
	}
	if len(log.Runs) != 1 || !reflect.DeepEqual(log.Runs[0].Header, header) || !log.Runs[0].Ended() || log.Runs[0].End.Signal != "SIGTERM" ||
		!log.Runs[0].Last.Equal(t0.Add(time.Minute)) || log.Fleet() || !log.Holds("esp32") {
		t.Fatalf("runs %+v", log.Runs)
	}
}

// TestReadsLogsFromBeforeTheSchema reads a log written by iotwatch before
// schema 1 (a 5 s soak of serve + sim, then one event of every other type).
func TestReadsLogsFromBeforeTheSchema(t *testing.T) {
	log, err := Read("testdata/v0-sample.jsonl")
	if err != nil || log.Torn || len(log.Problems) > 0 {
		t.Fatalf("read: %v %+v", err, log)
	}
	counts := map[string]int{}
	for _, ev := range log.Events {
		counts[reflect.TypeOf(ev).Name()]++
	}
	want := map[string]int{"Link": 4, "ShadowDoc": 13, "DesiredSent": 1, "Rejected": 1, "Presence": 2, "Deleted": 1, "Malformed": 1, "Overflow": 1}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("events by type %v, want %v", counts, want)
	}
	first := log.Events[1].(event.ShadowDoc)
	if first.Kind != event.DocAccepted || first.Version != 1 || first.Reported["seq"] != 1.0 || first.Reported["fw"] != "iotwatch-sim/0.1.0" ||
		first.ReportedMetadata["temp"].(map[string]any)["timestamp"] != 1796161796.0 || first.Timestamp != 1796161796 {
		t.Fatalf("shadow event %+v", first)
	}
	p := log.Events[len(log.Events)-7].(event.Presence)
	if p.EventType != "disconnected" || p.DisconnectReason != "MQTT_KEEP_ALIVE_TIMEOUT" || p.VersionNumber != 3 || p.Timestamp.IsZero() {
		t.Fatalf("presence %+v", p)
	}
	if m := log.Events[len(log.Events)-4].(event.Malformed); string(m.Payload) != "[1,2]" {
		t.Fatalf("malformed %+v", m)
	}
	if l := log.Events[len(log.Events)-2].(event.Link); l.State != event.LinkDown || l.Err != "EOF" {
		t.Fatalf("link %+v", l)
	}
}

func TestTornAndCorruptLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "soak.jsonl")
	w, _ := Create(path, session)
	for _, ev := range sample()[1:3] {
		w.Write(ev)
	}
	w.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("garbage line\n")
	w2, _ := Create(path, session)
	w2.Write(sample()[3])
	w2.Close()
	f.WriteString(`{"time":"2026-11-25T10:00:0`)
	f.Close()
	log, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Events) != 5 || !log.Torn || len(log.Problems) != 1 || !strings.Contains(log.Problems[0], "soak.jsonl:4") {
		t.Fatalf("events %d torn %v problems %v", len(log.Events), log.Torn, log.Problems)
	}
	// A run appended after the torn line keeps its session line.
	w3, _ := Create(path, session)
	w3.Write(sample()[4])
	w3.Close()
	log, err = Read(path)
	if err != nil || len(log.Events) != 7 || log.Torn || len(log.Problems) != 2 || log.Events[5] != session {
		t.Fatalf("after appending: %v events %d torn %v problems %v", err, len(log.Events), log.Torn, log.Problems)
	}
}

// TestHelperWriter is the child of TestKill9: it writes events until killed.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv("IOTWATCH_EVENTLOG_CHILD")
	if path == "" {
		t.Skip("only runs as the child of TestKill9")
	}
	w, err := Create(path, session)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		w.Write(event.ShadowDoc{At: time.Now(), Kind: event.DocAccepted, Version: int64(i + 1), Reported: map[string]any{"seq": float64(i + 1)}})
		time.Sleep(time.Millisecond)
	}
}

func TestKill9LosesAtMostTheLastSecond(t *testing.T) {
	path := filepath.Join(t.TempDir(), "soak.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$")
	cmd.Env = append(os.Environ(), "IOTWATCH_EVENTLOG_CHILD="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	killedAt := time.Now()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	log, err := Read(path)
	if err != nil || len(log.Problems) > 0 {
		t.Fatalf("read after kill -9: %v %v", err, log.Problems)
	}
	if len(log.Events) == 0 {
		t.Fatal("nothing survived")
	}
	last := log.Events[len(log.Events)-1].Time()
	// At most the last second is lost (plus scheduling slack on a loaded machine).
	if lost := killedAt.Sub(last); lost > 1500*time.Millisecond {
		t.Fatalf("lost the last %s of events", lost)
	}
	for i, ev := range log.Events[1:] {
		if seq := ev.(event.ShadowDoc).Reported["seq"].(float64); seq != float64(i+1) {
			t.Fatalf("event %d has seq %v: a hole before the end", i, seq)
		}
	}
}

// TestDocumentedExamplesRead keeps docs/eventlog.md's examples true.
func TestDocumentedExamplesRead(t *testing.T) {
	doc, err := os.ReadFile("../docs/eventlog.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, `{"`) {
			continue
		}
		n++
		if _, _, err := decodeLine([]byte(line)); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
	if n < 5 {
		t.Fatalf("only %d examples found", n)
	}
}

func TestIdleLogGetsAliveLines(t *testing.T) {
	defer func(d time.Duration) { aliveEvery = d }(aliveEvery)
	aliveEvery = 100 * time.Millisecond
	path := filepath.Join(t.TempDir(), "soak.jsonl")
	w, err := Create(path, session)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if data, _ := os.ReadFile(path); strings.Count(string(data), `"type":"alive"`) >= 3 || time.Now().After(deadline) {
			break
		}
	}
	w.Close()
	log, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	for _, ev := range log.Events {
		if a, ok := ev.(event.Alive); ok {
			times = append(times, a.At)
		}
	}
	if len(times) < 3 {
		t.Fatalf("%d alive lines written while idle", len(times))
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < aliveEvery {
			t.Fatalf("alive lines %s apart: one only after %s without any line", gap, aliveEvery)
		}
	}
}

// TestFleetLinesCarryTheirThing: a fleet's log names the thing on every
// event that has one, and the things a link blinds; both read back.
func TestFleetLinesCarryTheirThing(t *testing.T) {
	events := []event.Event{
		event.Session{At: t0, Program: "iotwatch test", Thing: "esp32-000"},
		event.Link{At: t0, State: event.LinkUp, Things: []string{"esp32-000", "esp32-001"}},
		event.ShadowDoc{At: t0, Thing: "esp32-001", Kind: event.DocCurrent, Version: 1, Reported: map[string]any{"seq": 1.0}},
		event.Rejected{At: t0, Thing: "esp32-001", Op: "get", Code: 404, Message: "No shadow exists with name: 'esp32-001'"},
		event.Deleted{At: t0, Thing: "esp32-000", Version: 2},
		event.Presence{At: t0, Thing: "esp32-000", ClientID: "esp32-000", EventType: "connected"},
		event.DesiredSent{At: t0, Thing: "esp32-001", ClientToken: "d", Patch: map[string]any{"led": true}},
	}
	path := filepath.Join(t.TempDir(), "fleet.jsonl")
	w, err := CreateRun(path, events[0].(event.Session), Header{ID: "f1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events[1:] {
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	log, err := Read(path)
	if err != nil || len(log.Problems) > 0 {
		t.Fatalf("read: %v %+v", err, log)
	}
	if !reflect.DeepEqual(log.Events, events) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", log.Events, events)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if want := `{"time":"2026-11-25T10:00:00Z","type":"link","run":"f1","state":"up","things":["esp32-000","esp32-001"]}`; lines[1] != want {
		t.Errorf("link line:\n got %s\nwant %s", lines[1], want)
	}
	for i, l := range lines[2:] {
		if !strings.Contains(l, `"thing":"esp32-00`) {
			t.Errorf("line %d names no thing: %s", i+3, l)
		}
	}
}
