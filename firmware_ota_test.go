package main

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	stdlog "log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/pki"
)

// TestFirmwareHostUpdatesOverTheAir is fw-host doing a full OTA against
// serve's Jobs: fw-host 0.1.0 (the sanitized build) takes a job whose image,
// uploaded by job create --file, is fw-host built as 0.2.0; it downloads and
// checks it, writes it beside itself and execs it, and the new binary
// reports SUCCEEDED with fw=0.2.0 and 0.2.0 as the shadow's fw. Then, on
// the new binary: an unknown operation is REJECTED, an image whose checksum
// is not the document's FAILS, one on a server outside the CA or under
// another name FAILS unrequested, and an image that cannot boot falls back to the running
// binary, which reports the job FAILED (rolled back).
func TestFirmwareHostUpdatesOverTheAir(t *testing.T) {
	v1 := buildFirmwareHost(t, true)
	v2 := buildFirmwareTarget(t, "build/fw-host-as-0.2.0")
	const thing = "ota-1"
	const newFW = "iotwatch-fw/0.2.0-host"
	dir, port, api := rolloutLab(t, thing, time.Minute)

	// The running binary's slot: the update is written beside it.
	slot := filepath.Join(t.TempDir(), "fw-host")
	copyFile(t, v1, slot)
	log := &lockedBuffer{}
	startSlot(t, slot, dir, port, thing, log)
	createThing(t, api, thing)

	docs := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(docs, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	create := func(args ...string) {
		t.Helper()
		if code, stdout, stderr := run(t, append(append([]string{"job", "create", "--thing", thing}, args...), api...)...); code != 0 {
			t.Fatalf("job create %v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}

	create("--document", write("ota.json", `{"operation":"ota","version":"`+newFW+`"}`), "--file", v2, "--job-id", "ota-v2")
	out := waitJob(t, "ota-v2", api, "1 succeeded", log)
	if !strings.Contains(out, "fw="+newFW) {
		t.Errorf("the execution's statusDetails do not name the new firmware:\n%s", out)
	}
	if !strings.Contains(log.String(), newFW+": thing "+thing) {
		t.Errorf("the new binary did not start:\n%s", log)
	}
	if same, err := sameFile(v2, slot+".ota"); !same {
		t.Errorf("the image written beside fw-host is not the uploaded one: %v", err)
	}
	// The shadow says which firmware runs: the new binary's own version.
	waitFor(t, "the shadow's fw "+newFW, func() bool {
		reported := reportedState(t, dir, port, thing)
		return reported["fw"] == newFW && reported["reset_reason"] == "SW"
	})

	create("--document", write("reset.json", `{"operation":"factory-reset"}`), "--job-id", "unknown-op")
	out = waitJob(t, "unknown-op", api, "1 rejected", log)
	if !strings.Contains(out, `reason=unknown operation "factory-reset"`) {
		t.Errorf("rejected job:\n%s", out)
	}

	// The image the first job uploaded, named as job create --file names it,
	// with a checksum that is not its own.
	image, _ := os.ReadFile(v2)
	sum := sha256.Sum256(image)
	url := api[1] + "/files/" + hex.EncodeToString(sum[:])[:12] + "-" + filepath.Base(v2)
	badSum := strings.Replace(otaDocument("iotwatch-fw/9.9.9-host", "${aws:iot:s3-presigned-url:"+url+"}", image),
		hex.EncodeToString(sum[:]), strings.Repeat("0", 64), 1)
	create("--document", write("bad.json", badSum), "--job-id", "bad-sum")
	out = waitJob(t, "bad-sum", api, "1 failed", log)
	if !strings.Contains(out, "reason=sha256 mismatch: the image is "+hex.EncodeToString(sum[:])) {
		t.Errorf("wrong checksum:\n%s", out)
	}

	// An image on a server the device's CA does not vouch for, or that the
	// CA vouches for under another name: refused before a byte of it is
	// asked for, as the MQTT connection would be.
	for _, c := range []struct {
		name, host, reason string
	}{
		{"outside-ca", "", "server certificate: self-signed certificate"},
		{"other-name", "elsewhere.example", "server certificate: IP address mismatch"},
	} {
		var served atomic.Int32
		srv := imageServer(t, dir, c.host, func(w http.ResponseWriter, _ *http.Request) {
			served.Add(1)
			w.Write(image)
		})
		create("--document", write(c.name+".json", otaDocument("iotwatch-fw/9.9.9-host", srv.URL+"/fw.bin", image)), "--job-id", c.name)
		out = waitJob(t, c.name, api, "1 failed", log)
		if !strings.Contains(out, "reason=download: TLS with "+strings.TrimPrefix(srv.URL, "https://")+" failed: "+c.reason) {
			t.Errorf("%s:\n%s", c.name, out)
		}
		if served.Load() != 0 {
			t.Errorf("%s: the image was requested from a server the device could not trust", c.name)
		}
	}

	// An image that checks out but does not boot: the running binary comes
	// back and says so.
	broken := write("broken.bin", "not a program\n")
	create("--document", write("broken.json", `{"operation":"ota","version":"iotwatch-fw/9.9.9-host"}`), "--file", broken, "--job-id", "no-boot")
	out = waitJob(t, "no-boot", api, "1 failed", log)
	if !strings.Contains(out, "reason=rebooted into "+newFW+", not iotwatch-fw/9.9.9-host: rolled back") {
		t.Errorf("an image that does not boot:\n%s", out)
	}
	if !strings.Contains(log.String(), "cannot boot the new image") {
		t.Errorf("fw-host did not say it fell back:\n%s", log)
	}
}

// startSlot runs the fw-host binary at slot as thing until the test ends
// (or kill is called), logging to log, and waits for its first connect.
func startSlot(t *testing.T, slot, dir, port, thing string, log *lockedBuffer) (kill func()) {
	t.Helper()
	host := fwHostCommand(slot, dir, port, thing, filepath.Join(dir, pki.CACertFile), 1, "")
	host.Stderr = log
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	connects := strings.Count(log.String(), "connected and subscribed")
	kill = func() {
		host.Process.Kill()
		host.Wait()
	}
	t.Cleanup(func() {
		kill()
		if t.Failed() {
			t.Logf("fw-host stderr:\n%s", log)
		}
	})
	waitFor(t, "fw-host's connect", func() bool { return strings.Count(log.String(), "connected and subscribed") > connects })
	return kill
}

// TestFirmwareHostDownloadsAgainAfterARebootMidDownload: fw-host killed
// (kill -9, as a power cut) halfway through its image comes back, finds the
// execution at step=download, downloads the whole image again and reports
// SUCCEEDED from the new binary.
func TestFirmwareHostDownloadsAgainAfterARebootMidDownload(t *testing.T) {
	v1 := buildFirmwareHost(t, true)
	v2 := buildFirmwareTarget(t, "build/fw-host-as-0.2.0")
	const thing = "ota-2"
	dir, port, api := rolloutLab(t, thing, time.Minute)
	slot := filepath.Join(t.TempDir(), "fw-host")
	copyFile(t, v1, slot)
	log := &lockedBuffer{}
	kill := startSlot(t, slot, dir, port, thing, log)
	createThing(t, api, thing)

	// The image from a server of the lab's CA that stops halfway the
	// first time, until the device is gone.
	image, _ := os.ReadFile(v2)
	var requests atomic.Int32
	halfway := make(chan struct{})
	killed := make(chan struct{})
	srv := imageServer(t, dir, "127.0.0.1", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(image)))
		if requests.Add(1) == 1 {
			w.Write(image[:len(image)/2])
			w.(http.Flusher).Flush()
			close(halfway)
			<-killed
			return
		}
		w.Write(image)
	})
	release := sync.OnceFunc(func() { close(killed) })
	t.Cleanup(release) // before the server's Close, which waits for the handler

	doc := filepath.Join(t.TempDir(), "ota.json")
	os.WriteFile(doc, []byte(otaDocument("iotwatch-fw/0.2.0-host", srv.URL+"/fw.bin", image)), 0o644)
	if code, stdout, stderr := run(t, append([]string{"job", "create", "--thing", thing, "--document", doc, "--job-id", "cut"}, api...)...); code != 0 {
		t.Fatalf("job create: exit %d\n%s%s", code, stdout, stderr)
	}
	select {
	case <-halfway:
	case <-time.After(30 * time.Second):
		t.Fatalf("fw-host never asked for the image:\n%s", log)
	}
	waitJob(t, "cut", api, "step=download", log)
	kill()
	release()
	startSlot(t, slot, dir, port, thing, log)
	out := waitJob(t, "cut", api, "1 succeeded", log)
	if !strings.Contains(out, "fw=iotwatch-fw/0.2.0-host") || requests.Load() != 2 {
		t.Errorf("after %d requests:\n%s", requests.Load(), out)
	}
}

// imageServer serves h over TLS on 127.0.0.1 until the test ends, with a
// certificate of the lab's CA naming host, or httptest's own self-signed one
// when host is "".
func imageServer(t *testing.T, dir, host string, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // handshakes the device refuses
	if host != "" {
		ca, err := pki.LoadCA(filepath.Join(dir, pki.CACertFile), filepath.Join(dir, pki.CAKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := ca.Issue(pki.Spec{CommonName: host, Hosts: []string{host}})
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// otaDocument is an ota job document for image at url.
func otaDocument(version, url string, image []byte) string {
	sum := sha256.Sum256(image)
	return `{"operation":"ota","version":"` + version + `","url":"` + url + `","sha256":"` +
		hex.EncodeToString(sum[:]) + `","size":` + strconv.Itoa(len(image)) + `}`
}

// buildFirmwareTarget builds firmware/target with the firmware's Makefile.
func buildFirmwareTarget(t *testing.T, target string) string {
	t.Helper()
	if out, err := exec.Command("make", "-C", "firmware", target).CombinedOutput(); err != nil {
		t.Fatalf("building firmware/%s: %v\n%s", target, err, out)
	}
	bin, err := filepath.Abs(filepath.Join("firmware", target))
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err == nil {
		err = os.WriteFile(to, data, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func sameFile(a, b string) (bool, error) {
	x, err := os.ReadFile(a)
	if err != nil {
		return false, err
	}
	y, err := os.ReadFile(b)
	return err == nil && string(x) == string(y), err
}

// reportedState is the thing's reported section, read with iotwatch get.
func reportedState(t *testing.T, dir, port, thing string) map[string]any {
	t.Helper()
	code, stdout, stderr := run(t, "get", "-c", filepath.Join(dir, "watch.toml"), "--port", port, "--thing", thing)
	if code != 0 {
		t.Fatalf("get: exit %d: %s", code, stderr)
	}
	var doc struct {
		State struct {
			Reported map[string]any `json:"reported"`
		} `json:"state"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("get printed %q: %v", stdout, err)
	}
	return doc.State.Reported
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
