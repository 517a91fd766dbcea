package localiot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iotdataplane"
	paho "github.com/eclipse/paho.mqtt.golang"
)

// presignedMQTT presigns wss://API/mqtt as AWS IoT's device SDKs do.
func (l *lab) presignedMQTT(t *testing.T, secret string) string {
	t.Helper()
	cfg := l.awsConfig(t)
	creds, _ := cfg.Credentials.Retrieve(context.Background())
	if secret != "" {
		creds.SecretAccessKey = secret
	}
	req, _ := http.NewRequest("GET", "https://"+l.srv.APIAddr()+"/mqtt", nil)
	empty := sha256.Sum256(nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, hex.EncodeToString(empty[:]), "iotdevicegateway", cfg.Region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return "wss" + strings.TrimPrefix(u, "https")
}

// connectWSS connects paho over WebSocket to a presigned URL.
func (l *lab) connectWSS(t *testing.T, url, clientID string) (*client, error) {
	t.Helper()
	c := &client{inbox: &inbox{}, lost: make(chan error, 1)}
	conf := l.tlsFor(t, "monitor")
	conf.Certificates = nil // the signature authenticates, not a certificate
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(clientID).SetTLSConfig(conf).
		SetAutoReconnect(false).SetConnectTimeout(10 * time.Second).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { c.inbox.add(m.Topic(), m.Payload()) }).
		SetConnectionLostHandler(func(_ paho.Client, err error) { c.lost <- err })
	c.Client = paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(15 * time.Second) {
		return nil, errTimeout
	}
	if tok.Error() != nil {
		return nil, tok.Error()
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, nil
}

// TestMQTTOverWebSocket: paho over WSS with a presigned URL is served by
// the same broker and shadow service as MQTT over TLS.
func TestMQTTOverWebSocket(t *testing.T) {
	l := newAPILab(t, "", "")
	ws, err := l.connectWSS(t, l.presignedMQTT(t, ""), "browser-1")
	if err != nil {
		t.Fatal(err)
	}
	ws.subscribe(t, prefix+"/update/accepted")
	dev := l.mustConnect(t, "device", thing)
	dev.publish(t, prefix+"/update", `{"state":{"reported":{"on":true}},"clientToken":"dev-1"}`)
	ws.inbox.waitFor(t, prefix+"/update/accepted", token("dev-1"))
	ws.publish(t, prefix+"/update", `{"state":{"desired":{"on":false}},"clientToken":"ws-1"}`)
	ws.inbox.waitFor(t, prefix+"/update/accepted", token("ws-1"))

	if _, err := l.connectWSS(t, l.presignedMQTT(t, "wrong-secret"), "browser-2"); err == nil {
		t.Error("a URL presigned with the wrong secret connected")
	}
	res, err := (&http.Client{Transport: l.awsConfig(t).HTTPClient.(*http.Client).Transport}).Get(
		"https" + strings.TrimPrefix(l.presignedMQTT(t, "wrong-secret"), "wss"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 || res.Header.Get("x-amzn-ErrorType") != "ForbiddenException:" {
		t.Errorf("bad signature: %d %q; want 403 ForbiddenException", res.StatusCode, res.Header.Get("x-amzn-ErrorType"))
	}
}

const labIAMPolicy = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":["iot:Connect","iot:Subscribe","iot:Receive","iot:GetThingShadow","iot:ListThings"],"Resource":"*"},
 {"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:*:*:topic/lab/*"}]}`

// TestIAMPolicy: --iam-policy confines the SigV4 caller on the WebSocket
// and on both HTTPS planes.
func TestIAMPolicy(t *testing.T) {
	l := newAPILab(t, "", labIAMPolicy)
	ctx := context.Background()
	ws, err := l.connectWSS(t, l.presignedMQTT(t, ""), "browser-1")
	if err != nil {
		t.Fatal(err)
	}
	ws.publish(t, "lab/x", "{}")
	ws.Publish(prefix+"/update", 1, false, `{"state":{}}`)
	if !lostWithin(ws, 10*time.Second) {
		t.Error("a publish the IAM policy denies did not disconnect the WebSocket client")
	}
	if _, err := l.iotClient(t).ListThings(ctx, &iot.ListThingsInput{}); err != nil {
		t.Errorf("ListThings is allowed: %v", err)
	}
	_, err = l.iotClient(t).CreateThing(ctx, &iot.CreateThingInput{ThingName: aws.String("x")})
	wantAPIError(t, "CreateThing, denied", err, "AccessDeniedException")
	_, err = l.dataClient(t).UpdateThingShadow(ctx, &iotdataplane.UpdateThingShadowInput{ThingName: aws.String("x"), Payload: []byte(`{"state":{}}`)})
	wantAPIError(t, "UpdateThingShadow, denied", err, "ForbiddenException")
	_, err = l.dataClient(t).GetThingShadow(ctx, &iotdataplane.GetThingShadowInput{ThingName: aws.String("x")})
	wantAPIError(t, "GetThingShadow, allowed (and absent)", err, "ResourceNotFoundException")
}
