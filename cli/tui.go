package cli

import (
	"context"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/iotwatch/iotwatch/tui"
)

// runTUI runs the terminal UI until the user quits or ctx ends.
func runTUI(ctx context.Context, o tui.Options, noColor bool) (tui.Model, error) {
	final, err := runProgram(ctx, tui.New(o), noColor)
	model, _ := final.(tui.Model)
	return model, err
}

// runProgram runs a screen (one thing's, or the fleet's) until the user
// quits or ctx ends.
func runProgram(ctx context.Context, m tea.Model, noColor bool) (tea.Model, error) {
	if noColor || os.Getenv("NO_COLOR") != "" {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
	final, err := tui.Run(ctx, m)
	if err == tea.ErrProgramKilled && ctx.Err() != nil {
		err = nil
	}
	return final, err
}
