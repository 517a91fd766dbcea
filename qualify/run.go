// Package qualify runs AWS IoT Device Advisor's test cases offline: the
// emulator (localiot) plays the misbehaving server each case describes —
// withheld CONNACK, PUBACK, SUBACK or PINGRESP, server disconnects, server
// certificates made on the fly from the lab CA, an expired session — through
// hooks (recorder.go, listener.go), and each case is graded from the
// timeline of what the device did (grade.go, backoff.go, policy.go: pure,
// table-tested). cases.go lists the cases as data.
//
// The device under test connects to Options.Listen with a certificate the
// lab CA issued and the registry knows, client id = its thing, trusting the
// lab CA (ca.pem) and dialing a name of the lab's server certificate
// (localhost, 127.0.0.1, or a --host given to certs init). Between cases the
// server disconnects it, so it must reconnect by itself.
//
// From Go, a test qualifying another device (fw-host here) starts it in
// Ready, once the server is bound, and checks the results:
//
//	dir := t.TempDir() // pki.Init(dir, pki.InitOptions{Thing: "fw-q"})
//	cases, _ := qualify.Select(nil, "all")
//	var dev *exec.Cmd
//	rep, err := qualify.Run(ctx, qualify.Options{PKIDir: dir, Listen: "127.0.0.1:0", Thing: "fw-q",
//		Cases: cases, Timeout: 30 * time.Second,
//		Ready: func(addr string) {
//			_, port, _ := net.SplitHostPort(addr)
//			dev = exec.CommandContext(ctx, "firmware/build/fw-host", "--endpoint", "localhost", "--port", port,
//				"--thing", "fw-q", "--cert", dir+"/device.pem", "--key", dir+"/device.key", "--ca", dir+"/ca.pem",
//				"--keepalive", "5", "--interval", "1")
//			dev.Start()
//		}})
//	for _, r := range rep.Results {
//		if r.Verdict == qualify.Fail || r.Verdict == qualify.Error {
//			t.Errorf("%s: %s: %s", r.Case, r.Verdict, r.Reason)
//		}
//	}
//
// Each case closes the device's connection when it starts, so the device
// reconnects by its own backoff; a device carries that backoff from case to
// case (qualify_test.go's sim test gives each case a fresh device, as
// Device Advisor's runs do). Short keep-alives and report intervals keep a
// run short; the device's CONNACK timeout and backoff set how long the
// backoff cases take (about 12 attempts for MQTT_Connect_Jitter_Backoff_Retries).
// From a shell: iotwatch qualify --pki DIR --listen 127.0.0.1:8883 (cli/qualify.go).
package qualify

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/iotwatch/iotwatch/localiot"
	"github.com/iotwatch/iotwatch/shadow"
)

// Options configure a run.
type Options struct {
	PKIDir  string
	Listen  string
	Thing   string // the device's thing = its client id
	Cases   []Case // in run order (Select)
	Timeout time.Duration
	// PublishTopic and SubscribeTopic default to the thing's shadow
	// update and update/delta topics.
	PublishTopic, SubscribeTopic string
	// Desired is Shadow_Update_Reported_State's desired state; default
	// {"setpoint": 22.5}.
	Desired map[string]any
	// Ready is called with the bound address before the first case.
	Ready func(addr string)
	// Progress is told the running case, what it waits for and its time
	// left, at most every 100 ms.
	Progress func(Progress)
	// Graded is told each case's result as it is decided.
	Graded func(Result)
	Log    io.Writer // the emulator's log; nil discards
}

// Progress is the state of a run for a progress line.
type Progress struct {
	Case    string
	Index   int // from 1
	Total   int
	Waiting string
	Left    time.Duration
}

// Result is one graded case.
type Result struct {
	Case     string        `json:"case"`
	Doc      string        `json:"description"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	Outcome
	Timeline Timeline `json:"timeline"`
}

// Report is a run's results.
type Report struct {
	Thing   string        `json:"thing"`
	Listen  string        `json:"listen"`
	Started time.Time     `json:"started"`
	Timeout time.Duration `json:"timeout_ns"`
	Results []Result      `json:"results"`
}

// poll is how often a waiting case is graded again without news.
const poll = 100 * time.Millisecond

// Run serves the cases one after another and grades each.
func Run(ctx context.Context, o Options) (*Report, error) {
	if !shadow.ValidThingName(o.Thing) {
		return nil, fmt.Errorf("thing %q is not a valid thing name", o.Thing)
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.PublishTopic == "" {
		o.PublishTopic = shadow.Prefix(o.Thing, "") + "/update"
	}
	if o.SubscribeTopic == "" {
		o.SubscribeTopic = shadow.Prefix(o.Thing, "") + "/update/delta"
	}
	if o.Desired == nil {
		o.Desired = map[string]any{"setpoint": 22.5}
	}
	certs, err := serverCerts(o.PKIDir)
	if err != nil {
		return nil, err
	}
	p := Params{Thing: o.Thing, PublishTopic: o.PublishTopic, SubscribeTopic: o.SubscribeTopic, Desired: o.Desired}
	rec := newRecorder(certs, p)
	var ln *listener
	hooks := &localiot.Hooks{
		Listener: func(raw net.Listener, conf *tls.Config) net.Listener {
			ln = newListener(raw, conf, rec)
			return ln
		},
		MQTT: []mqtt.Hook{rec},
	}
	// Unthrottled: the server grades the device's own pacing, which AWS's
	// CONNECT rate limit would hide.
	srv, err := localiot.New(localiot.Options{Listen: o.Listen, PKIDir: o.PKIDir, Log: o.Log, Unthrottled: true, Hooks: hooks})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	// Before Close: no new client may join while mochi closes (its
	// Clients.GetByListener read-locks twice, and a CONNECT's Add waiting
	// in between deadlocks both), and Close waits for every connection,
	// held ones too.
	defer func() {
		rec.stopAccepting()
		ln.Close()
		rec.closeAll()
	}()
	rec.srv = srv
	if err := srv.Start(); err != nil {
		return nil, err
	}
	rep := &Report{Thing: o.Thing, Listen: srv.Addr(), Started: time.Now(), Timeout: o.Timeout}
	if o.Ready != nil {
		o.Ready(srv.Addr())
	}
	for i, c := range o.Cases {
		res := runCase(ctx, rec, c, o, i)
		rep.Results = append(rep.Results, res)
		if o.Graded != nil {
			o.Graded(res)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return rep, nil
}

// runCase plays one case until its grade is decided or its time is up.
func runCase(ctx context.Context, rec *recorder, c Case, o Options, i int) Result {
	start := time.Now()
	deadline := start.Add(o.Timeout)
	rec.begin(c.Plan, deadline, kickGap(c.Plan, o.Timeout))
	if c.Plan.Long {
		script, stop := context.WithCancel(ctx)
		defer stop()
		go rec.longScript(script, o.Timeout)
	}
	p := rec.params
	tick := time.NewTicker(poll)
	defer tick.Stop()
	end := time.NewTimer(o.Timeout)
	defer end.Stop()
	for {
		p.Now = time.Now()
		if c.Name == "Security_Device_Policies" {
			p.Policies = policiesOf(rec)
		}
		out := c.Grade(rec.timeline(), p)
		if out.Verdict != pending {
			return Result{Case: c.Name, Doc: c.Doc, Started: start, Duration: time.Since(start), Outcome: out, Timeline: rec.timeline()}
		}
		if o.Progress != nil {
			o.Progress(Progress{Case: c.Name, Index: i + 1, Total: len(o.Cases), Waiting: out.Reason, Left: time.Until(deadline)})
		}
		select {
		case <-rec.changed:
		case <-tick.C:
		case <-end.C:
			p.Final = true
		case <-ctx.Done():
			p.Final = true
		}
		if p.Final {
			p.Now = time.Now()
			out := c.Grade(rec.timeline(), p)
			if ctx.Err() != nil && out.Verdict == Error {
				out.Reason = "interrupted before the device connected"
			}
			return Result{Case: c.Name, Doc: c.Doc, Started: start, Duration: time.Since(start), Outcome: out, Timeline: rec.timeline()}
		}
	}
}

// kickGap is how long a device stays connected before a planned server
// disconnect: a share of the timeout, at least a second.
func kickGap(p Plan, timeout time.Duration) time.Duration {
	if p.KickAfterScale == 0 {
		return 0
	}
	return max(time.Second, timeout*time.Duration(p.KickAfterScale)/100)
}

// policiesOf reads the policies of the device's certificate once it is known.
func policiesOf(rec *recorder) map[string]string {
	cert := rec.peerCert()
	if cert == nil {
		return nil
	}
	docs, err := rec.srv.CertificatePolicies(cert)
	if err != nil || len(docs) == 0 {
		return nil
	}
	return docs
}
