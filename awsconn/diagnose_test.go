package awsconn

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/internal/testkit"
	"github.com/iotwatch/iotwatch/localiot"
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

// TestHTTPSPortIsNamed: --port of the HTTPS APIs (8443) is named as such by
// the first failure, from a handshake that offers HTTP by ALPN, not after
// paho's 10 s wait for a CONNACK.
func TestHTTPSPortIsNamed(t *testing.T) {
	l := &lab{dir: t.TempDir(), data: t.TempDir()}
	if err := pki.Init(l.dir, pki.InitOptions{Thing: thing}); err != nil {
		t.Fatal(err)
	}
	srv, err := localiot.New(localiot.Options{Listen: "127.0.0.1:0", APIListen: "127.0.0.1:0", PKIDir: l.dir, DataDir: l.data})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	l.srv = srv
	t.Cleanup(func() { srv.Close() })
	o := l.options(t, Monitor, "iotwatch-https")
	if ProbeHTTPS(context.Background(), o) {
		t.Fatal("the MQTT port is taken for HTTPS")
	}
	_, port, _ := strings.Cut(srv.APIAddr(), ":")
	o.Port, _ = strconv.Atoi(port)
	if !ProbeHTTPS(context.Background(), o) {
		t.Fatal("the API port is not found to answer HTTPS")
	}
	conn := dialOptions(t, o)
	ev := waitEvent(t, conn, "a down link", linkIs(event.LinkDown)).(event.Link)
	if want := "port " + port + " of 127.0.0.1 answers HTTPS, not MQTT: use port 8883"; !strings.HasPrefix(ev.Err, want) {
		t.Fatalf("first failure %q, want %q…", ev.Err, want)
	}
	if got := Diagnose(errors.New("network Error : non-CONNACK first packet received"), o); !strings.Contains(got, "HTTPS port (8443)? MQTT over TLS is on 8883") {
		t.Errorf("paho's non-CONNACK: %q", got)
	}
}

// TestClosedAtConnectNamesBothCauses: MQTT 3.1.1 closes without a reason
// both for a policy that denies iot:Connect and for a second CONNECT within
// a second; the diagnosis names both.
func TestClosedAtConnectNamesBothCauses(t *testing.T) {
	got := Diagnose(io.EOF, Options{Host: "localhost", Port: 8883, ClientID: "esp32-pico", Thing: "esp32-pico"})
	for _, want := range []string{`does not allow iot:Connect for client id "esp32-pico"`, `another client connected with client id "esp32-pico" less than a second before`} {
		if !strings.Contains(got, want) {
			t.Errorf("%q\nwant %q", got, want)
		}
	}
}

func TestFinal(t *testing.T) {
	failure := "subscription to x refused (code 0x80): check the policy"
	if got := Final(retrying(failure, 10*time.Second)); got != failure {
		t.Errorf("Final = %q", got)
	}
	if got := Final(failure); got != failure {
		t.Errorf("Final of a plain failure = %q", got)
	}
}
