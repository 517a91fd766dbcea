package pki

import (
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/hex"
	"encoding/pem"
	"fmt"
)

// AmazonRootCA1 is Amazon Trust Services' RSA root, which AWS IoT's ATS
// endpoints chain to (the public certificate, as Debian's ca-certificates
// ships it).
//
//go:embed AmazonRootCA1.pem
var AmazonRootCA1 []byte

// AmazonRootCA1File is the name it is written under, as AWS's guides name it.
const AmazonRootCA1File = "AmazonRootCA1.pem"

// amazonRootCA1SPKI is the SHA-256 of its public key (AWS-API.md §5): the
// check holds for cross-signed copies too, which share the key.
const amazonRootCA1SPKI = "fbe3018031f9586bcbf41727e417b7d1c45c2f47f93be372a17b96b50757d5a2"

// CheckAmazonRootCA1 verifies that pemData is Amazon Root CA 1 by its key.
func CheckAmazonRootCA1(pemData []byte) error {
	block, _ := pem.Decode(pemData)
	if block == nil {
		return fmt.Errorf("not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	if got := hex.EncodeToString(sum[:]); got != amazonRootCA1SPKI {
		return fmt.Errorf("%q is not Amazon Root CA 1: its key's SHA-256 is %s, want %s", cert.Subject.CommonName, got, amazonRootCA1SPKI)
	}
	return nil
}
