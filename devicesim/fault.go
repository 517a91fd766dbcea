package devicesim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FaultKind names a fault the simulator can inject.
type FaultKind string

const (
	FaultDrop      FaultKind = "drop"      // go offline for For (every Every, if set)
	FaultReboot    FaultKind = "reboot"    // restart: seq and uptime start again
	FaultLose      FaultKind = "lose"      // skip a Fraction of reports (seq still advances)
	FaultJitter    FaultKind = "jitter"    // vary each interval by ±Fraction
	FaultDuplicate FaultKind = "dup"       // a second connection takes over the client id
	FaultMalformed FaultKind = "malformed" // publish a malformed update
	// Jobs: the next job fails, hangs (never updated again), or the device
	// reboots halfway through its download.
	FaultJobFail            FaultKind = "job-fail"
	FaultJobHang            FaultKind = "job-hang"
	FaultRebootDuringUpdate FaultKind = "reboot-during-update"
)

// Fault is one parsed --fault SPEC.
type Fault struct {
	Kind     FaultKind
	For      time.Duration
	Every    time.Duration
	Fraction float64
}

// FaultHelp documents the SPEC grammar for --help.
const FaultHelp = `fault to inject (repeatable): drop:30s (offline 30 s once), drop:10s/every:60s,
reboot, lose:0.1 (lose 10% of reports), jitter:0.2 (±20% intervals), dup (take over the client id),
malformed (publish a malformed update), job-fail, job-hang, reboot-during-update (the next job
fails, hangs, or the device reboots halfway through its download)`

// ParseFault parses one SPEC.
func ParseFault(spec string) (Fault, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	f := Fault{Kind: FaultKind(kind)}
	switch f.Kind {
	case FaultReboot, FaultDuplicate, FaultMalformed, FaultJobFail, FaultJobHang, FaultRebootDuringUpdate:
		if arg != "" {
			return f, fmt.Errorf("fault %q takes no argument", kind)
		}
		return f, nil
	case FaultDrop:
		return parseDrop(f, arg)
	case FaultLose, FaultJitter:
		v, err := strconv.ParseFloat(arg, 64)
		if err != nil || v <= 0 || v >= 1 {
			return f, fmt.Errorf("fault %q needs a fraction between 0 and 1, e.g. %s:0.1", kind, kind)
		}
		f.Fraction = v
		return f, nil
	}
	return f, fmt.Errorf("unknown fault %q: %s", spec, FaultHelp)
}

func parseDrop(f Fault, arg string) (Fault, error) {
	length, every, hasEvery := strings.Cut(arg, "/every:")
	d, err := time.ParseDuration(length)
	if err != nil || d <= 0 {
		return f, fmt.Errorf("fault drop needs a duration, e.g. drop:30s or drop:10s/every:60s")
	}
	f.For = d
	if hasEvery {
		e, err := time.ParseDuration(every)
		if err != nil || e <= d {
			return f, fmt.Errorf("fault drop: every must be a duration longer than the drop, e.g. drop:10s/every:60s")
		}
		f.Every = e
	}
	return f, nil
}
