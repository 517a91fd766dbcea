package pki

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The AWS shared credentials and config files Init writes beside the
// certificates, for the AWS CLI and SDKs to sign requests to the emulator:
// AWS_SHARED_CREDENTIALS_FILE=DIR/aws-credentials AWS_CONFIG_FILE=DIR/aws-config
// AWS_PROFILE=iotwatch-local.
const (
	AWSCredentialsFile = "aws-credentials"
	AWSConfigFile      = "aws-config"
	AWSProfile         = "iotwatch-local"
	DefaultRegion      = "us-east-1"
)

// AWSCredentials is the emulator's one access key pair and its region.
type AWSCredentials struct {
	AccessKeyID, SecretAccessKey, Region string
}

// EnsureAWSCredentials writes a fresh key pair and region into dir unless
// the credentials file is already there (a PKI made before these files
// existed gets them on the next serve), then reads them back.
func EnsureAWSCredentials(dir, region string) (AWSCredentials, error) {
	path := filepath.Join(dir, AWSCredentialsFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := writeAWSCredentials(dir, region); err != nil {
			return AWSCredentials{}, err
		}
	}
	return LoadAWSCredentials(dir)
}

func writeAWSCredentials(dir, region string) error {
	if region == "" {
		region = DefaultRegion
	}
	id, secret := randomKey("AKIA", 16, upperAlnum), randomKey("", 40, secretChars)
	creds := fmt.Sprintf("[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", AWSProfile, id, secret)
	conf := fmt.Sprintf("[profile %s]\nregion = %s\n", AWSProfile, region)
	if err := WriteFile(filepath.Join(dir, AWSCredentialsFile), []byte(creds), true); err != nil {
		return err
	}
	return WriteFile(filepath.Join(dir, AWSConfigFile), []byte(conf), false)
}

const (
	upperAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// randomKey draws n characters of an alphabet of 32 or 64 (no modulo bias).
func randomKey(prefix string, n int, alphabet string) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

// LoadAWSCredentials reads the iotwatch-local profile of dir's
// aws-credentials and aws-config.
func LoadAWSCredentials(dir string) (AWSCredentials, error) {
	credPath, confPath := filepath.Join(dir, AWSCredentialsFile), filepath.Join(dir, AWSConfigFile)
	creds, err := iniSection(credPath, AWSProfile)
	if err != nil {
		return AWSCredentials{}, err
	}
	conf, err := iniSection(confPath, "profile "+AWSProfile)
	if err != nil {
		return AWSCredentials{}, err
	}
	c := AWSCredentials{creds["aws_access_key_id"], creds["aws_secret_access_key"], conf["region"]}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return c, fmt.Errorf("%s: profile [%s] needs aws_access_key_id and aws_secret_access_key: delete the file and run iotwatch serve or certs init again to make new ones", credPath, AWSProfile)
	}
	if c.Region == "" {
		return c, fmt.Errorf("%s: [profile %s] has no region = …: add one, e.g. region = %s", confPath, AWSProfile, DefaultRegion)
	}
	return c, nil
}

// iniSection reads key = value lines of one [section] of an AWS-style INI file.
func iniSection(path, section string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			in = strings.TrimSpace(line[1:len(line)-1]) == section
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && in {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out, nil
}
