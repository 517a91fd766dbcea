package localiot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotwatch/iotwatch/localiot/policy"
	"github.com/iotwatch/iotwatch/pki"
	"github.com/iotwatch/iotwatch/shadow"
)

// The registry is the backend of the control plane (moto's models.py):
// things, certificates, policies and their attachments, with AWS IoT's
// rules, and no HTTP. Every change is written to the kv before it is
// applied in memory, so what an answer reports survives a crash.

// Account is the emulator's AWS account id in every ARN.
const Account = "123456789012"

// apiError is an AWS error: its HTTP status, its type (x-amzn-ErrorType)
// and message; extra members go into the JSON body too.
type apiError struct {
	Status  int
	Type    string
	Message string
	Extra   map[string]string
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func errorf(status int, typ, format string, a ...any) *apiError {
	return &apiError{Status: status, Type: typ, Message: fmt.Sprintf(format, a...)}
}

func notFound(format string, a ...any) *apiError {
	return errorf(http.StatusNotFound, "ResourceNotFoundException", format, a...)
}

func invalid(format string, a ...any) *apiError {
	return errorf(http.StatusBadRequest, "InvalidRequestException", format, a...)
}

func alreadyExists(id, arn, format string, a ...any) *apiError {
	e := errorf(http.StatusConflict, "ResourceAlreadyExistsException", format, a...)
	e.Extra = map[string]string{"resourceId": id, "resourceArn": arn}
	return e
}

// Thing is a registry thing.
type Thing struct {
	Name       string            `json:"name"`
	ID         string            `json:"id"`
	TypeName   string            `json:"typeName,omitempty"`
	Attributes map[string]string `json:"attributes"`
	Version    int64             `json:"version"`
	Principals []string          `json:"principals"` // certificate ARNs, sorted
}

// Certificate is a registered device certificate.
type Certificate struct {
	ID        string    `json:"id"` // SHA-256 of the DER, hex, as AWS's
	ARN       string    `json:"arn"`
	Status    string    `json:"status"`
	PEM       string    `json:"pem"`
	Created   time.Time `json:"created"`
	Modified  time.Time `json:"modified"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	Policies  []string  `json:"policies"` // attached policy names, sorted
}

// Policy is an IoT policy: the default version, which is in effect, and
// every version (AWS keeps up to five).
type Policy struct {
	Name     string    `json:"name"`
	Document string    `json:"document"` // the default version's
	Version  string    `json:"version"`  // the default version's id
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
	// Versions holds every version, the default included
	// (registry_policies.go); a policy stored before versions has none.
	Versions []PolicyVersion `json:"versions,omitempty"`
	parsed   *policy.Document
}

const (
	thingsBucket   = "registry-things"
	certsBucket    = "registry-certificates"
	policiesBucket = "registry-policies"
)

// registry holds the state; one mutex is plenty for a lab.
type registry struct {
	mu       sync.Mutex
	kv       kv
	region   string
	ca       *pki.CA // signs CreateKeysAndCertificate's certificates
	now      func() time.Time
	things   map[string]*Thing
	certs    map[string]*Certificate // by id
	policies map[string]*Policy
	// gen counts changes, so connections re-read their policies only
	// after one.
	gen atomic.Int64
	// changed is signalled after a change, for the connections to be
	// checked again (mqttPolicy.revoked).
	changed chan struct{}
}

func openRegistry(k kv, region string, ca *pki.CA) (*registry, error) {
	r := &registry{kv: k, region: region, ca: ca, now: time.Now, things: map[string]*Thing{},
		certs: map[string]*Certificate{}, policies: map[string]*Policy{}, changed: make(chan struct{}, 1)}
	err := k.Load(thingsBucket, load(r.things))
	if err == nil {
		err = k.Load(certsBucket, load(r.certs))
	}
	if err == nil {
		err = k.Load(policiesBucket, load(r.policies))
	}
	if err != nil {
		return nil, fmt.Errorf("reading the registry: %w", err)
	}
	for _, p := range r.policies {
		if p.parsed, err = policy.Parse(p.Document); err != nil {
			return nil, fmt.Errorf("registry: stored policy %s: %w", p.Name, err)
		}
	}
	return r, nil
}

func load[T any](m map[string]*T) func(string, []byte) error {
	return func(key string, data []byte) error {
		v := new(T)
		if err := json.Unmarshal(data, v); err != nil {
			return fmt.Errorf("record %q: %w", key, err)
		}
		m[key] = v
		return nil
	}
}

func put(bucket, key string, v any) kvOp {
	data, _ := json.Marshal(v) // plain structs: cannot fail
	return kvOp{bucket: bucket, key: key, value: data}
}

func (r *registry) arn(kind, name string) string { return policy.ARN(r.region, Account, kind, name) }

// save persists ops; the caller changes memory only when it succeeds.
func (r *registry) save(ops ...kvOp) error {
	if err := r.kv.Apply(ops); err != nil {
		return errorf(http.StatusInternalServerError, "InternalFailureException", "writing the registry: %v", err)
	}
	// Callers apply the change under r.mu right after: a reader that sees
	// the new generation takes r.mu and so sees the change.
	r.gen.Add(1)
	select {
	case r.changed <- struct{}{}:
	default: // one signal pending is enough: the check reads the registry as it is then
	}
	return nil
}

// CreateThingInput is CreateThing's request.
type CreateThingInput struct {
	Name, TypeName string
	Attributes     map[string]string
}

func (r *registry) CreateThing(in CreateThingInput) (*Thing, error) {
	if !shadow.ValidThingName(in.Name) {
		return nil, invalid("thingName %q: use 1–128 characters of a-zA-Z0-9:_-", in.Name)
	}
	if in.TypeName != "" {
		return nil, notFound("Thing type %s does not exist (the emulator has no thing types)", in.TypeName)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.things[in.Name]; ok {
		if equalAttrs(t.Attributes, in.Attributes) {
			return t, nil // AWS answers an identical repeat with the existing thing
		}
		return nil, alreadyExists(t.ID, r.arn("thing", t.Name), "Thing %s already exists in account with different attributes", in.Name)
	}
	t := &Thing{Name: in.Name, ID: newUUID(), Attributes: in.Attributes, Version: 1, Principals: []string{}}
	if t.Attributes == nil {
		t.Attributes = map[string]string{}
	}
	if err := r.save(put(thingsBucket, t.Name, t)); err != nil {
		return nil, err
	}
	r.things[t.Name] = t
	return t, nil
}

func equalAttrs(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func (r *registry) DescribeThing(name string) (Thing, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.things[name]
	if !ok {
		return Thing{}, notFound("Thing %s cannot be found.", name)
	}
	return *t, nil
}

// ListThingsInput filters and pages ListThings.
type ListThingsInput struct {
	NextToken, AttributeName, AttributeValue string
	UsePrefix                                bool
	Max                                      int
}

func (r *registry) ListThings(in ListThingsInput) ([]Thing, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var names []string
	for n, t := range r.things {
		v, has := t.Attributes[in.AttributeName]
		if in.AttributeName == "" || has && (in.AttributeValue == "" || v == in.AttributeValue ||
			in.UsePrefix && len(v) >= len(in.AttributeValue) && v[:len(in.AttributeValue)] == in.AttributeValue) {
			names = append(names, n)
		}
	}
	page, next := paginate(names, in.NextToken, in.Max)
	out := make([]Thing, len(page))
	for i, n := range page {
		out[i] = *r.things[n]
	}
	return out, next
}

// paginate sorts keys and returns those from token (the first key of the
// page, as our tokens are), at most max, and the next page's token.
func paginate(keys []string, token string, max int) ([]string, string) {
	sort.Strings(keys)
	start := sort.SearchStrings(keys, token)
	keys = keys[start:]
	if max > 0 && len(keys) > max {
		return keys[:max], keys[max]
	}
	return keys, ""
}

func (r *registry) DeleteThing(name string, expectedVersion int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.things[name]
	if !ok {
		return nil // AWS deletes a missing thing without complaint
	}
	if expectedVersion != 0 && expectedVersion != t.Version {
		return errorf(http.StatusConflict, "VersionConflictException", "The version of thing %s does not match the expected version.", name)
	}
	if len(t.Principals) > 0 {
		return invalid("Cannot delete. Thing %s is still attached to one or more principals", name)
	}
	if err := r.save(kvOp{bucket: thingsBucket, key: name}); err != nil {
		return err
	}
	delete(r.things, name)
	return nil
}

var policyNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
