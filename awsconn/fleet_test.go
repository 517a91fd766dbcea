package awsconn

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/internal/testkit"
	"github.com/iotwatch/iotwatch/localiot"
	"github.com/iotwatch/iotwatch/pki"
)

func TestPlanShards(t *testing.T) {
	cases := []struct {
		things  []string
		perConn int
		want    [][]string
	}{
		{nil, 8, nil},
		{[]string{"a"}, 8, [][]string{{"a"}}},
		{[]string{"a", "b", "c"}, 2, [][]string{{"a", "b"}, {"c"}}},
		{[]string{"a", "b", "a", "c"}, 2, [][]string{{"a", "b"}, {"c"}}},
	}
	for _, c := range cases {
		if got := planShards(c.things, c.perConn); !reflect.DeepEqual(got, c.want) {
			t.Errorf("planShards(%v, %d) = %v, want %v", c.things, c.perConn, got, c.want)
		}
	}
	for _, c := range []struct{ max, want int }{{50, 8}, {6, 1}, {200, 33}} {
		if got := ThingsPerConnection(c.max); got != c.want {
			t.Errorf("ThingsPerConnection(%d) = %d, want %d", c.max, got, c.want)
		}
		if got := ThingsPerConnection(c.max)*len(thingFilters("x", "")) + 1; got > c.max && c.max >= 7 {
			t.Errorf("%d subscriptions on a connection allowed %d", got, c.max)
		}
	}
}

// fleetOptions connects a fleet with the monitor certificate.
func (l *lab) fleetOptions(t testing.TB, things ...string) FleetOptions {
	o := l.options(t, Monitor, "iotwatch-fleet")
	return FleetOptions{Conn: o, Things: things}
}

func dialFleet(t testing.TB, o FleetOptions) *Fleet {
	t.Helper()
	f, err := DialFleet(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// reporter publishes reports for any thing with the monitor certificate,
// whose policy allows every topic.
func (l *lab) reporter(t testing.TB, clientID string) paho.Client {
	t.Helper()
	o := l.options(t, Monitor, clientID)
	opts := paho.NewClientOptions().AddBroker("tls://" + l.srv.Addr()).SetClientID(clientID).SetTLSConfig(o.TLS)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("reporter connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func report(t testing.TB, c paho.Client, thing string, seq int) {
	t.Helper()
	payload := fmt.Sprintf(`{"state":{"reported":{"seq":%d}}}`, seq)
	if tok := c.Publish("$aws/things/"+thing+"/shadow/update", 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("report for %s: %v", thing, tok.Error())
	}
}

// waitFleet reads fleet events until match accepts one, within 15 s.
func waitFleet(t testing.TB, f *Fleet, what string, match func(event.Event) bool) event.Event {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-f.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %s", what)
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s within 15 s", what)
		}
	}
}

// TestFleetFollowsEveryThing: ten things on two connections (eight per
// connection under 50 subscriptions); each report, get answer and
// lifecycle event arrives once, naming its thing.
func TestFleetFollowsEveryThing(t *testing.T) {
	l := newLab(t)
	var things []string
	for i := range 10 {
		things = append(things, fmt.Sprintf("esp32-%03d", i))
	}
	f := dialFleet(t, l.fleetOptions(t, things...))
	if f.Connections() != 2 || !slices.Equal(f.Things(), things) {
		t.Fatalf("%d connections for %v", f.Connections(), f.Things())
	}
	gets := map[string]bool{}
	var ups [][]string
	waitFleet(t, f, "a get answer per thing", func(ev event.Event) bool {
		switch e := ev.(type) {
		case event.Rejected:
			if e.Op == "get" && e.Code == 404 {
				gets[e.Thing] = true
			}
		case event.Link:
			if e.State == event.LinkUp {
				ups = append(ups, e.Things)
			}
		}
		return len(gets) == len(things) && len(ups) == 2
	})
	slices.SortFunc(ups, func(a, b []string) int { return len(b) - len(a) })
	if !slices.Equal(ups[0], things[:8]) || !slices.Equal(ups[1], things[8:]) {
		t.Errorf("link up events name %v", ups)
	}
	rep := l.reporter(t, things[9])
	for i, th := range things {
		report(t, rep, th, i)
	}
	seen := map[string]float64{}
	var connected event.Presence
	waitFleet(t, f, "every thing's report", func(ev event.Event) bool {
		switch e := ev.(type) {
		case event.ShadowDoc:
			if e.Kind != event.DocCurrent {
				t.Errorf("a %s document: the fleet follows documents only", e.Kind)
			}
			if _, dup := seen[e.Thing]; dup {
				t.Errorf("%s's report arrived twice", e.Thing)
			}
			seen[e.Thing] = e.Reported["seq"].(float64)
		case event.Presence:
			connected = e
		}
		return len(seen) == len(things) && connected.Thing != ""
	})
	for i, th := range things {
		if seen[th] != float64(i) {
			t.Errorf("%s: seq %v, want %d", th, seen[th], i)
		}
	}
	if connected.Thing != things[9] || connected.EventType != "connected" {
		t.Errorf("presence %+v", connected)
	}
}

// TestFleetDiscoversMatchingThings: with the wildcard allowed, a thing the
// glob matches is followed from its first report on; others are not.
func TestFleetDiscoversMatchingThings(t *testing.T) {
	l := newLab(t)
	o := l.fleetOptions(t)
	o.Match = func(n string) bool { ok, _ := path.Match("esp32-*", n); return ok }
	o.Discover = true
	f := dialFleet(t, o)
	waitFleet(t, f, "link up", linkIs(event.LinkUp))
	rep := l.reporter(t, "reporter")
	report(t, rep, "other-1", 1)
	report(t, rep, "esp32-new", 1)
	get := waitFleet(t, f, "the discovered thing's get", docKind(event.DocGet)).(event.ShadowDoc)
	if get.Thing != "esp32-new" || get.Reported["seq"] != 1.0 {
		t.Fatalf("get %+v", get)
	}
	report(t, rep, "esp32-new", 2)
	doc := waitFleet(t, f, "its next report", docKind(event.DocCurrent)).(event.ShadowDoc)
	if doc.Thing != "esp32-new" || doc.Reported["seq"] != 2.0 || !slices.Equal(f.Things(), []string{"esp32-new"}) {
		t.Fatalf("report %+v, things %v", doc, f.Things())
	}
}

// TestFleetFromListThings: things the registry lists and the glob matches
// are followed from the start.
func TestFleetFromListThings(t *testing.T) {
	l := newAPILab(t)
	client := l.iotClient(t)
	for _, n := range []string{"esp32-a", "lamp", "esp32-b"} {
		if _, err := client.CreateThing(context.Background(), &iot.CreateThingInput{ThingName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	o := l.fleetOptions(t)
	o.Match = func(n string) bool { ok, _ := path.Match("esp32-*", n); return ok }
	o.List = RegistryThings(client)
	f := dialFleet(t, o)
	gets := map[string]bool{}
	waitFleet(t, f, "a get answer per listed thing", func(ev event.Event) bool {
		if r, ok := ev.(event.Rejected); ok && r.Op == "get" {
			gets[r.Thing] = true
		}
		return len(gets) == 2
	})
	if !gets["esp32-a"] || !gets["esp32-b"] || !slices.Equal(f.Things(), []string{"esp32-a", "esp32-b"}) {
		t.Fatalf("gets %v, things %v", gets, f.Things())
	}
}

// newAPILab is a lab whose emulator also serves the control plane.
func newAPILab(t testing.TB) *lab {
	t.Helper()
	l := &lab{dir: t.TempDir()}
	if err := pki.Init(l.dir, pki.InitOptions{Thing: thing, Region: "eu-west-1"}); err != nil {
		t.Fatal(err)
	}
	srv, err := localiot.New(localiot.Options{Listen: "127.0.0.1:0", APIListen: "127.0.0.1:0", PKIDir: l.dir})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	l.srv = srv
	t.Cleanup(func() { srv.Close() })
	return l
}

// TestFleetWithoutTheWildcard: a policy that denies the discovery
// wildcard leaves the fleet on its exact filters: the refusal is logged
// and the listed thing's reports still arrive.
func TestFleetWithoutTheWildcard(t *testing.T) {
	l := newAPILab(t)
	client, ctx := l.iotClient(t), context.Background()
	keys, err := client.CreateKeysAndCertificate(ctx, &iot.CreateKeysAndCertificateInput{SetAsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"},
		{"Effect":"Deny","Action":"iot:Subscribe","Resource":"arn:aws:iot:*:*:topicfilter/$aws/things/+/shadow/update/accepted"}]}`
	if _, err := client.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: aws.String("no-wildcard"), PolicyDocument: &doc}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.AttachPolicy(ctx, &iot.AttachPolicyInput{PolicyName: aws.String("no-wildcard"), Target: keys.CertificateArn}); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair([]byte(*keys.CertificatePem), []byte(*keys.KeyPair.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	o := l.fleetOptions(t, "esp32-listed")
	o.Conn.TLS = o.Conn.TLS.Clone()
	o.Conn.TLS.Certificates = []tls.Certificate{cert}
	log := &testkit.LockedBuffer{}
	o.Conn.Log = log
	o.Match = func(n string) bool { ok, _ := path.Match("esp32-*", n); return ok }
	o.Discover = true
	f := dialFleet(t, o)
	waitFleet(t, f, "the listed thing's get answer", func(ev event.Event) bool { r, ok := ev.(event.Rejected); return ok && r.Thing == "esp32-listed" })
	rep := l.reporter(t, "reporter")
	report(t, rep, "esp32-unlisted", 1)
	report(t, rep, "esp32-listed", 1)
	doc2 := waitFleet(t, f, "the listed thing's report", docKind(event.DocCurrent)).(event.ShadowDoc)
	if doc2.Thing != "esp32-listed" {
		t.Fatalf("report %+v", doc2)
	}
	if !strings.Contains(log.String(), "fleet: discovery by $aws/things/+/shadow/update/accepted refused") {
		t.Fatalf("log: %q", log.String())
	}
	if !slices.Equal(f.Things(), []string{"esp32-listed"}) {
		t.Fatalf("things %v: nothing is discovered without the wildcard", f.Things())
	}
}

// iotClient is the control plane with certs init's AWS credentials.
func (l *lab) iotClient(t testing.TB) *iot.Client {
	t.Helper()
	creds, err := pki.LoadAWSCredentials(l.dir)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pki.LoadCAPool(filepath.Join(l.dir, pki.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg := aws.Config{Region: creds.Region, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	return iot.NewFromConfig(cfg, func(o *iot.Options) { o.BaseEndpoint = aws.String("https://" + l.srv.APIAddr()) })
}
