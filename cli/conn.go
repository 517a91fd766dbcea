package cli

import (
	"context"
	"crypto/tls"
	"flag"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/pki"
)

// connOptions is the connection a configuration describes, over conf.
func connOptions(cfg *config.Config, conf *tls.Config) awsconn.Options {
	return awsconn.Options{Host: cfg.AWS.Endpoint, Port: cfg.AWS.Port, ClientID: cfg.AWS.ClientID, TLS: conf,
		Thing: cfg.Thing.Name, Shadow: cfg.Thing.Shadow, DeviceClientID: cfg.Thing.DeviceClientID}
}

// addConnFlags registers the command-line overrides of a configuration's
// connection, named like mosquitto_sub's and the AWS CLI's.
func addConnFlags(fs *flag.FlagSet) *config.Overrides {
	o := &config.Overrides{}
	fs.StringVar(&o.Endpoint, "endpoint", "", "override [aws] endpoint (host name)")
	fs.IntVar(&o.Port, "port", 0, "override [aws] port (8883, or 443 with ALPN)")
	fs.StringVar(&o.Thing, "thing", "", "override [thing] name")
	fs.StringVar(&o.Shadow, "shadow", "", "override [thing] shadow (a named shadow)")
	fs.StringVar(&o.Cert, "cert", "", "override [aws] cert (relative to the working directory)")
	fs.StringVar(&o.Key, "key", "", "override [aws] key")
	fs.StringVar(&o.CA, "ca", "", "override [aws] ca")
	fs.StringVar(&o.Profile, "profile", "", "override [aws] profile (AWS credentials, with auth = \"sigv4\")")
	fs.StringVar(&o.Region, "region", "", "override [aws] region (with auth = \"sigv4\")")
	return o
}

// loadConn finds and loads a configuration, applies the command line's
// overrides and returns its connection options.
func loadConn(explicit string, o config.Overrides) (*config.Config, awsconn.Options, error) {
	cfg, err := config.LoadWith(explicit, o)
	if err != nil {
		return nil, awsconn.Options{}, err
	}
	opts, err := configConn(context.Background(), cfg)
	return cfg, opts, err
}

// configConn is the connection cfg describes: mutual TLS with its
// certificate, or SigV4 with AWS credentials (the CA alone verifies the
// server then).
func configConn(ctx context.Context, cfg *config.Config) (awsconn.Options, error) {
	o, err := configTransport(ctx, cfg)
	if err == nil && o.Thing != "" {
		if client, _, err := fleetControlPlane(ctx, cfg, "", ""); err == nil {
			o.Registry = typoCheck(client)
		}
	}
	return o, err
}

// configTransport is the connection cfg describes without the registry.
func configTransport(ctx context.Context, cfg *config.Config) (awsconn.Options, error) {
	if cfg.AWS.Auth != config.AuthSigV4 {
		conf, err := pki.LoadClientTLS(cfg.AWS.Cert, cfg.AWS.Key, cfg.AWS.CA, cfg.AWS.Endpoint)
		return connOptions(cfg, conf), err
	}
	conf, err := pki.LoadRootTLS(cfg.AWS.CA, cfg.AWS.Endpoint)
	if err != nil {
		return awsconn.Options{}, err
	}
	region := cfg.AWS.Region
	if region == "" {
		region = endpointRegion(cfg.AWS.Endpoint)
	}
	awsCfg, err := loadAWSConfig(ctx, awsSource{profile: cfg.AWS.Profile, region: region,
		local: !config.IsAWSEndpoint(cfg.AWS.Endpoint), labDir: labDirOf(cfg.AWS.CA)})
	if err != nil {
		return awsconn.Options{}, err
	}
	o := connOptions(cfg, conf)
	o.SigV4 = &awsconn.SigV4{Credentials: awsCfg.Credentials, Region: awsCfg.Region}
	return o, nil
}

// labConn connects to the demo's emulator at addr with the lab certificates of
// role ("device" or "monitor") in dir.
func labConn(dir, addr, role, clientID string) (awsconn.Options, error) {
	conf, err := pki.LoadClientTLS(filepath.Join(dir, role+".pem"), filepath.Join(dir, role+".key"),
		filepath.Join(dir, pki.CACertFile), "127.0.0.1")
	if err != nil {
		return awsconn.Options{}, err
	}
	host, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	return awsconn.Options{Host: host, Port: port, ClientID: clientID, TLS: conf, Thing: demoThing,
		MaxBackoff: 2 * time.Second}, nil
}
