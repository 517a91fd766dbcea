// Package cli holds iotwatch's commands, one file each, and the table that
// dispatches a command line to them. conn.go is the one place a configuration
// (or the demo's lab) becomes awsconn.Options. It may import every other
// package; only main imports cli.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/x/term"
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
	{"get", "print the shadow as JSON (for scripts)", runGet},
	{"update", "send a desired (or reported) patch, print the accepted answer", runUpdate},
	{"delete", "delete the shadow, print the answer", runDelete},
	{"aws", "provision a thing, certificate and policy on AWS IoT (setup), remove them (teardown)", runAWS},
	{"job", "AWS IoT Jobs: create, list, describe, cancel (a firmware rollout, on AWS or serve)", runJob},
	{"qualify", "AWS IoT Device Advisor's test cases against a device, offline", runQualify},
}

// usageError marks a command-line mistake: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// Run runs the command line args (without the program name) and returns the
// exit status: 0 done, 1 failed, 2 usage error.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	name := "watch"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		printUsage(stdout)
		return 0
	}
	if wantsVersion(args) {
		fmt.Fprintln(stdout, "iotwatch", Version())
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

// wantsVersion is true for "iotwatch version" and for --version given to
// any command, before a "--" that ends its flags.
func wantsVersion(args []string) bool {
	if len(args) > 0 && args[0] == "version" {
		return true
	}
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--version", "-version":
			return true
		}
	}
	return false
}

func exitCode(err error, name string, stderr io.Writer) int {
	var usage usageError
	var coded interface{ ExitCode() int }
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
	case errors.As(err, &coded): // a command's own status for its errors
		fmt.Fprintf(stderr, "iotwatch %s: %v\n", name, err)
		return coded.ExitCode()
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
		printFlags(fs, stderr)
	}
	return fs
}

// flagArgs name what a flag takes, in place of its Go type.
var flagArgs = map[string]string{"c": "FILE", "log": "FILE", "report": "FILE", "csv": "FILE", "o": "FILE",
	"cert": "FILE", "key": "FILE", "ca": "FILE", "dir": "DIR", "data": "DIR", "pki": "DIR", "listen": "ADDR",
	"endpoint": "HOST", "port": "PORT", "thing": "NAME", "shadow": "NAME", "host": "NAME",
	"profile": "NAME", "region": "NAME", "interval": "D", "duration": "D", "timeout": "D", "fault": "SPEC", "desired": "JSON", "reported": "JSON",
	"endpoint-url": "URL", "ca-bundle": "FILE", "policy-name": "NAME",
	"job-minute": "D", "document": "FILE", "file": "IMAGE", "job-id": "ID", "match": "GLOB", "timeout-minutes": "N", "status": "STATUS"}

// printFlags lists the flags as the README and the usage lines write them:
// --name for words, -c for single letters (Go's flag accepts both).
func printFlags(fs *flag.FlagSet, w io.Writer) {
	fs.VisitAll(func(f *flag.Flag) {
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-"
		}
		arg, usage := flag.UnquoteUsage(f)
		if named, ok := flagArgs[f.Name]; ok && arg != "" {
			arg = named
		}
		if arg != "" {
			arg = " " + strings.ToUpper(arg)
		}
		if def := f.DefValue; def != "" && def != "0" && def != "false" && def != "[]" && !strings.Contains(def, "faults") {
			usage += fmt.Sprintf(" (default %s)", def)
		}
		fmt.Fprintf(w, "  %s%s%s\n      %s\n", dashes, f.Name, arg, strings.ReplaceAll(usage, "\n", "\n      "))
	})
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

// isTerminal asks the terminal driver, because a character device such as
// /dev/null is not a terminal.
func isTerminal(f *os.File) bool { return term.IsTerminal(f.Fd()) }
