package sigv4

import "net/http"

// VerifyHeaders checks what a header-signed request's headers alone show:
// an Authorization header for these credentials, scoped to the region and
// one of services, dated within MaxSkew. A server calls it before it reads
// the body that Verify needs, so that a stranger's request is refused
// without its body being read.
func (v *Verifier) VerifyHeaders(r *http.Request, services ...string) error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return refuse(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	s, err := parseAuthorization(auth, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return err
	}
	if err := v.checkScope(s, services); err != nil {
		return err
	}
	return v.checkTime(s)
}
