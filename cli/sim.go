package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/iotwatch/iotwatch/devicesim"
	"github.com/iotwatch/iotwatch/pki"
)

// faultList collects repeated --fault flags, parsed as they come.
type faultList []devicesim.Fault

func (f *faultList) String() string { return fmt.Sprint(len(*f), " faults") }

func (f *faultList) Set(spec string) error {
	fault, err := devicesim.ParseFault(spec)
	if err != nil {
		return err
	}
	*f = append(*f, fault)
	return nil
}

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", "sim [-c FILE] [--interval D] [--fault SPEC]... [connection flags]", stderr)
	cfgPath := fs.String("c", "", "configuration (uses [aws] and [thing]; the client id is the thing name)")
	over := addConnFlags(fs)
	interval := fs.Duration("interval", 5*time.Second, "report interval (whole seconds, 1s–1h)")
	var faults faultList
	fs.Var(&faults, "fault", devicesim.FaultHelp)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *interval < time.Second || *interval > time.Hour {
		return usagef("--interval %s: use 1s to 1h", *interval)
	}
	cfg, conn, err := loadConn(*cfgPath, *over)
	if err != nil {
		return err
	}
	pki.WarnKeyFile(stderr, cfg.AWS.Key)
	fmt.Fprintf(stderr, "iotwatch sim: thing %s reporting every %s to %s:%d (Ctrl+C stops)\n", conn.Thing, *interval, conn.Host, conn.Port)
	sim := devicesim.New(devicesim.Options{Conn: conn, Interval: *interval, Faults: faults, Log: stderr})
	return sim.Run(ctx)
}
