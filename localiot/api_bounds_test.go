package localiot

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/iotwatch/iotwatch/pki"
)

// apiTLS dials the HTTPS port and completes the TLS handshake.
func (l *lab) apiTLS(t testing.TB) *tls.Conn {
	t.Helper()
	pool, err := pki.LoadCAPool(filepath.Join(l.dir, pki.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", l.srv.APIAddr(), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedAfter reads c until the server closes it, at most limit, and
// returns how long that took; ok is false when it was still open.
func closedAfter(c net.Conn, limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	return time.Since(start), !errors.Is(err, os.ErrDeadlineExceeded)
}

// signedPost is a CreateThing request signed with the lab's keys over a
// body of n bytes, which it does not hold (the caller writes it).
func (l *lab) signedPost(t testing.TB, n int) (*http.Request, []byte) {
	t.Helper()
	creds, err := pki.LoadAWSCredentials(l.dir)
	if err != nil {
		t.Fatal(err)
	}
	return signedPostAs(t, l.srv.APIAddr(), creds, n)
}

func signedPostAs(t testing.TB, addr string, creds pki.AWSCredentials, n int) (*http.Request, []byte) {
	t.Helper()
	body := []byte(`{"attributePayload":{"attributes":{"pad":"` + strings.Repeat("x", n-46) + `"}}}`)
	return signed(t, creds, "POST", "https://"+addr+"/things/half", body), body
}

// signed is a control-plane request signed with creds over body.
func signed(t testing.TB, creds pki.AWSCredentials, method, url string, body []byte) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.ContentLength = int64(len(body))
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey},
		req, hex.EncodeToString(sum[:]), "iot", creds.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

// TestAPIConnectionsBounded: connections that stall at each step of a
// request are closed by the HTTPS port within its bound (plus 3 s for a
// loaded machine): silent TCP, silent TLS, half-sent headers (the
// handshake and headers bound), a correctly signed request whose body
// stops half-way (the request bound) and a kept-alive idle connection (the
// idle bound).
func TestAPIConnectionsBounded(t *testing.T) {
	l := newAPILab(t, "", "")
	const slack = 3 * time.Second
	cases := []struct {
		name  string
		bound time.Duration
		stall func(t *testing.T) net.Conn
	}{
		{"silent TCP", connectWithin, func(t *testing.T) net.Conn {
			c, err := net.Dial("tcp", l.srv.APIAddr())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}},
		{"silent TLS", connectWithin, func(t *testing.T) net.Conn { return l.apiTLS(t) }},
		{"half-sent headers", connectWithin, func(t *testing.T) net.Conn {
			c := l.apiTLS(t)
			fmt.Fprintf(c, "GET /things HTTP/1.1\r\nHost: x\r\nX-Half: ")
			return c
		}},
		{"half-sent signed body", requestWithin, func(t *testing.T) net.Conn {
			c := l.apiTLS(t)
			req, body := l.signedPost(t, 1000)
			stop := make(chan struct{})
			t.Cleanup(func() { close(stop) })
			req.Body = io.NopCloser(io.MultiReader(strings.NewReader(string(body[:500])), stalled(stop)))
			go req.Write(c) // stalls after 500 bytes; the server's close ends it
			return c
		}},
		{"idle after a request", idleWithin, func(t *testing.T) net.Conn {
			c := l.apiTLS(t)
			creds, _ := pki.LoadAWSCredentials(l.dir)
			signed(t, creds, "GET", "https://"+l.srv.APIAddr()+"/things", nil).Write(c)
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != http.StatusOK || res.Close {
				t.Fatalf("ListThings: %s (closing %v), want 200 on a kept-alive connection", res.Status, res.Close)
			}
			return c
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.stall(t)
			took, closed := closedAfter(c, tc.bound+slack)
			if !closed {
				t.Fatalf("still open after %v (bound %v)", took.Round(time.Millisecond), tc.bound)
			}
			t.Logf("closed after %v (bound %v)", took.Round(time.Millisecond), tc.bound)
		})
	}
}

// TestAPIRefusesBeforeReadingBody: a request signed with another access key
// is refused (403) from its headers, while its 100 KB body has not come.
func TestAPIRefusesBeforeReadingBody(t *testing.T) {
	l := newAPILab(t, "", "")
	creds, err := pki.LoadAWSCredentials(l.dir)
	if err != nil {
		t.Fatal(err)
	}
	creds.AccessKeyID = "AKIDSTRANGER"
	req, body := signedPostAs(t, l.srv.APIAddr(), creds, 100_000)
	stop := make(chan struct{})
	defer close(stop)
	req.Body = io.NopCloser(io.MultiReader(strings.NewReader(string(body[:10])), stalled(stop)))
	c := l.apiTLS(t)
	go req.Write(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer while the body had not come: %v", err)
	}
	if res.StatusCode != http.StatusForbidden || res.Header.Get("x-amzn-ErrorType") != "UnrecognizedClientException:" {
		t.Errorf("answer %s %s, want 403 UnrecognizedClientException", res.Status, res.Header.Get("x-amzn-ErrorType"))
	}
}

// stalled is a body that sends nothing more until the channel closes.
type stalled <-chan struct{}

func (s stalled) Read([]byte) (int, error) {
	<-s
	return 0, io.EOF
}

// TestAPIHeaderFloodBounded: 250 connections each sending 1 MiB of headers
// that never end are refused (431, or closed) after the header bound, and
// the emulator's heap (the test process's) grows by less than 64 MiB.
// Measured figures: go test -run TestAPIHeaderFloodBounded -v ./localiot/
func TestAPIHeaderFloodBounded(t *testing.T) {
	l := newAPILab(t, "", "")
	const conns, size = 250, 1 << 20
	pad := "X-Pad: " + strings.Repeat("p", 1000) + "\r\n"
	flood := []byte("GET /things HTTP/1.1\r\nHost: x\r\n" + strings.Repeat(pad, size/len(pad)))
	before := heapInuse()
	var written, answered sync.WaitGroup
	var mu sync.Mutex
	refused, sent := 0, 0
	for range conns {
		c := l.apiTLS(t)
		written.Add(1)
		answered.Add(1)
		go func() {
			defer answered.Done()
			c.SetDeadline(time.Now().Add(connectWithin + 3*time.Second))
			_, werr := c.Write(flood)
			written.Done()
			res, rerr := http.ReadResponse(bufio.NewReader(c), nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case rerr == nil && res.StatusCode == http.StatusRequestHeaderFieldsTooLarge, werr != nil && !errors.Is(werr, os.ErrDeadlineExceeded):
				refused++
			case werr == nil:
				sent++
			}
		}()
	}
	// The peak: every flood has been written or refused, none timed out.
	written.Wait()
	grew, peakRSS := heapInuse()-before, rss()
	answered.Wait()
	t.Logf("%d connections × 1 MiB of headers: %d refused, %d written whole and not refused; at the peak heap in use grew %.1f MiB, RSS %s",
		conns, refused, sent, float64(grew)/(1<<20), peakRSS)
	if refused != conns {
		t.Errorf("%d of %d header floods were not refused", conns-refused, conns)
	}
	if grew > 64<<20 {
		t.Errorf("heap in use grew %.0f MiB for %d header floods, want < 64 MiB", float64(grew)/(1<<20), conns)
	}
}

func heapInuse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// rss is this process's resident set, from /proc.
func rss() string {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "–"
}

// TestAPIUnauthenticatedCapped: past maxUnauthenticated connections that
// have made no signed request, a new connection is closed at once (and
// logged); a connection that made a signed request is not counted and
// goes on working; when the silent ones go, new connections are served.
func TestAPIUnauthenticatedCapped(t *testing.T) {
	l := newAPILab(t, "", "")
	c := l.iotClient(t)
	ctx := context.Background()
	if _, err := c.DescribeEndpoint(ctx, &iot.DescribeEndpointInput{}); err != nil {
		t.Fatal(err)
	}
	var silent []net.Conn
	for range maxUnauthenticated {
		s, err := net.Dial("tcp", l.srv.APIAddr())
		if err != nil {
			t.Fatal(err)
		}
		silent = append(silent, s)
	}
	probe, err := net.Dial("tcp", l.srv.APIAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	if took, closed := closedAfter(probe, 2*time.Second); !closed {
		t.Fatalf("connection %d was still open after %v", maxUnauthenticated+1, took)
	}
	l.waitLogLine(t, "connections have made no signed request yet")
	if _, err := c.DescribeEndpoint(ctx, &iot.DescribeEndpointInput{}); err != nil {
		t.Fatalf("the signed client's kept-alive connection: %v", err)
	}
	for _, s := range silent {
		s.Close()
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, err := l.iotClient(t).DescribeEndpoint(ctx, &iot.DescribeEndpointInput{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a new client once the silent connections went: %v", err)
		}
	}
}
