package localiot

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/iotwatch/iotwatch/localiot/policy"
	"github.com/iotwatch/iotwatch/pki"
)

// Certificate statuses UpdateCertificate accepts here.
const (
	statusActive   = "ACTIVE"
	statusInactive = "INACTIVE"
	statusRevoked  = "REVOKED"
)

// maxPoliciesPerTarget is AWS's limit of policies attached to one
// certificate.
const maxPoliciesPerTarget = 10

// certificateID is AWS's certificate id: the SHA-256 of the DER, in hex.
func certificateID(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// NewKeys is CreateKeysAndCertificate's answer; the private key is given
// once and never stored.
type NewKeys struct {
	Cert                  Certificate
	PublicKey, PrivateKey string
}

func (r *registry) CreateKeysAndCertificate(setAsActive bool) (NewKeys, error) {
	if r.ca == nil {
		return NewKeys{}, errorf(http.StatusInternalServerError, "InternalFailureException", "the PKI directory has no CA key (%s) to sign certificates with", pki.CAKeyFile)
	}
	leaf, err := r.ca.Issue(pki.Spec{CommonName: "AWS IoT Certificate", RSA: true})
	if err != nil {
		return NewKeys{}, errorf(http.StatusInternalServerError, "InternalFailureException", "issuing a certificate: %v", err)
	}
	status := statusInactive
	if setAsActive {
		status = statusActive
	}
	c, err := r.register(leaf.Cert, string(leaf.CertPEM), status)
	if err != nil {
		return NewKeys{}, err
	}
	return NewKeys{Cert: c, PublicKey: string(leaf.PublicKeyPEM), PrivateKey: string(leaf.KeyPEM)}, nil
}

// register records a certificate; an already registered one is returned
// as it is.
func (r *registry) register(cert *x509.Certificate, certPEM, status string) (Certificate, error) {
	id := certificateID(cert.Raw)
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.certs[id]; ok {
		return *c, nil
	}
	now := r.now().UTC()
	c := &Certificate{ID: id, ARN: r.arn("cert", id), Status: status, PEM: certPEM, Created: now, Modified: now,
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, Policies: []string{}}
	if err := r.save(put(certsBucket, id, c)); err != nil {
		return Certificate{}, err
	}
	r.certs[id] = c
	return *c, nil
}

func (r *registry) DescribeCertificate(id string) (Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.certs[id]
	if !ok {
		return Certificate{}, notFound("The certificate with id %s does not exist", id)
	}
	return *c, nil
}

func (r *registry) UpdateCertificate(id, status string) error {
	if status != statusActive && status != statusInactive && status != statusRevoked {
		return invalid("newStatus %q: use ACTIVE, INACTIVE or REVOKED", status)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.certs[id]
	if !ok {
		return notFound("The certificate with id %s does not exist", id)
	}
	if c.Status == statusRevoked && status != statusRevoked {
		return errorf(http.StatusNotAcceptable, "CertificateStateException", "Certificate %s is revoked and cannot be %s", id, strings.ToLower(status))
	}
	next := *c
	next.Status, next.Modified = status, r.now().UTC()
	if err := r.save(put(certsBucket, id, &next)); err != nil {
		return err
	}
	*c = next
	return nil
}

func (r *registry) DeleteCertificate(id string, force bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.certs[id]
	if !ok {
		return notFound("The certificate with id %s does not exist", id)
	}
	if c.Status == statusActive {
		return errorf(http.StatusNotAcceptable, "CertificateStateException", "Certificate must be deactivated before deletion.")
	}
	for _, t := range r.things {
		if slices.Contains(t.Principals, c.ARN) {
			return errorf(http.StatusConflict, "DeleteConflictException", "Things must be detached before deletion (arn: %s)", c.ARN)
		}
	}
	if len(c.Policies) > 0 && !force {
		return errorf(http.StatusConflict, "DeleteConflictException", "Certificate policies must be detached before deletion (arn: %s)", c.ARN)
	}
	if err := r.save(kvOp{bucket: certsBucket, key: id}); err != nil {
		return err
	}
	delete(r.certs, id)
	return nil
}

func (r *registry) CreatePolicy(name, document string) (Policy, error) {
	if !policyNameRE.MatchString(name) {
		return Policy{}, invalid("policyName %q: use 1–128 characters of letters, digits and +=,.@_-", name)
	}
	parsed, err := policy.Parse(document)
	if err != nil {
		return Policy{}, errorf(http.StatusBadRequest, "MalformedPolicyException", "%v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.policies[name]; ok {
		return Policy{}, alreadyExists(p.Name, r.arn("policy", name), "Policy cannot be created - name already exists (name=%s)", name)
	}
	now := r.now().UTC()
	p := &Policy{Name: name, Document: document, Version: "1", Created: now, Modified: now, parsed: parsed,
		Versions: []PolicyVersion{{ID: "1", Document: document, Created: now}}}
	if err := r.save(put(policiesBucket, name, p)); err != nil {
		return Policy{}, err
	}
	r.policies[name] = p
	return *p, nil
}

func (r *registry) GetPolicy(name string) (Policy, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.policies[name]
	if !ok {
		return Policy{}, notFound("Policy not found (name=%s)", name)
	}
	return *p, nil
}

func (r *registry) DeletePolicy(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.policies[name]
	if !ok {
		return notFound("Policy not found (name=%s)", name)
	}
	if len(p.Versions) > 1 {
		return errorf(http.StatusConflict, "DeleteConflictException", "Cannot delete the policy because it has non-default versions; delete them first (name=%s)", name)
	}
	for _, c := range r.certs {
		if slices.Contains(c.Policies, name) {
			return errorf(http.StatusConflict, "DeleteConflictException", "The policy cannot be deleted as the policy is attached to one or more principals (name=%s)", name)
		}
	}
	if err := r.save(kvOp{bucket: policiesBucket, key: name}); err != nil {
		return err
	}
	delete(r.policies, name)
	return nil
}

// certByARN finds a certificate target; the caller holds r.mu.
func (r *registry) certByARN(arn string) (*Certificate, error) {
	id, ok := strings.CutPrefix(arn, r.arn("cert", ""))
	if c, found := r.certs[id]; ok && found {
		return c, nil
	}
	return nil, notFound("The target %s does not exist (the emulator attaches policies to its certificates' ARNs)", arn)
}

// AttachPolicy and DetachPolicy are idempotent, as AWS's.
func (r *registry) AttachPolicy(name, target string) error {
	return r.changePolicies(name, target, func(ps []string) ([]string, error) {
		if slices.Contains(ps, name) {
			return ps, nil
		}
		if len(ps) >= maxPoliciesPerTarget {
			return nil, errorf(http.StatusGone, "LimitExceededException", "The number of attached policies (%d) cannot exceed %d for %s", len(ps), maxPoliciesPerTarget, target)
		}
		ps = append(slices.Clone(ps), name)
		slices.Sort(ps)
		return ps, nil
	})
}

// DetachPolicy of a policy or target that does not exist succeeds too:
// AWS's model gives DetachPolicy no ResourceNotFoundException.
func (r *registry) DetachPolicy(name, target string) error {
	err := r.changePolicies(name, target, func(ps []string) ([]string, error) {
		return slices.DeleteFunc(slices.Clone(ps), func(p string) bool { return p == name }), nil
	})
	var e *apiError
	if errors.As(err, &e) && e.Status == http.StatusNotFound {
		return nil
	}
	return err
}

func (r *registry) changePolicies(name, target string, change func([]string) ([]string, error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.policies[name]; !ok {
		return notFound("Policy not found (name=%s)", name)
	}
	c, err := r.certByARN(target)
	if err != nil {
		return err
	}
	ps, err := change(c.Policies)
	if err != nil {
		return err
	}
	next := *c
	next.Policies = ps
	if err := r.save(put(certsBucket, c.ID, &next)); err != nil {
		return err
	}
	*c = next
	return nil
}

func (r *registry) ListAttachedPolicies(target, marker string, max int) ([]string, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.certByARN(target)
	if err != nil {
		return nil, "", err
	}
	page, next := paginate(slices.Clone(c.Policies), marker, max)
	return page, next, nil
}

func (r *registry) AttachThingPrincipal(thing, principal string) error {
	return r.changePrincipals(thing, principal, func(ps []string) []string {
		if slices.Contains(ps, principal) {
			return ps
		}
		ps = append(slices.Clone(ps), principal)
		slices.Sort(ps)
		return ps
	})
}

func (r *registry) DetachThingPrincipal(thing, principal string) error {
	return r.changePrincipals(thing, principal, func(ps []string) []string {
		return slices.DeleteFunc(slices.Clone(ps), func(p string) bool { return p == principal })
	})
}

func (r *registry) changePrincipals(thing, principal string, change func([]string) []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.things[thing]
	if !ok {
		return notFound("Thing %s cannot be found.", thing)
	}
	if _, err := r.certByARN(principal); err != nil {
		return err
	}
	next := *t
	next.Principals = change(t.Principals)
	if err := r.save(put(thingsBucket, thing, &next)); err != nil {
		return err
	}
	*t = next
	return nil
}

func (r *registry) ListThingPrincipals(thing, token string, max int) ([]string, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.things[thing]
	if !ok {
		return nil, "", notFound("Thing %s cannot be found.", thing)
	}
	page, next := paginate(slices.Clone(t.Principals), token, max)
	return page, next, nil
}

// principal is what authorizing an MQTT connection needs to know about
// its certificate.
type principal struct {
	status string
	docs   []*policy.Document
	// thing is the one the client id names when the certificate is
	// attached to it, else nil: the thing policy variables describe only
	// such a thing, as AWS's (a certificate cannot act as another
	// registered thing by choosing its client id).
	thing *Thing
}

// principalFor looks up a certificate by id, for a client id; false when
// the certificate was never registered.
func (r *registry) principalFor(certID, clientID string) (principal, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.certs[certID]
	if !ok {
		return principal{}, false
	}
	p := principal{status: c.Status}
	for _, name := range c.Policies {
		if pol, ok := r.policies[name]; ok {
			p.docs = append(p.docs, pol.parsed)
		}
	}
	if t, ok := r.things[clientID]; ok && slices.Contains(t.Principals, c.ARN) {
		thing := *t
		p.thing = &thing
	}
	return p, true
}

// pemCert parses a certificate PEM.
func pemCert(s string) (*x509.Certificate, bool) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, false
	}
	c, err := x509.ParseCertificate(block.Bytes)
	return c, err == nil
}
