package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/iotwatch/iotwatch/localiot"
	"github.com/iotwatch/iotwatch/pki"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [--listen 127.0.0.1:8883] [--api-listen ADDR] [--iam-policy FILE] [--data DIR] [--pki DIR]", stderr)
	listen := fs.String("listen", "127.0.0.1:8883", "address to listen on (0.0.0.0:8883 to serve ESP32 boards on your LAN)")
	apiListen := fs.String("api-listen", "", "address of the HTTPS AWS APIs and MQTT over WebSocket (default: --listen's host, port 8443; \"\" turns them off)")
	iamPolicy := fs.String("iam-policy", "", "IAM policy (JSON, iot:* actions) for AWS CLI/SDK callers; default: they may do everything")
	data := fs.String("data", "", "directory where shadows persist (bbolt); empty keeps them in memory")
	pkiDir := fs.String("pki", "", "directory from 'iotwatch certs init' (ca.pem, server.pem, server.key); empty: DATA/pki, created on first use")
	jobMinute := fs.Duration("job-minute", time.Minute, "how long a minute of the Jobs service's step and in-progress timeouts lasts (shorten it to rehearse a hung update quickly)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *jobMinute <= 0 {
		return usagef("--job-minute %s: give a positive duration, e.g. 1s", *jobMinute)
	}
	dir, err := servePKI(*pkiDir, *data, stderr)
	if err != nil {
		return err
	}
	pki.WarnKeyFile(stderr, filepath.Join(dir, pki.ServerKeyFile))
	opts := localiot.Options{Listen: *listen, PKIDir: dir, DataDir: *data, Log: stderr, JobMinute: *jobMinute}
	if err := serveAWSOptions(fs, &opts, *apiListen, *iamPolicy); err != nil {
		return err
	}
	srv, err := localiot.New(opts)
	var busy *localiot.APIListenError
	if errors.As(err, &busy) && !flagGiven(fs, "api-listen") {
		fmt.Fprintf(stderr, "iotwatch serve: %v; serving MQTT only (choose another address with --api-listen)\n", err)
		opts.APIListen = ""
		srv, err = localiot.New(opts)
	}
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := srv.Start(); err != nil {
		return err
	}
	store := "in memory (use --data DIR to keep them)"
	if *data != "" {
		store = "in " + filepath.Join(*data, "shadows.db")
	}
	fmt.Fprintf(stderr, "iotwatch serve: AWS IoT Core emulator on %s (MQTT over TLS, client certificates from %s required); shadows %s\n",
		srv.Addr(), filepath.Join(dir, pki.CACertFile), store)
	if a := srv.APIAddr(); a != "" {
		fmt.Fprintf(stderr, "iotwatch serve: AWS APIs on https://%s (iot, iot-data, wss /mqtt), signed with profile %s of %s\n",
			a, pki.AWSProfile, filepath.Join(dir, pki.AWSCredentialsFile))
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "iotwatch serve: shutting down")
	return srv.Close()
}

// serveAWSOptions fills the HTTPS API's options: by default it listens on
// --listen's host at port 8443 (port 0 when --listen has port 0, as tests do).
func serveAWSOptions(fs *flag.FlagSet, o *localiot.Options, apiListen, iamPolicy string) error {
	o.APIListen = apiListen
	if !flagGiven(fs, "api-listen") {
		host, port, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return usagef("--listen %q: give HOST:PORT", o.Listen)
		}
		if port != "0" {
			port = "8443"
		}
		o.APIListen = net.JoinHostPort(host, port)
	}
	if iamPolicy != "" {
		doc, err := os.ReadFile(iamPolicy)
		if err != nil {
			return fmt.Errorf("--iam-policy: %w", err)
		}
		o.IAMPolicy = string(doc)
	}
	return nil
}

func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// servePKI returns the PKI directory, creating one under the data directory
// when none was given.
func servePKI(pkiDir, dataDir string, stderr io.Writer) (string, error) {
	if pkiDir != "" {
		return pkiDir, nil
	}
	if dataDir == "" {
		return "", usagef("give --pki DIR (from 'iotwatch certs init --dir DIR'), or --data DIR to keep a PKI in DIR/pki")
	}
	dir := filepath.Join(dataDir, "pki")
	if _, err := os.Stat(filepath.Join(dir, pki.CACertFile)); err == nil {
		return dir, nil
	}
	if err := pki.Init(dir, pki.InitOptions{Thing: "esp32-sim"}); err != nil {
		return "", err
	}
	fmt.Fprintf(stderr, "iotwatch serve: created a PKI in %s (device certificate for thing esp32-sim; more with 'iotwatch certs init')\n", dir)
	return dir, nil
}
