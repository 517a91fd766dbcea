package pki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func initDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := Init(dir, InitOptions{Thing: "esp32-test", Hosts: []string{"lab.local"}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestInitFilesAndModes(t *testing.T) {
	dir := initDir(t)
	for _, n := range []string{CACertFile, CAKeyFile, ServerCertFile, ServerKeyFile, DeviceCertFile, DeviceKeyFile, MonitorCertFile, MonitorKeyFile} {
		info, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o644)
		if strings.HasSuffix(n, ".key") {
			want = 0o600
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s mode %o, want %o", n, info.Mode().Perm(), want)
		}
	}
	err := Init(dir, InitOptions{Thing: "x"})
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("overwrite without force: %v", err)
	}
	if err := Init(dir, InitOptions{Thing: "x", Force: true}); err != nil {
		t.Fatalf("force: %v", err)
	}
	if err := Init(t.TempDir(), InitOptions{}); err == nil || !strings.Contains(err.Error(), "--thing") {
		t.Fatalf("empty thing: %v", err)
	}
}

func TestChainsVerify(t *testing.T) {
	dir := initDir(t)
	roots, err := LoadCAPool(filepath.Join(dir, CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		cert, key string
		usage     x509.ExtKeyUsage
	}{
		{ServerCertFile, ServerKeyFile, x509.ExtKeyUsageServerAuth},
		{DeviceCertFile, DeviceKeyFile, x509.ExtKeyUsageClientAuth},
		{MonitorCertFile, MonitorKeyFile, x509.ExtKeyUsageClientAuth},
	}
	for _, c := range cases {
		pair, err := LoadKeyPair(filepath.Join(dir, c.cert), filepath.Join(dir, c.key))
		if err != nil {
			t.Fatal(err)
		}
		opts := x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{c.usage}}
		if _, err := pair.Leaf.Verify(opts); err != nil {
			t.Errorf("%s does not chain to %s: %v", c.cert, CACertFile, err)
		}
		if pair.Leaf.PublicKeyAlgorithm != x509.ECDSA || pair.Leaf.Version != 3 {
			t.Errorf("%s: %v v%d, want ECDSA x509 v3", c.cert, pair.Leaf.PublicKeyAlgorithm, pair.Leaf.Version)
		}
	}
}

func TestRolesAndSANs(t *testing.T) {
	dir := initDir(t)
	device, err := LoadKeyPair(filepath.Join(dir, DeviceCertFile), filepath.Join(dir, DeviceKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if thing, mon := Role(device.Leaf); thing != "esp32-test" || mon {
		t.Errorf("device role %q %v", thing, mon)
	}
	monitor, _ := LoadKeyPair(filepath.Join(dir, MonitorCertFile), filepath.Join(dir, MonitorKeyFile))
	if _, mon := Role(monitor.Leaf); !mon {
		t.Error("monitor certificate not recognised")
	}
	server, _ := LoadKeyPair(filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile))
	for _, h := range []string{"localhost", "127.0.0.1", "::1", "lab.local"} {
		if err := server.Leaf.VerifyHostname(h); err != nil {
			t.Errorf("server cert lacks %s: %v", h, err)
		}
	}
}

// handshakeResult is what each side of one loopback handshake saw.
type handshakeResult struct {
	server, client error
	protocol       string // ALPN protocol the client negotiated
}

// handshake runs a real TLS handshake over loopback.
func handshake(t *testing.T, server, client *tls.Config) handshakeResult {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		done <- conn.(*tls.Conn).Handshake()
	}()
	var r handshakeResult
	conn, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err == nil {
		r.protocol = conn.ConnectionState().NegotiatedProtocol
		conn.Close()
	}
	r.client, r.server = err, <-done
	return r
}

// AWS SDKs always offer ALPN x-amzn-mqtt-ca; the client must refuse a server
// whose certificate does not chain to its CA file, or names another host.
func TestALPNAndServerVerification(t *testing.T) {
	dir := initDir(t)
	p := func(n string) string { return filepath.Join(dir, n) }
	server, err := LoadServerTLS(p(ServerCertFile), p(ServerKeyFile), p(CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	client, err := LoadClientTLS(p(DeviceCertFile), p(DeviceKeyFile), p(CACertFile), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"x-amzn-mqtt-ca", "mqtt"} {
		offer := client.Clone()
		offer.NextProtos = []string{proto}
		if r := handshake(t, server, offer); r.client != nil || r.protocol != proto {
			t.Errorf("ALPN %s: negotiated %q, %v", proto, r.protocol, r.client)
		}
	}
	wrongName := client.Clone()
	wrongName.ServerName = "elsewhere.example"
	if r := handshake(t, server, wrongName); r.client == nil {
		t.Error("server certificate accepted for a name it does not carry")
	}
	other := t.TempDir()
	if err := Init(other, InitOptions{Thing: "esp32-test"}); err != nil {
		t.Fatal(err)
	}
	foreignRoots, _ := LoadClientTLS(p(DeviceCertFile), p(DeviceKeyFile), filepath.Join(other, CACertFile), "localhost")
	if r := handshake(t, server, foreignRoots); r.client == nil {
		t.Error("server certificate accepted by a client trusting another CA")
	}
}

func TestHandshake(t *testing.T) {
	dir := initDir(t)
	p := func(n string) string { return filepath.Join(dir, n) }
	server, err := LoadServerTLS(p(ServerCertFile), p(ServerKeyFile), p(CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	client, err := LoadClientTLS(p(DeviceCertFile), p(DeviceKeyFile), p(CACertFile), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if r := handshake(t, server, client); r.server != nil || r.client != nil {
		t.Fatalf("valid client refused: %v / %v", r.server, r.client)
	}
	other, _ := NewCA("other CA")
	foreign, _ := other.Issue(Spec{CommonName: "esp32-test"})
	ca, err := LoadCA(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	expired, _ := ca.Issue(Spec{CommonName: "esp32-test", NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0)})
	for name, leaf := range map[string]*Leaf{"unknown CA": foreign, "expired": expired} {
		pair, _ := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
		bad := client.Clone()
		bad.Certificates = []tls.Certificate{pair}
		if r := handshake(t, server, bad); r.server == nil {
			t.Errorf("%s client certificate accepted", name)
		}
	}
	noCert := client.Clone()
	noCert.Certificates = nil
	if r := handshake(t, server, noCert); r.server == nil {
		t.Error("client without certificate accepted")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := initDir(t)
	p := func(n string) string { return filepath.Join(dir, n) }
	other := t.TempDir()
	Init(other, InitOptions{Thing: "esp32-test"})
	os.WriteFile(p("junk.pem"), []byte("hello"), 0o644)
	cases := []struct {
		name, cert, key, ca, want string
	}{
		{"missing cert", p("nope.pem"), p(DeviceKeyFile), p(CACertFile), "nope.pem does not exist"},
		{"not pem", p("junk.pem"), p(DeviceKeyFile), p(CACertFile), "junk.pem is not a PEM file"},
		{"swapped", p(DeviceKeyFile), p(DeviceCertFile), p(CACertFile), "are the certificate and key paths swapped"},
		{"mismatch", p(DeviceCertFile), filepath.Join(other, DeviceKeyFile), p(CACertFile), "does not match certificate"},
		{"ca not cert", p(DeviceCertFile), p(DeviceKeyFile), p(CAKeyFile), "expected a CERTIFICATE"},
	}
	for _, c := range cases {
		_, err := LoadClientTLS(c.cert, c.key, c.ca, "localhost")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "PRIVATE KEY-----") {
			t.Errorf("%s: error leaks key material", c.name)
		}
	}
}

func TestValidityExplained(t *testing.T) {
	dir := initDir(t)
	ca, err := LoadCA(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cases := []struct {
		name                string
		notBefore, notAfter time.Time
		want                string
	}{
		{"expired", now.AddDate(-2, 0, 0), time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), "expired on 2024-03-01T12:00:00Z"},
		{"future", time.Date(2099, 1, 2, 0, 0, 0, 0, time.UTC), now.AddDate(100, 0, 0), "is not valid before 2099-01-02T00:00:00Z (is the clock right?)"},
	}
	for _, c := range cases {
		leaf, err := ca.Issue(Spec{CommonName: c.name, NotBefore: c.notBefore, NotAfter: c.notAfter})
		if err != nil {
			t.Fatal(err)
		}
		cert, key := filepath.Join(dir, c.name+".pem"), filepath.Join(dir, c.name+".key")
		WriteFile(cert, leaf.CertPEM, false)
		WriteFile(key, leaf.KeyPEM, true)
		_, err = LoadKeyPair(cert, key)
		if err == nil || !strings.Contains(err.Error(), "certificate "+cert+" "+c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestCAFileWithoutCertificate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca.pem")
	WriteFile(path, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), false)
	if _, err := LoadCAPool(path); err == nil || !strings.Contains(err.Error(), "CA file "+path+" holds no usable certificate") {
		t.Fatalf("got %v", err)
	}
}

func TestKeyFileWarning(t *testing.T) {
	dir := initDir(t)
	key := filepath.Join(dir, DeviceKeyFile)
	if w := KeyFileWarning(key); w != "" {
		t.Fatalf("0600 key warned: %s", w)
	}
	os.Chmod(key, 0o644)
	if w := KeyFileWarning(key); !strings.Contains(w, "chmod 600") {
		t.Fatalf("world-readable key not warned: %q", w)
	}
}

func TestHeaderCompilesAsC(t *testing.T) {
	dir := initDir(t)
	read := func(n string) []byte { b, _ := os.ReadFile(filepath.Join(dir, n)); return b }
	h, err := Header(read(DeviceCertFile), read(DeviceKeyFile), read(CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"AWS_CERT_CA", "AWS_CERT_CRT", "AWS_CERT_PRIVATE"} {
		if !strings.Contains(string(h), "static const char "+name+"[]") {
			t.Errorf("header lacks %s", name)
		}
	}
	assertOnlyPEMLiterals(t, h, string(read(CACertFile))+string(read(DeviceCertFile))+string(read(DeviceKeyFile)))
	if _, err := Header([]byte("x"), read(DeviceKeyFile), read(CACertFile)); err == nil {
		t.Error("non-PEM accepted")
	}
	gxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("g++ not installed: make test installs it")
	}
	os.WriteFile(filepath.Join(dir, "secrets.h"), h, 0o600)
	src := filepath.Join(dir, "main.cpp")
	os.WriteFile(src, []byte(`#include "secrets.h"
#include <cstring>
#include <cstdio>
int main() { std::printf("%s%s%s", AWS_CERT_CA, AWS_CERT_CRT, AWS_CERT_PRIVATE); return std::strstr(AWS_CERT_PRIVATE, "-----BEGIN") ? 0 : 1; }
`), 0o644)
	bin := filepath.Join(dir, "main")
	if out, err := exec.Command(gxx, "-Wall", "-Werror", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("header does not compile: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	want := string(read(CACertFile)) + string(read(DeviceCertFile)) + string(read(DeviceKeyFile))
	if err != nil || string(out) != want {
		t.Fatalf("the header's strings are not exactly the three PEMs: %v", err)
	}
}

// assertOnlyPEMLiterals checks, without a compiler, that the header holds
// nothing but its banner, the three declarations and string literals whose
// values, in order, are exactly want.
func assertOnlyPEMLiterals(t *testing.T, header []byte, want string) {
	t.Helper()
	var literals strings.Builder
	for _, line := range strings.Split(strings.TrimRight(string(header), "\n"), "\n") {
		trimmed := strings.TrimSuffix(strings.TrimSpace(line), ";")
		switch {
		case strings.HasPrefix(line, "// Generated by `iotwatch certs header`"), line == "#pragma once", line == "",
			line == "static const char AWS_CERT_CA[] =", line == "static const char AWS_CERT_CRT[] =",
			line == "static const char AWS_CERT_PRIVATE[] =":
		case strings.HasPrefix(trimmed, `"`):
			value, err := strconv.Unquote(trimmed)
			if err != nil {
				t.Fatalf("header line %q is not one string literal: %v", line, err)
			}
			literals.WriteString(value)
		default:
			t.Fatalf("unexpected header line %q", line)
		}
	}
	if literals.String() != want {
		t.Fatalf("the header's literals are not exactly the CA, certificate and key PEMs")
	}
}

func BenchmarkIssue(b *testing.B) {
	ca, err := NewCA("bench CA")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ca.Issue(Spec{CommonName: "esp32-bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadClientTLS(b *testing.B) {
	dir := b.TempDir()
	if err := Init(dir, InitOptions{Thing: "esp32-bench"}); err != nil {
		b.Fatal(err)
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	for b.Loop() {
		if _, err := LoadClientTLS(p(MonitorCertFile), p(MonitorKeyFile), p(CACertFile), "localhost"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestKeyFileWarningNamesFileAndFix(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		dir := initDir(t)
		key := filepath.Join(dir, DeviceKeyFile)
		os.Chmod(key, mode)
		var out strings.Builder
		WarnKeyFile(&out, key)
		if want := "warning: private key " + key; !strings.HasPrefix(out.String(), want) || !strings.HasSuffix(out.String(), "run chmod 600 "+key+"\n") {
			t.Errorf("mode %04o: %q", mode, out.String())
		}
	}
}

// TestWriteSecretNeverFillsTheOldFile: the secret goes into a new 0600
// file renamed over the old one, so a hard link to the old 0644 file (which
// shares its inode) never sees it.
func TestWriteSecretNeverFillsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path, link := filepath.Join(dir, "secrets.h"), filepath.Join(dir, "old-link")
	os.WriteFile(path, []byte("old"), 0o644)
	if err := os.Link(path, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteSecret(path, []byte("KEY")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	old, _ := os.ReadFile(link)
	info, _ := os.Stat(path)
	if string(got) != "KEY" || string(old) != "old" || info.Mode().Perm() != 0o600 {
		t.Fatalf("new %q %04o, old inode %q", got, info.Mode().Perm(), old)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Fatalf("temporary file left behind: %v", entries)
	}
}

func TestWriteSecretThroughSymlinkAndDevice(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "real.h"), filepath.Join(dir, "secrets.h")
	os.Symlink(target, link)
	os.WriteFile(target, []byte("old"), 0o644)
	if err := WriteSecret(link, []byte("KEY")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(target); string(got) != "KEY" {
		t.Fatalf("through the link: %q", got)
	}
	if err := WriteSecret(os.DevNull, []byte("KEY")); err != nil {
		t.Fatalf("%s: %v", os.DevNull, err)
	}
	if err := WriteSecret(dir, []byte("KEY")); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("directory: %v", err)
	}
}
