package provision

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"
)

// DefaultPolicyName names the device policy setup creates (or reuses when
// it holds the same document).
const DefaultPolicyName = "iotwatch-device-least-privilege"

// Setup provisions o.Thing and writes the files into o.Dir. Run again on the
// same Dir it checks what its manifest names and repairs missing
// attachments instead of making a second certificate.
func Setup(ctx context.Context, c *iot.Client, o Options) (Manifest, error) {
	if o.PolicyName == "" {
		o.PolicyName = DefaultPolicyName
	}
	if o.DryRun {
		printPlan(o)
		return Manifest{}, nil
	}
	if m, err := ReadManifest(o.Dir); err == nil && !o.Force {
		return resume(ctx, c, o, m)
	}
	if err := refuseKeyOverwrite(o); err != nil {
		return Manifest{}, err
	}
	r := &run{c: c, o: o, m: Manifest{Thing: o.Thing, Policy: o.PolicyName, Region: o.Region,
		Profile: o.Profile, EndpointURL: o.EndpointURL, CABundle: o.CABundle}}
	var creds deviceCredentials
	for _, s := range []func(context.Context) error{
		r.describeEndpoint, r.ensureThing,
		func(ctx context.Context) (err error) { creds, err = r.createCertificate(ctx); return err },
		r.ensurePolicy, r.attachPolicy, r.attachThing,
		func(context.Context) error { return writeFiles(o, r.m, creds) },
	} {
		if err := s(ctx); err != nil {
			return Manifest{}, r.rollback(context.WithoutCancel(ctx), err)
		}
	}
	return r.m, nil
}

// refuseKeyOverwrite keeps a device key that exists from being replaced
// without --force, before any call is made.
func refuseKeyOverwrite(o Options) error {
	path := filepath.Join(o.Dir, DeviceKeyFile)
	if _, err := os.Stat(path); err == nil && !o.Force {
		return fmt.Errorf("%s already exists: pass --force to replace it (a new certificate is made; the old one keeps working until you deactivate it)", path)
	}
	return nil
}

func (r *run) describeEndpoint(ctx context.Context) error {
	out, err := r.c.DescribeEndpoint(ctx, &iot.DescribeEndpointInput{EndpointType: aws.String("iot:Data-ATS")})
	if err != nil {
		return fmt.Errorf("iot:DescribeEndpoint: %s", explain(err))
	}
	r.m.Endpoint = aws.ToString(out.EndpointAddress)
	r.logf("endpoint %s", r.m.Endpoint)
	return nil
}

// ensureThing reuses an existing thing unless another certificate is
// attached to it (another board may be using the name), else creates it.
func (r *run) ensureThing(ctx context.Context) error {
	_, err := r.c.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: &r.o.Thing})
	switch {
	case err == nil:
		principals, err := r.c.ListThingPrincipals(ctx, &iot.ListThingPrincipalsInput{ThingName: &r.o.Thing})
		if err != nil {
			return fmt.Errorf("iot:ListThingPrincipals %s: %s", r.o.Thing, explain(err))
		}
		if len(principals.Principals) > 0 && !r.o.Force {
			return fmt.Errorf("thing %q exists with another certificate attached (%s): another board may use it; choose another --thing, or pass --force to attach a second certificate", r.o.Thing, principals.Principals[0])
		}
		r.logf("thing %s exists: reused", r.o.Thing)
		return nil
	case !isCode(err, "ResourceNotFoundException"):
		return fmt.Errorf("iot:DescribeThing %s: %s", r.o.Thing, explain(err))
	}
	if _, err := r.c.CreateThing(ctx, &iot.CreateThingInput{ThingName: &r.o.Thing}); err != nil {
		return fmt.Errorf("iot:CreateThing %s: %s", r.o.Thing, explain(err))
	}
	r.m.ThingCreated = true
	r.logf("created thing %s", r.o.Thing)
	r.pushUndo(step{"iot:DeleteThing " + r.o.Thing, func(ctx context.Context) error {
		_, err := r.c.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: &r.o.Thing})
		return err
	}})
	return nil
}

// deviceCredentials are the new certificate and its private key, kept in memory
// only until they are written 0600.
type deviceCredentials struct{ certPEM, keyPEM []byte }

func (r *run) createCertificate(ctx context.Context) (deviceCredentials, error) {
	out, err := r.c.CreateKeysAndCertificate(ctx, &iot.CreateKeysAndCertificateInput{SetAsActive: true})
	if err != nil {
		return deviceCredentials{}, fmt.Errorf("iot:CreateKeysAndCertificate: %s", explain(err))
	}
	r.m.CertificateID, r.m.CertificateARN = aws.ToString(out.CertificateId), aws.ToString(out.CertificateArn)
	r.logf("created certificate %s (active)", r.m.CertificateID)
	r.pushUndo(step{"iot:DeleteCertificate " + r.m.CertificateID, r.deleteCertificate})
	return deviceCredentials{[]byte(aws.ToString(out.CertificatePem)), []byte(aws.ToString(out.KeyPair.PrivateKey))}, nil
}

// deleteCertificate deactivates the certificate (AWS refuses to delete an
// active one), then deletes it.
func (r *run) deleteCertificate(ctx context.Context) error {
	if _, err := r.c.UpdateCertificate(ctx, &iot.UpdateCertificateInput{CertificateId: &r.m.CertificateID,
		NewStatus: types.CertificateStatusInactive}); err != nil {
		return err
	}
	_, err := r.c.DeleteCertificate(ctx, &iot.DeleteCertificateInput{CertificateId: &r.m.CertificateID})
	return err
}

// ensurePolicy reuses a policy of that name holding the same document and
// refuses one holding another.
func (r *run) ensurePolicy(ctx context.Context) error {
	doc := DevicePolicy(r.m.CertificateARN)
	got, err := r.c.GetPolicy(ctx, &iot.GetPolicyInput{PolicyName: &r.o.PolicyName})
	switch {
	case err == nil && samePolicy(aws.ToString(got.PolicyDocument), doc):
		r.logf("policy %s exists with the same document: reused", r.o.PolicyName)
		return nil
	case err == nil:
		return fmt.Errorf("policy %q exists with another document: give another name with --policy-name, or delete it (aws iot delete-policy --policy-name %s) if nothing uses it", r.o.PolicyName, r.o.PolicyName)
	case !isCode(err, "ResourceNotFoundException"):
		return fmt.Errorf("iot:GetPolicy %s: %s", r.o.PolicyName, explain(err))
	}
	if _, err := r.c.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: &r.o.PolicyName, PolicyDocument: &doc}); err != nil {
		return fmt.Errorf("iot:CreatePolicy %s: %s", r.o.PolicyName, explain(err))
	}
	r.m.PolicyCreated = true
	r.logf("created policy %s (least privilege: its own thing's shadows only)", r.o.PolicyName)
	r.pushUndo(step{"iot:DeletePolicy " + r.o.PolicyName, func(ctx context.Context) error {
		_, err := r.c.DeletePolicy(ctx, &iot.DeletePolicyInput{PolicyName: &r.o.PolicyName})
		return err
	}})
	return nil
}

func (r *run) attachPolicy(ctx context.Context) error {
	if _, err := r.c.AttachPolicy(ctx, &iot.AttachPolicyInput{PolicyName: &r.o.PolicyName, Target: &r.m.CertificateARN}); err != nil {
		return fmt.Errorf("iot:AttachPolicy %s: %s", r.o.PolicyName, explain(err))
	}
	r.logf("attached policy %s to the certificate", r.o.PolicyName)
	r.pushUndo(step{"iot:DetachPolicy " + r.o.PolicyName, r.detachPolicy})
	return nil
}

func (r *run) detachPolicy(ctx context.Context) error {
	_, err := r.c.DetachPolicy(ctx, &iot.DetachPolicyInput{PolicyName: &r.m.Policy, Target: &r.m.CertificateARN})
	return err
}

func (r *run) attachThing(ctx context.Context) error {
	if _, err := r.c.AttachThingPrincipal(ctx, &iot.AttachThingPrincipalInput{ThingName: &r.o.Thing, Principal: &r.m.CertificateARN}); err != nil {
		return fmt.Errorf("iot:AttachThingPrincipal %s: %s", r.o.Thing, explain(err))
	}
	r.logf("attached the certificate to thing %s", r.o.Thing)
	r.pushUndo(step{"iot:DetachThingPrincipal " + r.o.Thing, r.detachThing})
	return nil
}

func (r *run) detachThing(ctx context.Context) error {
	_, err := r.c.DetachThingPrincipal(ctx, &iot.DetachThingPrincipalInput{ThingName: &r.m.Thing, Principal: &r.m.CertificateARN})
	return err
}

func printPlan(o Options) {
	lines := []string{
		"iot:DescribeEndpoint endpointType=iot:Data-ATS",
		fmt.Sprintf("iot:DescribeThing thingName=%s, then iot:CreateThing if it does not exist", o.Thing),
		"iot:CreateKeysAndCertificate setAsActive=true",
		fmt.Sprintf("iot:GetPolicy policyName=%s, then iot:CreatePolicy with docs/policies/device-least-privilege.json if it does not exist", o.PolicyName),
		fmt.Sprintf("iot:AttachPolicy policyName=%s target=<the new certificate's ARN>", o.PolicyName),
		fmt.Sprintf("iot:AttachThingPrincipal thingName=%s principal=<the new certificate's ARN>", o.Thing),
	}
	r := &run{o: o}
	r.logf("dry run: would call")
	for _, l := range lines {
		r.logf("  %s", l)
	}
	r.logf("and write in %s: %s, %s (0600), %s, device.toml, watch.toml, secrets.h (0600), %s", o.Dir,
		DeviceCertFile, DeviceKeyFile, o.CAFile, ManifestFile)
}
