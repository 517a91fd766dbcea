package config

import (
	"fmt"
	"path/filepath"
)

// Overrides are connection settings given on the command line (--endpoint,
// --port, --thing, --shadow, --cert, --key, --ca, --profile, --region); each one set wins over
// the file. Paths are relative to the working directory, not the file.
type Overrides struct {
	Endpoint, Thing, Shadow, Cert, Key, CA, Profile, Region string
	Port                                                    int
}

// CommandLine names a configuration made from overrides alone.
const CommandLine = "command line"

func (o Overrides) empty() bool { return o == Overrides{} }

func (o Overrides) apply(c *Config) error {
	for _, s := range []struct {
		to   *string
		from string
	}{{&c.AWS.Endpoint, o.Endpoint}, {&c.Thing.Name, o.Thing}, {&c.Thing.Shadow, o.Shadow},
		{&c.AWS.Profile, o.Profile}, {&c.AWS.Region, o.Region}} {
		if s.from != "" {
			*s.to = s.from
		}
	}
	if o.Port != 0 {
		c.AWS.Port = o.Port
	}
	for _, p := range []struct {
		to   *string
		from string
	}{{&c.AWS.Cert, o.Cert}, {&c.AWS.Key, o.Key}, {&c.AWS.CA, o.CA}} {
		if p.from == "" {
			continue
		}
		abs, err := filepath.Abs(p.from)
		if err != nil {
			return fmt.Errorf("%s: %v", p.from, err)
		}
		*p.to = abs
	}
	return nil
}

// LoadWith finds the configuration like Find (explicit, ./iotwatch.toml,
// the user's config) and applies o to it. With no file found, overrides
// alone make the configuration when they are given.
func LoadWith(explicit string, o Overrides) (*Config, error) {
	path, err := Find(explicit)
	if err != nil {
		if explicit != "" || o.empty() {
			return nil, err
		}
		return parse(CommandLine, nil, o)
	}
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parse(path, data, o)
}
