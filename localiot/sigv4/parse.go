package sigv4

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// parseAuthorization reads
// "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/iot/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=hex".
func parseAuthorization(auth, date string) (signed, error) {
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != algorithm {
		return signed{}, refuse(http.StatusBadRequest, "InvalidRequestException", "Authorization header: only %s is supported (got %q)", algorithm, alg)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	s, err := parseCredential(fields["Credential"])
	if err != nil {
		return s, err
	}
	s.headers = strings.Split(fields["SignedHeaders"], ";")
	s.signature = fields["Signature"]
	if fields["SignedHeaders"] == "" || s.signature == "" {
		return s, refuse(http.StatusBadRequest, "InvalidRequestException", "Authorization header needs Credential, SignedHeaders and Signature")
	}
	s.when, err = time.Parse(timeFormat, date)
	if err != nil {
		return s, refuse(http.StatusBadRequest, "InvalidRequestException", "X-Amz-Date %q is not an ISO 8601 basic date such as 20260101T120000Z", date)
	}
	return s, nil
}

func parsePresigned(q url.Values) (signed, error) {
	if q.Get("X-Amz-Algorithm") != algorithm {
		return signed{}, refuse(http.StatusBadRequest, "InvalidRequestException", "X-Amz-Algorithm must be %s", algorithm)
	}
	s, err := parseCredential(q.Get("X-Amz-Credential"))
	if err != nil {
		return s, err
	}
	s.headers = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	s.signature = q.Get("X-Amz-Signature")
	if s.signature == "" || q.Get("X-Amz-SignedHeaders") == "" {
		return s, refuse(http.StatusBadRequest, "InvalidRequestException", "a presigned URL needs X-Amz-SignedHeaders and X-Amz-Signature")
	}
	if s.when, err = time.Parse(timeFormat, q.Get("X-Amz-Date")); err != nil {
		return s, refuse(http.StatusBadRequest, "InvalidRequestException", "X-Amz-Date %q is not an ISO 8601 basic date such as 20260101T120000Z", q.Get("X-Amz-Date"))
	}
	if e := q.Get("X-Amz-Expires"); e != "" {
		n, err := strconv.Atoi(e)
		if err != nil || n <= 0 || n > 604800 {
			return s, refuse(http.StatusBadRequest, "InvalidRequestException", "X-Amz-Expires %q must be 1 to 604800 seconds", e)
		}
		s.expires = time.Duration(n) * time.Second
	}
	return s, nil
}

// parseCredential reads AKID/yyyymmdd/region/service/aws4_request.
func parseCredential(c string) (signed, error) {
	parts := strings.Split(c, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return signed{}, refuse(http.StatusBadRequest, "InvalidRequestException", "Credential %q must be ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request", c)
	}
	return signed{akid: parts[0], date: parts[1], region: parts[2], service: parts[3]}, nil
}
