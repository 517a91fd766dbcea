package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/event"
)

// doctorStep is one check; it returns a detail line or an error with the fix.
type doctorStep struct {
	name  string
	check func(ctx context.Context, d *doctor) (string, error)
	when  func(d *doctor) bool // nil: always
}

// doctor carries what earlier steps found to later ones.
type doctor struct {
	explicit string           // -c, if given
	over     config.Overrides // the command line's connection flags
	force    bool             // connect even as the device's client id
	path     string
	cfg      *config.Config
	conn     awsconn.Options // the connection the configuration describes
	tls      *tls.Config
	addr     string
}

var doctorSteps = []doctorStep{
	{"configuration", func(_ context.Context, d *doctor) (string, error) {
		cfg, err := config.LoadWith(d.explicit, d.over)
		d.cfg = cfg
		if err != nil {
			return "", err
		}
		d.path = cfg.Path
		if err := cfg.OneThing("doctor"); err != nil {
			return "", err
		}
		if id := cfg.AWS.ClientID; (id == cfg.Thing.DeviceClientID || id == cfg.Thing.Name) && !d.force {
			return "", fmt.Errorf("[aws] client_id %q is the device's own client id: connecting would disconnect the device (AWS keeps one connection per client id); leave client_id empty for iotwatch-<thing>-<random>, or pass --force", id)
		}
		d.addr = net.JoinHostPort(cfg.AWS.Endpoint, strconv.Itoa(cfg.AWS.Port))
		return fmt.Sprintf("%s: thing %s at %s, client id %s", d.path, cfg.Thing.Name, d.addr, cfg.AWS.ClientID), nil
	}, nil},
	{"credentials and CA", checkCredentials, nil},
	{"DNS", func(ctx context.Context, d *doctor) (string, error) {
		ips, err := net.DefaultResolver.LookupHost(ctx, d.cfg.AWS.Endpoint)
		if err != nil {
			return "", fmt.Errorf("%v: check [aws] endpoint (aws iot describe-endpoint --endpoint-type iot:Data-ATS)", err)
		}
		return fmt.Sprint(ips), nil
	}, nil},
	{"TCP connection", func(ctx context.Context, d *doctor) (string, error) {
		conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", d.addr)
		if err != nil {
			return "", fmt.Errorf("%v: is the port open and not blocked by a firewall? (try port 443)", err)
		}
		conn.Close()
		return "connected to " + d.addr, nil
	}, nil},
	{"TLS handshake", func(ctx context.Context, d *doctor) (string, error) {
		conf := d.tls.Clone()
		if d.cfg.AWS.Port == 443 && !signsIn(d) {
			conf.NextProtos = []string{"x-amzn-mqtt-ca"}
		}
		conn, err := (&tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: conf}).DialContext(ctx, "tcp", d.addr)
		if err != nil {
			return "", fmt.Errorf("%v: check [aws] ca is the CA that signed the server certificate (AmazonRootCA1.pem for AWS) and that the server accepts your certificate", err)
		}
		state := conn.(*tls.Conn).ConnectionState()
		conn.Close()
		if !signsIn(d) && d.cfg.AWS.Port != 443 && awsconn.ProbeHTTPS(ctx, d.conn) {
			return "", errors.New(awsconn.Diagnose(awsconn.ErrHTTPS, d.conn))
		}
		return fmt.Sprintf("%s, server certificate %q verified", tls.VersionName(state.Version), state.PeerCertificates[0].Subject.CommonName), nil
	}, nil},
	{"WebSocket upgrade signed with SigV4", checkUpgrade, signsIn},
	{"thing in the registry", checkRegistry, nil},
	{"MQTT connect, subscriptions and shadow get", checkMQTT, nil},
}

// signsIn is true when the configuration signs in with AWS credentials.
func signsIn(d *doctor) bool { return d.cfg.AWS.Auth == config.AuthSigV4 }

func checkMQTT(ctx context.Context, d *doctor) (string, error) {
	o := d.conn
	o.RequestTimeout = 5 * time.Second
	conn, err := awsconn.Dial(o)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev := <-conn.Events():
			switch e := ev.(type) {
			case event.Link:
				if e.State == event.LinkDown {
					return "", errors.New(e.Err)
				}
			case event.ShadowDoc:
				return fmt.Sprintf("shadow version %d, %d reported fields", e.Version, len(e.Reported)), nil
			case event.Rejected:
				if e.Code == 404 {
					return "connected and subscribed; the shadow does not exist yet (the device creates it with its first report)", nil
				}
				return "", errors.New(e.Message)
			}
		case <-timeout:
			return "", errors.New("no answer to the shadow get within 15 s: check the policy allows iot:Publish on .../shadow/get and iot:Receive on .../get/accepted")
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("doctor", "doctor [-c FILE] [--force] [connection flags]", stderr)
	cfgPath := fs.String("c", "", "configuration to diagnose")
	over := addConnFlags(fs)
	force := fs.Bool("force", false, "connect even with the device's own client id (which disconnects the device)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	d := &doctor{explicit: *cfgPath, over: *over, force: *force}
	err := d.run(ctx, stdout)
	if d.cfg != nil { // a readable key matters most when a step failed
		for _, w := range d.cfg.Warnings() {
			fmt.Fprintln(stderr, "warning:", w)
		}
	}
	return err
}

// run runs the steps in order and stops at the first failure.
func (d *doctor) run(ctx context.Context, stdout io.Writer) error {
	n := 0
	for _, step := range doctorSteps {
		if step.when != nil && !step.when(d) {
			continue
		}
		n++
		detail, err := step.check(ctx, d)
		if err != nil {
			fmt.Fprintf(stdout, "%d. %-45s FAIL\n   %v\n", n, step.name, err)
			return errSilentFailure
		}
		fmt.Fprintf(stdout, "%d. %-45s ok   %s\n", n, step.name, detail)
	}
	return nil
}
