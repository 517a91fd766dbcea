package eventlog

import (
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

func sample() []event.Event {
	return []event.Event{
		event.Link{At: t0, State: event.LinkUp},
		event.ShadowDoc{At: t0.Add(time.Second), Kind: event.DocAccepted, Version: 3, Timestamp: 1764064800, ClientToken: "t",
			Reported: map[string]any{"temp": 21.5, "seq": 4.0, "led": true, "fw": "1.0"}},
		event.Rejected{At: t0, Op: "update", Code: 409, Message: "Version conflict", ClientToken: "x"},
		event.Deleted{At: t0, Version: 7},
		event.Presence{At: t0, ClientID: "esp32", EventType: "disconnected", Timestamp: t0.Add(-time.Second), VersionNumber: 2, DisconnectReason: "DUPLICATE_CLIENTID"},
		event.DesiredSent{At: t0, ClientToken: "d", Patch: map[string]any{"led": false}},
		event.Malformed{At: t0, Topic: "$aws/things/x/shadow/update/accepted", Err: "bad", Payload: []byte{0xff, '{'}},
		event.Overflow{At: t0, Count: 12},
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "soak.jsonl")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range sample() {
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
	if !strings.HasPrefix(string(data), `{"time":"2026-11-25T10:00:00Z","type":"link"`) {
		t.Fatalf("line format: %s", data[:80])
	}
}

func TestTornAndCorruptLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "soak.jsonl")
	w, _ := Create(path)
	for _, ev := range sample()[:2] {
		w.Write(ev)
	}
	w.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("garbage line\n")
	w2, _ := Create(path)
	w2.Write(sample()[2])
	w2.Close()
	f.WriteString(`{"time":"2026-11-25T10:00:0`)
	f.Close()
	log, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Events) != 3 || !log.Torn || len(log.Problems) != 1 || !strings.Contains(log.Problems[0], "soak.jsonl:3") {
		t.Fatalf("events %d torn %v problems %v", len(log.Events), log.Torn, log.Problems)
	}
}

// TestHelperWriter is the child of TestKill9: it writes events until killed.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv("IOTWATCH_EVENTLOG_CHILD")
	if path == "" {
		t.Skip("only runs as the child of TestKill9")
	}
	w, err := Create(path)
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
	for i, ev := range log.Events {
		if seq := ev.(event.ShadowDoc).Reported["seq"].(float64); seq != float64(i+1) {
			t.Fatalf("event %d has seq %v: a hole before the end", i, seq)
		}
	}
}
