package devicesim

import (
	"context"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/event"
)

// do runs fn on the simulator's loop.
func (s *Sim) do(fn func()) { s.ctl <- fn }

// Drop takes the device offline for d (a Wi-Fi loss).
func (s *Sim) Drop(d time.Duration) { s.do(func() { s.drop(d) }) }

// Reboot restarts the device: it goes offline briefly and seq restarts.
func (s *Sim) Reboot() {
	s.do(func() {
		s.logf("fault: the device reboots (seq restarts at 1)")
		s.dev.Reboot(time.Now(), "SW")
		s.drop(500 * time.Millisecond)
	})
}

// Lose makes the device lose a fraction of its reports (0 stops it).
func (s *Sim) Lose(fraction float64) { s.do(func() { s.setLose(fraction) }) }

func (s *Sim) setLose(fraction float64) {
	if fraction > 0 {
		s.logf("fault: %.0f%% of the reports are lost", fraction*100)
	} else if s.lose > 0 {
		s.logf("fault over: no report is lost")
	}
	s.lose = fraction
}

// Duplicate connects a second client with the device's client id for a few
// seconds: AWS disconnects the device with DUPLICATE_CLIENTID.
func (s *Sim) Duplicate() {
	s.do(func() {
		s.logf("fault: a second client connects with client id %s for 3 s", s.o.Conn.ClientID)
		twin, err := awsconn.Dial(s.o.Conn)
		if err != nil {
			s.logf("duplicate: %v", err)
			return
		}
		go holdTwin(twin)
	})
}

// holdTwin keeps the twin connected for 3 s from its first connect (on a
// loaded machine the connect alone can take seconds), then closes it.
func holdTwin(twin *awsconn.Conn) {
	defer twin.Close()
	giveUp := time.After(30 * time.Second)
	for {
		select {
		case ev := <-twin.Events():
			if l, ok := ev.(event.Link); ok && l.State == event.LinkUp {
				time.Sleep(3 * time.Second)
				return
			}
		case <-giveUp:
			return
		}
	}
}

// Malformed publishes an update that is not JSON.
func (s *Sim) Malformed() {
	s.do(func() {
		if s.conn == nil {
			return
		}
		s.logf("fault: publishing an update that is not JSON")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.conn.PublishRaw(ctx, "update", []byte(`{"state":{"reported":{"temp":`))
	})
}

func (s *Sim) drop(d time.Duration) {
	if s.conn == nil {
		return
	}
	s.logf("fault: the device goes offline for %s", d)
	s.disconnect()
	time.AfterFunc(d, func() {
		s.do(func() {
			s.logf("fault over: the device reconnects")
			if err := s.connect(); err != nil {
				s.logf("reconnect: %v", err)
			}
		})
	})
}

// inject starts a fault given on the command line.
func (s *Sim) inject(ctx context.Context, f Fault) {
	switch f.Kind {
	case FaultDrop:
		s.drop(f.For)
		if f.Every > 0 {
			go s.every(ctx, f.Every, func() { s.Drop(f.For) })
		}
	case FaultReboot:
		go s.Reboot()
	case FaultLose:
		s.setLose(f.Fraction)
	case FaultJitter:
		s.logf("fault: report intervals vary by ±%.0f%%", f.Fraction*100)
		s.jitter = f.Fraction
	case FaultDuplicate:
		go s.Duplicate()
	case FaultMalformed:
		go s.Malformed()
	case FaultJobFail, FaultJobHang, FaultRebootDuringUpdate:
		s.jobFault = f.Kind
	}
}

func (s *Sim) every(ctx context.Context, period time.Duration, fn func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}
