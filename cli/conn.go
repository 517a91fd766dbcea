package cli

import (
	"crypto/tls"
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

// loadConn finds and loads a configuration and its connection options.
func loadConn(explicit string) (*config.Config, awsconn.Options, error) {
	path, err := config.Find(explicit)
	if err != nil {
		return nil, awsconn.Options{}, err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, awsconn.Options{}, err
	}
	conf, err := pki.LoadClientTLS(cfg.AWS.Cert, cfg.AWS.Key, cfg.AWS.CA, cfg.AWS.Endpoint)
	if err != nil {
		return nil, awsconn.Options{}, err
	}
	return cfg, connOptions(cfg, conf), nil
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
