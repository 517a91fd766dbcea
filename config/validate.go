package config

import (
	"fmt"
	"strings"

	"github.com/iotwatch/iotwatch/shadow"
)

// knownKeys lists every valid key, for "did you mean" suggestions.
var knownKeys = []string{"aws.endpoint", "aws.port", "aws.client_id", "aws.cert", "aws.key", "aws.ca",
	"aws.auth", "aws.profile", "aws.region", "aws.control_url",
	"thing.name", "thing.shadow", "thing.device_client_id", "thing.names", "thing.match", "plot.field", "plot.unit", "plot.window",
	"soak.interval", "soak.dropout_after", "soak.max_dropouts", "soak.min_availability", "soak.max_gap", "soak.max_blind",
	"soak.max_heap_loss_per_reconnect", "soak.max_heap_loss_per_hour", "soak.require_jobs_succeeded",
	"control.key", "control.field", "control.action", "control.step", "control.values", "control.value", "control.label",
	"alert.on", "alert.bell", "alert.notify", "alert.command", "alert.url", "alert.every"}

func suggest(key string) string {
	best := Nearest(key, knownKeys, 3)
	if best == "" {
		return ": remove it (config.example.toml lists every key)"
	}
	return fmt.Sprintf(": did you mean %s?", best)
}

// Nearest is the candidate closest to word by edit distance, if it is at
// most maxDistance away (and not word itself); "" otherwise.
func Nearest(word string, candidates []string, maxDistance int) string {
	best, bestDist := "", maxDistance+1
	for _, c := range candidates {
		if d := distance(word, c); d > 0 && d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func (c *Config) validate() error {
	checks := []struct {
		bad bool
		msg string
	}{
		{c.AWS.Endpoint == "", `[aws] endpoint is empty: set it to your AWS IoT data endpoint ("aws iot describe-endpoint --endpoint-type iot:Data-ATS") or "localhost" for iotwatch serve`},
		{strings.ContainsAny(c.AWS.Endpoint, ":/ "), fmt.Sprintf("[aws] endpoint %q must be a host name only: put the port in [aws] port", c.AWS.Endpoint)},
		{c.AWS.Port < 1 || c.AWS.Port > 65535, fmt.Sprintf("[aws] port %d is not a port: use 8883, or 443 (ALPN x-amzn-mqtt-ca)", c.AWS.Port)},
		{len(c.AWS.ClientID) > 128, "[aws] client_id is longer than AWS's 128 bytes"},
		{c.AWS.Auth != AuthCertificate && c.AWS.Auth != AuthSigV4, fmt.Sprintf("[aws] auth %q: use \"certificate\" (mutual TLS) or \"sigv4\" (your AWS credentials)", c.AWS.Auth)},
		{c.AWS.Auth == AuthCertificate && (c.AWS.Cert == "" || c.AWS.Key == ""), "[aws] cert and key are required: the certificate and its private key (or auth = \"sigv4\" to sign in with AWS credentials)"},
		{c.AWS.ControlURL != "" && !strings.HasPrefix(c.AWS.ControlURL, "https://"), fmt.Sprintf("[aws] control_url %q: give the control plane's https:// URL, e.g. \"https://127.0.0.1:8443\" for iotwatch serve", c.AWS.ControlURL)},
		{c.AWS.CA == "" && !IsAWSEndpoint(c.AWS.Endpoint), "[aws] ca is required for an endpoint that is not AWS's: the CA that signed the server's certificate (ca.pem for iotwatch serve)"},
		{!(c.Thing.Name == "" && c.Thing.Match != "") && !shadow.ValidThingName(c.Thing.Name), thingNameError(c.Thing)},
		{c.Thing.Shadow != "" && !shadow.ValidShadowName(c.Thing.Shadow), fmt.Sprintf("[thing] shadow %q: use 1–64 characters of a-zA-Z0-9:_- (empty for the classic shadow)", c.Thing.Shadow)},
		{c.Plot.Field == "", "[plot] field is empty: name a numeric reported field such as temp"},
		{c.Soak.DropoutAfter < 1, fmt.Sprintf("[soak] dropout_after %g must be at least 1 (× expected interval; 2.5 is usual)", c.Soak.DropoutAfter)},
		{c.Soak.MinAvailability < 0 || c.Soak.MinAvailability > 100, fmt.Sprintf("[soak] min_availability %g must be a percentage 0–100", c.Soak.MinAvailability)},
		{c.Soak.MaxDropouts < 0, "[soak] max_dropouts cannot be negative"},
		{c.Soak.MaxBlind < 0 || c.Soak.MaxBlind > 100, fmt.Sprintf("[soak] max_blind %g must be a percentage 0–100 of the run (5 is usual)", c.Soak.MaxBlind)},
		{c.Soak.MaxHeapLossPerReconnect < 0, fmt.Sprintf("[soak] max_heap_loss_per_reconnect %g cannot be negative: bytes of heap a device may lose per reconnect (0: not checked)", c.Soak.MaxHeapLossPerReconnect)},
		{c.Soak.MaxHeapLossPerHour < 0, fmt.Sprintf("[soak] max_heap_loss_per_hour %g cannot be negative: bytes of heap a device may lose per hour (0: not checked)", c.Soak.MaxHeapLossPerHour)},
		{c.Plot.Window.Duration < 0, fmt.Sprintf("[plot] window %s is negative: use a span such as \"10m\"", c.Plot.Window)},
		{c.Soak.MaxGap.Duration < 0, fmt.Sprintf("[soak] max_gap %s is negative: use a span such as \"30s\"", c.Soak.MaxGap)},
		{c.Soak.Interval.Duration < 0, fmt.Sprintf("[soak] interval %s is negative: use the device's report interval such as \"5s\", or leave it out for automatic", c.Soak.Interval)},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("%s", ch.msg)
		}
	}
	if err := c.Thing.validateFleet(); err != nil {
		return err
	}
	if err := c.validateAlerts(); err != nil {
		return err
	}
	return c.validateControls()
}

func (c *Config) validateControls() error {
	seen := map[string]bool{}
	for i, ctl := range c.Control {
		where := fmt.Sprintf("[[control]] #%d (key %q)", i+1, ctl.Key)
		switch {
		case ctl.Key == "":
			return fmt.Errorf("%s: key is empty: name the key that triggers it, e.g. \"l\"", where)
		case seen[ctl.Key]:
			return fmt.Errorf("%s: key %q is bound twice", where, ctl.Key)
		case ctl.Field == "":
			return fmt.Errorf("%s: field is empty: name the desired field it changes, e.g. \"led\"", where)
		}
		seen[ctl.Key] = true
		if err := checkAction(ctl); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
	}
	return nil
}

func checkAction(ctl Control) error {
	switch ctl.Action {
	case "toggle", "step":
		return nil
	case "cycle":
		if len(ctl.Values) < 2 {
			return fmt.Errorf("action \"cycle\" needs values = [...] with at least two values")
		}
		return nil
	case "set":
		if ctl.Value == nil {
			return fmt.Errorf("action \"set\" needs value = ...")
		}
		return nil
	}
	return fmt.Errorf("action %q is not one of toggle, step, cycle, set", ctl.Action)
}
