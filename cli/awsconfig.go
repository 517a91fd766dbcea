package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go/logging"

	"github.com/iotwatch/iotwatch/pki"
)

// awsSource says where the AWS SDK's configuration comes from.
type awsSource struct {
	profile, region string
	caBundle        string // trust this CA (the emulator's) for HTTPS
	// local is an endpoint that is not AWS's (iotwatch serve): no EC2
	// instance metadata to ask for credentials, the emulator's region by
	// default, and the lab's credentials named in the hint.
	local bool
	// labDir holds the emulator's aws-credentials, when known.
	labDir string
}

// loadAWSConfig is the AWS SDK's configuration from its default chain
// (environment, shared files, profiles), with the source's profile and
// region when given. The SDK never writes on the terminal (the TUI owns
// it), and credentials that cannot be found say what to do.
func loadAWSConfig(ctx context.Context, src awsSource) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithLogger(logging.Nop{}), awsconfig.WithClientLogMode(0)}
	if src.profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(src.profile))
	}
	if src.region != "" {
		opts = append(opts, awsconfig.WithRegion(src.region))
	}
	if src.local {
		opts = append(opts, awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	if src.caBundle != "" {
		pool, err := pki.LoadCAPool(src.caBundle)
		if err != nil {
			return aws.Config{}, fmt.Errorf("--ca-bundle: %w", err)
		}
		// a buildable client, so that a ca_bundle of the profile can still be added
		client := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
		})
		opts = append(opts, awsconfig.WithHTTPClient(client))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" && src.local {
		cfg.Region = pki.DefaultRegion // the emulator's: certs init writes it into aws-config
	}
	if cfg.Region == "" {
		return cfg, errors.New("no AWS region: pass --region (e.g. --region eu-west-1), set [aws] region, AWS_REGION, or a region in your profile")
	}
	cfg.Credentials = explainedCredentials{cfg.Credentials, src.credentialsHint()}
	return cfg, nil
}

// credentialsHint is what to do when no credentials are found.
func (src awsSource) credentialsHint() string {
	if !src.local {
		return "run 'aws configure' (or 'aws sso login'), set AWS_PROFILE or [aws] profile, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
	}
	file := filepath.Join("lab", pki.AWSCredentialsFile)
	if src.labDir != "" {
		file = filepath.Join(src.labDir, pki.AWSCredentialsFile)
	}
	return fmt.Sprintf("for iotwatch serve, sign with the credentials 'certs init' wrote: export AWS_SHARED_CREDENTIALS_FILE=%s AWS_PROFILE=%s", file, pki.AWSProfile)
}

// labDirOf is the directory of certs init's aws-credentials beside a CA
// file, or "".
func labDirOf(ca string) string {
	if ca == "" {
		return ""
	}
	dir := filepath.Dir(ca)
	if _, err := os.Stat(filepath.Join(dir, pki.AWSCredentialsFile)); err != nil {
		return ""
	}
	return dir
}

// explainedCredentials replaces the SDK's chain of failures ("failed to
// refresh cached credentials, no EC2 IMDS role found … 403") by what to do;
// a failure of its own (a profile that does not exist, an expired SSO
// token) is kept.
type explainedCredentials struct {
	aws.CredentialsProvider
	hint string
}

func (e explainedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := e.CredentialsProvider.Retrieve(ctx)
	if err == nil {
		return creds, nil
	}
	if strings.Contains(err.Error(), "EC2 IMDS") || strings.Contains(err.Error(), "no EC2 IMDS role") || strings.Contains(err.Error(), "access disabled to EC2 IMDS") {
		return creds, fmt.Errorf("no AWS credentials found: %s", e.hint)
	}
	return creds, fmt.Errorf("no AWS credentials (%v): %s", err, e.hint)
}

// endpointRegion is the region in an AWS IoT endpoint's name
// (abc123-ats.iot.eu-west-1.amazonaws.com), or "".
func endpointRegion(endpoint string) string {
	if m := endpointRegionRe.FindStringSubmatch(endpoint); m != nil {
		return m[1]
	}
	return ""
}

var endpointRegionRe = regexp.MustCompile(`\.iot\.([a-z0-9-]+)\.amazonaws\.com$`)
