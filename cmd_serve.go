package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/iotwatch/iotwatch/localiot"
	"github.com/iotwatch/iotwatch/pki"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [--listen 127.0.0.1:8883] [--data DIR] [--pki DIR]", stderr)
	listen := fs.String("listen", "127.0.0.1:8883", "address to listen on (0.0.0.0:8883 to serve ESP32 boards on your LAN)")
	data := fs.String("data", "", "directory where shadows persist (bbolt); empty keeps them in memory")
	pkiDir := fs.String("pki", "", "directory from 'iotwatch certs init' (ca.pem, server.pem, server.key); empty: DATA/pki, created on first use")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	dir, err := servePKI(*pkiDir, *data, stderr)
	if err != nil {
		return err
	}
	pki.WarnKeyFile(stderr, filepath.Join(dir, pki.ServerKeyFile))
	srv, err := localiot.New(localiot.Options{Listen: *listen, PKIDir: dir, DataDir: *data, Log: stderr})
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
	<-ctx.Done()
	fmt.Fprintln(stderr, "iotwatch serve: shutting down")
	return srv.Close()
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
