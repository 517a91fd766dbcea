package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/pipeline"
	"github.com/iotwatch/iotwatch/pki"
	"github.com/iotwatch/iotwatch/report"
)

func runSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("soak", "soak [-c FILE] --duration D [--log FILE] [--report FILE] [connection flags]", stderr)
	cfgPath := fs.String("c", "", "configuration ([soak] holds the thresholds; [thing] names or match soak a fleet, unless --thing names one)")
	over := addConnFlags(fs)
	things := repeatThing(fs, over)
	duration := fs.Duration("duration", 0, "how long to watch, e.g. 8h (SIGINT, SIGTERM or SIGHUP end it early: INCONCLUSIVE unless it already FAILed)")
	logPath := fs.String("log", "", "append every event to this JSON Lines log (fsynced every second)")
	reportPath := fs.String("report", "", "write the Markdown report here, with .svg and .json beside it")
	endpointURL := endpointURLFlag(fs)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *duration <= 0 {
		return usagef("--duration is required, e.g. --duration 8h")
	}
	if err := checkReportPath(*reportPath); err != nil {
		return err
	}
	cfg, opts, err := loadConn(*cfgPath, *over)
	if err != nil {
		return err
	}
	pki.WarnKeyFile(stderr, cfg.AWS.Key)
	if err := things.apply(cfg); err != nil {
		return err
	}
	fleet := cfg.Thing.Fleet() && (over.Thing == "" || len(things.names) > 1)
	session := sessionOf(cfg)
	log, err := openLog(*logPath, eventlog.Header{Planned: *duration, Settings: settingsOf(cfg)}, stderr)
	if err != nil {
		return err
	}
	defer log.close()
	p := pipeline.New(pipeline.Options{Monitor: monitorOptions(cfg), Log: log.log(), LogFailed: log.failed})
	var events <-chan event.Event
	var read func()
	soaked := func() []string { return []string{cfg.Thing.Name} }
	if fleet {
		fo := fleetOptions(ctx, cfg, opts, *endpointURL, stderr)
		fo.Conn.Log = stderr
		session.Thing = "" // the fleet's run; each thing gets its own session line
		conn, err := awsconn.DialFleet(fo)
		if err != nil {
			return err
		}
		defer conn.Close()
		p.Open(session, fo.Things...) // after Dial: a run in the log is one that ran (its events wait)
		events, read, soaked = conn.Events(), func() { readEach(conn) }, conn.Things
	} else {
		conn, err := awsconn.Dial(opts)
		if err != nil {
			return err
		}
		defer conn.Close()
		p.Open(session)
		events, read = conn.Events(), func() { go getShadow(conn.Get) }
	}
	jobs := newJobsPoller(jobsAt(ctx, cfg, *endpointURL), soaked, stderr)
	end := soakUntil(ctx, cfg, p, events, read, jobs, session.At.Add(*duration), log, stderr)
	run := report.Run{Field: cfg.Plot.Field, Unit: cfg.Plot.Unit, Start: session.At, End: end.At,
		Thresholds: thresholds(cfg), ThresholdsFrom: thresholdsFrom(cfg), LogFailure: log.failure(),
		Ending: report.Ending{Reason: end.Reason, Signal: end.Signal, Error: end.Error, At: end.At, Planned: *duration}}
	reported := []string{session.Thing}
	if fleet {
		reported = p.Things()
	}
	return finish(p, reported, fleet, run, nil, *reportPath, streams{stdout, stderr})
}

// readEach asks for every thing's shadow of a fleet, each on its own
// goroutine: the loop never waits for an answer.
func readEach(f *awsconn.Fleet) {
	for _, t := range f.Things() {
		go getShadow(func(ctx context.Context) error { return f.Get(ctx, t) })
	}
}

// getShadow is one shadow read whose answer arrives as an event.
func getShadow(get func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	get(ctx) // a failed read is a link problem, which the link events say
}

// soakUntil runs the pipeline until the deadline or a signal, with the
// configuration's alerts observed after each tick, the progress line on a
// terminal and the shadow read at least every max_gap/2 (deaf: a version
// moving without iotwatch hearing the updates).
func soakUntil(ctx context.Context, cfg *config.Config, p *pipeline.Pipeline, events <-chan event.Event, read func(), jobs *jobsPoller,
	deadline time.Time, log *soakLog, stderr io.Writer) event.End {
	alerts, stopAlerts := startAlerts(cfg, stderr)
	defer stopAlerts()
	progress := progressOut(stderr)
	announced := map[string]bool{}
	l := pipeline.Loop{Events: events, Deadline: deadline, Read: read, ReadEvery: readEvery(cfg), Sync: log.sync,
		Observe: func(now time.Time) {
			for _, t := range p.Things() {
				m := p.Monitor(t)
				alerts.Observe(t, m, now)
				if a := m.AnnouncedInterval(); a > 0 && !announced[t] {
					announced[t] = true
					fmt.Fprintf(stderr, "\nwarning: %s announces interval_s %s, longer than max_gap %s: its silences are judged by max_gap\n", t, a, cfg.Soak.MaxGap)
				}
			}
		}}
	if progress != nil {
		l.Progress = func(now time.Time) {
			fmt.Fprintf(progress, "\r%s left  %s   ", time.Until(deadline).Round(time.Second), progressLine(p, now))
		}
	}
	l.Polled, l.Closing = jobs.start(ctx)
	end := p.Run(ctx, l)
	if progress != nil {
		fmt.Fprintln(progress) // the report's lines start below the progress line
	}
	return end
}

// readEvery is how often a soak reads the shadow: half of max_gap, so that
// a deaf link is found before a gap could pass the threshold unseen (15 s
// without a max_gap).
func readEvery(cfg *config.Config) time.Duration {
	if g := cfg.Soak.MaxGap.Duration; g > 0 {
		return max(g/2, 500*time.Millisecond)
	}
	return 15 * time.Second
}

// progressLine is the terminal's progress line: one thing's figures, or the
// fleet's totals.
func progressLine(p *pipeline.Pipeline, now time.Time) string {
	things := p.Things()
	if len(things) == 1 {
		m := p.Monitor(things[0])
		return fmt.Sprintf("reports %d  dropouts %d  availability %s  link %s", m.Counts.Reports, m.DropoutCount(), percent(m.Availability(now)), m.Link.State)
	}
	reports, dropouts, silent := 0, 0, 0
	for _, t := range things {
		m := p.Monitor(t)
		reports += m.Counts.Reports
		dropouts += m.DropoutCount()
		if m.Counts.Reports == 0 {
			silent++
		}
	}
	return fmt.Sprintf("things %d  reports %d  dropouts %d  never reported %d", len(things), reports, dropouts, silent)
}

// sessionOf is the line that opens a run in the log.
func sessionOf(cfg *config.Config) event.Session {
	s := event.Session{At: time.Now(), Program: programVersion(), Thing: cfg.Thing.Name}
	if data, err := os.ReadFile(cfg.Path); err == nil {
		sum := sha256.Sum256(data)
		s.ConfigDigest = hex.EncodeToString(sum[:])
	}
	return s
}

// programVersion is iotwatch's module version and VCS revision, as built.
func programVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "iotwatch"
	}
	v := "iotwatch " + info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (vcs " + s.Value[:12] + ")"
		}
	}
	return v
}

// progressOut is stderr when it is a terminal, else nil (no progress line).
func progressOut(stderr io.Writer) io.Writer {
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		return f
	}
	return nil
}

// percent shows an availability, "–" before anything was observed.
func percent(p float64, _, _ time.Duration) string {
	if math.IsNaN(p) {
		return "–"
	}
	return fmt.Sprintf("%.3f%%", p)
}
