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
	if noColor || os.Getenv("NO_COLOR") != "" {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
	final, err := tea.NewProgram(tui.New(o), tea.WithAltScreen(), tea.WithContext(ctx)).Run()
	model, _ := final.(tui.Model)
	if err == tea.ErrProgramKilled && ctx.Err() != nil {
		err = nil
	}
	return model, err
}
