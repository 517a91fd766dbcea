package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const minimal = `
[aws]
endpoint = "localhost"
cert = "monitor.pem"
key = "monitor.key"
ca = "ca.pem"
[thing]
name = "esp32-pico"
`

func TestDefaults(t *testing.T) {
	c, err := Parse("/lab/watch.toml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.AWS.Port != 8883 || c.Plot.Field != "temp" || c.Plot.Window.Duration != 10*time.Minute ||
		c.Soak.DropoutAfter != 2.5 || c.Soak.MinAvailability != 99.9 || c.Soak.MaxGap.Duration != 30*time.Second || c.Soak.MaxBlind != 5 {
		t.Fatalf("defaults: %+v", c)
	}
	if c.AWS.Cert != "/lab/monitor.pem" || c.AWS.CA != "/lab/ca.pem" {
		t.Fatalf("paths not relative to the file: %+v", c.AWS)
	}
	if !strings.HasPrefix(c.AWS.ClientID, "iotwatch-esp32-pico-") || len(c.AWS.ClientID) != len("iotwatch-esp32-pico-")+6 {
		t.Fatalf("client id %q", c.AWS.ClientID)
	}
	if c.Thing.DeviceClientID != "esp32-pico" || len(c.Control) != 4 {
		t.Fatalf("device client id %q controls %d", c.Thing.DeviceClientID, len(c.Control))
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("warnings: %v", w)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct{ name, extra, replace, want string }{
		{"unknown key", "[plot]\nfeild = \"x\"\n", "", "unknown key plot.feild: did you mean plot.field?"},
		{"bad toml", "[aws\n", "", "watch.toml"},
		{"bad duration", "[plot]\nwindow = \"ten minutes\"\n", "", `is not a duration`},
		{"bad port", "", `endpoint = "localhost"` + "\nport = 70000", "port 70000 is not a port"},
		{"endpoint with port", "", `endpoint = "localhost:8883"`, "must be a host name only"},
		{"no endpoint", "", `endpoint = ""`, "[aws] endpoint is empty"},
		{"bad thing", "", `name = "my thing"`, `[thing] name "my thing"`},
		{"duplicate key", "[[control]]\nkey = \"a\"\nfield = \"led\"\naction = \"toggle\"\n[[control]]\nkey = \"a\"\nfield = \"x\"\naction = \"toggle\"\n", "", "bound twice"},
		{"bad action", "[[control]]\nkey = \"a\"\nfield = \"led\"\naction = \"flip\"\n", "", `action "flip" is not one of`},
		{"cycle without values", "[[control]]\nkey = \"a\"\nfield = \"led\"\naction = \"cycle\"\n", "", "needs values"},
		{"set without value", "[[control]]\nkey = \"a\"\nfield = \"led\"\naction = \"set\"\n", "", "needs value"},
		{"negative window", "[plot]\nwindow = \"-5m\"\n", "", "[plot] window -5m0s is negative"},
		{"max_blind over 100", "[soak]\nmax_blind = 120.0\n", "", "[soak] max_blind 120 must be a percentage 0–100"},
		{"negative max_gap", "[soak]\nmax_gap = \"-1s\"\n", "", "[soak] max_gap -1s is negative"},
		{"negative interval", "[soak]\ninterval = \"-1s\"\n", "", "[soak] interval -1s is negative"},
		{"min_availability", "[soak]\nmin_availability = 120.0\n", "", "must be a percentage 0–100"},
		{"max_dropouts", "[soak]\nmax_dropouts = -1\n", "", "max_dropouts cannot be negative"},
		{"bad shadow", "shadow = \"a/b\"\n", "", `[thing] shadow "a/b"`},
		{"no cert", "", `cert = ""`, "cert and key are required"},
		{"unknown table", "[aws2]\nport = 1\n", "", "unknown key aws2"},
		{"dropout_after", "[soak]\ndropout_after = 0.5\n", "", "dropout_after 0.5 must be at least 1"},
		{"negative heap loss", "[soak]\nmax_heap_loss_per_reconnect = -1\n", "", "[soak] max_heap_loss_per_reconnect -1 cannot be negative"},
		{"negative hourly heap loss", "[soak]\nmax_heap_loss_per_hour = -5\n", "", "[soak] max_heap_loss_per_hour -5 cannot be negative"},
		{"require_jobs_succeeded not a boolean", "[soak]\nrequire_jobs_succeeded = \"yes\"\n", "", "require_jobs_succeeded"},
		{"require_jobs_succeeded misspelt", "[soak]\nrequire_job_succeeded = true\n", "", "did you mean soak.require_jobs_succeeded?"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := minimal + c.extra
			if c.replace != "" {
				key := strings.SplitN(c.replace, " =", 2)[0]
				lines := strings.Split(doc, "\n")
				for i, l := range lines {
					if strings.HasPrefix(l, key+" =") {
						lines[i] = c.replace
					}
				}
				doc = strings.Join(lines, "\n")
			}
			_, err := Parse("lab/watch.toml", []byte(doc))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "lab/watch.toml") {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "monitor.key")
	os.WriteFile(key, []byte("x"), 0o644)
	c, err := Parse(filepath.Join(dir, "w.toml"), []byte(strings.Replace(minimal, `cert =`, `client_id = "esp32-pico"`+"\ncert =", 1)))
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(c.Warnings(), "\n")
	if !strings.Contains(w, "duplicate client id") || !strings.Contains(w, "chmod 600") {
		t.Fatalf("warnings: %s", w)
	}
}

func TestExampleIsValidAndComplete(t *testing.T) {
	c, err := Load("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Control) != 5 || c.Soak.Interval.Duration != 5*time.Second {
		t.Fatalf("example: %+v", c)
	}
	data, _ := os.ReadFile("../config.example.toml")
	for _, key := range knownKeys {
		name := key[strings.Index(key, ".")+1:]
		if !strings.Contains(string(data), "\n"+name+" =") {
			t.Errorf("config.example.toml does not document %s", key)
		}
	}
	// knownKeys must cover every toml tag of the structs.
	count := 0
	for _, v := range []any{AWS{}, Thing{}, Plot{}, Soak{}, Control{}, Alert{}} {
		count += reflect.TypeOf(v).NumField()
	}
	if count != len(knownKeys) {
		t.Fatalf("knownKeys has %d keys, the structs %d", len(knownKeys), count)
	}
}

func TestStarterLoads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "device.toml")
	os.WriteFile(path, Starter("localhost", 8883, "esp32-sim", "esp32-sim", "device.pem", "device.key", "ca.pem"), 0o644)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.AWS.ClientID != "esp32-sim" || c.AWS.Key != filepath.Join(dir, "device.key") {
		t.Fatalf("starter: %+v", c.AWS)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	if _, err := Find(""); err == nil || !strings.Contains(err.Error(), "iotwatch demo") {
		t.Fatalf("no config: %v", err)
	}
	os.MkdirAll(filepath.Join(dir, "xdg", "iotwatch"), 0o755)
	os.WriteFile(filepath.Join(dir, "xdg", "iotwatch", "config.toml"), nil, 0o644)
	if p, _ := Find(""); p != filepath.Join(dir, "xdg", "iotwatch", "config.toml") {
		t.Fatalf("xdg: %s", p)
	}
	os.WriteFile("iotwatch.toml", nil, 0o644)
	if p, _ := Find(""); p != "iotwatch.toml" {
		t.Fatalf("cwd: %s", p)
	}
	if p, _ := Find("x.toml"); p != "x.toml" {
		t.Fatalf("explicit: %s", p)
	}
}

func TestEmptyDurationsMeanAutomatic(t *testing.T) {
	c, err := Parse("w.toml", []byte(minimal+"[plot]\nwindow = \"\"\n[soak]\ninterval = \"\"\nmax_gap = \"\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Soak.Interval.Duration != 0 || c.Plot.Window.Duration != 10*time.Minute || c.Soak.MaxGap.Duration != 30*time.Second || c.Soak.MaxBlind != 5 {
		t.Fatalf("interval %v window %v max_gap %v", c.Soak.Interval, c.Plot.Window, c.Soak.MaxGap)
	}
}

// `control = []` at the top of the file is how a user opts out of the default keys.
func TestEmptyControlListDisablesDefaults(t *testing.T) {
	c, err := Parse("w.toml", []byte("control = []\n"+minimal))
	if err != nil || len(c.Control) != 0 {
		t.Fatalf("%v, controls %+v", err, c)
	}
}

// FuzzParse: any input gives a configuration that passed validation, or an
// error naming the file; never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("[[control]]\nkey=1\n"))
	example, _ := os.ReadFile("../config.example.toml")
	f.Add(example)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.toml:") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if c.AWS.Port < 1 || c.AWS.Port > 65535 || c.Control == nil || c.AWS.ClientID == "" {
			t.Fatalf("invalid configuration accepted: %+v", c)
		}
	})
}

func BenchmarkParseExample(b *testing.B) {
	data, err := os.ReadFile("../config.example.toml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Parse("config.example.toml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAuthAndTheBuiltInAmazonRoot(t *testing.T) {
	cases := []struct{ toml, err string }{
		{"[aws]\nendpoint = \"a1-ats.iot.eu-west-1.amazonaws.com\"\nauth = \"sigv4\"\nregion = \"eu-west-1\"\n[thing]\nname = \"t\"\n", ""},
		{"[aws]\nendpoint = \"a1-ats.iot.eu-west-1.amazonaws.com\"\ncert = \"d.pem\"\nkey = \"d.key\"\n[thing]\nname = \"t\"\n", ""},
		{"[aws]\nendpoint = \"localhost\"\nauth = \"sigv4\"\n[thing]\nname = \"t\"\n", "[aws] ca is required for an endpoint that is not AWS's"},
		{"[aws]\nendpoint = \"localhost\"\nca = \"ca.pem\"\n[thing]\nname = \"t\"\n", "[aws] cert and key are required"},
		{"[aws]\nendpoint = \"localhost\"\nauth = \"iam\"\nca = \"ca.pem\"\n[thing]\nname = \"t\"\n", `[aws] auth "iam": use "certificate"`},
	}
	for _, c := range cases {
		_, err := Parse("f.toml", []byte(c.toml))
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: %v, want %q", c.toml, err, c.err)
		}
	}
}
