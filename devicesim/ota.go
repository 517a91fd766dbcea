package devicesim

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// The firmware's job handling, without IO: which job document it takes, and
// what to do with an execution the service hands it (after start-next), as
// the firmware core does it.

// OTA is an "ota" job document: the image to download and check.
type OTA struct {
	Version string `json:"version"`
	URL     string `json:"url"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseJob reads a job document: an OTA, or the reason the device rejects
// the job (REJECTED: a document it cannot act on).
func ParseJob(document json.RawMessage) (OTA, string) {
	var doc struct {
		Operation string `json:"operation"`
		OTA
	}
	if err := json.Unmarshal(document, &doc); err != nil {
		return OTA{}, "the job document is not a JSON object"
	}
	switch {
	case doc.Operation != "ota":
		return OTA{}, fmt.Sprintf("unknown operation %q (this firmware runs \"ota\")", doc.Operation)
	case doc.Version == "" || doc.URL == "":
		return OTA{}, "an ota job needs version and url"
	case !sha256RE.MatchString(doc.SHA256):
		return OTA{}, "an ota job needs the image's sha256 (64 lower-case hex digits)"
	case doc.Size <= 0 || doc.Size > maxImage:
		return OTA{}, fmt.Sprintf("image size %d: give 1 to %d bytes", doc.Size, maxImage)
	}
	return doc.OTA, ""
}

// maxImage is the OTA partition of the firmware's partition table.
const maxImage = 1920 << 10

// Step is what the device does with an execution it was handed.
type Step int

const (
	StepDownload   Step = iota // fetch, check and write the image, then reboot into it
	StepConfirm                // booted the new image: SUCCEEDED
	StepRolledBack             // came back on the old image: FAILED
)

// stageRebooting is the statusDetails step the device reports before it
// reboots into a new image; the execution carries it across the reboot.
const stageRebooting = "rebooting"

// NextStep decides from the execution's statusDetails and the running
// firmware: an execution that was rebooting into target is confirmed when
// target runs, failed when it does not; any other starts (or restarts) the
// download.
func NextStep(details map[string]string, running, target string) Step {
	if details["step"] != stageRebooting {
		return StepDownload
	}
	if running == target {
		return StepConfirm
	}
	return StepRolledBack
}
