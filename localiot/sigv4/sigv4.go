// Package sigv4 verifies AWS Signature Version 4 on HTTP requests, both
// header-signed (Authorization: AWS4-HMAC-SHA256 …) and presigned
// (X-Amz-Signature in the query, as AWS IoT's MQTT-over-WebSocket URLs).
// It rebuilds the canonical request from the raw request path, because
// AWS's non-S3 clients escape the already-escaped path once more before
// signing (an ARN's %3A is signed as %253A). It imports only the standard
// library.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// MaxSkew is how far a request's date may be from the server's clock.
const MaxSkew = 5 * time.Minute

const (
	algorithm  = "AWS4-HMAC-SHA256"
	timeFormat = "20060102T150405Z"
	emptySHA   = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Credentials are an access key pair.
type Credentials struct{ AccessKeyID, SecretAccessKey string }

// Verifier checks requests signed for one region with one key pair.
type Verifier struct {
	Creds  Credentials
	Region string
	Now    func() time.Time // nil: time.Now
}

// Error is a refused request with AWS's HTTP status and error type.
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

func refuse(status int, typ, format string, a ...any) *Error {
	return &Error{Status: status, Type: typ, Message: fmt.Sprintf(format, a...)}
}

const mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// signed is what a request claims about its signature.
type signed struct {
	akid, date, region, service string
	when                        time.Time
	headers                     []string // lower case, as listed by the client
	signature                   string
	expires                     time.Duration // presigned only; 0 = none given
}

// Verify checks a header-signed request whose body is body, signed for
// one of services (e.g. "iot"; "iotdata" and "iotdevicegateway").
func (v *Verifier) Verify(r *http.Request, body []byte, services ...string) error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return refuse(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	s, err := parseAuthorization(auth, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return err
	}
	if err := noSessionToken(r.Header.Get("X-Amz-Security-Token")); err != nil {
		return err
	}
	// The body's own hash, never a hash the client claims, unless it
	// signed the payload out (UNSIGNED-PAYLOAD).
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if r.Header.Get("X-Amz-Content-Sha256") == "UNSIGNED-PAYLOAD" {
		hash = "UNSIGNED-PAYLOAD"
	}
	return v.check(r, s, r.URL.RawQuery, hash, services)
}

// VerifyPresigned checks a presigned URL (X-Amz-* query parameters).
func (v *Verifier) VerifyPresigned(r *http.Request, services ...string) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return refuse(http.StatusBadRequest, "InvalidRequestException", "the query string is not valid: %v", err)
	}
	s, err := parsePresigned(q)
	if err != nil {
		return err
	}
	if err := noSessionToken(q.Get("X-Amz-Security-Token")); err != nil {
		return err
	}
	q.Del("X-Amz-Signature")
	return v.check(r, s, q.Encode(), emptySHA, services)
}

// noSessionToken refuses a session token, signed in or appended after
// signing (as AWS IoT's device SDKs do): the verifier's keys are long-term
// ones, so any token is one AWS would not recognize, and AWS answers so
// before it looks at the signature.
func noSessionToken(token string) error {
	if token == "" {
		return nil
	}
	return refuse(http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
}

func (v *Verifier) check(r *http.Request, s signed, rawQuery, payloadHash string, services []string) error {
	if err := v.checkScope(s, services); err != nil {
		return err
	}
	if err := v.checkTime(s); err != nil {
		return err
	}
	canon, err := canonicalRequest(r, s.headers, rawQuery, payloadHash)
	if err != nil {
		return err
	}
	scope := strings.Join([]string{s.date, s.region, s.service, "aws4_request"}, "/")
	sum := sha256.Sum256([]byte(canon))
	toSign := strings.Join([]string{algorithm, s.when.Format(timeFormat), scope, hex.EncodeToString(sum[:])}, "\n")
	want := hex.EncodeToString(hmacSHA256(signingKey(v.Creds.SecretAccessKey, s.date, s.region, s.service), toSign))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(s.signature))) {
		return refuse(http.StatusForbidden, "InvalidSignatureException", "%s", mismatch)
	}
	return nil
}

func (v *Verifier) checkScope(s signed, services []string) error {
	if s.akid != v.Creds.AccessKeyID {
		return refuse(http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	if s.region != v.Region {
		return refuse(http.StatusForbidden, "InvalidSignatureException", "Credential should be scoped to a valid region, not '%s'. ", s.region)
	}
	for _, svc := range services {
		if s.service == svc {
			return nil
		}
	}
	return refuse(http.StatusForbidden, "InvalidSignatureException", "Credential should be scoped to correct service: '%s'. ", services[0])
}

func (v *Verifier) checkTime(s signed) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now().UTC()
	if s.when.Format("20060102") != s.date {
		return refuse(http.StatusForbidden, "InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s'", s.date, s.when.Format("20060102"))
	}
	if s.expires > 0 && t.After(s.when.Add(s.expires)) {
		return refuse(http.StatusForbidden, "InvalidSignatureException", "Signature expired: %s is now earlier than %s (%s - %s)",
			s.when.Add(s.expires).Format(timeFormat), t.Format(timeFormat), t.Format(timeFormat), s.expires)
	}
	if s.expires == 0 && s.when.Before(t.Add(-MaxSkew)) {
		return refuse(http.StatusForbidden, "InvalidSignatureException", "Signature expired: %s is now earlier than %s (%s - 5 min.)",
			s.when.Format(timeFormat), t.Add(-MaxSkew).Format(timeFormat), t.Format(timeFormat))
	}
	if s.when.After(t.Add(MaxSkew)) {
		return refuse(http.StatusForbidden, "InvalidSignatureException", "Signature not yet current: %s is still later than %s (%s + 5 min.)",
			s.when.Format(timeFormat), t.Add(MaxSkew).Format(timeFormat), t.Format(timeFormat))
	}
	return nil
}

func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// canonicalRequest follows the SigV4 specification. The path is the raw
// one the client sent, escaped once more as non-S3 clients do.
func canonicalRequest(r *http.Request, headers []string, rawQuery, payloadHash string) (string, error) {
	path, _, _ := strings.Cut(r.RequestURI, "?")
	if path == "" || !strings.HasPrefix(path, "/") {
		path = r.URL.EscapedPath()
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", refuse(http.StatusBadRequest, "InvalidRequestException", "the query string is not valid: %v", err)
	}
	var b strings.Builder
	for _, h := range headers {
		b.WriteString(h + ":" + headerValue(r, h) + "\n")
	}
	return strings.Join([]string{r.Method, escapePath(path), canonicalQuery(q), b.String(),
		strings.Join(headers, ";"), payloadHash}, "\n"), nil
}

func headerValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host":
		values = []string{r.Host}
	case "content-length":
		values = []string{fmt.Sprint(r.ContentLength)}
	default:
		values = r.Header.Values(name)
	}
	for i, v := range values {
		values[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(values, ",")
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, uriEncode(k, true)+"="+uriEncode(v, true))
		}
	}
	return strings.Join(parts, "&")
}

func escapePath(p string) string { return uriEncode(p, false) }

// uriEncode is SigV4's UriEncode: everything but A-Za-z0-9-._~ is
// percent-encoded, and / too when encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && !encodeSlash {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
