package pki

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEmbeddedAmazonRootCA1(t *testing.T) {
	if err := CheckAmazonRootCA1(AmazonRootCA1); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Init(dir, InitOptions{Thing: "t"}); err != nil {
		t.Fatal(err)
	}
	lab, _ := os.ReadFile(filepath.Join(dir, CACertFile))
	if err := CheckAmazonRootCA1(lab); err == nil || !strings.Contains(err.Error(), "is not Amazon Root CA 1") {
		t.Fatalf("the lab CA passed as Amazon's: %v", err)
	}
}
