package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/monitor"
)

// Options configures an Alerter.
type Options struct {
	Rules []config.Alert
	Bell  io.Writer // the terminal; nil: os.Stderr
	// Log gets each alert delivered and each output's first failure, from
	// the caller's goroutine and the outputs' (so it must be safe for
	// that); nil discards.
	Log     func(line string)
	HTTP    *http.Client  // nil: http.DefaultClient under Timeout
	Queue   int           // alerts waiting per output, default 64
	Timeout time.Duration // per delivery (command, POST, notify-send), default 10 s
}

// Alerter delivers alerts by the rules. Its methods never block on an
// output and are safe for concurrent use.
type Alerter struct {
	o       Options
	mu      sync.Mutex // the tracker and the limiters
	tracker *Tracker
	rules   []*rule
	workers sync.WaitGroup
}

type rule struct {
	on      map[Kind]bool // empty: every kind
	limit   *limiter
	outputs []*output
}

// output is one destination with its queue and worker.
type output struct {
	name    string
	queue   chan Alert
	send    func(ctx context.Context, a Alert) error
	full    atomic.Bool // the queue overflowed and was reported
	failing bool        // the worker's own: reported, not yet working again
}

// New starts the outputs of every rule.
func New(o Options) *Alerter {
	if o.Bell == nil {
		o.Bell = os.Stderr
	}
	if o.Log == nil {
		o.Log = func(string) {}
	}
	if o.Queue == 0 {
		o.Queue = 64
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.HTTP == nil {
		o.HTTP = http.DefaultClient
	}
	a := &Alerter{o: o, tracker: NewTracker()}
	for _, r := range o.Rules {
		a.rules = append(a.rules, a.newRule(r))
	}
	return a
}

func (a *Alerter) newRule(r config.Alert) *rule {
	every := r.Every.Duration
	if every == 0 {
		every = config.DefaultAlertEvery
	}
	ru := &rule{on: map[Kind]bool{}, limit: newLimiter(every)}
	for _, k := range r.On {
		ru.on[Kind(k)] = true
	}
	add := func(name string, send func(context.Context, Alert) error) {
		out := &output{name: name, queue: make(chan Alert, a.o.Queue), send: send}
		ru.outputs = append(ru.outputs, out)
		a.workers.Add(1)
		go a.run(out)
	}
	if r.Bell {
		add("bell", a.bell)
	}
	if r.Notify {
		if path, err := exec.LookPath("notify-send"); err != nil {
			a.o.Log("alert: notify = true but notify-send is not installed (apt install libnotify-bin): no desktop notifications")
		} else {
			add("notify-send", func(ctx context.Context, al Alert) error { return notify(ctx, path, al) })
		}
	}
	if len(r.Command) > 0 {
		argv := r.Command
		add("command "+strings.Join(argv, " "), func(ctx context.Context, al Alert) error { return command(ctx, argv, al) })
	}
	if r.URL != "" {
		url := r.URL
		add("POST "+url, func(ctx context.Context, al Alert) error { return a.post(ctx, url, al) })
	}
	return ru
}

// Observe raises the alerts for what changed in thing's monitor since the
// last Observe: call it after applying events and after each Tick.
func (a *Alerter) Observe(thing string, m *monitor.Monitor, now time.Time) {
	a.mu.Lock()
	found := a.tracker.Check(thing, m, now)
	a.mu.Unlock()
	a.raise(found)
}

// Verdict raises a verdict_breach when thing's verdict turns to fail.
func (a *Alerter) Verdict(thing string, pass bool, reasons []string, now time.Time) {
	a.mu.Lock()
	found := a.tracker.Verdict(thing, pass, reasons, now)
	a.mu.Unlock()
	a.raise(found)
}

// Raise delivers alerts by the rules: matched, rate-limited, logged, and
// queued to each output without waiting.
func (a *Alerter) Raise(alerts ...Alert) { a.raise(alerts) }

func (a *Alerter) raise(alerts []Alert) {
	a.mu.Lock() // enqueueing never waits, and Close must not close a queue in use
	defer a.mu.Unlock()
	for _, al := range alerts {
		for _, r := range a.rules {
			if len(r.on) > 0 && !r.on[al.Kind] || !r.limit.allow(&al) {
				continue
			}
			a.o.Log("alert: " + al.String())
			for _, out := range r.outputs {
				a.enqueue(out, al)
			}
		}
	}
}

func (a *Alerter) enqueue(out *output, al Alert) {
	select {
	case out.queue <- al:
	default:
		if !out.full.Swap(true) {
			a.o.Log(fmt.Sprintf("alert: output %s is behind: %d alerts queued, newer ones dropped until it catches up", out.name, cap(out.queue)))
		}
	}
}

// run delivers one output's alerts; a failure is reported once, until the
// output works again.
func (a *Alerter) run(out *output) {
	defer a.workers.Done()
	for al := range out.queue {
		ctx, cancel := context.WithTimeout(context.Background(), a.o.Timeout)
		err := out.send(ctx, al)
		cancel()
		switch {
		case err != nil && !out.failing:
			out.failing = true
			a.o.Log(fmt.Sprintf("alert: output %s failed: %v (not reported again until it works)", out.name, err))
		case err == nil && out.failing:
			out.failing = false
			a.o.Log(fmt.Sprintf("alert: output %s works again", out.name))
		}
		if len(out.queue) == 0 {
			out.full.Store(false)
		}
	}
}

// Close stops taking alerts and waits for the queued ones until ctx ends.
func (a *Alerter) Close(ctx context.Context) {
	a.mu.Lock()
	for _, r := range a.rules {
		for _, out := range r.outputs {
			close(out.queue)
		}
	}
	a.rules = nil
	a.mu.Unlock()
	done := make(chan struct{})
	go func() { a.workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (a *Alerter) bell(context.Context, Alert) error {
	_, err := io.WriteString(a.o.Bell, "\a")
	return err
}

func notify(ctx context.Context, path string, al Alert) error {
	return run(exec.CommandContext(ctx, path, "--app-name=iotwatch", "iotwatch: "+al.Thing+" "+string(al.Kind), al.Message), nil)
}

func command(ctx context.Context, argv []string, al Alert) error {
	body, _ := json.Marshal(al)
	return run(exec.CommandContext(ctx, argv[0], argv[1:]...), append(body, '\n'))
}

// run runs cmd with stdin, failing with the end of its stderr.
func run(cmd *exec.Cmd, stdin []byte) error {
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stderr = bytes.NewReader(stdin), &stderr
	cmd.WaitDelay = time.Second // a child left holding stderr does not hold the worker
	if err := cmd.Run(); err != nil {
		if msg := lastLine(stderr.String()); msg != "" {
			return fmt.Errorf("%v: %s", err, msg)
		}
		return err
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func (a *Alerter) post(ctx context.Context, url string, al Alert) error {
	body, _ := json.Marshal(al)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.o.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}
