package localiot

import (
	"net"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// The control plane's wire layer (moto's responses.py): read the request's
// members, call the registry, write AWS's answer members.

// epoch is a timestamp member: rest-json sends epoch seconds.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// intQuery reads an integer query member; absent is 0.
func intQuery(c *call, name string, max int) (int, error) {
	s := c.query.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, invalid("%s=%q: give a number from 1 to %d", name, s, max)
	}
	return n, nil
}

func boolQuery(c *call, name string) bool { return c.query.Get(name) == "true" }

func (a *api) createThing(c *call) (any, error) {
	var in struct {
		ThingTypeName    string `json:"thingTypeName"`
		AttributePayload struct {
			Attributes map[string]string `json:"attributes"`
		} `json:"attributePayload"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := checkAttributes(in.AttributePayload.Attributes, in.ThingTypeName != ""); err != nil {
		return nil, err
	}
	t, err := a.srv.registry.CreateThing(CreateThingInput{Name: c.label("thingName"), TypeName: in.ThingTypeName,
		Attributes: in.AttributePayload.Attributes})
	if err != nil {
		return nil, err
	}
	return map[string]string{"thingName": t.Name, "thingArn": a.srv.registry.arn("thing", t.Name), "thingId": t.ID}, nil
}

// AWS's limits on thing attributes (botocore's model, AWS IoT's quotas):
// three without a thing type, fifty with one; names of 1–128 and values of
// up to 800 characters of a-zA-Z0-9_.,@/:#-.
const (
	maxAttributes      = 3
	maxTypedAttributes = 50
	maxAttrName        = 128
	maxAttrValue       = 800
)

var attrRE = regexp.MustCompile(`^[a-zA-Z0-9_.,@/:#-]*$`)

func checkAttributes(attrs map[string]string, typed bool) error {
	max := maxAttributes
	if typed {
		max = maxTypedAttributes
	}
	if len(attrs) > max {
		return invalid("%d attributes: a thing without a thing type has at most %d (%d with one)", len(attrs), maxAttributes, maxTypedAttributes)
	}
	for k, v := range attrs {
		switch {
		case k == "" || len(k) > maxAttrName || !attrRE.MatchString(k):
			return invalid("attribute name %q: use 1–%d characters of a-zA-Z0-9_.,@/:#-", k, maxAttrName)
		case len(v) > maxAttrValue || !attrRE.MatchString(v):
			return invalid("attribute %s: the value %q must be up to %d characters of a-zA-Z0-9_.,@/:#-", k, v, maxAttrValue)
		}
	}
	return nil
}

type thingOut struct {
	DefaultClientID string            `json:"defaultClientId,omitempty"`
	ThingName       string            `json:"thingName"`
	ThingID         string            `json:"thingId,omitempty"`
	ThingArn        string            `json:"thingArn"`
	ThingTypeName   string            `json:"thingTypeName,omitempty"`
	Attributes      map[string]string `json:"attributes"`
	Version         int64             `json:"version"`
}

func (a *api) describeThing(c *call) (any, error) {
	t, err := a.srv.registry.DescribeThing(c.label("thingName"))
	if err != nil {
		return nil, err
	}
	return thingOut{DefaultClientID: t.Name, ThingName: t.Name, ThingID: t.ID, ThingArn: a.srv.registry.arn("thing", t.Name),
		ThingTypeName: t.TypeName, Attributes: t.Attributes, Version: t.Version}, nil
}

func (a *api) listThings(c *call) (any, error) {
	max, err := intQuery(c, "maxResults", 250)
	if err != nil {
		return nil, err
	}
	things, next := a.srv.registry.ListThings(ListThingsInput{NextToken: c.query.Get("nextToken"), Max: max,
		AttributeName: c.query.Get("attributeName"), AttributeValue: c.query.Get("attributeValue"),
		UsePrefix: boolQuery(c, "usePrefixAttributeValue")})
	out := struct {
		Things    []thingOut `json:"things"`
		NextToken string     `json:"nextToken,omitempty"`
	}{Things: []thingOut{}, NextToken: next}
	if c.query.Get("thingTypeName") != "" {
		things = nil // the emulator has no thing types, so no thing has one
	}
	for _, t := range things {
		out.Things = append(out.Things, thingOut{ThingName: t.Name, ThingArn: a.srv.registry.arn("thing", t.Name),
			ThingTypeName: t.TypeName, Attributes: t.Attributes, Version: t.Version})
	}
	return out, nil
}

func (a *api) deleteThing(c *call) (any, error) {
	var version int64
	if s := c.query.Get("expectedVersion"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, invalid("expectedVersion=%q is not a number", s)
		}
		version = v
	}
	return nil, a.srv.registry.DeleteThing(c.label("thingName"), version)
}

func (a *api) createKeysAndCertificate(c *call) (any, error) {
	k, err := a.srv.registry.CreateKeysAndCertificate(boolQuery(c, "setAsActive"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"certificateArn": k.Cert.ARN, "certificateId": k.Cert.ID, "certificatePem": k.Cert.PEM,
		"keyPair": map[string]string{"PublicKey": k.PublicKey, "PrivateKey": k.PrivateKey}}, nil
}

func (a *api) describeCertificate(c *call) (any, error) {
	cert, err := a.srv.registry.DescribeCertificate(c.label("certificateId"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"certificateDescription": map[string]any{
		"certificateArn": cert.ARN, "certificateId": cert.ID, "status": cert.Status, "certificatePem": cert.PEM,
		"ownedBy": Account, "creationDate": epoch(cert.Created), "lastModifiedDate": epoch(cert.Modified),
		"customerVersion": 1, "generationId": strconv.FormatInt(cert.Modified.UnixNano(), 10),
		"validity":        map[string]float64{"notBefore": epoch(cert.NotBefore), "notAfter": epoch(cert.NotAfter)},
		"certificateMode": "DEFAULT",
	}}, nil
}

func (a *api) updateCertificate(c *call) (any, error) {
	return nil, a.srv.registry.UpdateCertificate(c.label("certificateId"), c.query.Get("newStatus"))
}

func (a *api) deleteCertificate(c *call) (any, error) {
	return nil, a.srv.registry.DeleteCertificate(c.label("certificateId"), boolQuery(c, "forceDelete"))
}

func (a *api) createPolicy(c *call) (any, error) {
	var in struct {
		PolicyDocument string `json:"policyDocument"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	p, err := a.srv.registry.CreatePolicy(c.label("policyName"), in.PolicyDocument)
	if err != nil {
		return nil, err
	}
	return map[string]string{"policyName": p.Name, "policyArn": a.srv.registry.arn("policy", p.Name),
		"policyDocument": p.Document, "policyVersionId": p.Version}, nil
}

func (a *api) getPolicy(c *call) (any, error) {
	p, err := a.srv.registry.GetPolicy(c.label("policyName"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"policyName": p.Name, "policyArn": a.srv.registry.arn("policy", p.Name),
		"policyDocument": p.Document, "defaultVersionId": p.Version, "creationDate": epoch(p.Created),
		"lastModifiedDate": epoch(p.Modified), "generationId": strconv.FormatInt(p.Modified.UnixNano(), 10)}, nil
}

func (a *api) deletePolicy(c *call) (any, error) {
	return nil, a.srv.registry.DeletePolicy(c.label("policyName"))
}

func (a *api) createPolicyVersion(c *call) (any, error) {
	var in struct {
		PolicyDocument string `json:"policyDocument"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	p, v, err := a.srv.registry.CreatePolicyVersion(c.label("policyName"), in.PolicyDocument, boolQuery(c, "setAsDefault"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"policyArn": a.srv.registry.arn("policy", p.Name), "policyDocument": v.Document,
		"policyVersionId": v.ID, "isDefaultVersion": p.Version == v.ID}, nil
}

func (a *api) listPolicyVersions(c *call) (any, error) {
	p, vs, err := a.srv.registry.PolicyVersions(c.label("policyName"))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, v := range vs {
		out = append(out, map[string]any{"versionId": v.ID, "isDefaultVersion": v.ID == p.Version, "createDate": epoch(v.Created)})
	}
	return map[string]any{"policyVersions": out}, nil
}

func (a *api) getPolicyVersion(c *call) (any, error) {
	p, vs, err := a.srv.registry.PolicyVersions(c.label("policyName"))
	if err != nil {
		return nil, err
	}
	id := c.label("policyVersionId")
	i := slices.IndexFunc(vs, func(v PolicyVersion) bool { return v.ID == id })
	if i < 0 {
		return nil, notFound("Policy version %s of %s not found", id, p.Name)
	}
	v := vs[i]
	return map[string]any{"policyArn": a.srv.registry.arn("policy", p.Name), "policyName": p.Name,
		"policyDocument": v.Document, "policyVersionId": v.ID, "isDefaultVersion": v.ID == p.Version,
		"creationDate": epoch(v.Created), "lastModifiedDate": epoch(v.Created),
		"generationId": strconv.FormatInt(v.Created.UnixNano(), 10)}, nil
}

func (a *api) deletePolicyVersion(c *call) (any, error) {
	return nil, a.srv.registry.DeletePolicyVersion(c.label("policyName"), c.label("policyVersionId"))
}

func (a *api) setDefaultPolicyVersion(c *call) (any, error) {
	return nil, a.srv.registry.SetDefaultPolicyVersion(c.label("policyName"), c.label("policyVersionId"))
}

// target reads the {"target": arn} body of AttachPolicy and DetachPolicy.
func target(c *call) (string, error) {
	var in struct {
		Target string `json:"target"`
	}
	if err := c.decode(&in); err != nil {
		return "", err
	}
	if in.Target == "" {
		return "", invalid("target is required: the certificate's ARN")
	}
	return in.Target, nil
}

func (a *api) attachPolicy(c *call) (any, error) {
	t, err := target(c)
	if err != nil {
		return nil, err
	}
	return nil, a.srv.registry.AttachPolicy(c.label("policyName"), t)
}

func (a *api) detachPolicy(c *call) (any, error) {
	t, err := target(c)
	if err != nil {
		return nil, err
	}
	return nil, a.srv.registry.DetachPolicy(c.label("policyName"), t)
}

func (a *api) listAttachedPolicies(c *call) (any, error) {
	size, err := intQuery(c, "pageSize", 250)
	if err != nil {
		return nil, err
	}
	names, next, err := a.srv.registry.ListAttachedPolicies(c.label("target"), c.query.Get("marker"), size)
	if err != nil {
		return nil, err
	}
	type pol struct {
		PolicyName string `json:"policyName"`
		PolicyArn  string `json:"policyArn"`
	}
	out := struct {
		Policies   []pol  `json:"policies"`
		NextMarker string `json:"nextMarker,omitempty"`
	}{Policies: []pol{}, NextMarker: next}
	for _, n := range names {
		out.Policies = append(out.Policies, pol{n, a.srv.registry.arn("policy", n)})
	}
	return out, nil
}

func principalHeader(c *call) (string, error) {
	p := c.headers.Get("x-amzn-principal")
	if p == "" {
		return "", invalid("the x-amzn-principal header (the certificate's ARN) is required")
	}
	return p, nil
}

func (a *api) attachThingPrincipal(c *call) (any, error) {
	p, err := principalHeader(c)
	if err != nil {
		return nil, err
	}
	return nil, a.srv.registry.AttachThingPrincipal(c.label("thingName"), p)
}

func (a *api) detachThingPrincipal(c *call) (any, error) {
	p, err := principalHeader(c)
	if err != nil {
		return nil, err
	}
	return nil, a.srv.registry.DetachThingPrincipal(c.label("thingName"), p)
}

func (a *api) listThingPrincipals(c *call) (any, error) {
	max, err := intQuery(c, "maxResults", 250)
	if err != nil {
		return nil, err
	}
	ps, next, err := a.srv.registry.ListThingPrincipals(c.label("thingName"), c.query.Get("nextToken"), max)
	if err != nil {
		return nil, err
	}
	return struct {
		Principals []string `json:"principals"`
		NextToken  string   `json:"nextToken,omitempty"`
	}{ps, next}, nil
}

// describeEndpoint answers with the host the caller reached the API on:
// the emulator serves MQTT (8883) and HTTPS on it, with a certificate
// naming it.
func (a *api) describeEndpoint(c *call) (any, error) {
	switch t := c.query.Get("endpointType"); t {
	case "", "iot:Data", "iot:Data-ATS", "iot:CredentialProvider", "iot:Jobs":
	default:
		return nil, invalid("endpointType %q: use iot:Data-ATS, iot:Data, iot:CredentialProvider or iot:Jobs", t)
	}
	host, _, err := net.SplitHostPort(c.r.Host)
	if err != nil {
		host = c.r.Host
	}
	return map[string]string{"endpointAddress": host}, nil
}
