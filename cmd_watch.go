package main

import (
	"context"
	"fmt"
	"io"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/tui"
)

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("watch", "[watch] [-c FILE] [--no-color]", stderr)
	cfgPath := fs.String("c", "", "configuration (default ./iotwatch.toml, then $XDG_CONFIG_HOME/iotwatch/config.toml)")
	noColor := fs.Bool("no-color", false, "no colours (also NO_COLOR)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	cfg, opts, err := loadConn(*cfgPath)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stderr, "warning:", w)
	}
	conn, err := awsconn.Dial(opts)
	if err != nil {
		return err
	}
	defer conn.Close()
	return runTUI(ctx, tui.Options{Conn: conn, Endpoint: fmt.Sprintf("%s:%d", cfg.AWS.Endpoint, cfg.AWS.Port),
		Thing: cfg.Thing.Name, Unit: cfg.Plot.Unit, Window: cfg.Plot.Window.Duration, Controls: cfg.Control,
		Monitor: monitor.Options{Field: cfg.Plot.Field, Interval: cfg.Soak.Interval.Duration, DropoutAfter: cfg.Soak.DropoutAfter}}, *noColor)
}

// runTUI runs the terminal UI until the user quits or ctx ends.
func runTUI(ctx context.Context, o tui.Options, noColor bool) error {
	if noColor || os.Getenv("NO_COLOR") != "" {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
	_, err := tea.NewProgram(tui.New(o), tea.WithAltScreen(), tea.WithContext(ctx)).Run()
	if err == tea.ErrProgramKilled && ctx.Err() != nil {
		return nil
	}
	return err
}
