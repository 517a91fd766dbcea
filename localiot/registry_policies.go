package localiot

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/iotwatch/iotwatch/localiot/policy"
)

// PolicyVersion is one version of a policy: AWS keeps up to five, one of
// them the default, which is the one in effect.
type PolicyVersion struct {
	ID       string    `json:"id"`
	Document string    `json:"document"`
	Created  time.Time `json:"created"`
}

const maxPolicyVersions = 5

// versions are a policy's versions; a policy stored before the registry
// kept versions has its default alone.
func (p *Policy) versions() []PolicyVersion {
	if len(p.Versions) == 0 {
		return []PolicyVersion{{ID: p.Version, Document: p.Document, Created: p.Created}}
	}
	return p.Versions
}

func (p *Policy) version(id string) (PolicyVersion, bool) {
	for _, v := range p.versions() {
		if v.ID == id {
			return v, true
		}
	}
	return PolicyVersion{}, false
}

// policyFor finds a policy; the caller holds r.mu.
func (r *registry) policyFor(name string) (*Policy, error) {
	p, ok := r.policies[name]
	if !ok {
		return nil, notFound("Policy not found (name=%s)", name)
	}
	return p, nil
}

// CreatePolicyVersion adds a version (ids grow from the highest, as AWS's),
// the default one when setAsDefault: the certificates it is attached to
// are authorized by it from their next request.
func (r *registry) CreatePolicyVersion(name, document string, setAsDefault bool) (Policy, PolicyVersion, error) {
	parsed, err := policy.Parse(document)
	if err != nil {
		return Policy{}, PolicyVersion{}, errorf(http.StatusBadRequest, "MalformedPolicyException", "%v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.policyFor(name)
	if err != nil {
		return Policy{}, PolicyVersion{}, err
	}
	vs := p.versions()
	if len(vs) >= maxPolicyVersions {
		return Policy{}, PolicyVersion{}, errorf(http.StatusConflict, "VersionsLimitExceededException",
			"The policy %s already has the maximum number of versions (%d); delete one first", name, maxPolicyVersions)
	}
	last := 0
	for _, v := range vs {
		last = max(last, atoi(v.ID))
	}
	now := r.now().UTC()
	v := PolicyVersion{ID: strconv.Itoa(last + 1), Document: document, Created: now}
	next := *p
	next.Versions = append(slices.Clone(vs), v)
	next.Modified = now
	if setAsDefault {
		next.Document, next.Version, next.parsed = document, v.ID, parsed
	}
	return next, v, r.replacePolicy(&next)
}

// SetDefaultPolicyVersion makes a version the one in effect.
func (r *registry) SetDefaultPolicyVersion(name, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.policyFor(name)
	if err != nil {
		return err
	}
	v, ok := p.version(id)
	if !ok {
		return notFound("Policy version %s of %s not found", id, name)
	}
	parsed, err := policy.Parse(v.Document)
	if err != nil {
		return errorf(http.StatusInternalServerError, "InternalFailureException", "stored policy %s version %s: %v", name, id, err)
	}
	next := *p
	next.Versions = p.versions()
	next.Document, next.Version, next.parsed, next.Modified = v.Document, v.ID, parsed, r.now().UTC()
	return r.replacePolicy(&next)
}

// DeletePolicyVersion deletes a version other than the default (AWS:
// DeletePolicy deletes the last one).
func (r *registry) DeletePolicyVersion(name, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.policyFor(name)
	if err != nil {
		return err
	}
	if _, ok := p.version(id); !ok {
		return notFound("Policy version %s of %s not found", id, name)
	}
	if id == p.Version {
		return errorf(http.StatusConflict, "DeleteConflictException", "Cannot delete the default version %s of %s; make another the default first", id, name)
	}
	next := *p
	next.Versions = slices.DeleteFunc(slices.Clone(p.versions()), func(v PolicyVersion) bool { return v.ID == id })
	return r.replacePolicy(&next)
}

// PolicyVersions returns a policy and its versions, newest first.
func (r *registry) PolicyVersions(name string) (Policy, []PolicyVersion, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.policyFor(name)
	if err != nil {
		return Policy{}, nil, err
	}
	vs := slices.Clone(p.versions())
	slices.SortFunc(vs, func(a, b PolicyVersion) int { return atoi(b.ID) - atoi(a.ID) })
	return *p, vs, nil
}

// replacePolicy stores a changed policy; the caller holds r.mu.
func (r *registry) replacePolicy(p *Policy) error {
	if err := r.save(put(policiesBucket, p.Name, p)); err != nil {
		return err
	}
	r.policies[p.Name] = p
	return nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
