package awsconn

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	paho "github.com/eclipse/paho.mqtt.golang"
)

// SigV4 signs in with AWS credentials instead of a client certificate:
// MQTT over WebSocket at /mqtt with a presigned URL, made afresh for every
// connect and reconnect, so that refreshed temporary credentials are used.
type SigV4 struct {
	Credentials aws.CredentialsProvider // cached by the caller (aws.Config's are)
	Region      string
}

// signingService is the name AWS IoT's MQTT over WebSocket is signed for.
const signingService = "iotdevicegateway"

// emptyPayloadHash is the SHA-256 of an empty body: the upgrade has none.
const emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// PresignMQTT returns the wss:// URL that opens MQTT over WebSocket on
// host:port: signed for the host header only, with the session token added
// after signing as AWS IoT expects.
func PresignMQTT(ctx context.Context, creds aws.Credentials, host string, port int, region string, now time.Time) (string, error) {
	authority := host
	if port != 443 {
		authority = net.JoinHostPort(host, strconv.Itoa(port))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+authority+"/mqtt", nil)
	if err != nil {
		return "", err
	}
	token := creds.SessionToken
	creds.SessionToken = ""
	signed, _, err := v4.NewSigner().PresignHTTP(ctx, creds, req, emptyPayloadHash, signingService, region, now)
	if err != nil {
		return "", err
	}
	if token != "" {
		signed += "&X-Amz-Security-Token=" + url.QueryEscape(token)
	}
	return "wss://" + strings.TrimPrefix(signed, "https://"), nil
}

// openWebSocket is paho's connection opener for SigV4: it presigns a URL
// with the current credentials and dials it.
func (c *Conn) openWebSocket(_ *url.URL, options paho.ClientOptions) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), options.ConnectTimeout)
	defer cancel()
	creds, err := c.o.SigV4.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS credentials: %w", err)
	}
	signed, err := PresignMQTT(ctx, creds, c.o.Host, c.o.Port, c.o.SigV4.Region, c.o.Now())
	if err != nil {
		return nil, err
	}
	conf := c.o.TLS
	if conf == nil {
		conf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	conf = conf.Clone()
	if conf.ServerName == "" {
		conf.ServerName = c.o.Host
	}
	return paho.NewWebsocket(signed, conf, options.ConnectTimeout, nil, &paho.WebsocketOptions{})
}
