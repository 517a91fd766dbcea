// Package pki makes and loads the certificates of iotwatch's local AWS IoT
// setup: a CA, the emulator's server certificate, device certificates (CN =
// thing name) and the monitor certificate (allowed on every thing). It also
// renders the firmware's credentials header. It imports no other package of
// iotwatch.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// MonitorOU marks the monitor certificate in its subject's OrganizationalUnit.
const MonitorOU = "iotwatch-monitor"

// The file names Init writes and the emulator reads.
const (
	CACertFile      = "ca.pem"
	CAKeyFile       = "ca.key"
	ServerCertFile  = "server.pem"
	ServerKeyFile   = "server.key"
	DeviceCertFile  = "device.pem"
	DeviceKeyFile   = "device.key"
	MonitorCertFile = "monitor.pem"
	MonitorKeyFile  = "monitor.key"
)

// CA is a certificate authority able to issue leaf certificates.
type CA struct {
	Cert            *x509.Certificate
	Key             crypto.Signer
	CertPEM, KeyPEM []byte
}

// Spec describes a leaf certificate.
type Spec struct {
	CommonName string
	OrgUnit    string   // MonitorOU for the monitor certificate
	Hosts      []string // DNS names or IPs; non-empty makes a server certificate
	// RSA makes an RSA-2048 key, as AWS IoT's CreateKeysAndCertificate
	// does; the key PEM is then PKCS#1 ("RSA PRIVATE KEY") like AWS's.
	RSA bool
	// NotBefore and NotAfter default to now-1h and now+5y.
	NotBefore, NotAfter time.Time
}

// Leaf is an issued certificate with its key.
type Leaf struct {
	Cert            *x509.Certificate
	CertPEM, KeyPEM []byte
	PublicKeyPEM    []byte // PKIX "PUBLIC KEY"
}

// NewCA makes a self-signed ECDSA P-256 certificate authority.
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl, err := template(Spec{CommonName: commonName})
	if err != nil {
		return nil, err
	}
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, certPEM, keyPEM, err := encode(der, key)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// Issue signs a new leaf certificate for s.
func (ca *CA) Issue(s Spec) (*Leaf, error) {
	key, err := newKey(s.RSA)
	if err != nil {
		return nil, err
	}
	tmpl, err := template(s)
	if err != nil {
		return nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if len(s.Hosts) > 0 {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		for _, h := range s.Hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	cert, certPEM, keyPEM, err := encode(der, key)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: cert, CertPEM: certPEM, KeyPEM: keyPEM,
		PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})}, nil
}

func newKey(useRSA bool) (crypto.Signer, error) {
	if useRSA {
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func template(s Spec) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	notBefore, notAfter := s.NotBefore, s.NotAfter
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour)
	}
	if notAfter.IsZero() {
		notAfter = time.Now().AddDate(5, 0, 0)
	}
	subject := pkix.Name{CommonName: s.CommonName, Organization: []string{"iotwatch local"}}
	if s.OrgUnit != "" {
		subject.OrganizationalUnit = []string{s.OrgUnit}
	}
	return &x509.Certificate{SerialNumber: serial, Subject: subject,
		NotBefore: notBefore, NotAfter: notAfter}, nil
}

func encode(der []byte, key crypto.Signer) (*x509.Certificate, []byte, []byte, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	block := &pem.Block{Type: "PRIVATE KEY"}
	if k, ok := key.(*rsa.PrivateKey); ok {
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	} else if block.Bytes, err = x509.MarshalPKCS8PrivateKey(key); err != nil {
		return nil, nil, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return cert, certPEM, pem.EncodeToMemory(block), nil
}

// Role says who a verified client certificate belongs to: the monitor, which
// may use every thing, or the device whose thing name is the CN.
func Role(cert *x509.Certificate) (thing string, monitor bool) {
	for _, ou := range cert.Subject.OrganizationalUnit {
		if ou == MonitorOU {
			return "", true
		}
	}
	return cert.Subject.CommonName, false
}

// describeValidity explains why a certificate is not valid at now, or "".
func describeValidity(cert *x509.Certificate, now time.Time) string {
	switch {
	case now.Before(cert.NotBefore):
		return fmt.Sprintf("is not valid before %s (is the clock right?)", cert.NotBefore.UTC().Format(time.RFC3339))
	case now.After(cert.NotAfter):
		return fmt.Sprintf("expired on %s", cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return ""
}
