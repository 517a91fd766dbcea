package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/pki"
	"github.com/iotwatch/iotwatch/shadow"
)

// checkCredentials loads what the configuration signs in with: the
// certificate and key, or the AWS credentials (naming their source).
func checkCredentials(ctx context.Context, d *doctor) (string, error) {
	conn, err := configConn(ctx, d.cfg)
	if err != nil {
		return "", err
	}
	d.conn, d.tls = conn, conn.TLS
	if conn.SigV4 != nil {
		creds, err := conn.SigV4.Credentials.Retrieve(ctx)
		if err != nil {
			return "", err // loadAWSConfig's words: what to do
		}
		id := creds.AccessKeyID
		if len(id) > 8 {
			id = id[:4] + "…" + id[len(id)-4:]
		}
		detail := fmt.Sprintf("AWS credentials from %s (access key %s), region %s", creds.Source, id, conn.SigV4.Region)
		if r := endpointRegion(d.cfg.AWS.Endpoint); r != "" && r != conn.SigV4.Region {
			detail += fmt.Sprintf("; note: the endpoint is in %s", r)
		}
		return detail, nil
	}
	leaf := conn.TLS.Certificates[0].Leaf
	detail := fmt.Sprintf("certificate %q valid until %s; key matches", leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.DateOnly))
	if thing, monitor := pki.Role(leaf); !monitor && shadow.ValidThingName(thing) && thing != d.cfg.Thing.Name {
		detail += fmt.Sprintf("; note: it is the device certificate of thing %q, and [thing] name is %q", thing, d.cfg.Thing.Name)
	}
	return detail, nil
}

// checkUpgrade asks for the WebSocket upgrade with a presigned URL, as the
// MQTT connection will, and explains a refusal: the signature, an expired
// or skewed date, the region.
func checkUpgrade(ctx context.Context, d *doctor) (string, error) {
	creds, err := d.conn.SigV4.Credentials.Retrieve(ctx)
	if err != nil {
		return "", err
	}
	signed, err := awsconn.PresignMQTT(ctx, creds, d.cfg.AWS.Endpoint, d.cfg.AWS.Port, d.conn.SigV4.Region, time.Now())
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+strings.TrimPrefix(signed, "wss://"), nil)
	if err != nil {
		return "", err
	}
	key := make([]byte, 16)
	rand.Read(key)
	for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Key": base64.StdEncoding.EncodeToString(key), "Sec-WebSocket-Protocol": "mqtt"} {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: d.tls.Clone()}}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	skew := clockSkew(resp)
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return "upgraded to MQTT over WebSocket" + skew, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var msg struct{ Message string }
	json.Unmarshal(body, &msg)
	kind := strings.TrimSuffix(resp.Header.Get("x-amzn-ErrorType"), ":")
	return "", fmt.Errorf("the server refused the signed upgrade: HTTP %d %s: %s%s — check the secret key of these credentials, the region (%s) and this computer's clock",
		resp.StatusCode, kind, msg.Message, skew, d.conn.SigV4.Region)
}

// clockSkew says how far this computer's clock is from the server's Date.
func clockSkew(resp *http.Response) string {
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return ""
	}
	skew := time.Since(date).Round(time.Second)
	if skew < 0 {
		skew = -skew
	}
	if skew > 5*time.Minute {
		return fmt.Sprintf("; this clock is %s off the server's: SigV4 allows 5 min", skew)
	}
	return fmt.Sprintf("; clock within %s of the server's", max(skew, time.Second))
}
