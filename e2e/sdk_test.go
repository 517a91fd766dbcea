package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSDK runs AWS's own IoT Device SDKs for JavaScript, unchanged, against
// iotwatch serve on 127.0.0.1 with the lab's CA and device certificate: the
// v2 SDK (aws-iot-device-sdk-v2 on aws-crt) with both shadow clients over
// MQTT 3.1.1 and MQTT 5, and the v1 SDK (aws-iot-device-sdk on mqtt.js).
// The scripts and the pinned packages are in sdk/; each prints one line per
// check and stops at the first failure.
func TestSDK(t *testing.T) {
	node, npm := lookPathOrFail(t, "node"), lookPathOrFail(t, "npm")
	sdk, err := filepath.Abs("sdk")
	if err != nil {
		t.Fatal(err)
	}
	// npm ci installs exactly package-lock.json into sdk/node_modules; after
	// the first run the packages come from npm's cache.
	ci := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--prefer-offline")
	ci.Dir = sdk
	if out, err := ci.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s (needs the npm registry, or its cache from an earlier run): %v\n%s", sdk, err, out)
	}

	const thing = "pico-sdk"
	bin, lab, port := lab(t, thing)
	run := func(t *testing.T, port string, args ...string) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		// --no-deprecation: the v1 SDK sets TLS ServerName to the IP address.
		cmd := exec.CommandContext(ctx, node, append([]string{"--no-deprecation"}, args...)...)
		cmd.Dir = sdk
		cmd.Env = append(os.Environ(), "ENDPOINT=127.0.0.1", "PORT="+port, "THING="+thing, "SHADOW=config",
			"CERT="+filepath.Join(lab, "device.pem"), "KEY="+filepath.Join(lab, "device.key"), "CA="+filepath.Join(lab, "ca.pem"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("node %s:\n%s", strings.Join(args, " "), out)
	}

	// A shadow scenario expects shadows that never existed (version 1 on the
	// first update): each client gets an emulator of its own.
	for _, args := range [][]string{
		{"v2.js", "pubsub", "mqtt311"},
		{"v2.js", "pubsub", "mqtt5"},
		{"v2.js", "rr", "mqtt311"},
		{"v2.js", "rr", "mqtt5"},
		{"v1.js"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			port := freePort(t)
			background(t, exec.Command(bin, "serve", "--pki", lab, "--listen", "127.0.0.1:"+port))
			waitListening(t, port)
			run(t, port, args...)
		})
	}
	// Refused connections leave no shadow behind: lab's emulator serves them.
	waitListening(t, port)
	for _, protocol := range []string{"mqtt311", "mqtt5"} {
		t.Run("v2.js refused "+protocol, func(t *testing.T) { run(t, port, "v2.js", "refused", protocol) })
	}
}

// lookPathOrFail finds a program the test cannot do without; missing, it
// fails (rather than skips) and says how to install it.
func lookPathOrFail(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: the SDK test runs AWS's JavaScript device SDKs with Node.js >= 18 and npm; "+
			"on Debian or Ubuntu: sudo apt-get install nodejs npm", name)
	}
	return path
}

// waitListening waits until the emulator accepts connections on port.
func waitListening(t *testing.T, port string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("iotwatch serve is not listening on 127.0.0.1:%s: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
