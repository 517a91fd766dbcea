package localiot

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/iotwatch/iotwatch/pki"
)

const allowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`

// openTestRegistry opens a registry over dataDir ("" = memory) with a lab CA.
func openTestRegistry(t testing.TB, dataDir string) *registry {
	t.Helper()
	pkiDir := filepath.Join(t.TempDir(), "pki")
	if err := pki.Init(pkiDir, pki.InitOptions{Thing: thing}); err != nil {
		t.Fatal(err)
	}
	return openRegistryIn(t, pkiDir, dataDir)
}

func openRegistryIn(t testing.TB, pkiDir, dataDir string) *registry {
	t.Helper()
	ca, err := pki.LoadCA(filepath.Join(pkiDir, pki.CACertFile), filepath.Join(pkiDir, pki.CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := openRegistry(kvOf(st), "eu-west-1", ca)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantError checks an AWS error's type and status.
func wantError(t *testing.T, what string, err error, status int, typ string) {
	t.Helper()
	var e *apiError
	if !errors.As(err, &e) || e.Status != status || e.Type != typ {
		t.Errorf("%s: got %v, want %d %s", what, err, status, typ)
	}
}

func TestRegistryRules(t *testing.T) {
	r := openTestRegistry(t, "")
	if _, err := r.CreateThing(CreateThingInput{Name: "lamp", Attributes: map[string]string{"room": "hall"}}); err != nil {
		t.Fatal(err)
	}
	keys, err := r.CreateKeysAndCertificate(true)
	if err != nil {
		t.Fatal(err)
	}
	inactive, _ := r.CreateKeysAndCertificate(false)
	if _, err := r.CreatePolicy("p1", allowAll); err != nil {
		t.Fatal(err)
	}
	arn := keys.Cert.ARN
	_, sameAgain := r.CreateThing(CreateThingInput{Name: "lamp", Attributes: map[string]string{"room": "hall"}})
	cases := []struct {
		what   string
		err    error
		status int
		typ    string
	}{
		{"identical CreateThing repeat", sameAgain, 0, ""},
		{"CreateThing, other attributes", second(r.CreateThing(CreateThingInput{Name: "lamp"})), 409, "ResourceAlreadyExistsException"},
		{"CreateThing, bad name", second(r.CreateThing(CreateThingInput{Name: "a/b"})), 400, "InvalidRequestException"},
		{"DescribeThing, missing", second(r.DescribeThing("nope")), 404, "ResourceNotFoundException"},
		{"DeleteThing, wrong version", r.DeleteThing("lamp", 7), 409, "VersionConflictException"},
		{"CreatePolicy, malformed", second(r.CreatePolicy("p2", `{"Version":"2012-10-17"}`)), 400, "MalformedPolicyException"},
		{"CreatePolicy, exists", second(r.CreatePolicy("p1", allowAll)), 409, "ResourceAlreadyExistsException"},
		{"CreatePolicy, bad name", second(r.CreatePolicy("a b", allowAll)), 400, "InvalidRequestException"},
		{"AttachPolicy, missing policy", r.AttachPolicy("nope", arn), 404, "ResourceNotFoundException"},
		{"AttachPolicy, missing target", r.AttachPolicy("p1", arn+"0"), 404, "ResourceNotFoundException"},
		{"AttachPolicy", r.AttachPolicy("p1", arn), 0, ""},
		{"AttachPolicy again", r.AttachPolicy("p1", arn), 0, ""},
		{"DeletePolicy, attached", r.DeletePolicy("p1"), 409, "DeleteConflictException"},
		{"AttachThingPrincipal, missing thing", r.AttachThingPrincipal("nope", arn), 404, "ResourceNotFoundException"},
		{"AttachThingPrincipal", r.AttachThingPrincipal("lamp", arn), 0, ""},
		{"DeleteThing, principal attached", r.DeleteThing("lamp", 0), 400, "InvalidRequestException"},
		{"DeleteCertificate, active", r.DeleteCertificate(keys.Cert.ID, false), 406, "CertificateStateException"},
		{"UpdateCertificate, bad status", r.UpdateCertificate(keys.Cert.ID, "ON"), 400, "InvalidRequestException"},
		{"UpdateCertificate, INACTIVE", r.UpdateCertificate(keys.Cert.ID, "INACTIVE"), 0, ""},
		{"DeleteCertificate, thing attached", r.DeleteCertificate(keys.Cert.ID, true), 409, "DeleteConflictException"},
		{"DetachThingPrincipal", r.DetachThingPrincipal("lamp", arn), 0, ""},
		{"DeleteCertificate, policy attached", r.DeleteCertificate(keys.Cert.ID, false), 409, "DeleteConflictException"},
		{"UpdateCertificate, REVOKED", r.UpdateCertificate(inactive.Cert.ID, "REVOKED"), 0, ""},
		{"UpdateCertificate, revoked to ACTIVE", r.UpdateCertificate(inactive.Cert.ID, "ACTIVE"), 406, "CertificateStateException"},
		{"DescribeCertificate, missing", second(r.DescribeCertificate(strings.Repeat("0", 64))), 404, "ResourceNotFoundException"},
		{"DeleteCertificate, forced", r.DeleteCertificate(keys.Cert.ID, true), 0, ""},
		{"DeletePolicy, detached by the forced delete", r.DeletePolicy("p1"), 0, ""},
		{"DeleteThing", r.DeleteThing("lamp", 1), 0, ""},
		{"DeleteThing, missing is fine", r.DeleteThing("lamp", 0), 0, ""},
	}
	for _, c := range cases {
		if c.typ == "" {
			if c.err != nil {
				t.Errorf("%s: %v", c.what, c.err)
			}
			continue
		}
		wantError(t, c.what, c.err, c.status, c.typ)
	}
}

func second[T any](_ T, err error) error { return err }

func TestRegistryPolicyLimit(t *testing.T) {
	r := openTestRegistry(t, "")
	keys, _ := r.CreateKeysAndCertificate(true)
	for i := 0; i <= maxPoliciesPerTarget; i++ {
		name := fmt.Sprintf("p%02d", i)
		r.CreatePolicy(name, allowAll)
		err := r.AttachPolicy(name, keys.Cert.ARN)
		if i < maxPoliciesPerTarget && err != nil {
			t.Fatal(err)
		}
		if i == maxPoliciesPerTarget {
			wantError(t, "11th policy", err, 410, "LimitExceededException")
		}
	}
	page, next, _ := r.ListAttachedPolicies(keys.Cert.ARN, "", 4)
	rest, end, _ := r.ListAttachedPolicies(keys.Cert.ARN, next, 0)
	if strings.Join(page, ",") != "p00,p01,p02,p03" || next != "p04" || len(rest) != 6 || end != "" {
		t.Errorf("pages %v next %q, then %v next %q", page, next, rest, end)
	}
}

// populate makes one of each record.
func populate(r *registry) (string, error) {
	if _, err := r.CreateThing(CreateThingInput{Name: "lamp", Attributes: map[string]string{"room": "hall"}}); err != nil {
		return "", err
	}
	keys, err := r.CreateKeysAndCertificate(true)
	if err != nil {
		return "", err
	}
	if _, err := r.CreatePolicy("p1", allowAll); err != nil {
		return "", err
	}
	if err := r.AttachPolicy("p1", keys.Cert.ARN); err != nil {
		return "", err
	}
	return keys.Cert.ID, r.AttachThingPrincipal("lamp", keys.Cert.ARN)
}

func checkPopulated(t *testing.T, r *registry, certID string) {
	t.Helper()
	th, err := r.DescribeThing("lamp")
	if err != nil || th.Attributes["room"] != "hall" || len(th.Principals) != 1 {
		t.Fatalf("thing after reopening: %+v, %v", th, err)
	}
	c, err := r.DescribeCertificate(certID)
	if err != nil || c.Status != statusActive || strings.Join(c.Policies, ",") != "p1" || !strings.Contains(c.PEM, "CERTIFICATE") {
		t.Fatalf("certificate after reopening: %+v, %v", c, err)
	}
	if p, err := r.GetPolicy("p1"); err != nil || p.parsed == nil || p.Document != allowAll {
		t.Fatalf("policy after reopening: %+v, %v", p, err)
	}
}

func TestRegistrySurvivesRestart(t *testing.T) {
	pkiDir, data := filepath.Join(t.TempDir(), "pki"), t.TempDir()
	pki.Init(pkiDir, pki.InitOptions{Thing: thing})
	st, _ := openStore(data)
	ca, _ := pki.LoadCA(filepath.Join(pkiDir, pki.CACertFile), filepath.Join(pkiDir, pki.CAKeyFile))
	r, _ := openRegistry(kvOf(st), "eu-west-1", ca)
	id, err := populate(r)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	checkPopulated(t, openRegistryIn(t, pkiDir, data), id)
}

// TestRegistrySurvivesKill9 populates the registry in a child process,
// kills it with SIGKILL once it has answered, and reopens the file.
func TestRegistrySurvivesKill9(t *testing.T) {
	if dir := os.Getenv("IOTWATCH_REGISTRY_CHILD"); dir != "" {
		r := openRegistryIn(t, filepath.Join(dir, "pki"), dir)
		id, err := populate(r)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("populated", id)
		select {} // wait for the kill
	}
	dir := t.TempDir()
	pki.Init(filepath.Join(dir, "pki"), pki.InitOptions{Thing: thing})
	cmd := exec.Command(os.Args[0], "-test.run=^TestRegistrySurvivesKill9$")
	cmd.Env = append(os.Environ(), "IOTWATCH_REGISTRY_CHILD="+dir)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "populated" {
			id = f[1]
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if id == "" {
		t.Fatal("the child never populated the registry")
	}
	checkPopulated(t, openRegistryIn(t, filepath.Join(dir, "pki"), dir), id)
}
