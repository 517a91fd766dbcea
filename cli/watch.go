package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/tui"
)

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("watch", "[watch] [-c FILE] [--log FILE] [--csv FILE] [--no-color] [--thing NAME]... [connection flags]", stderr)
	cfgPath := fs.String("c", "", "configuration (default ./iotwatch.toml, then $XDG_CONFIG_HOME/iotwatch/config.toml)")
	over := addConnFlags(fs)
	things := repeatThing(fs, over)
	noColor := fs.Bool("no-color", false, "no colours (also NO_COLOR)")
	logPath := fs.String("log", "", "append every event to this JSON Lines log (fsynced every second)")
	csvPath := fs.String("csv", "", "on exit, write the plotted field (1 s means) to this CSV file")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	cfg, opts, err := loadConn(*cfgPath, *over)
	if err != nil {
		return err
	}
	if err := things.apply(cfg); err != nil {
		return err
	}
	if err := tui.CheckControls(cfg.Control, nil); err != nil {
		return fmt.Errorf("%s: %w", cfg.Path, err)
	}
	warnings := cfg.Warnings() // also in the TUI's event log, as the screen hides stderr
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	single := tui.Options{Endpoint: fmt.Sprintf("%s:%d", cfg.AWS.Endpoint, cfg.AWS.Port), Thing: cfg.Thing.Name, Unit: cfg.Plot.Unit,
		Window: cfg.Plot.Window.Duration, Controls: cfg.Control, Monitor: monitorOptions(cfg), Warnings: warnings}
	single.Jobs = watchJobs(ctx, cfg) // the jobs pane (J) and the fleet's job column
	if len(cfg.Alert) > 0 {
		alerts, stop := startWatchAlerts(cfg)
		defer stop()
		single.Observe = alerts.observe
	}
	if cfg.Thing.Fleet() && (len(cfg.Thing.Names) > 1 || cfg.Thing.Match != "") {
		if *csvPath != "" {
			return usagef("--csv is for one thing: open the thing from the fleet screen and export its plot with x")
		}
		return watchFleet(ctx, cfg, opts, single, *logPath, *noColor, stderr)
	}
	session := sessionOf(cfg) // before Dial: the log's run starts before its first event
	conn, err := awsconn.Dial(opts)
	if err != nil {
		return err
	}
	defer conn.Close()
	var source tui.Conn = conn
	if *logPath != "" {
		log, err := eventlog.Create(*logPath, session)
		if err != nil {
			return err
		}
		defer log.Close()
		source = logged(conn, log)
	}
	started := time.Now()
	single.Conn = source
	final, err := runTUI(ctx, single, *noColor)
	if err != nil || *csvPath == "" || final.Monitor() == nil {
		return err
	}
	return writeCSV(*csvPath, final.Monitor(), started, time.Now())
}

// writeCSV writes the plotted field from start to end as 1 s means (at most a day).
func writeCSV(path string, mon *monitor.Monitor, start, end time.Time) error {
	span := min(max(end.Sub(start).Truncate(time.Second), time.Second), 24*time.Hour)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	series := mon.Series(mon.Field(), span, int(span/time.Second), end)
	if err := monitor.WriteCSV(f, mon.Field(), series, end.Add(-span), time.Second); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// loggedConn passes a connection's events on after appending each to the
// event log, so the UI never does that IO itself.
type loggedConn struct {
	*awsconn.Conn
	events <-chan event.Event
}

func logged(conn *awsconn.Conn, log *eventlog.Writer) *loggedConn {
	return &loggedConn{Conn: conn, events: teeLog(conn.Events(), log)}
}

// teeLog passes events on after appending each to log, off the UI
// goroutine; the raw-topics view's traffic is not the thing's history.
func teeLog(in <-chan event.Event, log *eventlog.Writer) <-chan event.Event {
	out := make(chan event.Event, 1024)
	go func() {
		defer close(out)
		for ev := range in {
			if _, raw := ev.(event.Raw); !raw {
				log.Write(ev)
			}
			out <- ev
		}
	}()
	return out
}

func (l *loggedConn) Events() <-chan event.Event { return l.events }
