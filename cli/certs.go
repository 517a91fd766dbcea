package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/pki"
	"github.com/iotwatch/iotwatch/shadow"
)

func runCerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return subcommandUsage(args, fmt.Sprintf("Usage: %[1]s certs init --dir DIR [--thing NAME] [--host NAME]... [--force]\n       %[1]s certs header --cert F --key F --ca F [-o FILE]\n", progName()), stderr)
	}
	switch args[0] {
	case "init":
		return runCertsInit(args[1:], stdout, stderr)
	case "header":
		return runCertsHeader(args[1:], stdout, stderr)
	}
	return usagef("unknown certs command %q (init or header)", args[0])
}

// hostList collects repeated --host flags.
type hostList []string

func (h *hostList) String() string     { return strings.Join(*h, ",") }
func (h *hostList) Set(v string) error { *h = append(*h, v); return nil }

func runCertsInit(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("certs init", "certs init --dir DIR [--thing NAME] [--host NAME]... [--force]", stderr)
	dir := fs.String("dir", "", "directory for the certificates and configs (required)")
	thing := fs.String("thing", "esp32-sim", "thing name: the device certificate's CN and client id")
	force := fs.Bool("force", false, "replace existing files")
	var hosts hostList
	fs.Var(&hosts, "host", "extra name or IP for the emulator's certificate (repeatable), e.g. your PC's LAN name")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("--dir is required")
	}
	if !shadow.ValidThingName(*thing) {
		return usagef("--thing %q: use 1–128 characters of a-zA-Z0-9:_- (AWS IoT's thing name rule)", *thing)
	}
	configs := map[string][]byte{
		"watch.toml":  config.Starter("localhost", 8883, *thing, "", pki.MonitorCertFile, pki.MonitorKeyFile, pki.CACertFile),
		"device.toml": config.Starter("localhost", 8883, *thing, *thing, pki.DeviceCertFile, pki.DeviceKeyFile, pki.CACertFile),
	}
	if !*force {
		if err := refuseExisting(*dir, configs); err != nil {
			return err
		}
	}
	if err := pki.Init(*dir, pki.InitOptions{Thing: *thing, Hosts: hosts, Force: *force}); err != nil {
		return err
	}
	for name, data := range configs {
		if err := pki.WriteFile(filepath.Join(*dir, name), data, false); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "Wrote to %s: CA (ca.pem, ca.key), emulator (server.pem, server.key), device %q (device.pem, device.key), monitor (monitor.pem, monitor.key), watch.toml, device.toml, AWS CLI credentials (aws-credentials, aws-config; profile iotwatch-local).\n\nNext:\n  %[3]s serve --pki %[1]s --data %[1]s/data\n  %[3]s sim -c %[1]s/device.toml\n  %[3]s watch -c %[1]s/watch.toml\n", *dir, *thing, progName())
	return nil
}

// refuseExisting keeps a hand-edited watch.toml or device.toml from being
// replaced by a starter without --force.
func refuseExisting(dir string, files map[string][]byte) error {
	for name := range files {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s already exists: use --force to replace it and the certificates in %s", path, dir)
		}
	}
	return nil
}

func runCertsHeader(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("certs header", "certs header --cert F --key F --ca F [-o FILE]", stderr)
	cert := fs.String("cert", "", "device certificate (PEM)")
	key := fs.String("key", "", "device private key (PEM)")
	ca := fs.String("ca", "", "root CA (PEM): AmazonRootCA1.pem for AWS, ca.pem for iotwatch serve")
	out := fs.String("o", "", "output file, written 0600 (e.g. firmware/include/secrets.h)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *cert == "" || *key == "" || *ca == "" {
		return usagef("--cert, --key and --ca are all required")
	}
	if _, err := pki.LoadKeyPair(*cert, *key); err != nil {
		return err
	}
	if _, err := pki.LoadCAPool(*ca); err != nil {
		return err
	}
	header, err := readAndRender(*cert, *key, *ca)
	if err != nil {
		return err
	}
	if *out != "" {
		return pki.WriteSecret(*out, header)
	}
	if f, ok := stdout.(*os.File); ok && isTerminal(f) {
		return fmt.Errorf("the header contains the private key: write it to a file with -o firmware/include/secrets.h rather than to the terminal")
	}
	_, err = stdout.Write(header)
	return err
}

func readAndRender(cert, key, ca string) ([]byte, error) {
	var pems [3][]byte
	for i, p := range []string{cert, key, ca} {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		pems[i] = data
	}
	return pki.Header(pems[0], pems[1], pems[2])
}
