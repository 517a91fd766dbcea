package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/devicesim"
	"github.com/iotwatch/iotwatch/pki"
)

// faultList collects repeated --fault flags, parsed as they come.
type faultList []devicesim.Fault

func (f *faultList) String() string { return fmt.Sprint(len(*f), " faults") }

func (f *faultList) Set(spec string) error {
	fault, err := devicesim.ParseFault(spec)
	if err != nil {
		return err
	}
	*f = append(*f, fault)
	return nil
}

// maxFleet bounds --fleet: every device is a connection and goroutines.
const maxFleet = 10000

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", "sim [-c FILE] [--interval D] [--fault SPEC]... [--fleet N [--fault-random SPEC]... [--endpoint-url URL --ca-bundle FILE]] [connection flags]", stderr)
	cfgPath := fs.String("c", "", "configuration (uses [aws] and [thing]; the client id is the thing name)")
	over := addConnFlags(fs)
	interval := fs.Duration("interval", 5*time.Second, "report interval (whole seconds, 1s–1h)")
	var faults, random faultList
	fs.Var(&faults, "fault", devicesim.FaultHelp+" (with --fleet: on every device)")
	fleet := fs.Int("fleet", 0, "simulate N devices, things <thing>-000 …, each enrolled with its own certificate through the control plane")
	fs.Var(&random, "fault-random", "with --fleet: a fault (as --fault) on one device picked at random; repeat for more devices")
	endpointURL := fs.String("endpoint-url", "", "with --fleet: the control plane (default: AWS's, or https://ENDPOINT:8443 for iotwatch serve)")
	caBundle := fs.String("ca-bundle", "", "with --fleet: CA to trust for --endpoint-url (default: [aws] ca off AWS)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *interval < time.Second || *interval > time.Hour {
		return usagef("--interval %s: use 1s to 1h", *interval)
	}
	if *fleet < 0 || *fleet > maxFleet || (*fleet == 0 && (len(random) > 0 || *endpointURL != "" || *caBundle != "")) {
		return usagef("--fleet %d: give 1 to %d devices (--fault-random, --endpoint-url and --ca-bundle go with --fleet)", *fleet, maxFleet)
	}
	cfg, conn, err := loadConn(*cfgPath, *over)
	if err != nil {
		return err
	}
	if err := cfg.OneThing("sim (and sim --fleet, whose devices are <name>-000 …)"); err != nil {
		return err
	}
	pki.WarnKeyFile(stderr, cfg.AWS.Key)
	if *fleet > 0 {
		return runSimFleet(ctx, cfg, conn, devicesim.FleetOptions{Conn: conn, Size: *fleet, Interval: *interval,
			Faults: faults, Random: random, Log: stderr}, *endpointURL, *caBundle, stderr)
	}
	fmt.Fprintf(stderr, "iotwatch sim: thing %s reporting every %s to %s:%d (Ctrl+C stops)\n", conn.Thing, *interval, conn.Host, conn.Port)
	sim := devicesim.New(devicesim.Options{Conn: conn, Interval: *interval, Faults: faults, Log: stderr})
	return sim.Run(ctx)
}

func runSimFleet(ctx context.Context, cfg *config.Config, conn awsconn.Options, o devicesim.FleetOptions, endpointURL, caBundle string, stderr io.Writer) error {
	if conn.TLS == nil || conn.SigV4 != nil {
		return usagef("--fleet needs [aws] auth = \"certificate\": each simulated device connects with its own certificate")
	}
	client, where, err := fleetControlPlane(ctx, cfg, endpointURL, caBundle)
	if err != nil {
		return err
	}
	names := devicesim.FleetNames(conn.Thing, o.Size)
	fmt.Fprintf(stderr, "iotwatch sim: %d devices %s … %s, each enrolled through %s, reporting every %s to %s:%d (Ctrl+C stops and removes their certificates and things)\n",
		o.Size, names[0], names[len(names)-1], where, o.Interval, conn.Host, conn.Port)
	o.Enroll = &devicesim.ControlPlane{Client: client}
	return devicesim.RunFleet(ctx, o)
}

// fleetControlPlane is the control plane sim --fleet enrolls devices
// through: AWS's, or the emulator's on port 8443 beside its MQTT port. A
// lab from certs init has the emulator's credentials (aws-credentials)
// beside the CA; they are used unless AWS_PROFILE or [aws] profile says
// otherwise.
func fleetControlPlane(ctx context.Context, cfg *config.Config, endpointURL, caBundle string) (*iot.Client, string, error) {
	lab := !config.IsAWSEndpoint(cfg.AWS.Endpoint)
	if endpointURL == "" {
		endpointURL = cfg.AWS.ControlURL
	}
	if lab && endpointURL == "" {
		endpointURL = "https://" + net.JoinHostPort(cfg.AWS.Endpoint, "8443")
	}
	if lab && caBundle == "" {
		caBundle = cfg.AWS.CA
	}
	region := cfg.AWS.Region
	if region == "" {
		region = endpointRegion(cfg.AWS.Endpoint)
	}
	var labCreds *pki.AWSCredentials
	if lab && caBundle != "" && cfg.AWS.Profile == "" && os.Getenv("AWS_PROFILE") == "" {
		if c, err := pki.LoadAWSCredentials(filepath.Dir(caBundle)); err == nil {
			labCreds = &c
			region = c.Region
		}
	}
	awsCfg, err := loadAWSConfig(ctx, awsSource{profile: cfg.AWS.Profile, region: region, caBundle: caBundle, local: lab, labDir: labDirOf(caBundle)})
	if err != nil {
		return nil, "", err
	}
	if labCreds != nil {
		awsCfg.Credentials = credentials.NewStaticCredentialsProvider(labCreds.AccessKeyID, labCreds.SecretAccessKey, "")
	}
	if endpointURL == "" {
		return iot.NewFromConfig(awsCfg), "AWS IoT's control plane in " + awsCfg.Region, nil
	}
	return iot.NewFromConfig(awsCfg, func(o *iot.Options) { o.BaseEndpoint = aws.String(endpointURL) }), endpointURL, nil
}
