package localiot

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotwatch/iotwatch/pki"
)

// TestAWSCLIFlow runs testdata/awscli-flow.sh: Debian's awscli and
// mosquitto_pub through the tutorial's provisioning flow.
func TestAWSCLIFlow(t *testing.T) {
	// Debian's awscli (v2) rather than another aws earlier on PATH.
	awsCLI := "/usr/bin/aws"
	for _, tool := range []string{awsCLI, "mosquitto_pub"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: `make deps` installs Debian's awscli and mosquitto-clients", tool)
		}
	}
	l := newAPILab(t, t.TempDir(), "")
	_, mqttPort, _ := net.SplitHostPort(l.srv.Addr())
	cmd := exec.Command("bash", "testdata/awscli-flow.sh")
	cmd.Env = append(os.Environ(), "AWS="+awsCLI, "API="+l.srv.APIAddr(), "MQTT_PORT="+mqttPort, "LAB="+l.dir,
		"POLICY=../docs/policies/device-policy.json",
		"HOME="+t.TempDir(), "AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE="+pki.AWSProfile,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(l.dir, pki.AWSCredentialsFile),
		"AWS_CONFIG_FILE="+filepath.Join(l.dir, pki.AWSConfigFile), "AWS_PAGER=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "awscli flow: ok") {
		t.Fatalf("%v\n%s\nemulator log:\n%s", err, out, l.log.String())
	}
}
