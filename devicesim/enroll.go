package devicesim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"
	"github.com/aws/smithy-go"

	"github.com/iotwatch/iotwatch/provision"
)

// FleetPolicy is the policy of a simulated fleet's certificates: aws
// setup's least-privilege device policy, each device its own thing only.
const FleetPolicy = "iotwatch-sim-fleet"

// ControlPlane enrolls simulated devices as a factory provisions boards,
// through the control plane (AWS IoT's, or serve --api-listen's, whose
// certificates the lab CA signs): the thing, an ACTIVE certificate made by
// CreateKeysAndCertificate, FleetPolicy, and the attachments. The private
// keys stay in memory. Release undoes it all but the policy.
type ControlPlane struct {
	Client *iot.Client
	mu     sync.Mutex
	made   []enrolled
	policy bool // FleetPolicy is known to exist
}

type enrolled struct{ thing, certID, certARN string }

// Enroll gives thing its certificate.
func (cp *ControlPlane) Enroll(ctx context.Context, thing string) (tls.Certificate, error) {
	if _, err := cp.Client.CreateThing(ctx, &iot.CreateThingInput{ThingName: &thing}); err != nil && !isCode(err, "ResourceAlreadyExistsException") {
		return tls.Certificate{}, fmt.Errorf("iot:CreateThing %s: %w", thing, err)
	}
	keys, err := cp.Client.CreateKeysAndCertificate(ctx, &iot.CreateKeysAndCertificateInput{SetAsActive: true})
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("iot:CreateKeysAndCertificate for %s: %w", thing, err)
	}
	e := enrolled{thing, aws.ToString(keys.CertificateId), aws.ToString(keys.CertificateArn)}
	cp.mu.Lock()
	cp.made = append(cp.made, e)
	cp.mu.Unlock()
	if err := cp.ensurePolicy(ctx, e.certARN); err != nil {
		return tls.Certificate{}, err
	}
	if _, err := cp.Client.AttachPolicy(ctx, &iot.AttachPolicyInput{PolicyName: aws.String(FleetPolicy), Target: &e.certARN}); err != nil {
		return tls.Certificate{}, fmt.Errorf("iot:AttachPolicy for %s: %w", thing, err)
	}
	if _, err := cp.Client.AttachThingPrincipal(ctx, &iot.AttachThingPrincipalInput{ThingName: &thing, Principal: &e.certARN}); err != nil {
		return tls.Certificate{}, fmt.Errorf("iot:AttachThingPrincipal %s: %w", thing, err)
	}
	return tls.X509KeyPair([]byte(aws.ToString(keys.CertificatePem)), []byte(aws.ToString(keys.KeyPair.PrivateKey)))
}

func (cp *ControlPlane) ensurePolicy(ctx context.Context, certARN string) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.policy {
		return nil
	}
	doc := provision.DevicePolicy(certARN)
	_, err := cp.Client.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: aws.String(FleetPolicy), PolicyDocument: &doc})
	if err != nil && !isCode(err, "ResourceAlreadyExistsException") {
		return fmt.Errorf("iot:CreatePolicy %s: %w", FleetPolicy, err)
	}
	cp.policy = true
	return nil
}

// Release detaches, deactivates and deletes every certificate Enroll made,
// and deletes their things.
func (cp *ControlPlane) Release(ctx context.Context) error {
	cp.mu.Lock()
	made := cp.made
	cp.made = nil
	cp.mu.Unlock()
	var errs []error
	for _, e := range made {
		c := cp.Client
		// Each step may fail when Enroll stopped before it; the last ones say whether it all went.
		c.DetachThingPrincipal(ctx, &iot.DetachThingPrincipalInput{ThingName: &e.thing, Principal: &e.certARN})
		c.DetachPolicy(ctx, &iot.DetachPolicyInput{PolicyName: aws.String(FleetPolicy), Target: &e.certARN})
		c.UpdateCertificate(ctx, &iot.UpdateCertificateInput{CertificateId: &e.certID, NewStatus: types.CertificateStatusInactive})
		if _, err := c.DeleteCertificate(ctx, &iot.DeleteCertificateInput{CertificateId: &e.certID}); err != nil {
			errs = append(errs, fmt.Errorf("iot:DeleteCertificate %s: %w", e.certID, err))
		}
		if _, err := c.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: &e.thing}); err != nil {
			errs = append(errs, fmt.Errorf("iot:DeleteThing %s: %w", e.thing, err))
		}
	}
	return errors.Join(errs...)
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
