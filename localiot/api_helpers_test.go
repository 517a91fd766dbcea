package localiot

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iotdataplane"
	"github.com/aws/smithy-go"

	"github.com/iotwatch/iotwatch/pki"
)

// newAPILab is a lab whose emulator also serves the HTTPS APIs.
func newAPILab(t testing.TB, dataDir string, iamPolicy string) *lab {
	return newAPILabWith(t, Options{DataDir: dataDir, IAMPolicy: iamPolicy})
}

// newAPILabWith is newAPILab with more options (addresses, PKI and log are
// the lab's).
func newAPILabWith(t testing.TB, o Options) *lab {
	t.Helper()
	dir := t.TempDir()
	if err := pki.Init(dir, pki.InitOptions{Thing: thing, Region: "eu-west-1"}); err != nil {
		t.Fatal(err)
	}
	l := &lab{dir: dir, log: &syncBuffer{}}
	o.Listen, o.APIListen, o.PKIDir, o.Log = "127.0.0.1:0", "127.0.0.1:0", dir, l.log
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	l.srv = srv
	t.Cleanup(func() { srv.Close() })
	return l
}

// awsConfig is what an SDK user would load from certs init's files, with
// the lab CA trusted.
func (l *lab) awsConfig(t testing.TB) aws.Config {
	t.Helper()
	creds, err := pki.LoadAWSCredentials(l.dir)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pki.LoadCAPool(filepath.Join(l.dir, pki.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	return aws.Config{Region: creds.Region,
		Credentials:      credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
		HTTPClient:       &http.Client{Transport: l.transport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}})},
		RetryMaxAttempts: 1}
}

func (l *lab) iotClient(t testing.TB) *iot.Client {
	return iot.NewFromConfig(l.awsConfig(t), func(o *iot.Options) { o.BaseEndpoint = aws.String("https://" + l.srv.APIAddr()) })
}

func (l *lab) dataClient(t testing.TB) *iotdataplane.Client {
	return iotdataplane.NewFromConfig(l.awsConfig(t), func(o *iotdataplane.Options) {
		o.BaseEndpoint = aws.String("https://" + l.srv.APIAddr())
	})
}

// wantAPIError checks the error code an SDK call failed with (and that the
// SDK mapped it to a response with that HTTP status).
func wantAPIError(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("%s: got %v, want %s", what, err, code)
	}
}

// registerLeaf registers a certificate a test issued as certs init's device
// certificate is: ACTIVE, with the device policy.
func (l *lab) registerLeaf(t testing.TB, leaf *pki.Leaf) {
	t.Helper()
	c, err := l.srv.registry.register(leaf.Cert, string(leaf.CertPEM), statusActive)
	if err == nil {
		err = l.srv.registry.AttachPolicy(devicePolicy, c.ARN)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// count is how many messages arrived on topic so far.
func (b *inbox) count(topic string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, m := range b.msgs {
		if m.topic == topic {
			n++
		}
	}
	return n
}

// transport records the exchanges when the lab has a recorder.
func (l *lab) transport(rt http.RoundTripper) http.RoundTripper {
	if l.recorder == nil {
		return rt
	}
	l.recorder.next = rt
	return l.recorder
}

// recorder keeps every answer the SDK received, for api_model_test.go.
type recorder struct {
	next      http.RoundTripper
	mu        sync.Mutex
	exchanges []exchange
}

type exchange struct {
	method, rawPath, service string
	status                   int
	errorType                string
	body                     []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := r.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.exchanges = append(r.exchanges, exchange{req.Method, req.URL.EscapedPath(), signedService(req), res.StatusCode, res.Header.Get("x-amzn-ErrorType"), body})
	r.mu.Unlock()
	return res, err
}
