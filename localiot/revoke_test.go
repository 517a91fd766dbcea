package localiot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/iotwatch/iotwatch/pki"
)

// TestRevokedCertificateDisconnected: a connection whose certificate is set
// INACTIVE or REVOKED through the control plane (the AWS SDK), or loses the
// policy that allowed its iot:Connect, is closed within 2 s, and its
// lifecycle event says AUTH_ERROR, not client-initiated.
func TestRevokedCertificateDisconnected(t *testing.T) {
	l := newAPILab(t, "", "")
	c := l.iotClient(t)
	ctx := context.Background()
	mon := l.mustConnect(t, "monitor", "iotwatch-mon")
	mon.subscribe(t, "$aws/events/presence/disconnected/+")
	cases := []struct {
		name   string
		revoke func(certID, certARN string) error
	}{
		{"INACTIVE", func(id, _ string) error {
			_, err := c.UpdateCertificate(ctx, &iot.UpdateCertificateInput{CertificateId: aws.String(id), NewStatus: types.CertificateStatusInactive})
			return err
		}},
		{"REVOKED", func(id, _ string) error {
			_, err := c.UpdateCertificate(ctx, &iot.UpdateCertificateInput{CertificateId: aws.String(id), NewStatus: types.CertificateStatusRevoked})
			return err
		}},
		{"policy detached", func(_, arn string) error {
			_, err := c.DetachPolicy(ctx, &iot.DetachPolicyInput{PolicyName: aws.String(monitorPolicy), Target: aws.String(arn)})
			return err
		}},
	}
	for i, tc := range cases {
		keys, err := c.CreateKeysAndCertificate(ctx, &iot.CreateKeysAndCertificateInput{SetAsActive: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AttachPolicy(ctx, &iot.AttachPolicyInput{PolicyName: aws.String(monitorPolicy), Target: keys.CertificateArn}); err != nil {
			t.Fatal(err)
		}
		conf := withLeaf(l.tlsFor(t, "monitor"), &pki.Leaf{CertPEM: []byte(*keys.CertificatePem), KeyPEM: []byte(*keys.KeyPair.PrivateKey)})
		id := "revoked-" + string(rune('a'+i))
		dev, err := l.connectTLS(t, conf, id)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		start := time.Now()
		if err := tc.revoke(*keys.CertificateId, *keys.CertificateArn); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !lostWithin(dev, 2*time.Second) {
			t.Fatalf("%s: still connected 2 s after the call", tc.name)
		}
		t.Logf("%s: disconnected %v after the call returned", tc.name, time.Since(start).Round(time.Millisecond))
		ev := mon.inbox.waitFor(t, "$aws/events/presence/disconnected/"+id, nil)
		if ev["disconnectReason"] != "AUTH_ERROR" || ev["clientInitiatedDisconnect"] != false {
			t.Errorf("%s: lifecycle event %v, want disconnectReason AUTH_ERROR, not client-initiated", tc.name, ev)
		}
		if _, err := l.connectTLS(t, conf, id+"-again"); err == nil {
			t.Errorf("%s: the certificate connected again", tc.name)
		}
	}
}

// waitLogLine waits up to 10 s for a line of the emulator's log that has
// every one of parts.
func (l *lab) waitLogLine(t testing.TB, parts ...string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, line := range strings.Split(l.log.String(), "\n") {
			if containsAll(line, parts) {
				return
			}
		}
	}
	t.Fatalf("no line of the log has all of %q:\n%s", parts, l.log.String())
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
