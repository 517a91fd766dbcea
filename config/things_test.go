package config

import (
	"strings"
	"testing"
)

// fleetConfig is minimal's connection with the given [thing] and extra tables.
func fleetConfig(thing, extra string) string {
	return minimal[:strings.Index(minimal, "[thing]")] + "[thing]\n" + thing + "\n" + extra
}

func TestFleetThings(t *testing.T) {
	cases := []struct {
		name, thing string
		wantName    string
		in, out     []string
	}{
		{"names", `names = ["a", "b"]`, "a", []string{"a", "b"}, []string{"c", "ab"}},
		{"match", `name = "esp32"` + "\n" + `match = "esp32-*"`, "esp32", []string{"esp32-000", "esp32-x"}, []string{"esp32", "esp8266-1"}},
		{"both", `names = ["lab"]` + "\n" + `match = "field-[0-9]?"`, "lab", []string{"lab", "field-12"}, []string{"field-x1", "field-1"}},
		{"one thing", `name = "solo"`, "solo", []string{}, []string{"solo", "other"}},
		{"match alone", `match = "esp32-*"`, "", []string{"esp32-000"}, []string{"esp32", "esp8266-1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("fleet.toml", []byte(fleetConfig(c.thing, "")))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Thing.Name != c.wantName {
				t.Errorf("name %q, want %q", cfg.Thing.Name, c.wantName)
			}
			if cfg.Thing.Fleet() != (c.name != "one thing") {
				t.Errorf("Fleet() = %v", cfg.Thing.Fleet())
			}
			for _, n := range c.in {
				if !cfg.Thing.Matches(n) {
					t.Errorf("%q should belong to the fleet", n)
				}
			}
			for _, n := range c.out {
				if cfg.Thing.Matches(n) {
					t.Errorf("%q should not belong to the fleet", n)
				}
			}
		})
	}
}

// TestMatchAlone: [thing] match without name is a fleet for watch and soak
// (its client id iotwatch-fleet-…), and single-thing commands say what
// they need.
func TestMatchAlone(t *testing.T) {
	cfg, err := Parse("fleet.toml", []byte(fleetConfig(`match = "esp32-*"`, "")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.AWS.ClientID, "iotwatch-fleet-") {
		t.Errorf("client id %q", cfg.AWS.ClientID)
	}
	err = cfg.OneThing("get")
	if err == nil || !strings.Contains(err.Error(), `fleet.toml: [thing] name is empty: get works on one thing and match = "esp32-*" names none; pass --thing NAME`) {
		t.Errorf("OneThing: %v", err)
	}
	named, _ := Parse("fleet.toml", []byte(fleetConfig(`name = "esp32"`+"\n"+`match = "esp32-*"`, "")))
	if err := named.OneThing("get"); err != nil {
		t.Errorf("OneThing with a name: %v", err)
	}
}

func TestFleetErrors(t *testing.T) {
	cases := []struct{ name, thing, want string }{
		{"bad name in names", `names = ["ok", "not ok"]`, `[thing] names[1] "not ok": use 1–128 characters`},
		{"duplicate", `names = ["a", "a"]`, `[thing] names[1] "a" is listed twice`},
		{"bad glob", `name = "x"` + "\n" + `match = "esp32-[0-9"`, `[thing] match "esp32-[0-9" is not a glob`},
		{"impossible glob", `name = "x"` + "\n" + `match = "esp32/*"`, `'/' can never be in a thing name`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("fleet.toml", []byte(fleetConfig(c.thing, "")))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "fleet.toml: ") {
				t.Fatalf("error %v, want fleet.toml: …%s", err, c.want)
			}
		})
	}
}

func TestAlerts(t *testing.T) {
	cfg, err := Parse("a.toml", []byte(fleetConfig(`name = "x"`, `
[[alert]]
on = ["dropout_opened", "reboot"]
bell = true
[[alert]]
command = ["sh", "-c", "cat >> alerts.jsonl"]
url = "http://127.0.0.1:9000/hook"
every = "5m"
`)))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Alert) != 2 || cfg.Alert[0].Every.Duration != DefaultAlertEvery || cfg.Alert[1].Every.String() != "5m0s" ||
		len(cfg.Alert[1].Command) != 3 || !cfg.Alert[0].Bell {
		t.Fatalf("alerts %+v", cfg.Alert)
	}
}

func TestAlertErrors(t *testing.T) {
	cases := []struct{ name, alert, want string }{
		{"no output", `on = ["reboot"]`, `[[alert]] #1: no output: set bell = true`},
		{"unknown kind", "on = [\"rebooted\"]\nbell = true", `[[alert]] #1: on "rebooted" is not an event`},
		{"bad url", `url = "127.0.0.1:9000"`, `url "127.0.0.1:9000": give an http:// or https:// URL`},
		{"empty program", `command = [""]`, `command's program is empty`},
		{"negative every", "bell = true\nevery = \"-1m\"", `every -1m0s is negative`},
		{"typo", "bel = true", `unknown key alert.bel: did you mean alert.bell?`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("a.toml", []byte(fleetConfig(`name = "x"`, "[[alert]]\n"+c.alert+"\n")))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want …%s", err, c.want)
			}
		})
	}
}
