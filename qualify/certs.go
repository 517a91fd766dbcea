package qualify

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"time"

	"github.com/iotwatch/iotwatch/pki"
)

// largePadding is how many extra DNS names pad the large certificate: about
// 12 KB of certificate, more than a TLS record of an ESP32's default 4 KiB
// input buffer and most of a 16 KiB one.
const largePadding = 400

// serverCerts makes, from the lab's CA, the certificates the TLS cases
// present, for the names of the lab's server certificate. The untrusted
// one comes from a CA made here and thrown away.
func serverCerts(pkiDir string) (map[certKind]tls.Certificate, error) {
	ca, err := pki.LoadCA(filepath.Join(pkiDir, pki.CACertFile), filepath.Join(pkiDir, pki.CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("the TLS cases sign server certificates with the lab CA: %w", err)
	}
	lab, err := pki.LoadKeyPair(filepath.Join(pkiDir, pki.ServerCertFile), filepath.Join(pkiDir, pki.ServerKeyFile))
	if err != nil {
		return nil, err
	}
	hosts := lab.Leaf.DNSNames
	for _, ip := range lab.Leaf.IPAddresses {
		hosts = append(hosts, ip.String())
	}
	padded := append([]string(nil), hosts...)
	for i := range largePadding {
		padded = append(padded, fmt.Sprintf("padding-%04d.large-certificate.iotwatch.invalid", i))
	}
	stranger, err := pki.NewCA("iotwatch qualify untrusted CA")
	if err != nil {
		return nil, err
	}
	// Expired ten minutes ago and issued after certs init's CA (valid from
	// an hour before its making): only its expiry is wrong.
	now := time.Now()
	specs := []struct {
		kind certKind
		ca   *pki.CA
		spec pki.Spec
	}{
		{untrustedCert, stranger, pki.Spec{CommonName: "iotwatch emulator", Hosts: hosts}},
		{wrongNameCert, ca, pki.Spec{CommonName: "wrong-name.iotwatch.invalid", Hosts: []string{"wrong-name.iotwatch.invalid", "192.0.2.1"}}},
		{expiredCert, ca, pki.Spec{CommonName: "iotwatch emulator", Hosts: hosts, NotBefore: now.Add(-50 * time.Minute), NotAfter: now.Add(-10 * time.Minute)}},
		{largeCert, ca, pki.Spec{CommonName: "iotwatch emulator", Hosts: padded}},
	}
	out := map[certKind]tls.Certificate{labCert: lab}
	for _, s := range specs {
		leaf, err := s.ca.Issue(s.spec)
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
		if err != nil {
			return nil, err
		}
		out[s.kind] = pair
	}
	return out, nil
}
