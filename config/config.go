// Package config loads iotwatch's TOML configuration: defaults, paths
// relative to the file, and validation whose errors name the file, the field
// and the fix. Of iotwatch's packages it imports only pki (key file checks)
// and shadow (thing and shadow name rules); never tui, awsconn or localiot.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/iotwatch/iotwatch/pki"
)

// Config is the whole configuration file.
type Config struct {
	AWS     AWS       `toml:"aws"`
	Thing   Thing     `toml:"thing"`
	Plot    Plot      `toml:"plot"`
	Soak    Soak      `toml:"soak"`
	Control []Control `toml:"control"`
	Alert   []Alert   `toml:"alert"`

	// Path is the file the configuration was loaded from.
	Path string `toml:"-"`
	// SoakGiven is true when the file has a [soak] table; without one the
	// soak thresholds are iotwatch's defaults, and reports say so.
	SoakGiven bool `toml:"-"`
}

// AWS is the connection to AWS IoT Core or the emulator.
type AWS struct {
	Endpoint string `toml:"endpoint"`
	Port     int    `toml:"port"`
	ClientID string `toml:"client_id"`
	Cert     string `toml:"cert"`
	Key      string `toml:"key"`
	CA       string `toml:"ca"` // empty for an AWS endpoint: Amazon Root CA 1, built in
	// Auth is "certificate" (mutual TLS, the default) or "sigv4": MQTT over
	// WebSocket signed with AWS credentials from Profile (else the SDK's
	// default chain) for Region.
	Auth    string `toml:"auth"`
	Profile string `toml:"profile"`
	Region  string `toml:"region"`
	// ControlURL is the AWS IoT control plane (ListThings for [thing]
	// match, DescribeThing to say a thing is not registered); empty: AWS's
	// in the region, or https://ENDPOINT:8443 for iotwatch serve.
	ControlURL string `toml:"control_url"`
}

// Auth methods of [aws] auth.
const (
	AuthCertificate = "certificate"
	AuthSigV4       = "sigv4"
)

// IsAWSEndpoint is true for a host of AWS IoT Core itself.
func IsAWSEndpoint(host string) bool { return strings.HasSuffix(host, ".amazonaws.com") }

// Thing names the watched thing and its shadow.
type Thing struct {
	Name           string `toml:"name"`
	Shadow         string `toml:"shadow"`
	DeviceClientID string `toml:"device_client_id"`
	// Names and Match choose a fleet (things.go): exact names, and a glob
	// resolved from the registry or from reports as they arrive.
	Names []string `toml:"names"`
	Match string   `toml:"match"`
}

// Plot chooses the plotted field.
type Plot struct {
	Field  string   `toml:"field"`
	Unit   string   `toml:"unit"`
	Window Duration `toml:"window"`
}

// Soak holds the soak thresholds.
type Soak struct {
	Interval        Duration `toml:"interval"` // expected report interval; 0 = automatic
	DropoutAfter    float64  `toml:"dropout_after"`
	MaxDropouts     int      `toml:"max_dropouts"`
	MinAvailability float64  `toml:"min_availability"`
	MaxGap          Duration `toml:"max_gap"`
	MaxBlind        float64  `toml:"max_blind"` // percent of the run iotwatch may be blind or not running
	// The device's heap trend (bytes; 0: not checked): lost per device
	// reconnect, and per hour.
	MaxHeapLossPerReconnect float64 `toml:"max_heap_loss_per_reconnect"`
	MaxHeapLossPerHour      float64 `toml:"max_heap_loss_per_hour"`
	// RequireJobsSucceeded: FAIL a run with a job execution (AWS IoT Jobs)
	// not SUCCEEDED by its end.
	RequireJobsSucceeded bool `toml:"require_jobs_succeeded"`
}

// Control binds a key to a desired-state change.
type Control struct {
	Key    string  `toml:"key"`
	Field  string  `toml:"field"`
	Action string  `toml:"action"` // toggle | step | cycle | set
	Step   float64 `toml:"step"`
	Values []any   `toml:"values"`
	Value  any     `toml:"value"`
	Label  string  `toml:"label"`
}

// Duration is a time.Duration written as "10m" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText reads a Go duration; "" keeps the default (automatic for
// [soak] interval).
func (d *Duration) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration: write it like \"30s\", \"10m\" or \"1h\"", b)
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Find returns the configuration path: explicit, else ./iotwatch.toml, else
// $XDG_CONFIG_HOME/iotwatch/config.toml (~/.config when unset).
func Find(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	candidates := []string{"iotwatch.toml"}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if home, err := os.UserHomeDir(); dir == "" && err == nil {
		dir = filepath.Join(home, ".config")
	}
	if dir != "" {
		candidates = append(candidates, filepath.Join(dir, "iotwatch", "config.toml"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", &NotFoundError{Looked: candidates, Program: "iotwatch"}
}

// NotFoundError is no configuration in any of the places Find looks.
// Program is iotwatch as the user ran it (./iotwatch), for the hint.
type NotFoundError struct {
	Looked  []string
	Program string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no configuration found (looked for %s): pass -c FILE, or try '%s demo' or '%s certs init --dir lab'",
		strings.Join(e.Looked, ", "), e.Program, e.Program)
}

// Load reads, completes and validates a configuration file.
func Load(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist: pass the path of your configuration with -c (see config.example.toml)", path)
	}
	return data, err
}

// Parse is Load on data already read; path names it in errors and anchors
// relative paths.
func Parse(path string, data []byte) (*Config, error) { return parse(path, data, Overrides{}) }

func parse(path string, data []byte, o Overrides) (*Config, error) {
	c := Default()
	md, err := toml.Decode(string(data), c)
	if err != nil {
		return nil, explainDecodeError(path, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		return nil, fmt.Errorf("%s: unknown key %s%s", path, undecoded[0], suggest(undecoded[0].String()))
	}
	c.Path, c.SoakGiven = path, md.IsDefined("soak")
	if err := o.apply(c); err != nil {
		return nil, err
	}
	c.Thing.defaultName()
	c.applyDefaults()
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Default is the configuration before any file is read: the one place where
// iotwatch's defaults are written. A file's keys replace them, so an
// explicit 0 (max_dropouts, max_blind) stays 0.
func Default() *Config {
	return &Config{
		AWS:  AWS{Port: 8883, Auth: AuthCertificate},
		Plot: Plot{Field: "temp", Unit: "°C", Window: Duration{10 * time.Minute}},
		Soak: Soak{DropoutAfter: 2.5, MinAvailability: 99.9, MaxGap: Duration{30 * time.Second}, MaxBlind: 5},
	}
}

// applyDefaults fills what depends on the file: ids, controls, paths.
func (c *Config) applyDefaults() {
	setDefault(&c.Thing.DeviceClientID, c.Thing.Name)
	if c.AWS.ClientID == "" {
		owner := c.Thing.Name
		if owner == "" {
			owner = "fleet" // [thing] match alone
		}
		c.AWS.ClientID = "iotwatch-" + owner + "-" + randomHex(3)
	}
	if c.Control == nil {
		c.Control = DefaultControls()
	}
	for i := range c.Control {
		if c.Control[i].Action == "step" {
			setDefault(&c.Control[i].Step, 0.5)
		}
	}
	dir := filepath.Dir(c.Path)
	for _, p := range []*string{&c.AWS.Cert, &c.AWS.Key, &c.AWS.CA} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

func setDefault[T comparable](field *T, value T) {
	var zero T
	if *field == zero {
		*field = value
	}
}

// DefaultControls are the keys used when the file has no [[control]].
func DefaultControls() []Control {
	return []Control{
		{Key: "l", Field: "led", Action: "toggle", Label: "toggle LED"},
		{Key: "+", Field: "setpoint", Action: "step", Step: 0.5, Label: "setpoint +0.5"},
		{Key: "-", Field: "setpoint", Action: "step", Step: -0.5, Label: "setpoint -0.5"},
		{Key: "i", Field: "interval_s", Action: "cycle", Values: []any{int64(1), int64(5), int64(10), int64(30)}, Label: "cycle report interval"},
	}
}

// Warnings lists what is allowed but probably wrong.
func (c *Config) Warnings() []string {
	var w []string
	if c.AWS.ClientID == c.Thing.DeviceClientID || c.AWS.ClientID == c.Thing.Name {
		w = append(w, fmt.Sprintf("%s: [aws] client_id %q is the device's client id: AWS will disconnect the device (duplicate client id) and the two will keep kicking each other off; leave client_id empty for iotwatch-<thing>-<random>", c.Path, c.AWS.ClientID))
	}
	if msg := pki.KeyFileWarning(c.AWS.Key); msg != "" {
		w = append(w, msg)
	}
	return w
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
