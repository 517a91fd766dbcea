package tui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/iotwatch/iotwatch/monitor"
)

// maxBatch caps how many queued events one Update takes.
const maxBatch = 64

// waitForEvents blocks for one event, then drains what is already queued.
func waitForEvents(ch <-chan monitor.Event) tea.Cmd {
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
		return desiredResultMsg{conn.Get(ctx)}
	}
}

// runDemo runs a demo fault action off the UI goroutine.
func runDemo(do func()) tea.Cmd {
	return func() tea.Msg { do(); return nil }
}
