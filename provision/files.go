package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
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
	// Files are the files setup wrote beside the manifest, each with the
	// SHA-256 of what it wrote: teardown removes them, but keeps a file
	// changed since (an edited watch.toml).
	Files map[string]string `json:"files,omitempty"`
}

// credentialFiles die with the certificate: teardown removes them even
// when changed.
var credentialFiles = []string{DeviceKeyFile, DeviceCertFile, SecretsFile}

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
	}
	m.Files = map[string]string{}
	for _, f := range files {
		if err := pki.WriteFile(filepath.Join(o.Dir, f.name), f.data, f.secret); err != nil {
			return err
		}
		m.Files[f.name] = digest(f.data)
	}
	manifest, _ := json.MarshalIndent(m, "", "  ")
	return pki.WriteFile(filepath.Join(o.Dir, ManifestFile), append(manifest, '\n'), false)
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// removeFiles removes what setup wrote in dir (the credentials always, the
// others unless changed since), then the manifest, and dir once empty.
func removeFiles(dir string, m Manifest, log func(string)) error {
	files := m.Files
	if files == nil { // a manifest from before Files: the credentials only
		files = map[string]string{}
		for _, name := range credentialFiles {
			files[name] = ""
		}
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			continue
		}
		if err == nil && !slices.Contains(credentialFiles, name) && digest(data) != files[name] {
			log(fmt.Sprintf("kept %s: changed since setup wrote it", path))
			continue
		}
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil && !os.IsNotExist(err) {
		return err
	}
	os.Remove(dir) // only when empty: anything else in it is the user's
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
