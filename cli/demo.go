package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/devicesim"
	"github.com/iotwatch/iotwatch/localiot"
	"github.com/iotwatch/iotwatch/pki"
	"github.com/iotwatch/iotwatch/tui"
)

const demoThing = "esp32-demo"

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "demo [--no-color]", stderr)
	noColor := fs.Bool("no-color", false, "no colours (also NO_COLOR)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "iotwatch-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lab, err := startDemoLab(ctx, dir)
	if err != nil {
		return err
	}
	defer lab.close()
	_, err = runTUI(ctx, tui.Options{Conn: lab.monitor, Endpoint: lab.srv.Addr() + " (local emulator)", Thing: demoThing,
		Unit: "°C", Window: time.Minute, Controls: config.DefaultControls(), Demo: lab.faultKeys(),
		Monitor: monitorOptions(config.Default())}, *noColor)
	return err
}

// demoLab is the emulator, the simulated device and the monitor connection.
type demoLab struct {
	srv     *localiot.Server
	sim     *devicesim.Sim
	monitor *awsconn.Conn
	stopSim context.CancelFunc
	simDone chan error
}

func startDemoLab(ctx context.Context, dir string) (*demoLab, error) {
	if err := pki.Init(dir, pki.InitOptions{Thing: demoThing}); err != nil {
		return nil, err
	}
	srv, err := localiot.New(localiot.Options{Listen: "127.0.0.1:0", PKIDir: dir})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		srv.Close()
		return nil, err
	}
	lab := &demoLab{srv: srv, simDone: make(chan error, 1)}
	device, err := labConn(dir, srv.Addr(), "device", demoThing)
	if err == nil {
		lab.monitor, err = demoMonitor(dir, srv.Addr())
	}
	if err != nil {
		srv.Close()
		return nil, err
	}
	lab.sim = devicesim.New(devicesim.Options{Conn: device, Interval: time.Second})
	simCtx, stopSim := context.WithCancel(ctx)
	lab.stopSim = stopSim
	go func() { lab.simDone <- lab.sim.Run(simCtx) }()
	return lab, nil
}

func demoMonitor(dir, addr string) (*awsconn.Conn, error) {
	o, err := labConn(dir, addr, "monitor", "iotwatch-demo-monitor")
	if err != nil {
		return nil, err
	}
	return awsconn.Dial(o)
}

func (l *demoLab) faultKeys() []tui.DemoKey {
	return []tui.DemoKey{
		{Key: "D", Help: "device drops for 30 s", Do: func() { l.sim.Drop(30 * time.Second) }},
		{Key: "R", Help: "device reboots", Do: l.sim.Reboot},
		{Key: "L", Help: "lose half the reports for 20 s", Do: func() {
			l.sim.Lose(0.5)
			time.AfterFunc(20*time.Second, func() { l.sim.Lose(0) })
		}},
		{Key: "K", Help: "duplicate client id", Do: l.sim.Duplicate},
	}
}

// close stops the simulated device first: it waits for its context, which
// the demo's own context only ends at the shell's Ctrl+C.
func (l *demoLab) close() {
	l.stopSim()
	l.monitor.Close()
	select {
	case <-l.simDone:
	case <-time.After(5 * time.Second):
		fmt.Fprintln(os.Stderr, "iotwatch demo: the simulated device did not stop in time")
	}
	l.srv.Close()
}
