package tui

import (
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

const redrawEvery = 200 * time.Millisecond

func tick(tag int) tea.Cmd {
	return tea.Tick(redrawEvery, func(time.Time) tea.Msg { return tickMsg{tag} })
}

func sendDesired(conn Conn, patch map[string]any) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := conn.UpdateDesired(ctx, patch)
		return desiredResultMsg{err}
	}
}

func getShadow(conn Conn) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return gotShadowMsg{conn.Get(ctx)}
	}
}

// runDemo runs a demo fault action off the UI goroutine.
func runDemo(do func()) tea.Cmd {
	return func() tea.Msg { do(); return nil }
}

// exportCSV writes a plotted field over the window to a file in the
// current directory and reports its name in the status line.
func exportCSV(mon *monitor.Monitor, field string, window time.Duration, now time.Time) tea.Cmd {
	points := int(min(window/time.Second, 100000))
	series := mon.Series(field, window, points, now)
	return func() tea.Msg {
		name := fmt.Sprintf("iotwatch-%s-%s.csv", field, now.UTC().Format("20060102-150405"))
		f, err := os.Create(name)
		if err == nil {
			err = monitor.WriteCSV(f, field, series, now.Add(-window), window/time.Duration(points))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return desiredResultMsg{fmt.Errorf("export: %w", err)}
		}
		return statusMsg("exported " + name)
	}
}
