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
	"regexp"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
)

// command is one subcommand; run parses its own flags from args.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// verdictCommands exit 4 on an error, so that a script never takes an
// error for their FAIL.
var verdictCommands = map[string]bool{"soak": true, "report": true}

// Exit statuses: 0 done (PASS), 1 failed (FAIL), 2 usage, 3 INCONCLUSIVE,
// 4 an error of a command with a verdict (unreadable log or configuration,
// unwritable report, no connection).
const (
	exitOK = iota
	exitFail
	exitUsage
	exitInconclusive
	exitError
)

// exitStatuses is what --help and the README say of them.
const exitStatuses = `Exit status of soak and report: 0 PASS, 1 FAIL, 3 INCONCLUSIVE, 2 usage error,
4 any other error (a log or configuration that cannot be read, a report path that
cannot be written, which is checked before the run starts). Other commands: 0 done,
1 failed, 2 usage error.`

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
// exit status (exitStatuses).
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
			err := c.run(ctx, args, stdout, stderr)
			var help helpText
			if errors.As(err, &help) { // asked for: stdout, to page or grep
				fmt.Fprint(stdout, string(help))
				return 0
			}
			return exitCode(err, name, stderr)
		}
	}
	fmt.Fprintf(stderr, "iotwatch: unknown command %q\n\n", name)
	printUsage(stderr)
	return exitUsage
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
		return exitOK
	case errors.As(err, &usage) && usage.msg == "":
		return exitUsage
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "iotwatch %s: %v\nRun '%s %s --help' for usage.\n", name, err, progName(), name)
		return exitUsage
	case errors.Is(err, errSilentFailure), errors.Is(err, errFail):
		return exitFail
	case errors.Is(err, errInconclusive):
		return exitInconclusive
	case errors.As(err, &coded): // a command's own status for its errors
		fmt.Fprintf(stderr, "iotwatch %s: %v\n", name, err)
		return coded.ExitCode()
	}
	fmt.Fprintf(stderr, "iotwatch %s: %v\n", name, err)
	if verdictCommands[name] {
		return exitError
	}
	return exitFail
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
	fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags.\n", progName())
	fmt.Fprintln(w, "\n"+exitStatuses)
}

// newFlagSet returns a flag set that prints nothing itself: parseFlags
// returns --help's text (Run prints it on stdout) and a mistake as one line
// with its fix (Run prints it on stderr with the way to --help). The
// writer argument is no longer used; every command still passes stderr.
func newFlagSet(name, synopsis string, _ io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s %s\n\nFlags:\n", progName(), synopsis)
		printFlags(fs, fs.Output())
		if verdictCommands[name] {
			fmt.Fprintln(fs.Output(), "\n"+exitStatuses)
		}
	}
	return fs
}

// subcommandUsage answers a command with subcommands (certs, aws) given
// none: its usage on stdout for --help, else on stderr with status 2.
func subcommandUsage(args []string, usage string, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		return helpText(usage)
	}
	fmt.Fprint(stderr, usage)
	return usageError{}
}

// helpText is a command's --help, returned as an error so that Run prints
// it on stdout and exits 0.
type helpText string

func (h helpText) Error() string { return string(h) }

// progName is iotwatch as the user ran it, for the commands hints show:
// ./iotwatch or bin/iotwatch as typed, "go run ." under go run, else
// iotwatch (on PATH).
func progName() string {
	arg0 := os.Args[0]
	switch {
	case strings.Contains(arg0, "go-build") && !strings.HasSuffix(arg0, ".test"):
		return "go run ."
	case strings.Contains(arg0, "/") && !strings.HasSuffix(arg0, ".test"):
		return arg0
	}
	return "iotwatch"
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
		if def := f.DefValue; def != "" && def != "0" && def != "0s" && def != "false" && def != "[]" && !strings.Contains(def, "faults") {
			usage += fmt.Sprintf(" (default %s)", def)
		}
		fmt.Fprintf(w, "  %s%s%s\n      %s\n", dashes, f.Name, arg, strings.ReplaceAll(usage, "\n", "\n      "))
	})
}

// parseFlags parses args and refuses more than maxArgs positional
// arguments; --help returns the usage as helpText.
func parseFlags(fs *flag.FlagSet, args []string, maxArgs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			var b strings.Builder
			fs.SetOutput(&b)
			fs.Usage()
			fs.SetOutput(io.Discard)
			return helpText(b.String())
		}
		return usageError{flagMistake(fs, err)}
	}
	if fs.NArg() > maxArgs {
		return usagef("unexpected argument %q", fs.Arg(maxArgs))
	}
	return nil
}

// flagErrorRe matches the flag package's error for a value it cannot parse.
var flagErrorRe = regexp.MustCompile(`(?s)^invalid (?:boolean )?value "(.*?)" for (?:flag )?-([^:]+): (.*)$`)

// flagMistake rewrites the flag package's error in the words the usage
// uses (--name), with the fix.
func flagMistake(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return fmt.Sprintf("unknown flag %s", dashed(name))
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Sprintf("%s needs a value", dashed(name))
	}
	m := flagErrorRe.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	value, name, why := m[1], m[2], m[3]
	f := fs.Lookup(name)
	if f == nil {
		return msg
	}
	var value0 any
	if getter, ok := f.Value.(flag.Getter); ok {
		value0 = getter.Get()
	}
	switch value0.(type) {
	case time.Duration:
		if _, perr := time.ParseDuration(value); perr != nil && strings.Contains(perr.Error(), "missing unit") {
			return fmt.Sprintf("%s %s: missing unit, e.g. %ss or %sh", dashed(name), value, value, value)
		}
		return fmt.Sprintf("%s %s: not a duration, e.g. 30s, 10m or 8h", dashed(name), value)
	case int, int64, uint, uint64:
		return fmt.Sprintf("%s %s: give a whole number", dashed(name), value)
	case bool:
		return fmt.Sprintf("%s=%s: give true or false (or just %s)", dashed(name), value, dashed(name))
	}
	return fmt.Sprintf("%s %s: %s", dashed(name), value, why)
}

// dashed is a flag as the usage writes it: -c, --name.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// isTerminal asks the terminal driver, because a character device such as
// /dev/null is not a terminal.
func isTerminal(f *os.File) bool { return term.IsTerminal(f.Fd()) }
