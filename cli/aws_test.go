package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/awsconn"
	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/internal/testkit"
	"github.com/iotwatch/iotwatch/localiot"
	"github.com/iotwatch/iotwatch/pki"
)

// awsLab is the emulator with its HTTPS APIs, and the environment an AWS
// user has: the lab's credentials as the shared credentials file.
func awsLab(t *testing.T) (lab string, srv *localiot.Server) {
	t.Helper()
	lab = t.TempDir()
	if code, _, stderr := run(t, "certs", "init", "--dir", lab, "--thing", "lab-device"); code != 0 {
		t.Fatal(stderr)
	}
	srv, err := localiot.New(localiot.Options{Listen: "127.0.0.1:0", APIListen: "127.0.0.1:0", PKIDir: lab})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(lab, pki.AWSCredentialsFile))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(lab, pki.AWSConfigFile))
	t.Setenv("AWS_PROFILE", pki.AWSProfile)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true") // never the instance metadata address
	return lab, srv
}

// TestAWSSetupToAWatchedDevice is the README's real-AWS path against the
// emulator: setup, a device on the written device.toml reporting, its
// least-privilege policy holding it to its own thing, the firmware header
// compiling, a rerun changing nothing, and teardown.
func TestAWSSetupToAWatchedDevice(t *testing.T) {
	lab, srv := awsLab(t)
	dir := filepath.Join(t.TempDir(), "board-1")
	setup := []string{"aws", "setup", "--thing", "board-1", "--dir", dir,
		"--endpoint-url", "https://" + srv.APIAddr(), "--ca-bundle", filepath.Join(lab, "ca.pem")}
	code, stdout, stderr := run(t, setup...)
	if code != 0 || !strings.Contains(stdout, "iotwatch watch -c "+filepath.Join(dir, "watch.toml")) {
		t.Fatalf("setup: exit %d\n%s%s", code, stdout, stderr)
	}
	_, port, _ := strings.Cut(srv.Addr(), ":")
	device := filepath.Join(dir, "device.toml")
	os.WriteFile(device, []byte(strings.Replace(mustRead(t, device), "port = 8883", "port = "+port, 1)), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	simLog := &testkit.LockedBuffer{}
	go Run(ctx, []string{"sim", "-c", device, "--interval", "1s"}, simLog, simLog)
	monitor := []string{"get", "-c", filepath.Join(lab, "watch.toml"), "--port", port, "--thing", "board-1"}
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, stdout, _ := run(t, monitor...)
		if code == 0 && strings.Contains(stdout, `"seq"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no report from the provisioned device; sim: %s", simLog.String())
		}
		time.Sleep(300 * time.Millisecond)
	}

	// The monitor signs in with the AWS credentials (SigV4, MQTT over
	// WebSocket) through the written watch.toml, and steers the device.
	watch := filepath.Join(dir, "watch.toml")
	if code, stdout, stderr := run(t, "update", "-c", watch, "--desired", `{"led":true}`); code != 0 || !strings.Contains(stdout, `"led": true`) {
		t.Fatalf("update over SigV4: exit %d %s%s", code, stdout, stderr)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		code, stdout, stderr := run(t, "get", "-c", watch)
		if code == 0 && strings.Contains(stdout, `"reported": {`) && !strings.Contains(stdout, `"delta"`) && strings.Contains(stdout, `"led": true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the desired LED never reached the device over SigV4: exit %d %s%s", code, stdout, stderr)
		}
		time.Sleep(300 * time.Millisecond)
	}

	if code, stdout, _ := run(t, "doctor", "-c", watch); code != 0 || !strings.Contains(stdout, "WebSocket upgrade signed with SigV4") || !strings.Contains(stdout, "AWS credentials from") {
		t.Fatalf("doctor over SigV4: exit %d\n%s", code, stdout)
	}
	wrong := filepath.Join(t.TempDir(), "credentials")
	creds := mustRead(t, filepath.Join(lab, pki.AWSCredentialsFile))
	os.WriteFile(wrong, []byte(creds[:strings.Index(creds, "aws_secret_access_key")]+"aws_secret_access_key = wrong\n"), 0o600)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", wrong)
	if code, stdout, _ := run(t, "doctor", "-c", watch); code != 1 || !strings.Contains(stdout, "the server refused the signed upgrade: HTTP 403") {
		t.Fatalf("doctor with a wrong secret: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := run(t, "get", "-c", watch); code != 1 || !strings.Contains(stderr, "refused the WebSocket upgrade signed with SigV4") {
		t.Fatalf("get with a wrong secret: exit %d %s", code, stderr)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(lab, pki.AWSCredentialsFile))

	cfg, err := config.Load(device)
	if err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*awsconn.Options){
		"another client id":      func(o *awsconn.Options) { o.ClientID = "board-2" },
		"another thing's shadow": func(o *awsconn.Options) { o.Thing = "lab-device" },
	} {
		o, err := configConn(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		o.Role = awsconn.Device
		o.ClientID = cfg.Thing.Name
		change(&o)
		conn, err := awsconn.Dial(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := waitConnected(ctx, conn); err == nil {
			t.Errorf("%s: the device certificate was allowed", name)
		} else {
			t.Logf("%s: refused: %v", name, err)
		}
		conn.Close()
	}

	compileSecrets(t, filepath.Join(dir, "secrets.h"))
	if code, _, stderr := run(t, setup...); code != 0 || !strings.Contains(stderr, "already set up") {
		t.Fatalf("rerun: exit %d %s", code, stderr)
	}
	cancel()
	if code, stdout, stderr := run(t, "aws", "teardown", "--dir", dir); code != 0 || !strings.Contains(stdout, "Removed what setup created") {
		t.Fatalf("teardown: exit %d %s%s", code, stdout, stderr)
	}
}

// compileSecrets runs the firmware's syntax check with the written header.
func compileSecrets(t *testing.T, secrets string) {
	t.Helper()
	inc := t.TempDir()
	os.WriteFile(filepath.Join(inc, "secrets.h"), []byte(mustRead(t, secrets)), 0o600)
	out, err := exec.Command("g++", "-std=gnu++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
		"-I", "../firmware/test/esp32", "-I", inc, "../firmware/src/main.cpp").CombinedOutput()
	if err != nil {
		t.Fatalf("the firmware does not compile with the written secrets.h: %v\n%s", err, out)
	}
}

func TestAWSSetupErrors(t *testing.T) {
	_, srv := awsLab(t)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"aws", "setup"}, 2, "--thing"},
		{[]string{"aws", "setup", "--thing", "x", "--endpoint-url", "https://" + srv.APIAddr()}, 2, "go together"},
		{[]string{"aws", "setup", "--thing", "board-9", "--dry-run", "--dir", t.TempDir()}, 0, "iot:CreateKeysAndCertificate setAsActive=true"},
		{[]string{"aws", "teardown", "--dir", t.TempDir()}, 1, "finds no record of it"},
		{[]string{"aws", "nope"}, 2, `unknown aws command "nope"`},
	}
	for _, c := range cases {
		code, stdout, stderr := run(t, c.args...)
		if code != c.code || !strings.Contains(stdout+stderr, c.want) {
			t.Errorf("%v: exit %d %s%s; want %d %q", c.args, code, stdout, stderr, c.code, c.want)
		}
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "eu-west-1")
	code, _, stderr := run(t, "aws", "setup", "--thing", "board-3", "--dir", t.TempDir(), "--endpoint-url", "https://"+srv.APIAddr(),
		"--ca-bundle", os.Getenv("AWS_CONFIG_FILE")[:len(os.Getenv("AWS_CONFIG_FILE"))-len(pki.AWSConfigFile)]+"ca.pem")
	if code != 1 || !strings.Contains(stderr, "no AWS credentials found") || !strings.Contains(stderr, "nothing had been created") {
		t.Fatalf("no credentials: exit %d %s", code, stderr)
	}
}

// TestNoCredentialsOffAWS: against the emulator with no AWS credentials
// anywhere and no region, aws setup defaults the emulator's region, never
// asks the EC2 instance metadata, lets the SDK write nothing on the
// terminal, and prints the exports that work; get over SigV4 says the same.
func TestNoCredentialsOffAWS(t *testing.T) {
	lab, srv := awsLab(t)
	for _, v := range []string{"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_EC2_METADATA_DISABLED"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	t.Setenv("HOME", t.TempDir())
	terminal := captureStderr(t)
	code, _, stderr := run(t, "aws", "setup", "--thing", "porch", "--dir", filepath.Join(t.TempDir(), "porch"),
		"--endpoint-url", "https://"+srv.APIAddr(), "--ca-bundle", filepath.Join(lab, "ca.pem"))
	want := "export AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(lab, pki.AWSCredentialsFile) + " AWS_PROFILE=iotwatch-local"
	if code != 1 || !strings.Contains(stderr, want) || strings.Contains(stderr, "IMDS") || strings.Contains(stderr, "region") {
		t.Errorf("aws setup: exit %d\n%s\nwant the exports %q, no IMDS, no region", code, stderr, want)
	}
	sig := filepath.Join(lab, "sig.toml")
	os.WriteFile(sig, []byte("[aws]\nendpoint = \"127.0.0.1\"\nport = "+strings.Split(srv.APIAddr(), ":")[1]+"\nauth = \"sigv4\"\nca = \"ca.pem\"\n[thing]\nname = \"porch\"\n"), 0o644)
	code, _, stderr = run(t, "get", "-c", sig)
	if code != 1 || !strings.HasPrefix(stderr, "iotwatch get: no AWS credentials found: for iotwatch serve") || !strings.Contains(stderr, want) {
		t.Errorf("get: exit %d\n%s", code, stderr)
	}
	if out := terminal(); out != "" {
		t.Errorf("the SDK wrote on the terminal:\n%s", out)
	}
}

// captureStderr sends the process's own stderr (where the AWS SDK's
// default logger writes) to a pipe; the returned function restores it and
// returns what was written.
func captureStderr(t *testing.T) func() string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	got := make(chan string)
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				got <- b.String()
				return
			}
		}
	}()
	done := false
	restore := func() string {
		if done {
			return ""
		}
		done = true
		os.Stderr = saved
		w.Close()
		return <-got
	}
	t.Cleanup(func() { restore() })
	return restore
}
