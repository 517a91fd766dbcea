package tui

import (
	"fmt"

	"github.com/charmbracelet/lipgloss"
)

// Styles holds every style of the UI; views never build styles.
type Styles struct {
	Plain, Title, Muted, Good, Warn, Bad, Label, Desired, Reported, Panel lipgloss.Style
	Series                                                                []lipgloss.Style // the plotted series, in order (seriesColors)
}

// DefaultStyles are the styles used unless a caller swaps them.
func DefaultStyles() Styles {
	series := make([]lipgloss.Style, len(seriesColors))
	for i, c := range seriesColors {
		series[i] = lipgloss.NewStyle().Foreground(lipgloss.Color(fmt.Sprint(c)))
	}
	return Styles{
		Series:   series,
		Plain:    lipgloss.NewStyle(),
		Title:    lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		Muted:    lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		Good:     lipgloss.NewStyle().Foreground(lipgloss.Color("10")),
		Warn:     lipgloss.NewStyle().Foreground(lipgloss.Color("11")),
		Bad:      lipgloss.NewStyle().Foreground(lipgloss.Color("9")).Bold(true),
		Label:    lipgloss.NewStyle().Bold(true),
		Desired:  lipgloss.NewStyle().Foreground(lipgloss.Color("13")),
		Reported: lipgloss.NewStyle().Foreground(lipgloss.Color("14")),
		Panel:    lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color("8")).Padding(0, 1),
	}
}
