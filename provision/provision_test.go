package provision

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/smithy-go/middleware"

	"github.com/iotwatch/iotwatch/localiot"
	"github.com/iotwatch/iotwatch/pki"
)

// emulator is iotwatch serve with its HTTPS APIs, and a control-plane
// client signed with the lab's credentials.
type emulator struct {
	dir string
	srv *localiot.Server
}

func newEmulator(t *testing.T) *emulator { return newEmulatorWithIAM(t, "") }

// newEmulatorWithIAM confines the SigV4 caller to an IAM-style policy.
func newEmulatorWithIAM(t *testing.T, iamPolicy string) *emulator {
	t.Helper()
	dir := t.TempDir()
	if err := pki.Init(dir, pki.InitOptions{Thing: "lab-device", Region: "eu-west-1"}); err != nil {
		t.Fatal(err)
	}
	srv, err := localiot.New(localiot.Options{Listen: "127.0.0.1:0", APIListen: "127.0.0.1:0", PKIDir: dir, IAMPolicy: iamPolicy})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &emulator{dir: dir, srv: srv}
}

// client fails the operation named failOn ("" for none) as a broken
// network or a refused permission would, after the ones before it worked.
func (e *emulator) client(t *testing.T, failOn string) *iot.Client {
	t.Helper()
	creds, err := pki.LoadAWSCredentials(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pki.LoadCAPool(filepath.Join(e.dir, pki.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg := aws.Config{Region: creds.Region, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	return iot.NewFromConfig(cfg, func(o *iot.Options) {
		o.BaseEndpoint = aws.String("https://" + e.srv.APIAddr())
		if failOn != "" {
			o.APIOptions = append(o.APIOptions, failOperation(failOn))
		}
	})
}

var errInjected = errors.New("injected failure")

func failOperation(name string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("fail-"+name,
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if middleware.GetOperationName(ctx) == name {
					return middleware.InitializeOutput{}, middleware.Metadata{}, errInjected
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
}

func (e *emulator) options(t *testing.T, dir string) Options {
	ca, _ := os.ReadFile(filepath.Join(e.dir, pki.CACertFile))
	return Options{Thing: "board-1", Dir: dir, CA: ca, CAFile: pki.CACertFile, Region: "eu-west-1"}
}

// registry is what the emulator holds for the thing and the policy.
func (e *emulator) registry(t *testing.T) string {
	t.Helper()
	c := e.client(t, "")
	ctx := context.Background()
	var parts []string
	if _, err := c.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: aws.String("board-1")}); err == nil {
		p, _ := c.ListThingPrincipals(ctx, &iot.ListThingPrincipalsInput{ThingName: aws.String("board-1")})
		parts = append(parts, "thing with "+strings.Repeat("cert ", len(p.Principals)))
	}
	if _, err := c.GetPolicy(ctx, &iot.GetPolicyInput{PolicyName: aws.String(DefaultPolicyName)}); err == nil {
		parts = append(parts, "policy")
	}
	return strings.Join(parts, "; ")
}

func TestSetupRerunAndTeardown(t *testing.T) {
	e := newEmulator(t)
	dir := filepath.Join(t.TempDir(), "board-1")
	before := e.registry(t)
	m, err := Setup(context.Background(), e.client(t, ""), e.options(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	if !m.ThingCreated || !m.PolicyCreated || m.Endpoint != "127.0.0.1" {
		t.Fatalf("manifest %+v", m)
	}
	for name, mode := range map[string]os.FileMode{DeviceKeyFile: 0o600, SecretsFile: 0o600, DeviceCertFile: 0o644,
		"device.toml": 0o644, "watch.toml": 0o644, pki.CACertFile: 0o644, ManifestFile: 0o644} {
		if info, err := os.Stat(filepath.Join(dir, name)); err != nil || info.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v", name, err, info)
		}
	}
	if _, err := pki.LoadKeyPair(filepath.Join(dir, DeviceCertFile), filepath.Join(dir, DeviceKeyFile)); err != nil {
		t.Fatal(err)
	}
	if got := e.registry(t); got != "thing with cert ; policy" {
		t.Fatalf("after setup: %q", got)
	}
	again, err := Setup(context.Background(), e.client(t, ""), e.options(t, dir))
	if err != nil || again.CertificateID != m.CertificateID || e.registry(t) != "thing with cert ; policy" {
		t.Fatalf("rerun: %v, %+v, %q", err, again, e.registry(t))
	}
	if err := Teardown(context.Background(), e.client(t, ""), dir, func(string) {}); err != nil {
		t.Fatal(err)
	}
	if got := e.registry(t); got != before {
		t.Fatalf("after teardown %q, before %q", got, before)
	}
	if entries, err := os.ReadDir(dir); !os.IsNotExist(err) {
		t.Fatalf("teardown left %s with %v (%v): it removes every file setup wrote, then the empty directory", dir, entries, err)
	}
}

// TestTeardownKeepsWhatWasChanged: a configuration edited since setup
// wrote it stays (and is named), the dead credentials go all the same.
func TestTeardownKeepsWhatWasChanged(t *testing.T) {
	e := newEmulator(t)
	dir := filepath.Join(t.TempDir(), "board-2")
	if _, err := Setup(context.Background(), e.client(t, ""), e.options(t, dir)); err != nil {
		t.Fatal(err)
	}
	watch := filepath.Join(dir, "watch.toml")
	data, _ := os.ReadFile(watch)
	os.WriteFile(watch, append(data, "# mine\n"...), 0o644)
	var log []string
	if err := Teardown(context.Background(), e.client(t, ""), dir, func(l string) { log = append(log, l) }); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "watch.toml" || !slices.Contains(log, "kept "+watch+": changed since setup wrote it") {
		t.Fatalf("left %v, log %q: want watch.toml alone, named", entries, log)
	}
}

// TestAFailureAtEachStepRollsBack injects a failure into each call in turn:
// the registry is left as it was and the error says what was undone.
func TestAFailureAtEachStepRollsBack(t *testing.T) {
	e := newEmulator(t)
	before := e.registry(t)
	for _, op := range []string{"DescribeEndpoint", "DescribeThing", "CreateThing", "CreateKeysAndCertificate",
		"GetPolicy", "CreatePolicy", "AttachPolicy", "AttachThingPrincipal"} {
		dir := filepath.Join(t.TempDir(), "board-1")
		_, err := Setup(context.Background(), e.client(t, op), e.options(t, dir))
		if err == nil || !strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("%s: %v", op, err)
		}
		if got := e.registry(t); got != before {
			t.Errorf("%s failed: registry %q, before %q (%v)", op, got, before, err)
		}
		if _, statErr := os.Stat(filepath.Join(dir, DeviceKeyFile)); !os.IsNotExist(statErr) {
			t.Errorf("%s failed: a key was written", op)
		}
		t.Logf("%s: %v", op, err)
	}
}

func TestSetupRefusesWhatItShouldNotTouch(t *testing.T) {
	e := newEmulator(t)
	c := e.client(t, "")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, DeviceKeyFile), []byte("old"), 0o600)
	if _, err := Setup(context.Background(), c, e.options(t, dir)); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("existing key: %v", err)
	}
	other := e.options(t, filepath.Join(t.TempDir(), "first"))
	if _, err := Setup(context.Background(), c, other); err != nil {
		t.Fatal(err)
	}
	second := e.options(t, filepath.Join(t.TempDir(), "second"))
	if _, err := Setup(context.Background(), c, second); err == nil || !strings.Contains(err.Error(), "exists with another certificate attached") {
		t.Fatalf("thing in use: %v", err)
	}
	second.Thing, second.PolicyName = "board-2", DefaultPolicyName
	c.CreatePolicy(context.Background(), &iot.CreatePolicyInput{PolicyName: aws.String("taken"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`)})
	second.PolicyName = "taken"
	if _, err := Setup(context.Background(), c, second); err == nil || !strings.Contains(err.Error(), `policy "taken" exists with another document`) {
		t.Fatalf("policy name in use: %v", err)
	}
}

func TestThePolicyInDocsIsTheOneSetupCreates(t *testing.T) {
	doc, err := os.ReadFile("../docs/policies/device-least-privilege.json")
	if err != nil || string(doc) != devicePolicyTemplate {
		t.Fatalf("docs/policies/device-least-privilege.json differs from devicePolicyTemplate (%v)", err)
	}
	got := DevicePolicy("arn:aws:iot:eu-west-1:123456789012:cert/abc")
	if !strings.Contains(got, "arn:aws:iot:eu-west-1:123456789012:client/${iot:Connection.Thing.ThingName}") || strings.Contains(got, "REGION") {
		t.Fatalf("rendered policy:\n%s", got)
	}
}

// TestAccessDeniedNamesTheCall: credentials whose IAM policy lacks
// iot:CreatePolicy get the refused call named, the fix said, and the run
// undone.
func TestAccessDeniedNamesTheCall(t *testing.T) {
	e := newEmulatorWithIAM(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"},
		{"Effect":"Deny","Action":"iot:CreatePolicy","Resource":"*"}]}`)
	_, err := Setup(context.Background(), e.client(t, ""), e.options(t, filepath.Join(t.TempDir(), "board-1")))
	for _, want := range []string{"iot:CreatePolicy " + DefaultPolicyName, "AccessDeniedException", "allow it in their IAM policy", "undid iot:DeleteCertificate"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
