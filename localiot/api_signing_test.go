package localiot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestAPIRefusesBadSignatures signs raw requests to the emulator the way
// each client would, right and wrong, and checks AWS's status and type.
func TestAPIRefusesBadSignatures(t *testing.T) {
	l := newAPILab(t, "", "")
	cfg := l.awsConfig(t)
	good, _ := cfg.Credentials.Retrieve(context.Background())
	wrongSecret, unknownKey := good, good
	wrongSecret.SecretAccessKey = "not-the-secret"
	unknownKey.AccessKeyID = "AKIAUNKNOWN000000000"
	cases := []struct {
		name, method, path, service, region string
		creds                               aws.Credentials
		skew                                time.Duration
		status                              int
		errorType                           string
	}{
		{"control plane as iot", "GET", "/things", "iot", cfg.Region, good, 0, 200, ""},
		{"control plane as execute-api (botocore)", "GET", "/things", "execute-api", cfg.Region, good, 0, 200, ""},
		{"data plane as iotdata", "GET", "/retainedMessage", "iotdata", cfg.Region, good, 0, 200, ""},
		{"data plane as iotdevicegateway (AWS's docs)", "GET", "/retainedMessage", "iotdevicegateway", cfg.Region, good, 0, 200, ""},
		{"data plane signed for the control plane", "GET", "/retainedMessage", "iot", cfg.Region, good, 0, 403, "InvalidSignatureException:"},
		{"wrong secret", "GET", "/things", "iot", cfg.Region, wrongSecret, 0, 403, "InvalidSignatureException:"},
		{"unknown access key", "GET", "/things", "iot", cfg.Region, unknownKey, 0, 403, "UnrecognizedClientException:"},
		{"wrong region", "GET", "/things", "iot", "ap-south-1", good, 0, 403, "InvalidSignatureException:"},
		{"clock 6 minutes behind", "GET", "/things", "iot", cfg.Region, good, -6 * time.Minute, 403, "InvalidSignatureException:"},
		{"clock 6 minutes ahead", "GET", "/things", "iot", cfg.Region, good, 6 * time.Minute, 403, "InvalidSignatureException:"},
		{"no such operation", "GET", "/nothing", "iot", cfg.Region, good, 0, 404, "ResourceNotFoundException:"},
		{"method not allowed", "DELETE", "/endpoint", "iot", cfg.Region, good, 0, 405, "MethodNotAllowedException:"},
	}
	empty := sha256.Sum256(nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, "https://"+l.srv.APIAddr()+c.path, nil)
			if err := v4.NewSigner().SignHTTP(context.Background(), c.creds, req, hex.EncodeToString(empty[:]), c.service, c.region, time.Now().Add(c.skew)); err != nil {
				t.Fatal(err)
			}
			res, err := cfg.HTTPClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != c.status || res.Header.Get("x-amzn-ErrorType") != c.errorType {
				t.Errorf("got %d %q, want %d %q", res.StatusCode, res.Header.Get("x-amzn-ErrorType"), c.status, c.errorType)
			}
		})
	}
}
