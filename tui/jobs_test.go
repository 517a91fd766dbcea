package tui

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
)

// fakeJobs is a JobsSource of fixed executions by thing, counting the
// calls; the source itself (cli's, through AWS's SDK) is tested against
// serve.
type fakeJobs struct {
	mu        sync.Mutex
	execs     map[string][]JobExecution // summaries as listed
	described map[string]JobExecution   // by thing/jobID
	err       error
	gone      string // a job Describe no longer finds
	lists     map[string]int
	describes int
}

func newFakeJobs() *fakeJobs {
	return &fakeJobs{execs: map[string][]JobExecution{}, described: map[string]JobExecution{}, lists: map[string]int{}}
}

// add gives thing an execution: its summary, and in full what Describe says.
func (f *fakeJobs) add(thing string, e JobExecution) {
	f.mu.Lock()
	defer f.mu.Unlock()
	summary := e
	summary.Described, summary.Details, summary.TimeoutLeft, summary.HasTimeout = false, nil, 0, false
	f.execs[thing] = append(f.execs[thing], summary)
	e.Described = true
	f.described[thing+"/"+e.JobID] = e
}

func (f *fakeJobs) Executions(_ context.Context, thing string) ([]JobExecution, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists[thing]++
	if f.err != nil {
		return nil, f.err
	}
	return append([]JobExecution{}, f.execs[thing]...), nil
}

func (f *fakeJobs) Describe(_ context.Context, thing, jobID string) (JobExecution, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describes++
	if f.err != nil {
		return JobExecution{}, f.err
	}
	if jobID == f.gone {
		return JobExecution{}, errors.New("refused iot:DescribeJobExecution: ResourceNotFoundException: no execution " + jobID)
	}
	return f.described[thing+"/"+jobID], nil
}

func (f *fakeJobs) calls() (lists map[string]int, describes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.lists), f.describes
}

// paneNow is newModel's clock.
var paneNow = t0.Add(25*time.Second + 500*time.Millisecond)

// rollout is a thing's executions over an afternoon's rollouts: one
// updating now, one failed, one done, one waiting.
func rollout(f *fakeJobs, thing string) {
	f.add(thing, JobExecution{JobID: "ota-20261125-0900", Status: "SUCCEEDED", QueuedAt: paneNow.Add(-time.Hour), StartedAt: paneNow.Add(-59 * time.Minute),
		UpdatedAt: paneNow.Add(-55 * time.Minute), Details: map[string]string{"fw": "iotwatch-sim/1.9.0"}})
	f.add(thing, JobExecution{JobID: "ota-20261125-0955", Status: "IN_PROGRESS", QueuedAt: paneNow.Add(-5 * time.Minute), StartedAt: paneNow.Add(-4 * time.Minute),
		UpdatedAt: paneNow.Add(-3 * time.Second), Details: map[string]string{"progress": "50%", "step": "download"}, TimeoutLeft: 9*time.Minute + 57*time.Second, HasTimeout: true})
	f.add(thing, JobExecution{JobID: "ota-20261125-0930", Status: "FAILED", QueuedAt: paneNow.Add(-30 * time.Minute), StartedAt: paneNow.Add(-29 * time.Minute),
		UpdatedAt: paneNow.Add(-28 * time.Minute), Details: map[string]string{"reason": "image sha256 is 9f86d0…, the document says 2c26b4…: not written", "step": "verify"}})
	f.add(thing, JobExecution{JobID: "config-led", Status: "QUEUED", QueuedAt: paneNow.Add(-2 * time.Second), UpdatedAt: paneNow.Add(-2 * time.Second)})
}

func jobsModel(src JobsSource) Model {
	m := newModel(newFakeConn())
	m.o.Jobs = src
	m.jobs = NewJobsModel(src, m.o.Thing, m.styles)
	return m
}

func plain(s string) string { return ansi.Strip(s) }

// TestJobsPane: J asks at once and shows the thing's executions newest
// first with status, details (a failure's reason first), ages and the step
// timer left; it asks again every jobsRefresh while open, at once on r, and
// no more once closed.
func TestJobsPane(t *testing.T) {
	src := newFakeJobs()
	rollout(src, "esp32-pico")
	rollout(src, "other") // not this screen's
	m := update(jobsModel(src), tea.WindowSizeMsg{Width: 160, Height: 40})
	m, cmd := press(m, "J")
	if cmd == nil || !strings.Contains(plain(m.View()), "asking the control plane") {
		t.Fatalf("J: no question on its way:\n%s", m.View())
	}
	msg := cmd()
	next, tickCmd := m.Update(msg)
	m = next.(Model)
	view := plain(m.View())
	var order []string
	for _, l := range strings.Split(view, "\n") {
		if f := strings.Fields(l); len(f) > 1 && (strings.HasPrefix(f[0], "ota-") || f[0] == "config-led") {
			order = append(order, f[0]+" "+f[1])
		}
	}
	want := []string{"config-led QUEUED", "ota-20261125-0955 IN_PROGRESS", "ota-20261125-0930 FAILED", "ota-20261125-0900 SUCCEEDED"}
	if !slices.Equal(order, want) {
		t.Fatalf("rows %v, want %v:\n%s", order, want, view)
	}
	for _, w := range []string{"step=download progress=50%", "9m57s", "reason=image sha256 is 9f86d0…, the document says 2c26b4…: not written step=verify",
		"fw=iotwatch-sim/1.9.0", "4 executions, newest first, as of 0s ago"} {
		if !strings.Contains(view, w) {
			t.Errorf("the pane lacks %q:\n%s", w, view)
		}
	}
	if lists, _ := src.calls(); lists["esp32-pico"] != 1 || lists["other"] != 0 {
		t.Errorf("lists %v: one of this thing's", lists)
	}
	if tickCmd == nil {
		t.Fatal("no refresh tick after the answer")
	}
	tick := jobsTickMsg{thing: "esp32-pico", tag: m.tag, seq: m.jobs.seq}
	next, again := m.Update(tick)
	m = next.(Model)
	if again == nil {
		t.Fatal("the tick asked nothing while the pane is open")
	}
	m = update(m, again())
	m, cmd = press(m, "r")
	if cmd == nil {
		t.Fatal("r asked nothing")
	}
	next, tickCmd = m.Update(cmd())
	m = next.(Model)
	if tickCmd != nil {
		t.Error("r started a second refresh loop beside the tick's")
	}
	if lists, _ := src.calls(); lists["esp32-pico"] != 3 {
		t.Errorf("asked %d times, want 3 (J, the tick, r)", lists["esp32-pico"])
	}
	m, _ = press(m, "esc")
	if m.pane != paneLog {
		t.Fatal("esc left the pane open")
	}
	if _, cmd := m.Update(jobsTickMsg{thing: "esp32-pico", tag: m.tag, seq: m.jobs.seq}); cmd != nil {
		t.Error("a closed pane asked again")
	}
}

// TestJobsPaneDropsAnEarlierOpeningsAnswer: an answer to a question of a
// pane closed since is not shown as the reopened pane's.
func TestJobsPaneDropsAnEarlierOpeningsAnswer(t *testing.T) {
	src := newFakeJobs()
	rollout(src, "esp32-pico")
	m, first := press(jobsModel(src), "J")
	old := first()
	m, _ = press(m, "J")
	src.mu.Lock()
	src.execs["esp32-pico"] = src.execs["esp32-pico"][:1]
	src.mu.Unlock()
	m, second := press(m, "J")
	m = update(m, old)
	if !strings.Contains(plain(m.View()), "asking the control plane") {
		t.Fatalf("the earlier opening's answer was shown:\n%s", m.View())
	}
	m = update(m, second())
	if !strings.Contains(plain(m.View()), "1 execution,") {
		t.Fatalf("the answer of this opening:\n%s", m.View())
	}
}

// TestJobsPaneSaysWhy: a control plane that does not answer is said with
// its fix, never an empty list; a list had before stays, with its age and
// the failure above it.
func TestJobsPaneSaysWhy(t *testing.T) {
	src := newFakeJobs()
	src.err = errors.New("no AWS credentials found: run 'aws configure'")
	m := update(jobsModel(src), tea.WindowSizeMsg{Width: 80, Height: 24})
	m = run(press(m, "J"))
	view := plain(m.View())
	if !strings.Contains(view, "jobs: no AWS credentials found: run 'aws configure'") || strings.Contains(view, "no job executions") {
		t.Fatalf("the failure:\n%s", view)
	}
	src.mu.Lock()
	src.err = nil
	src.mu.Unlock()
	rollout(src, "esp32-pico")
	m = run(press(m, "r"))
	src.mu.Lock()
	src.err = errors.New("https://127.0.0.1:8443 did not answer")
	src.mu.Unlock()
	m = run(press(m, "r"))
	view = plain(m.View())
	if !strings.Contains(view, "jobs: https://127.0.0.1:8443 did not answer") || !strings.Contains(view, "ota-20261125-0955") {
		t.Fatalf("the failure over the list had:\n%s", view)
	}
	src.mu.Lock()
	src.err, src.gone = nil, "ota-20261125-0955"
	src.mu.Unlock()
	m = run(press(m, "r"))
	view = plain(m.View())
	if !strings.Contains(view, "ResourceNotFoundException: no execution") || !matches(`ota-20261125-0955 IN_PROGRESS .* –\s+–\n`, view) ||
		!strings.Contains(view, "reason=image sha256") {
		t.Fatalf("an execution not described keeps its summary, the others their details:\n%s", view)
	}
	none := run(press(jobsModel(nil), "J"))
	if !strings.Contains(plain(none.View()), "no AWS IoT control plane") {
		t.Fatalf("no source:\n%s", none.View())
	}
	empty := run(press(jobsModel(newFakeJobs()), "J"))
	if !strings.Contains(plain(empty.View()), "no job executions for esp32-pico") {
		t.Fatalf("no executions:\n%s", empty.View())
	}
}

// TestJobsResultsGoToTheirThing: in the fleet, an answer for a thing's
// pane reaches only that thing's screen as it was opened, not another
// thing's nor the same thing's opened again since.
func TestJobsResultsGoToTheirThing(t *testing.T) {
	src := newFakeJobs()
	rollout(src, "esp32-003")
	conn := newFakeFleet()
	m := newFleetModel(conn, fleetThings()...)
	m.o.Single.Jobs = src
	m = fleetFeed(m, fleetEvents())
	m, _ = fleetPress(m, "enter") // esp32-003, the worst
	m, cmd := fleetPress(m, "J")
	early := cmd()
	m, _ = fleetPress(m, "esc", "esc", "down", "enter") // another thing's screen
	if m.focus.Thing() == "esp32-003" {
		t.Fatal("the same thing opened")
	}
	m, _ = fleetPress(m, "J")
	m = fleetUpdate(m, early)
	if strings.Contains(m.View(), "ota-20261125") {
		t.Fatalf("esp32-003's executions on %s's screen:\n%s", m.focus.Thing(), m.View())
	}
	m, _ = fleetPress(m, "esc", "esc", "up", "enter", "J") // esp32-003 again
	m = fleetUpdate(m, early)
	if strings.Contains(m.View(), "ota-20261125") {
		t.Fatalf("the answer of esp32-003's earlier screen:\n%s", m.View())
	}
}

func TestDetailsText(t *testing.T) {
	for _, tc := range []struct {
		in   map[string]string
		want string
	}{
		{nil, ""},
		{map[string]string{"progress": "50%", "step": "download"}, "step=download progress=50%"},
		{map[string]string{"zeta": "1", "reason": "bad sha", "alpha": "2", "step": "verify"}, "reason=bad sha step=verify alpha=2 zeta=1"},
	} {
		if got := detailsText(tc.in); got != tc.want {
			t.Errorf("detailsText(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTimeoutLeft(t *testing.T) {
	at := t0
	running := JobExecution{Status: "IN_PROGRESS", Described: true, HasTimeout: true, TimeoutLeft: 90 * time.Second}
	for _, tc := range []struct {
		e    JobExecution
		now  time.Time
		want string
	}{
		{running, at, "1m30s"},
		{running, at.Add(30 * time.Second), "1m00s"},
		{running, at.Add(5 * time.Minute), "0s"}, // the service times it out, not the screen
		{JobExecution{Status: "IN_PROGRESS", Described: true}, at, "–"},
		{JobExecution{Status: "IN_PROGRESS", HasTimeout: true, TimeoutLeft: time.Minute}, at, "–"}, // a summary
		{JobExecution{Status: "SUCCEEDED", Described: true, HasTimeout: true, TimeoutLeft: time.Minute}, at, "–"},
	} {
		if got := tc.e.timeoutLeft(at, tc.now); got != tc.want {
			t.Errorf("%+v at +%s: %q, want %q", tc.e, tc.now.Sub(at), got, tc.want)
		}
	}
}

func TestJobCellText(t *testing.T) {
	running := JobExecution{Status: "IN_PROGRESS", Described: true, Details: map[string]string{"progress": "100%"}}
	for _, tc := range []struct {
		e     JobExecution
		width int
		want  string
	}{
		{running, 16, "IN_PROGRESS 100%"},
		{running, 9, "▶ 100%"},
		{JobExecution{Status: "IN_PROGRESS"}, 16, "IN_PROGRESS"},
		{JobExecution{Status: "IN_PROGRESS"}, 9, "IN_PROGR…"},
		{JobExecution{Status: "TIMED_OUT"}, 9, "TIMED_OUT"},
		{JobExecution{Status: "FAILED", Details: map[string]string{"progress": "20%"}}, 16, "FAILED"},
	} {
		if got := jobCellText(tc.e, tc.width); got != tc.want {
			t.Errorf("jobCellText(%s, %d) = %q, want %q", tc.e.Status, tc.width, got, tc.want)
		}
	}
}

// TestFleetJobColumnAsksForVisibleRowsOnly: of a thousand things, the
// rows on the screen are asked for, at most fleetJobsInFlight at once, each
// once per fleetJobsEvery; an IN_PROGRESS one is described for its
// progress, a finished one is not.
func TestFleetJobColumnAsksForVisibleRowsOnly(t *testing.T) {
	src := newFakeJobs()
	var things []string
	for i := range 1000 {
		things = append(things, fmt.Sprintf("fl-%04d", i))
	}
	src.add("fl-0000", JobExecution{JobID: "ota-1", Status: "IN_PROGRESS", QueuedAt: t0, Details: map[string]string{"progress": "40%"}})
	src.add("fl-0001", JobExecution{JobID: "ota-1", Status: "FAILED", QueuedAt: t0, Details: map[string]string{"reason": "x"}})
	now := fleetNow
	m := NewFleet(FleetOptions{Conn: newFakeFleet(), Things: things, Single: Options{Endpoint: "localhost:8883", Window: time.Minute, Monitor: testMonitor,
		Now: func() time.Time { return now }, Memory: func() uint64 { return 8 << 20 }, Jobs: src}})
	m = fleetUpdate(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	visible := m.list
	answer := func() int {
		var n int
		m, n = answerPoll(m)
		return n
	}
	total := 0
	for range 5 {
		n := answer()
		if n > fleetJobsInFlight {
			t.Fatalf("%d questions at once", n)
		}
		total += n
	}
	if total != visible {
		t.Fatalf("asked %d times for %d visible rows", total, visible)
	}
	if n := answer(); n != 0 {
		t.Fatalf("asked %d again within %s", n, fleetJobsEvery)
	}
	now = now.Add(fleetJobsEvery)
	for range 5 {
		total += answer()
	}
	lists, describes := src.calls()
	if total != 2*visible || len(lists) != visible || describes != 2 {
		t.Fatalf("after %s: %d questions, lists of %d things, %d describes (want %d, %d, 2: fl-0000's twice)", fleetJobsEvery, total, len(lists), describes, 2*visible, visible)
	}
	m = fleetUpdate(m, fleetTickMsg{m.tag})
	view := plain(m.View())
	for _, w := range []string{"▶ 40%", "FAILED", "–"} {
		if !strings.Contains(view, w) {
			t.Errorf("the job column lacks %q:\n%s", w, view)
		}
	}
	src.mu.Lock()
	src.err = errors.New("no AWS credentials found: run 'aws configure'")
	src.mu.Unlock()
	now = now.Add(fleetJobsEvery)
	answer()
	m = fleetUpdate(m, fleetTickMsg{m.tag})
	if view := plain(m.View()); !strings.Contains(view, "jobs: no AWS credentials found: run 'aws configure'") || !strings.Contains(view, "FAILED") {
		t.Fatalf("a failure: said in the header, what was known kept:\n%s", view)
	}
}

// TestJobsGoldenViews pins the jobs pane and the fleet's job column at
// 80×24 and 160×50 (go test ./tui -update rewrites
// testdata/TestJobsGoldenViews/*; look at each before committing).
func TestJobsGoldenViews(t *testing.T) {
	failing := newFakeJobs()
	failing.err = errors.New("https://127.0.0.1:8443 did not answer (connection refused): set [aws] control_url to the control plane's URL (serve: https://ADDR of --api-listen)")
	for _, screen := range []struct {
		name  string
		build func(size tea.WindowSizeMsg) string
	}{
		{"pane", func(size tea.WindowSizeMsg) string {
			src := newFakeJobs()
			rollout(src, "esp32-pico")
			return run(press(update(update(jobsModel(src), size), demoReports(20)), "J")).View()
		}},
		{"pane-unanswered", func(size tea.WindowSizeMsg) string {
			return run(press(update(update(jobsModel(failing), size), demoReports(20)), "J")).View()
		}},
		{"help", func(size tea.WindowSizeMsg) string {
			m, _ := press(update(update(jobsModel(newFakeJobs()), size), demoReports(20)), "J", "?")
			return m.View()
		}},
		{"fleet", func(size tea.WindowSizeMsg) string { return fleetWithJobs(size, rolloutOfFleet()) }},
		{"fleet-unanswered", func(size tea.WindowSizeMsg) string { return fleetWithJobs(size, failing) }},
	} {
		for _, size := range []tea.WindowSizeMsg{{Width: 80, Height: 24}, {Width: 160, Height: 50}} {
			t.Run(fmt.Sprintf("%s/%dx%d", screen.name, size.Width, size.Height), func(t *testing.T) {
				golden.RequireEqual(t, []byte(screen.build(size)))
			})
		}
	}
}

// rolloutOfFleet is a rollout to fleetEvents' things: done, failed, on
// its way, waiting, and things it did not target.
func rolloutOfFleet() *fakeJobs {
	src := newFakeJobs()
	queued := fleetNow.Add(-time.Minute)
	for i, st := range []string{"SUCCEEDED", "SUCCEEDED", "FAILED", "IN_PROGRESS", "IN_PROGRESS", "QUEUED", "TIMED_OUT", "SUCCEEDED", "REJECTED"} {
		e := JobExecution{JobID: "ota-2", Status: st, QueuedAt: queued}
		if st == "IN_PROGRESS" {
			e.Details = map[string]string{"step": "download", "progress": fmt.Sprintf("%d%%", 40+30*(i-3))}
		}
		src.add(fmt.Sprintf("esp32-%03d", i), JobExecution{JobID: "ota-1", Status: "SUCCEEDED", QueuedAt: queued.Add(-time.Hour)})
		src.add(fmt.Sprintf("esp32-%03d", i), e)
	}
	return src
}

// fleetWithJobs is fleetEvents' fleet with src's job column answered.
func fleetWithJobs(size tea.WindowSizeMsg, src *fakeJobs) string {
	m := fleetFeed(fleetUpdate(newFleetModel(newFakeFleet(), fleetThings()...), size), fleetEvents())
	m.o.Single.Jobs = src // after the feed, whose tick's questions fleetUpdate drops
	m.jobs = newFleetJobs(src)
	for range 3 { // fleetJobsInFlight at a time
		m, _ = answerPoll(m)
	}
	return fleetUpdate(m, fleetTickMsg{m.tag}).View()
}

// answerPoll runs one poll's questions and gives the screen their answers;
// n is how many there were.
func answerPoll(m FleetModel) (_ FleetModel, n int) {
	cmd := m.pollJobs()
	if cmd == nil {
		return m, 0
	}
	msgs := []tea.Msg{cmd()}
	if batch, ok := msgs[0].(tea.BatchMsg); ok {
		msgs = nil
		for _, c := range batch {
			msgs = append(msgs, c())
		}
	}
	for _, msg := range msgs {
		m = fleetUpdate(m, msg)
	}
	return m, len(msgs)
}

func matches(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
