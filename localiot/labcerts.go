package localiot

import (
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/iotwatch/iotwatch/pki"
)

// The policies that certs init's certificates get when the emulator first
// registers them; they allow exactly what the emulator allowed before it
// had a registry (docs/policies/README.md).
//
//go:embed policies/*.json
var labPolicies embed.FS

const (
	devicePolicy  = "iotwatch-device"
	monitorPolicy = "iotwatch-monitor"
)

// registerLabCerts registers the device and monitor certificates of the
// PKI directory, ACTIVE with their policy attached, unless registered
// already (the user's later changes to them stand).
func (s *Server) registerLabCerts(pkiDir string) error {
	for _, name := range []string{devicePolicy, monitorPolicy} {
		doc, _ := labPolicies.ReadFile("policies/" + name + ".json")
		if _, err := s.registry.GetPolicy(name); err == nil {
			continue
		}
		if _, err := s.registry.CreatePolicy(name, string(doc)); err != nil {
			return fmt.Errorf("policy %s: %w", name, err)
		}
	}
	for _, file := range []string{pki.DeviceCertFile, pki.MonitorCertFile} {
		pem, err := os.ReadFile(filepath.Join(pkiDir, file))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		cert, ok := pemCert(string(pem))
		if !ok {
			return fmt.Errorf("%s: not a PEM certificate", filepath.Join(pkiDir, file))
		}
		if _, err := s.registry.DescribeCertificate(certificateID(cert.Raw)); err == nil {
			continue
		}
		c, err := s.registry.register(cert, string(pem), statusActive)
		if err != nil {
			return err
		}
		pol := devicePolicy
		if _, monitor := pki.Role(cert); monitor {
			pol = monitorPolicy
		}
		if err := s.registry.AttachPolicy(pol, c.ARN); err != nil {
			return err
		}
	}
	return nil
}

// refuseUnregistered makes the TLS handshake fail for a client
// certificate the registry does not hold ACTIVE, as AWS IoT refuses an
// unknown, INACTIVE or REVOKED certificate.
func (s *Server) refuseUnregistered(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return nil // the MQTT listener requires one; the HTTPS API takes none
	}
	c, err := s.registry.DescribeCertificate(certificateID(cs.PeerCertificates[0].Raw))
	if err != nil {
		return fmt.Errorf("certificate %q is not registered: create certificates with iotwatch certs init or CreateKeysAndCertificate", cs.PeerCertificates[0].Subject.CommonName)
	}
	if c.Status != statusActive {
		return fmt.Errorf("certificate %s is %s", c.ID, c.Status)
	}
	return nil
}
