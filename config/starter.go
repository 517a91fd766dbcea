package config

import (
	"fmt"
	"strings"
)

// Starter renders a minimal configuration for a local lab: cert, key and ca
// are relative to the file. An empty clientID leaves the default.
func Starter(endpoint string, port int, thing, clientID, cert, key, ca string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by iotwatch certs init; config.example.toml documents every key.\n")
	fmt.Fprintf(&b, "[aws]\nendpoint = %q\nport = %d\nclient_id = %q\ncert = %q\nkey = %q\nca = %q\n\n",
		endpoint, port, clientID, cert, key, ca)
	fmt.Fprintf(&b, "[thing]\nname = %q\n", thing)
	return []byte(b.String())
}

// StarterSigV4 renders a monitor configuration that signs in with AWS
// credentials (MQTT over WebSocket, SigV4) instead of a certificate.
func StarterSigV4(endpoint string, port int, thing, profile, region, ca string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by iotwatch aws setup; config.example.toml documents every key.\n")
	fmt.Fprintf(&b, "[aws]\nauth = \"sigv4\"\nendpoint = %q\nport = %d\nprofile = %q\nregion = %q\nca = %q\n\n",
		endpoint, port, profile, region, ca)
	fmt.Fprintf(&b, "[thing]\nname = %q\n", thing)
	return []byte(b.String())
}
