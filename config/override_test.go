package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOverridesWinOverTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "watch.toml")
	os.WriteFile(path, []byte("[aws]\nendpoint = \"file-host\"\nport = 8883\ncert = \"m.pem\"\nkey = \"m.key\"\nca = \"ca.pem\"\n[thing]\nname = \"from-file\"\n"), 0o644)
	wd, _ := os.Getwd()
	c, err := LoadWith(path, Overrides{Endpoint: "cli-host", Port: 443, Thing: "cli-thing", Shadow: "cfg", CA: "other-ca.pem"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cli-host", "cli-thing", "cfg", "cli-thing", filepath.Join(dir, "m.pem"), filepath.Join(wd, "other-ca.pem")}
	got := []string{c.AWS.Endpoint, c.Thing.Name, c.Thing.Shadow, c.Thing.DeviceClientID, c.AWS.Cert, c.AWS.CA}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d = %q, want %q", i, got[i], want[i])
		}
	}
	if c.AWS.Port != 443 || !strings.HasPrefix(c.AWS.ClientID, "iotwatch-cli-thing-") {
		t.Errorf("port %d client id %q", c.AWS.Port, c.AWS.ClientID)
	}
}

func TestOverridesAloneMakeAConfiguration(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	c, err := LoadWith("", Overrides{Endpoint: "localhost", Thing: "t1", Cert: "d.pem", Key: "d.key", CA: "ca.pem"})
	if err != nil || c.Path != CommandLine || c.AWS.Port != 8883 {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := LoadWith("", Overrides{Endpoint: "localhost"}); err == nil || !strings.Contains(err.Error(), "command line: [aws] cert and key are required") {
		t.Fatalf("incomplete overrides: %v", err)
	}
	if _, err := LoadWith("", Overrides{}); err == nil || !strings.Contains(err.Error(), "iotwatch.toml") {
		t.Fatalf("no file and no overrides: %v", err)
	}
	if _, err := LoadWith("missing.toml", Overrides{Endpoint: "x"}); err == nil || !strings.Contains(err.Error(), "missing.toml does not exist") {
		t.Fatalf("an explicit file that is missing: %v", err)
	}
}

func TestTypeErrorsNameTheLineAndTheFix(t *testing.T) {
	cases := []struct{ toml, want string }{
		{"[aws]\nendpoint = \"h\"\nport = \"8883\"\n", `f.toml:3: [aws] port must be an integer, not a string: write it without quotes, e.g. port = 8883`},
		{"[aws]\nendpoint = 5\n", `f.toml:2: [aws] endpoint must be a string, not an integer: put it in quotes, e.g. endpoint = "value"`},
		{"[soak]\ndropout_after = \"x\"\n", `f.toml:2: [soak] dropout_after must be a number, not a string: write it without quotes, e.g. dropout_after = 2.5`},
		{"[[control]]\nkey = 1\n", `f.toml:2: [[control]] key must be a string, not an integer`},
		{"[aws\n", `f.toml:2: not valid TOML: expected '.' or ']' to end table name`},
	}
	for _, c := range cases {
		_, err := Parse("f.toml", []byte(c.toml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v\nwant %s", c.toml, err, c.want)
		}
	}
}
