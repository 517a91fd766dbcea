package devicesim

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/event"
)

// Options configures a simulated device.
type Options struct {
	Conn     awsconn.Options // Role is forced to Device, ClientID to the thing name
	Interval time.Duration   // initial report interval (whole seconds)
	Faults   []Fault         // applied from the start (drop/every, lose, jitter) or once
	Log      io.Writer
}

// Sim is a running simulated device. Its fault methods are safe to call
// from other goroutines.
type Sim struct {
	o      Options
	dev    *Device
	conn   *awsconn.Conn
	events <-chan event.Event // nil while dropped
	up     bool
	lose   float64
	jitter float64
	ctl    chan func()
	rng    *rand.Rand
	// Jobs (jobs.go): answers subscribed on this connection, the job
	// being downloaded, and a job fault waiting for the next job.
	jobsSubscribed bool
	jobBusy        string
	jobFault       FaultKind
}

// New prepares a simulated device; Run runs it.
func New(o Options) *Sim {
	if o.Interval < time.Second {
		o.Interval = time.Second
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	o.Conn.Role, o.Conn.ClientID = awsconn.Device, o.Conn.Thing
	if o.Conn.Backoff == nil {
		o.Conn.Backoff = Jitter(time.Second, cmp.Or(o.Conn.MaxBackoff, 30*time.Second))
	}
	seed := uint64(time.Now().UnixNano())
	return &Sim{o: o, dev: NewDevice(time.Now(), int(o.Interval/time.Second), seed),
		ctl: make(chan func(), 16), rng: rand.New(rand.NewPCG(seed, 7))}
}

// Run connects and reports until ctx ends.
func (s *Sim) Run(ctx context.Context) error {
	if err := s.connect(); err != nil {
		return err
	}
	defer func() { s.disconnect() }()
	for _, f := range s.o.Faults {
		s.inject(ctx, f)
	}
	timer := time.NewTimer(s.nextInterval())
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			s.logf("stopped after report %d", s.dev.Seq)
			return nil
		case fn := <-s.ctl:
			fn()
		case ev, ok := <-s.events:
			if ok {
				s.onEvent(ctx, ev)
			}
		case <-timer.C:
			s.report(ctx, nil)
			timer.Reset(s.nextInterval())
		}
	}
}

func (s *Sim) connect() error {
	conn, err := awsconn.Dial(s.o.Conn)
	if err != nil {
		return err
	}
	s.conn, s.events, s.up, s.jobsSubscribed = conn, conn.Events(), false, false
	return nil
}

func (s *Sim) disconnect() {
	if s.conn != nil {
		s.conn.Close()
	}
	s.conn, s.events, s.up = nil, nil, false
}

func (s *Sim) onEvent(ctx context.Context, ev event.Event) {
	switch e := ev.(type) {
	case event.Link:
		s.up = e.State == event.LinkUp
		if e.Err != "" {
			s.logf("link %s: %s", e.State, e.Err)
		} else {
			s.logf("link %s", e.State)
		}
		if s.up {
			s.jobsOnConnect()
		}
	case event.Raw:
		s.onJobMessage(e.Topic, e.Payload)
	case event.Rejected:
		if e.Op == "get" && e.Code == 404 {
			s.report(ctx, nil) // no shadow yet: the first report creates it
		}
	case event.ShadowDoc:
		if (e.Kind == event.DocDelta || e.Kind == event.DocGet) && len(e.Delta) > 0 {
			applied := s.dev.Apply(e.Delta)
			s.report(ctx, &applied)
		} else if e.Kind == event.DocGet {
			s.report(ctx, nil)
		}
	}
}

// report sends one report, with applied values and desired corrections.
func (s *Sim) report(ctx context.Context, applied *Applied) {
	if !s.up {
		return
	}
	reported := s.dev.Report(time.Now())
	if s.lose > 0 && s.rng.Float64() < s.lose && applied == nil {
		return // lost: seq advanced, nothing sent
	}
	state := map[string]any{"reported": reported}
	if applied != nil {
		for k, v := range applied.Reported {
			reported[k] = v
		}
		if len(applied.Desired) > 0 {
			state["desired"] = applied.Desired
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.conn.Update(rctx, map[string]any{"state": state}); err != nil {
		s.logf("report %d: %v", s.dev.Seq, err)
	}
}

func (s *Sim) nextInterval() time.Duration {
	d := time.Duration(s.dev.IntervalS) * time.Second
	if s.jitter > 0 {
		d = time.Duration(float64(d) * (1 + s.jitter*(2*s.rng.Float64()-1)))
	}
	return d
}

// logf writes one timestamped line to the simulator's log.
func (s *Sim) logf(format string, args ...any) {
	fmt.Fprintf(s.o.Log, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
