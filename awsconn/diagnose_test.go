package awsconn

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/internal/testkit"
	"github.com/iotwatch/iotwatch/pki"
)

// TestFirstConnectFailureIsExplained: the very first attempt's failure
// reaches the event stream as a down link with the diagnosis, for each
// mistake a new user makes.
func TestFirstConnectFailureIsExplained(t *testing.T) {
	l := newLab(t)
	other := t.TempDir()
	if err := pki.Init(other, pki.InitOptions{Thing: "elsewhere"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"wrong CA", func(o *Options) {
			conf, _ := pki.LoadClientTLS(filepath.Join(l.dir, "monitor.pem"), filepath.Join(l.dir, "monitor.key"), filepath.Join(other, pki.CACertFile), "127.0.0.1")
			o.TLS = conf
		}, "the server's certificate is not signed by [aws] ca"},
		{"wrong port", func(o *Options) {
			_, port, _ := strings.Cut(testkit.FreeAddr(t), ":")
			o.Port, _ = strconv.Atoi(port)
		}, "nothing accepts connections on 127.0.0.1:"},
		{"a device certificate on another thing", func(o *Options) {
			conf, _ := pki.LoadClientTLS(filepath.Join(l.dir, "device.pem"), filepath.Join(l.dir, "device.key"), filepath.Join(l.dir, pki.CACertFile), "127.0.0.1")
			o.TLS, o.Thing = conf, "another-thing"
		}, `the device certificate of thing "esp32-test", not of [thing] name "another-thing"`},
		{"a certificate of another CA", func(o *Options) {
			conf, _ := pki.LoadClientTLS(filepath.Join(other, "monitor.pem"), filepath.Join(other, "monitor.key"), filepath.Join(l.dir, pki.CACertFile), "127.0.0.1")
			o.TLS = conf
		}, "the server refused this client certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := l.options(t, Monitor, "iotwatch-diagnose")
			c.change(&o)
			conn := dialOptions(t, o)
			ev := waitEvent(t, conn, "a down link", linkIs(event.LinkDown)).(event.Link)
			if !strings.Contains(ev.Err, c.want) {
				t.Fatalf("Err %q\nwant it to say %q", ev.Err, c.want)
			}
		})
	}
}
