package provision

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"
)

// resume is a setup run again on a directory it already set up: it checks
// that the certificate is there and active and attaches what is missing,
// rather than making a second certificate.
func resume(ctx context.Context, c *iot.Client, o Options, m Manifest) (Manifest, error) {
	r := &run{c: c, o: o, m: m}
	cert, err := c.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: &m.CertificateID})
	if err != nil {
		return m, fmt.Errorf("%s names certificate %s, which iot:DescribeCertificate cannot find (%s): run 'iotwatch aws teardown --dir %s', or pass --force for a new one",
			filepath.Join(o.Dir, ManifestFile), m.CertificateID, explain(err), o.Dir)
	}
	if s := cert.CertificateDescription.Status; s != types.CertificateStatusActive {
		return m, fmt.Errorf("certificate %s is %s: activate it (aws iot update-certificate --new-status ACTIVE) or pass --force for a new one", m.CertificateID, s)
	}
	policies, err := c.ListAttachedPolicies(ctx, &iot.ListAttachedPoliciesInput{Target: &m.CertificateARN})
	if err != nil {
		return m, fmt.Errorf("iot:ListAttachedPolicies: %s", explain(err))
	}
	if !slices.ContainsFunc(policies.Policies, func(p types.Policy) bool { return aws.ToString(p.PolicyName) == m.Policy }) {
		if err := r.attachPolicy(ctx); err != nil {
			return m, err
		}
	}
	principals, err := c.ListThingPrincipals(ctx, &iot.ListThingPrincipalsInput{ThingName: &m.Thing})
	if err != nil && !isCode(err, "ResourceNotFoundException") {
		return m, fmt.Errorf("iot:ListThingPrincipals: %s", explain(err))
	}
	if err != nil {
		if err := r.ensureThing(ctx); err != nil {
			return m, err
		}
	}
	if principals == nil || !slices.Contains(principals.Principals, m.CertificateARN) {
		if err := r.attachThing(ctx); err != nil {
			return m, err
		}
	}
	r.logf("already set up: thing %s with certificate %s and policy %s", m.Thing, m.CertificateID, m.Policy)
	return r.m, nil
}

// Teardown detaches and deletes what the setup in dir created (a thing or
// policy that existed before it is kept) and removes the credentials it
// wrote, which no longer work.
func Teardown(ctx context.Context, c *iot.Client, dir string, log func(string)) error {
	m, err := ReadManifest(dir)
	if err != nil {
		return fmt.Errorf("%v: teardown removes what 'iotwatch aws setup --dir %s' created, and finds no record of it", err, dir)
	}
	r := &run{c: c, m: m}
	steps := []step{
		{"iot:DetachThingPrincipal " + m.Thing, r.detachThing},
		{"iot:DetachPolicy " + m.Policy, r.detachPolicy},
		{"iot:DeleteCertificate " + m.CertificateID, r.deleteCertificate},
	}
	if m.PolicyCreated {
		steps = append(steps, step{"iot:DeletePolicy " + m.Policy, func(ctx context.Context) error {
			_, err := c.DeletePolicy(ctx, &iot.DeletePolicyInput{PolicyName: &m.Policy})
			if isCode(err, "DeleteConflictException") {
				log(fmt.Sprintf("kept policy %s: other certificates still use it", m.Policy))
				return nil
			}
			return err
		}})
	}
	if m.ThingCreated {
		steps = append(steps, step{"iot:DeleteThing " + m.Thing, func(ctx context.Context) error {
			_, err := c.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: &m.Thing})
			return err
		}})
	}
	for _, s := range steps {
		if err := s.do(ctx); err != nil && !isCode(err, "ResourceNotFoundException") {
			return fmt.Errorf("%s: %s (run teardown again once it is fixed)", s.call, explain(err))
		}
		log("done: " + s.call)
	}
	return removeFiles(dir, m, log)
}
