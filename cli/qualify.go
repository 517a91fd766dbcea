package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/pki"
	"github.com/iotwatch/iotwatch/qualify"
)

// stringList collects a repeated flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// errQualifyRun ends qualify with status 4: the run itself failed (no
// PKI, no port, a report not written), as opposed to a case (1) or a
// device that never came (3).
type errQualifyRun struct{ error }

func (e errQualifyRun) Unwrap() error { return e.error }

// ExitCode is the status cli.Run returns for it.
func (errQualifyRun) ExitCode() int { return 4 }

func runQualify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("qualify", "qualify --pki DIR [--listen ADDR] [--thing NAME] [--case NAME]... [--suite SUITE] [--timeout D] [--report FILE.md] [--junit FILE.xml]", stderr)
	dir := fs.String("pki", "", "lab PKI (certs init's directory): the CA signs the cases' server certificates; required")
	listen := fs.String("listen", "127.0.0.1:8883", "where the device under test connects (MQTT over TLS)")
	thing := fs.String("thing", "", "the device's thing = client id (default: the CN of the PKI's device certificate)")
	var names stringList
	fs.Var(&names, "case", "run the Device Advisor test case `NAME`; repeat for more (names: "+strings.Join(caseNames(), ", ")+")")
	suite := fs.String("suite", "", "`SUITE`: qualification (the default), all, or long")
	timeout := fs.Duration("timeout", 2*time.Minute, "the most a case waits for the device")
	reportPath := fs.String("report", "", "write a Markdown report (and FILE.json beside it)")
	junit := fs.String("junit", "", "write a JUnit XML report for CI to `FILE`")
	pubTopic := fs.String("publish-topic", "", "`TOPIC` the device publishes to (default its shadow/update)")
	subTopic := fs.String("subscribe-topic", "", "`TOPIC` the device subscribes to (default its shadow/update/delta)")
	desired := fs.String("desired", `{"setpoint":22.5}`, "desired state Shadow_Update_Reported_State sets (a JSON object the device accepts)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("--pki DIR is required: the lab PKI (iotwatch certs init --dir DIR)")
	}
	if *timeout < time.Second {
		return usagef("--timeout %s: give at least 1s", *timeout)
	}
	cases, err := qualify.Select(names, *suite)
	if err != nil {
		return usagef("%v", err)
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(*desired), &want); err != nil || len(want) == 0 {
		return usagef("--desired %s: give a non-empty JSON object, e.g. {\"setpoint\":22.5}", *desired)
	}
	if *thing == "" {
		if *thing, err = deviceThing(*dir); err != nil {
			return errQualifyRun{err}
		}
	}
	progress := progressOut(stderr)
	o := qualify.Options{PKIDir: *dir, Listen: *listen, Thing: *thing, Cases: cases, Timeout: *timeout,
		PublishTopic: *pubTopic, SubscribeTopic: *subTopic, Desired: want,
		Ready: func(addr string) {
			fmt.Fprintf(stderr, "iotwatch qualify: %d cases for thing %s; connect the device to %s (client id %s, trusting %s)\n",
				len(cases), *thing, addr, *thing, filepath.Join(*dir, pki.CACertFile))
		},
		Graded: func(r qualify.Result) {
			if progress != nil {
				fmt.Fprint(progress, "\r\033[K")
			}
			fmt.Fprintf(stdout, "%-18s %s: %s\n", r.Verdict, r.Case, r.Reason)
		}}
	if progress != nil {
		o.Progress = func(p qualify.Progress) {
			fmt.Fprintf(progress, "\r\033[K[%d/%d] %s: waiting for %s, %s left", p.Index, p.Total, p.Case, p.Waiting, p.Left.Round(time.Second))
		}
	}
	rep, err := qualify.Run(ctx, o)
	if err != nil {
		return errQualifyRun{err}
	}
	if err := writeQualifyReports(rep, *reportPath, *junit, stdout); err != nil {
		return errQualifyRun{err}
	}
	fmt.Fprintln(stdout, rep.Summary())
	n := rep.Counts()
	switch {
	case !rep.Connected():
		fmt.Fprintf(stdout, "the device never connected to %s\n", rep.Listen)
		return errInconclusive
	case n[qualify.Fail] > 0 || n[qualify.Error] > 0:
		return errSilentFailure
	}
	return nil
}

func caseNames() []string {
	out := make([]string, len(qualify.Cases))
	for i, c := range qualify.Cases {
		out[i] = c.Name
	}
	return out
}

// deviceThing is the thing of certs init's device certificate in dir.
func deviceThing(dir string) (string, error) {
	pair, err := pki.LoadKeyPair(filepath.Join(dir, pki.DeviceCertFile), filepath.Join(dir, pki.DeviceKeyFile))
	if err != nil {
		return "", fmt.Errorf("%w; or name the device's thing with --thing", err)
	}
	thing, monitor := pki.Role(pair.Leaf)
	if monitor || thing == "" {
		return "", fmt.Errorf("%s is not a device certificate: name the device's thing with --thing", filepath.Join(dir, pki.DeviceCertFile))
	}
	return thing, nil
}

// writeQualifyReports writes the Markdown report with its JSON beside it,
// and the JUnit XML, where asked.
func writeQualifyReports(rep *qualify.Report, mdPath, junitPath string, stdout io.Writer) error {
	files := map[string][]byte{}
	if mdPath != "" {
		js, err := rep.JSON()
		if err != nil {
			return err
		}
		files[mdPath] = []byte(rep.Markdown())
		files[strings.TrimSuffix(mdPath, filepath.Ext(mdPath))+".json"] = js
	}
	if junitPath != "" {
		x, err := rep.JUnit()
		if err != nil {
			return err
		}
		files[junitPath] = x
	}
	var errs []error
	for name, data := range files {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(stdout, "report written to %s\n", name)
	}
	return errors.Join(errs...)
}
