package pki

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/charmbracelet/x/term"
)

// WriteFile writes data, 0600 when private (a key), else 0644.
func WriteFile(path string, data []byte, private bool) error {
	mode := os.FileMode(0o644)
	if private {
		mode = 0o600
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

// InitOptions configures Init.
type InitOptions struct {
	Thing string
	Hosts []string // extra server names or IPs besides localhost, 127.0.0.1 and ::1
	Force bool     // overwrite existing files
	// Region goes into aws-config; empty means DefaultRegion.
	Region string
}

// Init writes a CA, the emulator's server certificate, a device certificate
// (CN = Thing), the monitor certificate and the AWS credentials for the
// emulator's HTTPS APIs (aws-credentials, aws-config) into dir.
func Init(dir string, o InitOptions) error {
	if o.Thing == "" {
		return fmt.Errorf("no thing name for the device certificate: pass --thing NAME")
	}
	names := []string{CACertFile, CAKeyFile, ServerCertFile, ServerKeyFile,
		DeviceCertFile, DeviceKeyFile, MonitorCertFile, MonitorKeyFile}
	if !o.Force {
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
				return fmt.Errorf("%s already exists: use --force to replace the certificates in %s", filepath.Join(dir, n), dir)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ca, err := NewCA("iotwatch local CA")
	if err != nil {
		return err
	}
	files := map[string][]byte{CACertFile: ca.CertPEM, CAKeyFile: ca.KeyPEM}
	specs := map[string]Spec{
		"server":  {CommonName: "iotwatch emulator", Hosts: append([]string{"localhost", "127.0.0.1", "::1"}, o.Hosts...)},
		"device":  {CommonName: o.Thing},
		"monitor": {CommonName: "iotwatch-monitor", OrgUnit: MonitorOU},
	}
	for base, spec := range specs {
		leaf, err := ca.Issue(spec)
		if err != nil {
			return fmt.Errorf("issuing the %s certificate: %w", base, err)
		}
		files[base+".pem"], files[base+".key"] = leaf.CertPEM, leaf.KeyPEM
	}
	for _, n := range names {
		if err := WriteFile(filepath.Join(dir, n), files[n], filepath.Ext(n) == ".key"); err != nil {
			return err
		}
	}
	return writeAWSCredentials(dir, o.Region)
}

// LoadClientTLS builds a client TLS configuration: certificate and key,
// the CA to verify the server with, and the server name for SNI.
func LoadClientTLS(certFile, keyFile, caFile, serverName string) (*tls.Config, error) {
	pair, err := LoadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	roots, err := LoadCAPool(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair},
		RootCAs: roots, ServerName: serverName}, nil
}

// LoadRootTLS is a client TLS configuration without a client certificate
// (SigV4 signs in instead), verifying the server against caFile.
func LoadRootTLS(caFile, serverName string) (*tls.Config, error) {
	roots, err := LoadCAPool(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: serverName}, nil
}

// LoadServerTLS builds the emulator's TLS configuration: client certificates
// signed by caFile are required; ALPN x-amzn-mqtt-ca is offered because AWS's
// SDKs always ask for it.
func LoadServerTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	pair, err := LoadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	pool, err := LoadCAPool(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair},
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
		NextProtos: []string{"x-amzn-mqtt-ca", "mqtt"}}, nil
}

// LoadKeyPair loads a certificate and its private key with errors that name
// the files and the fix.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := readPEM(certFile, "CERTIFICATE")
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := readPEM(keyFile, "PRIVATE KEY")
	if err != nil {
		return tls.Certificate{}, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if bytes.Contains([]byte(err.Error()), []byte("does not match")) {
			return pair, fmt.Errorf("private key in %s does not match certificate %s: use the key that was created with this certificate", keyFile, certFile)
		}
		return pair, fmt.Errorf("%s / %s: %v", certFile, keyFile, err)
	}
	if why := describeValidity(pair.Leaf, time.Now()); why != "" {
		return pair, fmt.Errorf("certificate %s %s", certFile, why)
	}
	return pair, nil
}

// LoadCAPool reads the CA certificates of caFile; "" is the built-in
// Amazon Root CA 1, which AWS IoT's endpoints chain to.
func LoadCAPool(caFile string) (*x509.CertPool, error) {
	data, err := AmazonRootCA1, error(nil)
	if caFile != "" {
		data, err = readPEM(caFile, "CERTIFICATE")
	}
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA file %s holds no usable certificate", caFile)
	}
	return pool, nil
}

// readPEM reads a file and checks it holds a PEM block of the wanted kind
// ("PRIVATE KEY" accepts any *PRIVATE KEY block).
func readPEM(path, kind string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist: check the path (relative paths are relative to the config file)", path)
	}
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s is not a PEM file: expected a %s block", path, kind)
	}
	if !bytes.HasSuffix([]byte(block.Type), []byte(kind)) {
		return nil, fmt.Errorf("%s holds a %s, expected a %s: are the certificate and key paths swapped?", path, block.Type, kind)
	}
	return data, nil
}

// KeyFileWarning warns when a private key file is readable by others.
func KeyFileWarning(path string) string {
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm()&0o077 == 0 {
		return ""
	}
	return fmt.Sprintf("private key %s is readable by other users (mode %04o): run chmod 600 %s", path, info.Mode().Perm(), path)
}

// WarnKeyFile writes KeyFileWarning's warning, if any, as one line to w:
// every command that reads a private key calls it once for that key.
func WarnKeyFile(w io.Writer, path string) {
	if msg := KeyFileWarning(path); msg != "" {
		fmt.Fprintln(w, "warning:", msg)
	}
}

// WriteSecret writes data that holds a private key to path so that no byte
// of it ever sits in a file others may read: a regular file (or a new one)
// is written as a new 0600 file in the same directory and renamed over
// path, so an existing 0644 file never holds the key even for a moment; a
// device or pipe is written in place, but never a terminal, whatever name
// reaches it (/dev/stdout, /dev/fd/1, /proc/self/fd/1, /dev/pts/N).
func WriteSecret(path string, data []byte) error {
	info, err := os.Stat(path)
	switch {
	case err == nil && info.IsDir():
		return fmt.Errorf("%s is a directory: give a file name, e.g. %s", path, filepath.Join(path, "secrets.h"))
	case err == nil && !info.Mode().IsRegular():
		return writeDevice(path, data)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		path = resolved // replace the file a link names, not the link
	}
	return replaceFile(path, data)
}

func writeDevice(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	// Asked of the opened file, so every name of a terminal is caught.
	if term.IsTerminal(f.Fd()) {
		return fmt.Errorf("%s is a terminal and the output contains the private key: write it to a file, e.g. -o firmware/include/secrets.h", path)
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Close()
}

// replaceFile writes a new file and renames it over path. os.CreateTemp
// creates it 0600 before the first byte.
func replaceFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing to remove
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// LoadCA reads a CA written by Init, to issue more certificates with it.
func LoadCA(certFile, keyFile string) (*CA, error) {
	pair, err := LoadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: key cannot sign", keyFile)
	}
	certPEM, _ := os.ReadFile(certFile)
	keyPEM, _ := os.ReadFile(keyFile)
	return &CA{Cert: pair.Leaf, Key: signer, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}
