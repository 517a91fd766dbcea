package devicesim

import (
	"strings"
	"testing"
)

func TestParseJob(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	cases := []struct {
		doc, reason string
	}{
		{`{"operation":"ota","version":"2","url":"https://h/f","sha256":"` + sum + `","size":10}`, ""},
		{`{"operation":"factory-reset"}`, `unknown operation "factory-reset"`},
		{`{"version":"2"}`, `unknown operation ""`},
		{`["ota"]`, "not a JSON object"},
		{`{"operation":"ota","url":"https://h/f","sha256":"` + sum + `","size":10}`, "needs version and url"},
		{`{"operation":"ota","version":"2","url":"https://h/f","sha256":"AB","size":10}`, "needs the image's sha256"},
		{`{"operation":"ota","version":"2","url":"https://h/f","sha256":"` + strings.ToUpper(sum) + `","size":10}`, "needs the image's sha256"},
		{`{"operation":"ota","version":"2","url":"https://h/f","sha256":"` + sum + `","size":0}`, "image size 0"},
		{`{"operation":"ota","version":"2","url":"https://h/f","sha256":"` + sum + `","size":99999999}`, "image size 99999999"},
	}
	for _, c := range cases {
		ota, reason := ParseJob([]byte(c.doc))
		if c.reason == "" && (reason != "" || ota.Version != "2" || ota.Size != 10) || c.reason != "" && !strings.Contains(reason, c.reason) {
			t.Errorf("%s: %+v %q, want %q", c.doc, ota, reason, c.reason)
		}
	}
}

func TestNextStep(t *testing.T) {
	cases := []struct {
		details         map[string]string
		running, target string
		want            Step
	}{
		{nil, "1", "2", StepDownload},
		{map[string]string{"step": "download", "progress": "50%"}, "1", "2", StepDownload}, // rebooted mid-download: again
		{map[string]string{"step": "rebooting", "target": "2"}, "2", "2", StepConfirm},
		{map[string]string{"step": "rebooting", "target": "2"}, "1", "2", StepRolledBack},
	}
	for _, c := range cases {
		if got := NextStep(c.details, c.running, c.target); got != c.want {
			t.Errorf("%v running %s for %s: %v, want %v", c.details, c.running, c.target, got, c.want)
		}
	}
}
