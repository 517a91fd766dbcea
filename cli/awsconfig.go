package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/iotwatch/iotwatch/pki"
)

// loadAWSConfig is the AWS SDK's configuration from its default chain
// (environment, shared files, profiles), with profile and region when given
// and, with caBundle, trusting that CA (the emulator's) for HTTPS.
func loadAWSConfig(ctx context.Context, profile, region, caBundle string) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	if caBundle != "" {
		pool, err := pki.LoadCAPool(caBundle)
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
	if cfg.Region == "" {
		return cfg, errors.New("no AWS region: set [aws] region, pass --region, or set AWS_REGION (or a region in your profile)")
	}
	return cfg, nil
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
