package main

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
	"github.com/iotwatch/iotwatch/monitor"
	"github.com/iotwatch/iotwatch/pki"
)

// doctorStep is one check; it returns a detail line or an error with the fix.
type doctorStep struct {
	name  string
	check func(ctx context.Context, d *doctor) (string, error)
}

// doctor carries what earlier steps found to later ones.
type doctor struct {
	path string
	cfg  *config.Config
	tls  *tls.Config
	addr string
}

var doctorSteps = []doctorStep{
	{"configuration", func(_ context.Context, d *doctor) (string, error) {
		cfg, err := config.Load(d.path)
		d.cfg = cfg
		if err != nil {
			return "", err
		}
		d.addr = net.JoinHostPort(cfg.AWS.Endpoint, strconv.Itoa(cfg.AWS.Port))
		return fmt.Sprintf("%s: thing %s at %s, client id %s", d.path, cfg.Thing.Name, d.addr, cfg.AWS.ClientID), nil
	}},
	{"certificate, key and CA files", func(_ context.Context, d *doctor) (string, error) {
		conf, err := pki.LoadClientTLS(d.cfg.AWS.Cert, d.cfg.AWS.Key, d.cfg.AWS.CA, d.cfg.AWS.Endpoint)
		d.tls = conf
		if err != nil {
			return "", err
		}
		leaf := conf.Certificates[0].Leaf
		return fmt.Sprintf("certificate %q valid until %s; key matches", leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.DateOnly)), nil
	}},
	{"DNS", func(ctx context.Context, d *doctor) (string, error) {
		ips, err := net.DefaultResolver.LookupHost(ctx, d.cfg.AWS.Endpoint)
		if err != nil {
			return "", fmt.Errorf("%v: check [aws] endpoint (aws iot describe-endpoint --endpoint-type iot:Data-ATS)", err)
		}
		return fmt.Sprint(ips), nil
	}},
	{"TCP connection", func(ctx context.Context, d *doctor) (string, error) {
		conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", d.addr)
		if err != nil {
			return "", fmt.Errorf("%v: is the port open and not blocked by a firewall? (try port 443)", err)
		}
		conn.Close()
		return "connected to " + d.addr, nil
	}},
	{"TLS handshake", func(ctx context.Context, d *doctor) (string, error) {
		conf := d.tls.Clone()
		if d.cfg.AWS.Port == 443 {
			conf.NextProtos = []string{"x-amzn-mqtt-ca"}
		}
		conn, err := (&tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: conf}).DialContext(ctx, "tcp", d.addr)
		if err != nil {
			return "", fmt.Errorf("%v: check [aws] ca is the CA that signed the server certificate (AmazonRootCA1.pem for AWS) and that the server accepts your certificate", err)
		}
		state := conn.(*tls.Conn).ConnectionState()
		conn.Close()
		return fmt.Sprintf("%s, server certificate %q verified", tls.VersionName(state.Version), state.PeerCertificates[0].Subject.CommonName), nil
	}},
	{"MQTT connect, subscriptions and shadow get", checkMQTT},
}

func checkMQTT(ctx context.Context, d *doctor) (string, error) {
	conn, err := awsconn.Dial(awsconn.Options{Host: d.cfg.AWS.Endpoint, Port: d.cfg.AWS.Port, ClientID: d.cfg.AWS.ClientID,
		TLS: d.tls, Thing: d.cfg.Thing.Name, Shadow: d.cfg.Thing.Shadow, DeviceClientID: d.cfg.Thing.DeviceClientID,
		RequestTimeout: 5 * time.Second})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev := <-conn.Events():
			switch e := ev.(type) {
			case monitor.Link:
				if e.State == monitor.LinkDown {
					return "", fmt.Errorf("%s: a closed connection right after connect or subscribe usually means the policy denies iot:Connect for this client id or iot:Subscribe on the shadow topics (docs/policies/)", e.Err)
				}
			case monitor.ShadowDoc:
				return fmt.Sprintf("shadow version %d, %d reported fields", e.Version, len(e.Reported)), nil
			case monitor.Rejected:
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
	fs := newFlagSet("doctor", "doctor [-c FILE]", stderr)
	cfgPath := fs.String("c", "", "configuration to diagnose")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	path, err := config.Find(*cfgPath)
	if err != nil {
		return err
	}
	d := &doctor{path: path}
	defer warnings(d, stderr) // a readable key matters most when a step fails
	for i, step := range doctorSteps {
		detail, err := step.check(ctx, d)
		if err != nil {
			fmt.Fprintf(stdout, "%d. %-45s FAIL\n   %v\n", i+1, step.name, err)
			return errSilentFailure
		}
		fmt.Fprintf(stdout, "%d. %-45s ok   %s\n", i+1, step.name, detail)
	}
	return nil
}

func warnings(d *doctor, stderr io.Writer) {
	if d.cfg != nil {
		for _, w := range d.cfg.Warnings() {
			fmt.Fprintln(stderr, "warning:", w)
		}
	}
}
