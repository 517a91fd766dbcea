package tui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

const (
	// fleetJobsEvery is how often a visible thing's latest execution is
	// asked for: one ListJobExecutionsForThing (and a DescribeJobExecution
	// while it is IN_PROGRESS, for its progress) per visible thing, so a
	// screen of 50 rows makes about 5 calls a second whatever the fleet's
	// size, within AWS's default rates for these calls.
	fleetJobsEvery = 10 * time.Second
	// fleetJobsInFlight bounds the questions on their way at once.
	fleetJobsInFlight = 8
)

// fleetJobs is the fleet screen's job column: each visible thing's latest
// job execution.
type fleetJobs struct {
	source JobsSource
	latest map[string]latestJob
	asking map[string]bool
	err    error // the last failure, said in the header until an answer comes
}

// latestJob is what came for one thing.
type latestJob struct {
	exec JobExecution
	none bool // the thing has no execution
	err  bool // the last question failed
	at   time.Time
}

// fleetJobMsg is the latest execution of thing, or why it is not known.
type fleetJobMsg struct {
	thing string
	exec  JobExecution
	none  bool
	err   error
}

func newFleetJobs(source JobsSource) fleetJobs {
	return fleetJobs{source: source, latest: map[string]latestJob{}, asking: map[string]bool{}}
}

// poll asks for the latest execution of each visible thing not asked for
// in fleetJobsEvery, at most fleetJobsInFlight at once.
func (f *fleetJobs) poll(visible []string, now time.Time) tea.Cmd {
	if f.source == nil {
		return nil
	}
	var cmds []tea.Cmd
	for _, thing := range visible {
		if len(f.asking) >= fleetJobsInFlight {
			break
		}
		if l, ok := f.latest[thing]; f.asking[thing] || ok && now.Sub(l.at) < fleetJobsEvery {
			continue
		}
		f.asking[thing] = true
		cmds = append(cmds, askLatestJob(f.source, thing))
	}
	return tea.Batch(cmds...)
}

func askLatestJob(src JobsSource, thing string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), jobsTimeout)
		defer cancel()
		execs, err := fetchExecutions(ctx, src, thing, 1, func(e JobExecution) bool { return e.Status == "IN_PROGRESS" })
		if len(execs) == 0 {
			return fleetJobMsg{thing: thing, none: err == nil, err: err}
		}
		return fleetJobMsg{thing: thing, exec: execs[0], err: err} // its status, with or without its progress
	}
}

// got keeps an answer; a failure without a list keeps the last execution
// known.
func (f *fleetJobs) got(msg fleetJobMsg, now time.Time) {
	delete(f.asking, msg.thing)
	l := f.latest[msg.thing]
	l.at, l.err = now, msg.err != nil
	f.err = msg.err
	if msg.err == nil || msg.exec.Status != "" {
		l.exec, l.none = msg.exec, msg.none
	}
	f.latest[msg.thing] = l
}

// Widths of the job column with its separator: whole, or narrow where the
// terminal has no room (the sparkline then gives way to sparkMinNarrow).
const (
	jobColumnWide   = 1 + 16 // "IN_PROGRESS 100%"
	jobColumnNarrow = 1 + 9  // SUCCEEDED, TIMED_OUT, ▶ 100%
	sparkMinNarrow  = 8
)

// cell is thing's job column in width cells: its latest execution's status
// (with the progress while IN_PROGRESS), "–" when it has none, "…" before
// the first answer, "?" when the question failed and nothing is known.
func (f *fleetJobs) cell(s Styles, thing string, width int) string {
	l, ok := f.latest[thing]
	switch {
	case !ok:
		return s.Muted.Render(pad("…", width))
	case l.err && l.exec.Status == "" && !l.none:
		return s.Bad.Render(pad("?", width))
	case l.none:
		return s.Muted.Render(pad("–", width))
	}
	return jobStatusStyle(s, l.exec.Status).Render(pad(jobCellText(l.exec, width), width))
}

// jobCellText is an execution's status in width cells: "IN_PROGRESS 50%",
// or where that does not fit, "▶ 50%".
func jobCellText(e JobExecution, width int) string {
	progress := e.Details["progress"]
	if e.Status != "IN_PROGRESS" || progress == "" {
		return truncate(e.Status, width)
	}
	if full := e.Status + " " + progress; ansi.StringWidth(full) <= width {
		return full
	}
	return truncate("▶ "+progress, width)
}

// headerNote is the line the fleet's header gets while the control plane
// does not answer, flowed over the lines width needs.
func (f *fleetJobs) headerNote(s Styles, width int) string {
	if f.err == nil {
		return ""
	}
	return s.Bad.Render(ansi.Wrap("jobs: "+f.err.Error(), width, " "))
}

// pollJobs asks for the job column of the rows the last frame showed;
// nothing while a thing's screen is open (the fleet's rows are hidden).
func (m *FleetModel) pollJobs() tea.Cmd {
	if m.focus != nil {
		return nil
	}
	visible := make([]string, 0, m.list)
	for i := m.top; i < len(m.rows) && i < m.top+m.list; i++ {
		visible = append(visible, m.rows[i].name)
	}
	return m.jobs.poll(visible, m.o.Single.Now())
}
