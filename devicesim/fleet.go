package devicesim

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
)

// Enroller gives each simulated device of a fleet its own certificate.
type Enroller interface {
	Enroll(ctx context.Context, thing string) (tls.Certificate, error)
	Release(ctx context.Context) error
}

// FleetOptions configures a simulated fleet.
type FleetOptions struct {
	// Conn is every device's connection: host, port, shadow, and TLS for
	// its server verification (each device gets its own certificate).
	// Conn.Thing names the devices: <thing>-000 ….
	Conn     awsconn.Options
	Size     int
	Interval time.Duration
	Faults   []Fault // on every device
	Random   []Fault // each on one device picked at random (a different one each, while there are)
	Seed     uint64  // picks the Random devices; 0: from the clock
	Enroll   Enroller
	Log      io.Writer // each line starts with the device's thing
}

// FleetNames are the things of a fleet of size devices named after base:
// base-000 …, with more digits when size needs them.
func FleetNames(base string, size int) []string {
	width := max(3, len(strconv.Itoa(size-1)))
	names := make([]string, size)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%0*d", base, width, i)
	}
	return names
}

// spreadFaults gives every device the common faults, and each random fault
// to one device, distinct ones first.
func spreadFaults(size int, common, random []Fault, rng *rand.Rand) [][]Fault {
	out := make([][]Fault, size)
	for i := range out {
		out[i] = append([]Fault(nil), common...)
	}
	order := rng.Perm(size)
	for i, f := range random {
		d := order[i%size]
		out[d] = append(out[d], f)
	}
	return out
}

// RunFleet enrolls the devices, runs them until ctx ends, and releases
// their certificates. Reports are spread over the interval, not sent all at
// once.
func RunFleet(ctx context.Context, o FleetOptions) error {
	if o.Size < 1 {
		return fmt.Errorf("a fleet needs at least one device")
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	seed := o.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	names := FleetNames(o.Conn.Thing, o.Size)
	certs, err := enrollAll(ctx, o.Enroll, names)
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := o.Enroll.Release(rctx); err != nil {
			fmt.Fprintf(o.Log, "fleet: releasing the certificates: %v\n", err)
		}
	}()
	if err != nil {
		return err
	}
	faults := spreadFaults(o.Size, o.Faults, o.Random, rand.New(rand.NewPCG(seed, 1)))
	shared := &lockedWriter{w: o.Log}
	var wg sync.WaitGroup
	for i, name := range names {
		c := o.Conn
		c.Thing, c.TLS = name, c.TLS.Clone()
		c.TLS.Certificates = []tls.Certificate{certs[i]}
		for _, f := range faults[i][len(o.Faults):] {
			fmt.Fprintf(shared, "%s fleet: fault %s on this device (picked at random)\n", name, describeFault(f))
		}
		sim := New(Options{Conn: c, Interval: o.Interval, Faults: faults[i], Log: prefixed{shared, name + " "}})
		wg.Add(1)
		go func() {
			defer wg.Done()
			select { // spread the first reports over one interval
			case <-time.After(time.Duration(i) * o.Interval / time.Duration(o.Size)):
			case <-ctx.Done():
				return
			}
			if err := sim.Run(ctx); err != nil {
				fmt.Fprintf(shared, "%s %v\n", name, err)
			}
		}()
	}
	wg.Wait()
	return nil
}

// enrollAll enrolls the devices a few at a time.
func enrollAll(ctx context.Context, e Enroller, names []string) ([]tls.Certificate, error) {
	certs := make([]tls.Certificate, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			certs[i], errs[i] = e.Enroll(ctx, name)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("enrolling the fleet's devices: %w", err)
		}
	}
	return certs, nil
}

func describeFault(f Fault) string {
	switch {
	case f.Kind == FaultDrop && f.Every > 0:
		return fmt.Sprintf("drop:%s/every:%s", f.For, f.Every)
	case f.Kind == FaultDrop:
		return fmt.Sprintf("drop:%s", f.For)
	case f.Fraction > 0:
		return fmt.Sprintf("%s:%g", f.Kind, f.Fraction)
	}
	return string(f.Kind)
}

// lockedWriter serializes the devices' lines on one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixed starts each line (one Write each, as Sim.logf writes) with the
// device's name.
type prefixed struct {
	w      io.Writer
	prefix string
}

func (p prefixed) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}
