// Command iotwatch watches and steers one AWS IoT thing: a terminal UI on its
// Device Shadow, a headless soak monitor, a local AWS IoT Core emulator and a
// simulated ESP32. main only parses the command line and dispatches.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand; run parses its own flags from args.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"watch", "terminal UI on the configured thing (the default command)", runWatch},
	{"demo", "emulator + simulated device + terminal UI, zero setup", runDemo},
	{"serve", "local AWS IoT Core emulator (MQTT over mutual TLS, shadows, lifecycle)", runServe},
	{"sim", "simulated ESP32 reporting to its shadow, with fault injection", runSim},
	{"soak", "headless soak monitor with a report and a pass/fail exit status", runSoak},
	{"report", "rebuild a soak report from an event log", runReport},
	{"certs", "local CA and certificates (init), firmware credentials header (header)", runCerts},
	{"doctor", "step-by-step diagnosis of a configuration against its endpoint", runDoctor},
}

// usageError marks a command-line mistake: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// dispatch runs the named command and turns its error into an exit status.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	name := "watch"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		printUsage(stdout)
		return 0
	}
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	for _, c := range commands {
		if c.name == name {
			return exitCode(c.run(ctx, args, stdout, stderr), name, stderr)
		}
	}
	fmt.Fprintf(stderr, "iotwatch: unknown command %q\n\n", name)
	printUsage(stderr)
	return 2
}

func exitCode(err error, name string, stderr io.Writer) int {
	var usage usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage) && usage.msg == "":
		return 2
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "iotwatch %s: %v\nRun 'iotwatch %s --help' for usage.\n", name, err, name)
		return 2
	case errors.Is(err, errSilentFailure):
		return 1
	case errors.Is(err, errInconclusive):
		return 3
	default:
		fmt.Fprintf(stderr, "iotwatch %s: %v\n", name, err)
		return 1
	}
}

// errSilentFailure ends a command with status 1 when it already explained why.
var errSilentFailure = errors.New("failed")

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "iotwatch: watch and steer an AWS IoT thing's Device Shadow.")
	fmt.Fprintln(w, "\nUsage: iotwatch [command] [flags]   (no command: watch)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'iotwatch <command> --help' for a command's flags.")
}

// newFlagSet returns a flag set whose errors and help go to stderr and are
// returned rather than exiting, with a usage line naming the command.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: iotwatch %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args (the flag package has already printed any mistake
// with the usage) and refuses more than maxArgs positional arguments.
func parseFlags(fs *flag.FlagSet, args []string, maxArgs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{}
	}
	if fs.NArg() > maxArgs {
		return usagef("unexpected argument %q", fs.Arg(maxArgs))
	}
	return nil
}
