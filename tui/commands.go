package tui

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/monitor"
)

// maxBatch caps how many queued events one Update takes.
const maxBatch = 64

// waitForEvents blocks for one event, then drains what is already queued.
// A nil channel waits for nothing: the fleet screen feeds the events of
// the thing it opened through Update.
func waitForEvents(ch <-chan event.Event) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return streamClosedMsg{}
		}
		batch := eventsMsg{ev}
		for len(batch) < maxBatch {
			select {
			case ev, ok := <-ch:
				if !ok {
					return batch
				}
				batch = append(batch, ev)
			default:
				return batch
			}
		}
		return batch
	}
}

// redrawEvery is the spinner's frame time while a desired value is on its
// way, and the fleet screen's redraw tick.
const redrawEvery = 200 * time.Millisecond

func tick(tag int, after time.Duration) tea.Cmd {
	return tea.Tick(after, func(time.Time) tea.Msg { return tickMsg{tag} })
}

// untilNextSecond is the wait for the next whole second: ages are shown in
// whole seconds, so an idle screen changes no more often than that.
func untilNextSecond(now time.Time) time.Duration {
	return now.Truncate(time.Second).Add(time.Second).Sub(now)
}

func sendDesired(thing string, conn Conn, patch map[string]any) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := conn.UpdateDesired(ctx, patch)
		return desiredResultMsg{thing, err}
	}
}

func getShadow(thing string, conn Conn) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return gotShadowMsg{thing, conn.Get(ctx)}
	}
}

// runDemo runs a demo fault action off the UI goroutine.
func runDemo(do func()) tea.Cmd {
	return func() tea.Msg { do(); return nil }
}

// exportCSV writes a plotted field's reports over the window, as they
// came, to a file in the current directory and reports its name in the
// status line. The rows are taken here, on the UI's goroutine; the file is
// written off it.
func exportCSV(mon *monitor.Monitor, field string, window time.Duration, now time.Time) tea.Cmd {
	var rows bytes.Buffer
	err := mon.WriteReportsCSV(&rows, field, window, now)
	return func() tea.Msg {
		name := fmt.Sprintf("iotwatch-%s-%s.csv", field, now.UTC().Format("20060102-150405"))
		if err == nil {
			err = os.WriteFile(name, rows.Bytes(), 0o644)
		}
		if err != nil {
			return statusMsg("export: " + err.Error())
		}
		return statusMsg("exported " + name)
	}
}
