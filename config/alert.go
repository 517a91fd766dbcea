package config

import (
	"fmt"
	"net/url"
	"slices"
	"time"
)

// Alert is one [[alert]]: which events reach which outputs, at most one per
// thing and kind every Every.
type Alert struct {
	On      []string `toml:"on"`      // AlertKinds; empty: every kind
	Bell    bool     `toml:"bell"`    // the terminal bell
	Notify  bool     `toml:"notify"`  // a desktop notification with notify-send
	Command []string `toml:"command"` // argv run with the alert as JSON on stdin
	URL     string   `toml:"url"`     // HTTP POST of the alert as JSON
	Every   Duration `toml:"every"`   // default 1m
}

// AlertKinds are the events an alert can be raised on.
var AlertKinds = []string{"dropout_opened", "dropout_closed", "reboot", "lost_reports", "rejection", "verdict_breach"}

// DefaultAlertEvery is the rate limit per thing and kind when every is
// left out.
const DefaultAlertEvery = time.Minute

func (c *Config) validateAlerts() error {
	for i, a := range c.Alert {
		where := fmt.Sprintf("[[alert]] #%d", i+1)
		if err := a.check(); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		if a.Every.Duration == 0 {
			c.Alert[i].Every.Duration = DefaultAlertEvery
		}
	}
	return nil
}

func (a Alert) check() error {
	for _, k := range a.On {
		if !slices.Contains(AlertKinds, k) {
			return fmt.Errorf("on %q is not an event: use some of %v (or leave on out for all)", k, AlertKinds)
		}
	}
	if !a.Bell && !a.Notify && len(a.Command) == 0 && a.URL == "" {
		return fmt.Errorf("no output: set bell = true, notify = true, command = [\"prog\", \"arg\"] or url = \"https://…\"")
	}
	if len(a.Command) > 0 && a.Command[0] == "" {
		return fmt.Errorf("command's program is empty: write command = [\"sh\", \"-c\", \"cat >> alerts.jsonl\"]")
	}
	if a.URL != "" {
		u, err := url.Parse(a.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("url %q: give an http:// or https:// URL with a host", a.URL)
		}
	}
	if a.Every.Duration < 0 {
		return fmt.Errorf("every %s is negative: use a span such as \"5m\"", a.Every)
	}
	return nil
}
