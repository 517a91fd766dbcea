package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var good = aws.Credentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "secret-local"}

// server answers 200 when the request verifies, else the error's status
// with its type and message as JSON.
func server(t *testing.T, v *Verifier, presigned bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var err error
		if presigned {
			err = v.VerifyPresigned(r, "iotdevicegateway", "iotdata")
		} else {
			err = v.Verify(r, body, "iot")
		}
		if e, ok := err.(*Error); ok {
			w.WriteHeader(e.Status)
			json.NewEncoder(w).Encode(map[string]string{"type": e.Type, "message": e.Message})
			return
		}
		if err != nil {
			t.Errorf("not an *Error: %v", err)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func hash(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

type outcome struct {
	Status int
	Type   string `json:"type"`
	Msg    string `json:"message"`
}

func send(t *testing.T, req *http.Request) outcome {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	o := outcome{Status: res.StatusCode}
	json.NewDecoder(res.Body).Decode(&o)
	return o
}

func TestVerifyHeaderSigned(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := server(t, &Verifier{Creds: Credentials{good.AccessKeyID, good.SecretAccessKey}, Region: "eu-west-1",
		Now: func() time.Time { return now }}, false)
	body := []byte(`{"target":"arn:aws:iot:eu-west-1:123456789012:cert/abc"}`)
	cases := []struct {
		name      string
		creds     aws.Credentials
		region    string
		service   string
		at        time.Time
		tamper    bool
		status    int
		errorType string
	}{
		{"signed right", good, "eu-west-1", "iot", now, false, 200, ""},
		{"4 minutes old", good, "eu-west-1", "iot", now.Add(-4 * time.Minute), false, 200, ""},
		{"wrong secret", aws.Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: "x"}, "eu-west-1", "iot", now, false, 403, "InvalidSignatureException"},
		{"unknown key", aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: good.SecretAccessKey}, "eu-west-1", "iot", now, false, 403, "UnrecognizedClientException"},
		{"wrong region", good, "us-east-1", "iot", now, false, 403, "InvalidSignatureException"},
		{"wrong service", good, "eu-west-1", "s3", now, false, 403, "InvalidSignatureException"},
		{"6 minutes old", good, "eu-west-1", "iot", now.Add(-6 * time.Minute), false, 403, "InvalidSignatureException"},
		{"6 minutes ahead", good, "eu-west-1", "iot", now.Add(6 * time.Minute), false, 403, "InvalidSignatureException"},
		{"body changed after signing", good, "eu-west-1", "iot", now, true, 403, "InvalidSignatureException"},
		// The emulator's keys are long-term: AWS does not recognize a
		// session token signed in with them.
		{"bogus session token", aws.Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: good.SecretAccessKey, SessionToken: "bogus"},
			"eu-west-1", "iot", now, false, 403, "UnrecognizedClientException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// An escaped ARN in the path and a query value with a space:
			// both must be canonicalized as AWS's clients do.
			req, _ := http.NewRequest("POST", srv.URL+"/attached-policies/arn%3Aaws%3Aiot%3Aeu-west-1%3A1%3Acert%2Fabc?marker=a%20b&pageSize=5", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if err := v4.NewSigner().SignHTTP(context.Background(), c.creds, req, hash(body), c.service, c.region, c.at); err != nil {
				t.Fatal(err)
			}
			if c.tamper {
				// The signed hash header stays: the body's own hash counts.
				req.Header.Set("X-Amz-Content-Sha256", hash(body))
				req.Body = io.NopCloser(strings.NewReader(strings.Replace(string(body), "abc", "abd", 1)))
			}
			got := send(t, req)
			if got.Status != c.status || got.Type != c.errorType {
				t.Errorf("got %d %s (%s), want %d %s", got.Status, got.Type, got.Msg, c.status, c.errorType)
			}
		})
	}
}

func TestVerifyRefusesUnsigned(t *testing.T) {
	srv := server(t, &Verifier{Creds: Credentials{good.AccessKeyID, good.SecretAccessKey}, Region: "eu-west-1"}, false)
	req, _ := http.NewRequest("GET", srv.URL+"/things", nil)
	if got := send(t, req); got.Status != 403 || got.Type != "MissingAuthenticationTokenException" {
		t.Errorf("got %+v", got)
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/2026/eu-west-1, Signature=00")
	if got := send(t, req); got.Status != 400 || got.Type != "InvalidRequestException" || !strings.Contains(got.Msg, "Credential") {
		t.Errorf("got %+v", got)
	}
}

func TestVerifyPresigned(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := server(t, &Verifier{Creds: Credentials{good.AccessKeyID, good.SecretAccessKey}, Region: "eu-west-1",
		Now: func() time.Time { return now }}, true)
	withToken := good
	withToken.SessionToken = "token/with+chars"
	cases := []struct {
		name       string
		creds      aws.Credentials
		at         time.Time
		expires    string
		tokenAfter bool // appended after signing, as AWS's device SDKs do
		status     int
		errorType  string
	}{
		{"presigned right", good, now, "", false, 200, ""},
		{"within X-Amz-Expires", good, now.Add(-time.Hour), "86400", false, 200, ""},
		// The emulator's keys are long-term: a session token is bogus.
		{"token signed in", withToken, now, "", false, 403, "UnrecognizedClientException"},
		{"token appended after signing", good, now, "", true, 403, "UnrecognizedClientException"},
		{"past X-Amz-Expires", good, now.Add(-2 * time.Hour), "3600", false, 403, "InvalidSignatureException"},
		{"old without X-Amz-Expires", good, now.Add(-10 * time.Minute), "", false, 403, "InvalidSignatureException"},
		{"wrong secret", aws.Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: "x"}, now, "", false, 403, "InvalidSignatureException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := srv.URL + "/mqtt"
			if c.expires != "" {
				u += "?X-Amz-Expires=" + c.expires
			}
			req, _ := http.NewRequest("GET", u, nil)
			signedURL, _, err := v4.NewSigner().PresignHTTP(context.Background(), c.creds, req, hash(nil), "iotdevicegateway", "eu-west-1", c.at)
			if err != nil {
				t.Fatal(err)
			}
			if c.tokenAfter {
				signedURL += "&X-Amz-Security-Token=abc%2Fdef"
			}
			req, _ = http.NewRequest("GET", signedURL, nil)
			got := send(t, req)
			if got.Status != c.status || got.Type != c.errorType {
				t.Errorf("got %d %s (%s), want %d %s", got.Status, got.Type, got.Msg, c.status, c.errorType)
			}
		})
	}
}
