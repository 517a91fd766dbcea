package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/devicesim"
	"github.com/iotwatch/iotwatch/internal/testkit"
)

// TestSoakAlertsOnDropout: an [[alert]] command gets the dropout's opening
// and closing as JSON lines while soak runs, and each is logged.
func TestSoakAlertsOnDropout(t *testing.T) {
	dir := testkit.SoakLab(t, Run)
	alerts := filepath.Join(dir, "alerts.jsonl")
	watch := filepath.Join(dir, "watch.toml")
	f, err := os.OpenFile(watch, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n[soak]\ndropout_after = 4\n") // a loaded machine's gap is not the injected dropout
	f.WriteString("\n[[alert]]\non = [\"dropout_opened\", \"dropout_closed\"]\ncommand = [\"sh\", \"-c\", \"cat >> " + alerts + "\"]\n")
	f.Close()
	_, device, err := loadConn(filepath.Join(dir, "device.toml"), config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim := devicesim.New(devicesim.Options{Conn: device, Interval: time.Second})
	go sim.Run(ctx)
	time.AfterFunc(3*time.Second, func() { sim.Drop(4 * time.Second) })
	_, _, stderr := run(t, "soak", "-c", watch, "--duration", "11s")
	data, _ := os.ReadFile(alerts)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"kind":"dropout_opened"`) || !strings.Contains(lines[1], `"kind":"dropout_closed"`) {
		t.Fatalf("alerts:\n%s\nstderr:\n%s", data, stderr)
	}
	if !strings.Contains(stderr, "alert: esp32-") || !strings.Contains(stderr, " dropout_opened: device silent since") {
		t.Fatalf("alerts not logged:\n%s", stderr)
	}
}
