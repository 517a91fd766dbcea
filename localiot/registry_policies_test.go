package localiot

import (
	"path/filepath"
	"testing"

	"github.com/iotwatch/iotwatch/pki"
)

// TestDefaultPolicyVersionGovernsMQTT: a live connection is authorized by
// whichever version is the default, from its next request on.
func TestDefaultPolicyVersionGovernsMQTT(t *testing.T) {
	l := newLab(t, "")
	reg := l.srv.registry
	keys, err := reg.CreateKeysAndCertificate(true)
	if err != nil {
		t.Fatal(err)
	}
	v1 := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect","iot:Subscribe"],"Resource":"*"}]}`
	v2 := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect","iot:Subscribe"],"Resource":"*"},
		{"Effect":"Deny","Action":"iot:Subscribe","Resource":"arn:aws:iot:*:*:topicfilter/lab/secret"}]}`
	if _, err := reg.CreatePolicy("versioned", v1); err != nil {
		t.Fatal(err)
	}
	reg.AttachPolicy("versioned", keys.Cert.ARN)
	c, err := l.connectTLS(t, withLeaf(l.tlsFor(t, "monitor"), &pki.Leaf{CertPEM: []byte(keys.Cert.PEM), KeyPEM: []byte(keys.PrivateKey)}), "versioned-client")
	if err != nil {
		t.Fatal(err)
	}
	if codes := c.subscribe(t, "lab/secret"); codes["lab/secret"] != 1 {
		t.Fatalf("version 1 allows lab/secret: SUBACK %v", codes)
	}
	if _, _, err := reg.CreatePolicyVersion("versioned", v2, false); err != nil {
		t.Fatal(err)
	}
	if codes := c.subscribe(t, "lab/secret"); codes["lab/secret"] != 1 {
		t.Fatalf("version 2 is not the default yet: SUBACK %v", codes)
	}
	if err := reg.SetDefaultPolicyVersion("versioned", "2"); err != nil {
		t.Fatal(err)
	}
	if codes := c.subscribe(t, "lab/secret"); codes["lab/secret"] != 0x80 {
		t.Fatalf("version 2, the default now, denies lab/secret: SUBACK %v", codes)
	}
}

// TestPolicyVersionsSurviveRestart: versions and the default are stored.
func TestPolicyVersionsSurviveRestart(t *testing.T) {
	pkiDir, data := filepath.Join(t.TempDir(), "pki"), t.TempDir()
	if err := pki.Init(pkiDir, pki.InitOptions{Thing: thing}); err != nil {
		t.Fatal(err)
	}
	func() {
		st, _ := openStore(data)
		defer st.Close()
		ca, _ := pki.LoadCA(filepath.Join(pkiDir, pki.CACertFile), filepath.Join(pkiDir, pki.CAKeyFile))
		r, err := openRegistry(kvOf(st), "eu-west-1", ca)
		if err != nil {
			t.Fatal(err)
		}
		r.CreatePolicy("p", allowAll)
		if _, _, err := r.CreatePolicyVersion("p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`, true); err != nil {
			t.Fatal(err)
		}
	}()
	p, vs, err := openRegistryIn(t, pkiDir, data).PolicyVersions("p")
	if err != nil || p.Version != "2" || len(vs) != 2 || vs[1].Document != allowAll || p.parsed == nil || len(p.parsed.Statements[0].Actions) != 1 {
		t.Fatalf("after reopening: default %q, versions %+v, %v", p.Version, vs, err)
	}
}
