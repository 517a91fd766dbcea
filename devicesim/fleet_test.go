package devicesim

import (
	"context"
	"crypto/tls"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/internal/testkit"
	"github.com/iotwatch/iotwatch/localiot"
	"github.com/iotwatch/iotwatch/pki"
)

func TestFleetNames(t *testing.T) {
	cases := []struct {
		size        int
		first, last string
	}{{1, "esp32-000", "esp32-000"}, {20, "esp32-000", "esp32-019"}, {1000, "esp32-000", "esp32-999"}, {1001, "esp32-0000", "esp32-1000"}}
	for _, c := range cases {
		n := FleetNames("esp32", c.size)
		if len(n) != c.size || n[0] != c.first || n[len(n)-1] != c.last {
			t.Errorf("FleetNames(%d): %s … %s", c.size, n[0], n[len(n)-1])
		}
	}
}

func TestSpreadFaults(t *testing.T) {
	drop := Fault{Kind: FaultDrop, For: time.Second}
	reboot, lose := Fault{Kind: FaultReboot}, Fault{Kind: FaultLose, Fraction: 0.1}
	got := spreadFaults(5, []Fault{lose}, []Fault{drop, reboot}, rand.New(rand.NewPCG(1, 1)))
	hit := 0
	for i, fs := range got {
		if fs[0] != lose {
			t.Errorf("device %d lacks the common fault: %v", i, fs)
		}
		if len(fs) > 2 {
			t.Errorf("device %d got both random faults while others had none: %v", i, fs)
		}
		hit += len(fs) - 1
	}
	if hit != 2 {
		t.Errorf("random faults placed %d times: %v", hit, got)
	}
	// More random faults than devices: they wrap around.
	got = spreadFaults(2, nil, []Fault{drop, drop, drop}, rand.New(rand.NewPCG(1, 1)))
	if n := len(got[0]) + len(got[1]); n != 3 || min(len(got[0]), len(got[1])) != 1 {
		t.Errorf("3 faults on 2 devices: %v", got)
	}
	if !reflect.DeepEqual(spreadFaults(3, nil, nil, rand.New(rand.NewPCG(1, 1))), [][]Fault{nil, nil, nil}) {
		t.Error("no faults: every device clean")
	}
}

// TestFleetAgainstEmulator: three devices, each enrolled through the
// emulator's control plane with its own certificate from the lab CA, report
// to their own things; a fleet monitor sees every one; at the end the
// certificates and things are gone.
func TestFleetAgainstEmulator(t *testing.T) {
	dir := t.TempDir()
	if err := pki.Init(dir, pki.InitOptions{Thing: thing, Region: "eu-west-1"}); err != nil {
		t.Fatal(err)
	}
	srv, err := localiot.New(localiot.Options{Listen: "127.0.0.1:0", APIListen: "127.0.0.1:0", PKIDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()
	client := iotClient(t, dir, srv.APIAddr())
	base := connOptions(t, dir, srv.Addr(), "device")
	base.Thing = "esp32"
	names := FleetNames("esp32", 3)

	mon := connOptions(t, dir, srv.Addr(), "monitor")
	fleet, err := awsconn.DialFleet(awsconn.FleetOptions{Conn: mon, Things: names})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()

	log := &testkit.LockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- RunFleet(ctx, FleetOptions{Conn: base, Size: 3, Interval: time.Second, Enroll: &ControlPlane{Client: client},
			Random: []Fault{{Kind: FaultReboot}}, Log: log})
	}()
	reported := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for len(reported) < 3 {
		select {
		case ev := <-fleet.Events():
			if d, ok := ev.(event.ShadowDoc); ok && d.Kind == event.DocCurrent && d.Reported["fw"] == Version {
				reported[d.Thing] = true
			}
		case <-timeout:
			t.Fatalf("reports from %v only\n%s", reported, log.String())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !reported[n] {
			t.Errorf("no report from %s", n)
		}
		if _, err := client.DescribeThing(context.Background(), &iot.DescribeThingInput{ThingName: aws.String(n)}); err == nil {
			t.Errorf("thing %s left behind", n)
		}
	}
	if !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(log.String(), n+" fleet: fault reboot on this device") }) {
		t.Errorf("the random fault's device is not logged:\n%s", log.String())
	}
}

// iotClient is the emulator's control plane with certs init's credentials.
func iotClient(t *testing.T, dir, addr string) *iot.Client {
	t.Helper()
	creds, err := pki.LoadAWSCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pki.LoadCAPool(filepath.Join(dir, pki.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg := aws.Config{Region: creds.Region, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	return iot.NewFromConfig(cfg, func(o *iot.Options) { o.BaseEndpoint = aws.String("https://" + addr) })
}
