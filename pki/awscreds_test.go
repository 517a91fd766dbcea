package pki

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInitWritesAWSCredentials(t *testing.T) {
	dir := initDir(t)
	info, err := os.Stat(filepath.Join(dir, AWSCredentialsFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("aws-credentials: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	c, err := LoadAWSCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.AccessKeyID, "AKIA") || len(c.AccessKeyID) != 20 || len(c.SecretAccessKey) != 40 || c.Region != DefaultRegion {
		t.Errorf("got key id %q (%d), secret of %d chars, region %q", c.AccessKeyID, len(c.AccessKeyID), len(c.SecretAccessKey), c.Region)
	}
	again, err := EnsureAWSCredentials(dir, "eu-west-1")
	if err != nil || again != c {
		t.Errorf("EnsureAWSCredentials replaced existing credentials: %v", err)
	}
	os.Remove(filepath.Join(dir, AWSCredentialsFile))
	fresh, err := EnsureAWSCredentials(dir, "eu-west-1")
	if err != nil || fresh.AccessKeyID == c.AccessKeyID || fresh.Region != "eu-west-1" {
		t.Errorf("EnsureAWSCredentials on a PKI without them: %+v, %v", fresh.Region, err)
	}
}

func TestLoadAWSCredentialsNamesTheFix(t *testing.T) {
	dir := initDir(t)
	os.WriteFile(filepath.Join(dir, AWSCredentialsFile), []byte("[default]\naws_access_key_id = x\n"), 0o600)
	_, err := LoadAWSCredentials(dir)
	if err == nil || !strings.Contains(err.Error(), "["+AWSProfile+"]") || !strings.Contains(err.Error(), AWSCredentialsFile) {
		t.Errorf("got %v", err)
	}
}

func TestIssueRSAAsAWSDoes(t *testing.T) {
	dir := initDir(t)
	ca, err := LoadCA(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(Spec{CommonName: "AWS IoT Certificate", RSA: true})
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := leaf.Cert.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
		t.Fatalf("public key %T, want RSA-2048", leaf.Cert.PublicKey)
	}
	if !strings.HasPrefix(string(leaf.KeyPEM), "-----BEGIN RSA PRIVATE KEY-----") || !strings.HasPrefix(string(leaf.PublicKeyPEM), "-----BEGIN PUBLIC KEY-----") {
		t.Error("want a PKCS#1 private key and a PKIX public key, as AWS returns")
	}
	if _, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM); err != nil {
		t.Error(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Error(err)
	}
}
