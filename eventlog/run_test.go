package eventlog

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

func soakOf(t *testing.T, path, thing, id string, at time.Time) *Writer {
	t.Helper()
	w, err := CreateRun(path, event.Session{At: at, Program: "test", Thing: thing}, Header{ID: id, Planned: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func write(t *testing.T, w *Writer, evs ...event.Event) {
	t.Helper()
	for _, ev := range evs {
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
}

// Case 14: two soaks of one thing on one log at once are found.
func TestOverlappingRunsAreFound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "two.jsonl")
	a := soakOf(t, path, "t1", "a", t0)
	write(t, a, event.Link{At: t0, State: event.LinkUp})
	b := soakOf(t, path, "t1", "b", t0.Add(time.Second))
	write(t, b, event.Link{At: t0.Add(time.Second), State: event.LinkUp})
	write(t, a, event.Alive{At: t0.Add(2 * time.Second)}) // a still writes
	write(t, b, event.End{At: t0.Add(3 * time.Second), Reason: event.EndCompleted})
	write(t, a, event.End{At: t0.Add(4 * time.Second), Reason: event.EndCompleted})
	a.Close()
	b.Close()
	log, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Runs) != 2 || len(log.Overlaps) != 1 || !strings.Contains(log.Overlaps[0], "runs a (from 2026-11-25T10:00:00Z, line 1) and b") {
		t.Fatalf("runs %+v overlaps %q", log.Runs, log.Overlaps)
	}
}

// Runs one after the other do not overlap, a killed one included; the last
// run's closing line says it completed, a killed run has none.
func TestRunsOneAfterTheOther(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seq.jsonl")
	a := soakOf(t, path, "t1", "a", t0)
	write(t, a, event.Link{At: t0, State: event.LinkUp}, event.Alive{At: t0.Add(5 * time.Second)})
	a.Close() // killed: no closing line
	b := soakOf(t, path, "t1", "b", t0.Add(time.Minute))
	write(t, b, event.End{At: t0.Add(2 * time.Minute), Reason: event.EndCompleted})
	b.Close()
	log, err := Read(path)
	if err != nil || len(log.Overlaps) > 0 || len(log.Runs) != 2 {
		t.Fatalf("%v %+v", err, log)
	}
	if r := log.Runs[0]; r.Ended() || !r.Cut() || !r.Last.Equal(t0.Add(5*time.Second)) || r.Header.Planned != time.Minute {
		t.Fatalf("killed run %+v", r)
	}
	if r := log.LastRun(); !r.Ended() || r.End.Reason != event.EndCompleted {
		t.Fatalf("last run %+v", r)
	}
	if log.Fleet() || !log.Holds("t1") || log.Holds("t2") {
		t.Fatalf("things %v", log.Things())
	}
}

// Case 9: two things appended to one log make it a fleet's.
func TestTwoThingsMakeAFleetLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mixed.jsonl")
	a := soakOf(t, path, "t1", "a", t0)
	write(t, a, event.End{At: t0.Add(time.Second), Reason: event.EndCompleted})
	a.Close()
	b := soakOf(t, path, "t2", "b", t0.Add(time.Minute))
	write(t, b, event.End{At: t0.Add(2 * time.Minute), Reason: event.EndCompleted})
	b.Close()
	log, err := Read(path)
	if err != nil || !log.Fleet() || fmt.Sprint(log.Things()) != "[t1 t2]" || len(log.Overlaps) > 0 {
		t.Fatalf("%v fleet %v things %v overlaps %v", err, log.Fleet(), log.Things(), log.Overlaps)
	}
}

// A fleet run: one session without a thing, then one per thing, one run.
func TestFleetRunIsOneRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleet.jsonl")
	w, err := CreateRun(path, event.Session{At: t0, Program: "test"}, Header{ID: "f"})
	if err != nil {
		t.Fatal(err)
	}
	write(t, w, event.Session{At: t0, Thing: "a"}, event.Session{At: t0.Add(time.Second), Thing: "b"},
		event.ShadowDoc{At: t0.Add(2 * time.Second), Thing: "b", Kind: event.DocCurrent})
	w.Close()
	log, err := Read(path)
	if err != nil || len(log.Runs) != 1 || !log.Runs[0].Fleet || fmt.Sprint(log.Runs[0].Things) != "[a b]" || !log.Fleet() || len(log.Overlaps) > 0 {
		t.Fatalf("%v %+v", err, log)
	}
}

// Old logs (no run ids, no closing lines) still read, runs told apart by
// their session lines.
func TestLogsWithoutRunIDs(t *testing.T) {
	log, err := Read("testdata/v0-sample.jsonl")
	if err != nil || len(log.Runs) != 0 || log.Fleet() {
		t.Fatalf("%v %+v", err, log)
	}
	lines := `{"schema":1,"time":"2026-11-25T10:00:00Z","type":"session","thing":"t1"}
{"time":"2026-11-25T10:00:01Z","type":"alive"}
{"schema":1,"time":"2026-11-25T10:01:00Z","type":"session","thing":"t1"}
{"time":"2026-11-25T10:01:01Z","type":"alive"}
`
	log, err = ScanReader(strings.NewReader(lines), "old.jsonl", func(event.Event) {})
	if err != nil || len(log.Runs) != 2 || log.Runs[0].Ended() || log.Runs[1].Cut() || !log.Runs[0].Last.Equal(t0.Add(time.Second)) || len(log.Overlaps) > 0 {
		t.Fatalf("%v %+v", err, log)
	}
}

// TestHelperFullDisk is the child of TestWriteFailureIsKept: a file size
// limit of 4 KiB stands for a full disk (writes past it fail with EFBIG).
func TestHelperFullDisk(t *testing.T) {
	path := os.Getenv("IOTWATCH_EVENTLOG_FULL")
	if path == "" {
		t.Skip("only runs as the child of TestWriteFailureIsKept")
	}
	signal.Ignore(syscall.SIGXFSZ)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 4096, Max: 4096}); err != nil {
		t.Fatal(err)
	}
	w, err := CreateRun(path, event.Session{At: t0, Thing: "t1"}, Header{ID: "full"})
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for i := range 100 {
		if w.Write(event.Alive{At: t0.Add(time.Duration(i) * time.Second)}) != nil || w.Sync() != nil {
			failed++
		}
	}
	f := w.Failure()
	fmt.Printf("FAILURE %d %d %v\n", failed, f.Lost, f.Err)
}

// Case 8: a log that cannot be written says so, from the first failure,
// with the events it lost.
func TestWriteFailureIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "full.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperFullDisk$", "-test.v")
	cmd.Env = append(os.Environ(), "IOTWATCH_EVENTLOG_FULL="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var failed, lost int
	var msg string
	if _, err := fmt.Sscanf(string(out[strings.Index(string(out), "FAILURE"):]), "FAILURE %d %d %s", &failed, &lost, &msg); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	log, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	// Every event is either in the file or counted lost.
	if alive := len(log.Events) - 1; failed == 0 || alive+lost != 100 || !strings.Contains(string(out), "file too large") {
		t.Fatalf("%d failed writes, %d lost, %d in the file: %s", failed, lost, alive, out)
	}
}
