package tui

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// JobExecution is one AWS IoT job execution of a thing, as the control
// plane tells it.
type JobExecution struct {
	JobID, Status                  string // Status as AWS names it: QUEUED, IN_PROGRESS, SUCCEEDED…
	QueuedAt, StartedAt, UpdatedAt time.Time
	// Described is whether the fields below were asked for
	// (DescribeJobExecution); a summary alone has none.
	Described bool
	Details   map[string]string // statusDetails: step, progress, a failure's reason
	// TimeoutLeft is approximateSecondsBeforeTimedOut when the answer came;
	// HasTimeout is false when no timer runs.
	TimeoutLeft time.Duration
	HasTimeout  bool
}

// JobsSource is what the jobs pane and the fleet's job column need of AWS
// IoT's control plane (cli implements it with AWS's SDK: the same calls on
// AWS and on serve). Errors say what to do.
type JobsSource interface {
	// Executions are thing's job executions as summaries
	// (ListJobExecutionsForThing).
	Executions(ctx context.Context, thing string) ([]JobExecution, error)
	// Describe is one execution whole (DescribeJobExecution).
	Describe(ctx context.Context, thing, jobID string) (JobExecution, error)
}

const (
	// jobsRefresh is how often the open pane asks again.
	jobsRefresh = 3 * time.Second
	// jobsDescribed bounds the executions described per refresh, newest
	// first (one call each); older ones show their summary.
	jobsDescribed = 10
	// jobsTimeout bounds one refresh.
	jobsTimeout = 10 * time.Second
)

// newestFirst orders executions by the time they were queued, newest first
// (the job id breaks ties within AWS's whole seconds).
func newestFirst(execs []JobExecution) {
	slices.SortStableFunc(execs, func(a, b JobExecution) int {
		return cmp.Or(b.QueuedAt.Compare(a.QueuedAt), cmp.Compare(b.JobID, a.JobID))
	})
}

// fetchExecutions lists thing's executions, newest first, and describes
// the newest `describe` of them; want, when given, says which of those
// are worth the call. An execution that cannot be described (deleted
// since the list, a policy without DescribeJobExecution) keeps its
// summary, and the first such failure comes with the list.
func fetchExecutions(ctx context.Context, src JobsSource, thing string, describe int, want func(JobExecution) bool) ([]JobExecution, error) {
	execs, err := src.Executions(ctx, thing)
	if err != nil {
		return nil, err
	}
	newestFirst(execs)
	var failed error
	for i := range execs[:min(describe, len(execs))] {
		if want != nil && !want(execs[i]) {
			continue
		}
		d, err := src.Describe(ctx, thing, execs[i].JobID)
		if err != nil {
			if failed == nil {
				failed = err
			}
			continue
		}
		execs[i] = d
	}
	return execs, failed
}

// detailsText is statusDetails as k=v pairs: a failure's reason first, then
// step and progress, then the rest by name.
func detailsText(d map[string]string) string {
	rank := map[string]int{"reason": 0, "step": 1, "progress": 2}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		ra, okA := rank[a]
		rb, okB := rank[b]
		switch {
		case okA && okB:
			return cmp.Compare(ra, rb)
		case okA:
			return -1
		case okB:
			return 1
		}
		return cmp.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + d[k]
	}
	return strings.Join(parts, " ")
}

// timeoutLeft is the step timer's time left at now, counted down from the
// answer received at: "–" when no timer runs or it was not asked for.
func (e JobExecution) timeoutLeft(at, now time.Time) string {
	if !e.Described || !e.HasTimeout || e.Status != "IN_PROGRESS" {
		return "–"
	}
	return shortAge(max(0, e.TimeoutLeft-now.Sub(at)))
}

// jobsMsg is a refresh's outcome, for the pane of thing's screen opened as
// tag, in its opening seq (an earlier opening's answer is dropped).
type jobsMsg struct {
	thing    string
	tag, seq int
	execs    []JobExecution
	err      error
}

// jobsTickMsg asks the open pane to refresh.
type jobsTickMsg struct {
	thing    string
	tag, seq int
}

// JobsKeyMap is the jobs pane's bindings; it implements help.KeyMap.
type JobsKeyMap struct {
	Toggle, Refresh, Up, Down key.Binding
}

// DefaultJobsKeyMap are the jobs pane's bindings.
func DefaultJobsKeyMap() JobsKeyMap {
	return JobsKeyMap{
		Toggle:  key.NewBinding(key.WithKeys("J"), key.WithHelp("J", "job executions")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "(in J) ask again")),
		Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll")),
		Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll")),
	}
}

func (k JobsKeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Toggle, k.Refresh} }
func (k JobsKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Toggle, k.Refresh, k.Up, k.Down}}
}

var _ help.KeyMap = JobsKeyMap{}

// JobsModel is the jobs pane of a thing's screen: the thing's executions,
// asked for when it opens, every jobsRefresh while it is open and at once
// on r.
type JobsModel struct {
	source  JobsSource
	thing   string
	keys    JobsKeyMap
	styles  Styles
	seq     int            // openings so far
	asking  bool           // a refresh is on its way
	ticking bool           // a refresh tick is on its way: one loop, however often r is pressed
	asked   bool           // an answer came in this opening
	execs   []JobExecution // the last list that came
	at      time.Time      // when it came
	err     error          // the last refresh's failure; execs stay as they were
	scrolls int
}

// NewJobsModel is thing's jobs pane over source (nil: no control plane).
func NewJobsModel(source JobsSource, thing string, styles Styles) JobsModel {
	return JobsModel{source: source, thing: thing, keys: DefaultJobsKeyMap(), styles: styles}
}

// Open starts an opening: a refresh at once.
func (j JobsModel) Open(tag int) (JobsModel, tea.Cmd) {
	j.seq++
	j.asked, j.asking, j.ticking, j.scrolls = false, false, false, 0 // what is on its way is of the last opening
	return j.refresh(tag)
}

// refresh asks the source off the UI goroutine, unless an answer is on
// its way.
func (j JobsModel) refresh(tag int) (JobsModel, tea.Cmd) {
	if j.source == nil || j.asking {
		return j, nil
	}
	j.asking = true
	src, thing, seq := j.source, j.thing, j.seq
	return j, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), jobsTimeout)
		defer cancel()
		execs, err := fetchExecutions(ctx, src, thing, jobsDescribed, nil)
		return jobsMsg{thing: thing, tag: tag, seq: seq, execs: execs, err: err}
	}
}

// Update takes a refresh's answer or tick; open is whether the pane is
// shown (a closed pane asks no more).
func (j JobsModel) Update(msg tea.Msg, tag int, open bool, now time.Time) (JobsModel, tea.Cmd) {
	switch msg := msg.(type) {
	case jobsMsg:
		if msg.thing != j.thing || msg.tag != tag || msg.seq != j.seq {
			return j, nil
		}
		j.asking, j.asked, j.err = false, true, msg.err
		if msg.execs != nil { // a list, even with a failure beside it
			j.execs, j.at = msg.execs, now
		}
		if !open || j.ticking {
			return j, nil
		}
		j.ticking = true
		return j, tea.Tick(jobsRefresh, func(time.Time) tea.Msg { return jobsTickMsg{thing: j.thing, tag: tag, seq: j.seq} })
	case jobsTickMsg:
		if msg.thing != j.thing || msg.tag != tag || msg.seq != j.seq {
			return j, nil
		}
		j.ticking = false
		if !open {
			return j, nil
		}
		return j.refresh(tag)
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, j.keys.Refresh):
			return j.refresh(tag)
		case key.Matches(msg, j.keys.Up):
			j.scrolls = max(0, j.scrolls-1)
		case key.Matches(msg, j.keys.Down):
			j.scrolls++
		}
	}
	return j, nil
}

// Handles is whether key is the pane's own while it is open.
func (j JobsModel) Handles(msg tea.KeyMsg) bool {
	return key.Matches(msg, j.keys.Refresh, j.keys.Up, j.keys.Down)
}

// View is the pane in height rows of width cells at now.
func (j *JobsModel) View(width, height int, now time.Time) string {
	s := j.styles
	title := s.Label.Render(truncate(fmt.Sprintf("job executions of %s (J or esc closes, r asks again)", j.thing), width))
	var lines []string
	switch {
	case j.source == nil:
		lines = append(lines, s.Bad.Render("jobs: no AWS IoT control plane was given to this screen"))
	case !j.asked && j.execs == nil:
		lines = append(lines, s.Muted.Render("asking the control plane (ListJobExecutionsForThing)…"))
	}
	if j.err != nil {
		lines = append(lines, strings.Split(s.Bad.Render(ansi.Wrap("jobs: "+j.err.Error(), width, " ")), "\n")...)
	}
	if j.execs != nil {
		lines = append(lines, j.table(width, now)...)
	}
	rows := max(0, height-1)
	j.scrolls = max(0, min(j.scrolls, len(lines)-rows))
	return title + "\n" + strings.Join(clipLines(lines[j.scrolls:], rows, width), "\n")
}

// The widths of the pane's status and age columns.
const jobStatusWidth, jobAgeWidth = 11, 7

// table is the executions, newest first, with when the list came.
func (j *JobsModel) table(width int, now time.Time) []string {
	s := j.styles
	if len(j.execs) == 0 {
		return []string{s.Muted.Render(fmt.Sprintf("no job executions for %s (as of %s ago): iotwatch job create --thing %s --document FILE makes one",
			j.thing, shortAge(now.Sub(j.at)), j.thing))}
	}
	id := len("job")
	for _, e := range j.execs {
		id = max(id, ansi.StringWidth(e.JobID))
	}
	id = min(id, 28)
	fixed := id + 1 + jobStatusWidth + 3*(1+jobAgeWidth) + 2
	detail := max(10, width-fixed)
	lines := []string{s.Muted.Render(fmt.Sprintf("%s, newest first, as of %s ago", plural(len(j.execs), "execution"), shortAge(now.Sub(j.at)))),
		s.Label.Render(pad("job", id) + " " + pad("status", jobStatusWidth) + " " + fmt.Sprintf("%*s %*s %*s", jobAgeWidth, "queued", jobAgeWidth, "updated", jobAgeWidth, "timeout") + "  details")}
	for _, e := range j.execs {
		details := "–" // not described: a summary has none
		if e.Described {
			details = detailsText(e.Details)
		}
		wrapped := strings.Split(ansi.Wrap(details, detail, " "), "\n")
		head := pad(truncate(e.JobID, id), id) + " " + jobStatusStyle(s, e.Status).Render(pad(e.Status, jobStatusWidth)) + " " +
			fmt.Sprintf("%*s %*s %*s", jobAgeWidth, ageSince(e.QueuedAt, now), jobAgeWidth, ageSince(e.UpdatedAt, now), jobAgeWidth, e.timeoutLeft(j.at, now)) + "  "
		lines = append(lines, head+wrapped[0])
		for _, more := range wrapped[1:] {
			lines = append(lines, strings.Repeat(" ", fixed)+more)
		}
	}
	return lines
}

// ageSince is the time since t, "–" when there is none.
func ageSince(t, now time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return shortAge(max(0, now.Sub(t)))
}

// jobStatusStyle colours an execution's status: done well, failed, on its
// way, or out of the game.
func jobStatusStyle(s Styles, status string) lipgloss.Style {
	switch status {
	case "SUCCEEDED":
		return s.Good
	case "FAILED", "REJECTED", "TIMED_OUT":
		return s.Bad
	case "IN_PROGRESS", "QUEUED":
		return s.Warn
	}
	return s.Muted
}

// toggleJobs opens the jobs pane, asking at once, or closes it.
func (m Model) toggleJobs() (Model, tea.Cmd) {
	if m.pane == paneJobs {
		m.pane = paneLog
		return m, nil
	}
	m.pane = paneJobs
	var cmd tea.Cmd
	m.jobs, cmd = m.jobs.Open(m.tag)
	return m, cmd
}

// plural is n and noun, with an s unless n is one.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
