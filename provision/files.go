package provision

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/pki"
)

// The files setup writes into its directory.
const (
	DeviceCertFile = "device.pem"
	DeviceKeyFile  = "device.key"
	SecretsFile    = "secrets.h"
	ManifestFile   = "iotwatch-aws.json"
)

// Manifest records what a setup created, for teardown and for a rerun.
type Manifest struct {
	Thing          string `json:"thing"`
	ThingCreated   bool   `json:"thing_created"`
	CertificateID  string `json:"certificate_id"`
	CertificateARN string `json:"certificate_arn"`
	Policy         string `json:"policy"`
	PolicyCreated  bool   `json:"policy_created"`
	Endpoint       string `json:"endpoint"`
	Region         string `json:"region,omitempty"`
	Profile        string `json:"profile,omitempty"`
	EndpointURL    string `json:"endpoint_url,omitempty"`
	CABundle       string `json:"ca_bundle,omitempty"`
}

// ReadManifest reads the manifest of a setup in dir.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%s: %v", filepath.Join(dir, ManifestFile), err)
	}
	return m, nil
}

// writeFiles writes the device's credentials (keys 0600), the CA, the two
// configurations, the firmware header and the manifest.
func writeFiles(o Options, m Manifest, c deviceCredentials) error {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	header, err := pki.Header(c.certPEM, c.keyPEM, o.CA)
	if err != nil {
		return err
	}
	manifest, _ := json.MarshalIndent(m, "", "  ")
	files := []struct {
		name   string
		data   []byte
		secret bool
	}{
		{DeviceCertFile, c.certPEM, false},
		{DeviceKeyFile, c.keyPEM, true},
		{o.CAFile, o.CA, false},
		{SecretsFile, header, true},
		{"device.toml", config.Starter(m.Endpoint, 8883, m.Thing, m.Thing, DeviceCertFile, DeviceKeyFile, o.CAFile), false},
		{"watch.toml", config.StarterSigV4(m.Endpoint, webSocketPort(m.EndpointURL), m.Thing, m.Profile, m.Region, o.CAFile), false},
		{ManifestFile, append(manifest, '\n'), false},
	}
	for _, f := range files {
		if err := pki.WriteFile(filepath.Join(o.Dir, f.name), f.data, f.secret); err != nil {
			return err
		}
	}
	return nil
}

// webSocketPort is 443 for AWS; against the emulator, the port its API
// (and /mqtt) listens on.
func webSocketPort(endpointURL string) int {
	if u, err := url.Parse(endpointURL); err == nil && u.Port() != "" {
		if p, err := strconv.Atoi(u.Port()); err == nil {
			return p
		}
	}
	return 443
}
