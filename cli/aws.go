package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/pki"
	"github.com/iotwatch/iotwatch/provision"
	"github.com/iotwatch/iotwatch/shadow"
)

const awsUsage = "Usage: %[1]s aws setup --thing NAME [--dir DIR] [--profile P] [--region R] [--endpoint-url URL --ca-bundle FILE] [--dry-run] [--force]\n       %[1]s aws teardown --dir DIR\n"

func runAWS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return subcommandUsage(args, fmt.Sprintf(awsUsage, progName()), stderr)
	}
	switch args[0] {
	case "setup":
		return runAWSSetup(ctx, args[1:], stdout, stderr)
	case "teardown":
		return runAWSTeardown(ctx, args[1:], stdout, stderr)
	}
	return usagef("unknown aws command %q (setup or teardown)", args[0])
}

// controlPlane are the flags that choose the AWS IoT control plane.
type controlPlane struct{ profile, region, endpointURL, caBundle *string }

func addControlPlaneFlags(fs interface {
	String(name, value, usage string) *string
}) controlPlane {
	return controlPlane{
		profile:     fs.String("profile", "", "AWS profile (default: the SDK's chain: AWS_PROFILE, environment, ~/.aws)"),
		region:      fs.String("region", "", "AWS region (default: the profile's or AWS_REGION)"),
		endpointURL: fs.String("endpoint-url", "", "control plane URL instead of AWS's, e.g. https://127.0.0.1:8443 for iotwatch serve"),
		caBundle:    fs.String("ca-bundle", "", "CA to trust for --endpoint-url (the emulator's ca.pem)"),
	}
}

// local is true for a control plane that is not AWS's (iotwatch serve).
func (cp controlPlane) local() bool {
	u, err := url.Parse(*cp.endpointURL)
	return *cp.endpointURL != "" && err == nil && !config.IsAWSEndpoint(u.Hostname())
}

// client is the iot control-plane client these flags describe.
func (cp controlPlane) client(ctx context.Context) (*iot.Client, aws.Config, error) {
	cfg, err := loadAWSConfig(ctx, awsSource{profile: *cp.profile, region: *cp.region, caBundle: *cp.caBundle,
		local: cp.local(), labDir: labDirOf(*cp.caBundle)})
	if err != nil {
		return nil, cfg, err
	}
	return iot.NewFromConfig(cfg, func(o *iot.Options) {
		if *cp.endpointURL != "" {
			o.BaseEndpoint = cp.endpointURL
		}
	}), cfg, nil
}

func runAWSSetup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("aws setup", "aws setup --thing NAME [--dir DIR] [--profile P] [--region R] [--endpoint-url URL --ca-bundle FILE] [--dry-run] [--force]", stderr)
	thing := fs.String("thing", "", "thing name to create or reuse (required)")
	dir := fs.String("dir", "", "where the certificate, key, configs and secrets.h go (default: ./THING)")
	policy := fs.String("policy-name", provision.DefaultPolicyName, "name of the least-privilege device policy")
	dryRun := fs.Bool("dry-run", false, "print the calls it would make, make none")
	force := fs.Bool("force", false, "replace an existing key; attach to a thing that already has a certificate")
	cp := addControlPlaneFlags(fs)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if !shadow.ValidThingName(*thing) {
		return usagef("--thing %q: use 1–128 characters of a-zA-Z0-9:_- (AWS IoT's thing name rule)", *thing)
	}
	if (*cp.endpointURL == "") != (*cp.caBundle == "") {
		return usagef("--endpoint-url and --ca-bundle go together (the emulator's URL and its ca.pem)")
	}
	if *dir == "" {
		*dir = *thing
	}
	ca, caFile := pki.AmazonRootCA1, pki.AmazonRootCA1File
	if *cp.caBundle != "" {
		data, err := os.ReadFile(*cp.caBundle)
		if err != nil {
			return err
		}
		ca, caFile = data, pki.CACertFile
	}
	o := provision.Options{Thing: *thing, Dir: *dir, PolicyName: *policy, CA: ca, CAFile: caFile, Profile: *cp.profile,
		EndpointURL: *cp.endpointURL, CABundle: *cp.caBundle, Force: *force, DryRun: *dryRun, Log: stderr}
	if *dryRun {
		_, err := provision.Setup(ctx, nil, o)
		return err
	}
	client, awsCfg, err := cp.client(ctx)
	if err != nil {
		return err
	}
	o.Region = awsCfg.Region
	m, err := provision.Setup(ctx, client, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Thing %s is set up on %s with certificate %s and policy %s; files in %s.\n\nNext:\n"+
		"  cp %s firmware/include/secrets.h   # then flash the board (firmware/README.md)\n"+
		"  %s sim -c %s        # or a simulated device\n"+
		"  %s watch -c %s      # watch it, signed in with your AWS credentials\n",
		m.Thing, m.Endpoint, m.CertificateID, m.Policy, *dir,
		filepath.Join(*dir, provision.SecretsFile), progName(), filepath.Join(*dir, "device.toml"), progName(), filepath.Join(*dir, "watch.toml"))
	return nil
}

func runAWSTeardown(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("aws teardown", "aws teardown --dir DIR", stderr)
	dir := fs.String("dir", "", "the directory 'aws setup' wrote (required)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("--dir is required")
	}
	m, err := provision.ReadManifest(*dir)
	if err != nil {
		return fmt.Errorf("%v: teardown removes what '%s aws setup --dir %s' created, and finds no record of it", err, progName(), *dir)
	}
	cp := controlPlane{profile: &m.Profile, region: &m.Region, endpointURL: &m.EndpointURL, caBundle: &m.CABundle}
	client, _, err := cp.client(ctx)
	if err != nil {
		return err
	}
	if err := provision.Teardown(ctx, client, *dir, func(line string) { fmt.Fprintln(stderr, line) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Removed what setup created for thing %s (certificate %s).\n", m.Thing, m.CertificateID)
	return nil
}
