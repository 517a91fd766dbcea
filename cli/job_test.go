package cli

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/pki"
)

// TestJobCommands runs job create, list, describe and cancel against serve's
// control plane, as the README's rollout rehearsal does, with the errors a
// user meets on the way.
func TestJobCommands(t *testing.T) {
	lab, srv := awsLab(t)
	for _, th := range []string{"fl-1", "fl-2", "other"} {
		cmd := exec.Command("/usr/bin/aws", "--endpoint-url", "https://"+srv.APIAddr(), "--ca-bundle", filepath.Join(lab, "ca.pem"),
			"iot", "create-thing", "--thing-name", th)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("aws iot create-thing %s: %v\n%s", th, err, out)
		}
	}
	doc := filepath.Join(t.TempDir(), "ota.json")
	os.WriteFile(doc, []byte(`{"operation":"ota","version":"1.3.0"}`), 0o644)
	cp := []string{"--endpoint-url", "https://" + srv.APIAddr(), "--ca-bundle", filepath.Join(lab, "ca.pem")}

	code, stdout, stderr := run(t, append([]string{"job", "create", "--match", "fl-*", "--document", doc, "--job-id", "ota-1"}, cp...)...)
	if code != 0 || !strings.Contains(stdout, "Job ota-1 created for 2 thing(s): fl-1, fl-2") {
		t.Fatalf("create --match: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = run(t, append([]string{"job", "create", "--thing", "other", "--document", doc}, cp...)...)
	wantID := "ota-" + time.Now().UTC().Format("20060102")
	if code != 0 || !strings.Contains(stdout, "Job "+wantID) {
		t.Fatalf("create with a default id: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = run(t, append([]string{"job", "list"}, cp...)...)
	if code != 0 || !strings.Contains(stdout, "ota-1") || !strings.Contains(stdout, "IN_PROGRESS") || strings.Count(stdout, "\n") != 3 {
		t.Fatalf("list: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = run(t, append([]string{"job", "describe", "--job-id", "ota-1"}, cp...)...)
	if code != 0 || !strings.Contains(stdout, "2 queued, 0 in progress") || !strings.Contains(stdout, "fl-2") || !strings.Contains(stdout, "QUEUED") {
		t.Fatalf("describe: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = run(t, append([]string{"job", "cancel", "--job-id", "ota-1"}, cp...)...)
	if code != 0 || !strings.Contains(stdout, "Job ota-1 canceled") {
		t.Fatalf("cancel: exit %d\n%s", code, stdout)
	}
	_, stdout, _ = run(t, append([]string{"job", "describe", "--job-id", "ota-1"}, cp...)...)
	if !strings.Contains(stdout, "Job ota-1: CANCELED") || !strings.Contains(stdout, "2 canceled") {
		t.Fatalf("describe after cancel:\n%s", stdout)
	}

	notJSON := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(notJSON, []byte(`operation: ota`), 0o644)
	refusals := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"job", "create", "--thing", "fl-1"}, 2, "--document FILE is required"},
		{[]string{"job", "create", "--document", doc}, 2, "--thing NAME (repeated) or --match GLOB"},
		{[]string{"job", "create", "--thing", "fl-1", "--document", notJSON}, 1, "bad.json: not a JSON object"},
		{[]string{"job", "create", "--match", "zz-*", "--document", doc}, 1, `no registered thing matches "zz-*"`},
		{[]string{"job", "create", "--thing", "ghost", "--document", doc}, 1, "--thing ghost: iot:DescribeThing"},
		{[]string{"job", "create", "--thing", "fl-1", "--document", doc, "--job-id", "ota-1"}, 1, "ResourceAlreadyExistsException"},
		{[]string{"job", "describe"}, 2, "--job-id is required"},
		{[]string{"job", "describe", "--job-id", "nope"}, 1, "ResourceNotFoundException"},
		{[]string{"job", "frobnicate"}, 2, `unknown job command "frobnicate"`},
	}
	for _, r := range refusals {
		args := r.args
		if len(args) > 1 && args[1] != "frobnicate" {
			args = append(append([]string{}, args...), cp...)
		}
		code, _, stderr := run(t, args...)
		if code != r.code || !strings.Contains(stderr, r.want) {
			t.Errorf("%v: exit %d, want %d with %q\n%s", r.args, code, r.code, r.want, stderr)
		}
	}
}

// TestJobWithAFile: job create --file uploads the image to serve; a device
// starting the job over iot-jobs-data gets a presigned URL that downloads
// exactly the image, and a URL whose signature was changed is refused.
func TestJobWithAFile(t *testing.T) {
	lab, srv := awsLab(t)
	awsCLI := func(args ...string) []byte {
		cmd := exec.Command("/usr/bin/aws", append([]string{"--endpoint-url", "https://" + srv.APIAddr(), "--ca-bundle", filepath.Join(lab, "ca.pem"), "--output", "json"}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, out)
		}
		return out
	}
	awsCLI("iot", "create-thing", "--thing-name", "ota-board")
	dir := t.TempDir()
	image := filepath.Join(dir, "fw-1.3.0.bin")
	firmware := bytes.Repeat([]byte("firmware-1.3.0 "), 20000)
	os.WriteFile(image, firmware, 0o644)
	doc := filepath.Join(dir, "ota.json")
	os.WriteFile(doc, []byte(`{"operation":"ota","version":"1.3.0"}`), 0o644)
	code, stdout, stderr := run(t, "job", "create", "--thing", "ota-board", "--document", doc, "--file", image, "--job-id", "ota-file",
		"--endpoint-url", "https://"+srv.APIAddr(), "--ca-bundle", filepath.Join(lab, "ca.pem"))
	if code != 0 {
		t.Fatalf("create --file: exit %d\n%s%s", code, stdout, stderr)
	}
	var started struct {
		Execution struct{ JobDocument string }
	}
	json.Unmarshal(awsCLI("iot-jobs-data", "start-next-pending-job-execution", "--thing-name", "ota-board"), &started)
	var fields struct {
		Operation, URL, SHA256 string
		Size                   int
	}
	if err := json.Unmarshal([]byte(started.Execution.JobDocument), &fields); err != nil {
		t.Fatalf("document %q: %v", started.Execution.JobDocument, err)
	}
	sum := sha256.Sum256(firmware)
	if fields.SHA256 != hex.EncodeToString(sum[:]) || fields.Size != len(firmware) || !strings.Contains(fields.URL, "X-Amz-Signature=") {
		t.Fatalf("document: %+v", fields)
	}
	pool, _ := pki.LoadCAPool(filepath.Join(lab, "ca.pem"))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(u string) (int, []byte) {
		res, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, body
	}
	if code, body := get(fields.URL); code != 200 || !bytes.Equal(body, firmware) {
		t.Fatalf("download: %d, %d bytes", code, len(body))
	}
	i := strings.Index(fields.URL, "X-Amz-Signature=") + len("X-Amz-Signature=")
	flipped := "0"
	if fields.URL[i] == '0' {
		flipped = "1"
	}
	forged := fields.URL[:i] + flipped + fields.URL[i+1:]
	if code, _ := get(forged); code != http.StatusForbidden {
		t.Errorf("a changed signature downloaded: %d", code)
	}
	if code, _ := get("https://" + srv.APIAddr() + "/files/" + path.Base(strings.Split(fields.URL, "?")[0])); code != http.StatusForbidden {
		t.Errorf("an unsigned download: %d", code)
	}
	code, _, stderr = run(t, "job", "create", "--thing", "ota-board", "--document", doc, "--file", image)
	if code != 2 || !strings.Contains(stderr, "--file uploads to the emulator") {
		t.Errorf("--file without --endpoint-url: exit %d %s", code, stderr)
	}
}
