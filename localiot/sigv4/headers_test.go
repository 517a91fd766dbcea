package sigv4

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestVerifyHeaders: the checks the headers allow before the body is read
// refuse what Verify would refuse for the same reasons, and pass a good
// request whatever its body (the signature over it is Verify's).
func TestVerifyHeaders(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	v := &Verifier{Creds: Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: good.SecretAccessKey}, Region: "eu-west-1",
		Now: func() time.Time { return now }}
	cases := []struct {
		name            string
		creds           aws.Credentials
		service, region string
		at              time.Time
		unsigned        bool
		wantType        string // "" = passes
	}{
		{"good", good, "iot", "eu-west-1", now, false, ""},
		{"good, another key's secret", aws.Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: "x"}, "iot", "eu-west-1", now, false, ""},
		{"another key", aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: "x"}, "iot", "eu-west-1", now, false, "UnrecognizedClientException"},
		{"another region", good, "iot", "us-east-1", now, false, "InvalidSignatureException"},
		{"another service", good, "s3", "eu-west-1", now, false, "InvalidSignatureException"},
		{"too old", good, "iot", "eu-west-1", now.Add(-MaxSkew - time.Minute), false, "InvalidSignatureException"},
		{"unsigned", good, "iot", "eu-west-1", now, true, "MissingAuthenticationTokenException"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("POST", "https://127.0.0.1/things/lamp", strings.NewReader("{}"))
		if !c.unsigned {
			if err := v4.NewSigner().SignHTTP(context.Background(), c.creds, req, hash([]byte("{}")), c.service, c.region, c.at); err != nil {
				t.Fatal(err)
			}
		}
		err := v.VerifyHeaders(req, "iot")
		got := ""
		if e, ok := err.(*Error); ok {
			got = e.Type
		} else if err != nil {
			t.Fatalf("%s: not an *Error: %v", c.name, err)
		}
		if got != c.wantType {
			t.Errorf("%s: %v, want %q", c.name, err, c.wantType)
		}
	}
}
