package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a process's output read while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestFleetInTerminal: serve with its control plane, watch on match =
// "esp32-lab-*" (things found as they report), sim --fleet 20 with two
// devices dropping at random: the fleet screen lists the twenty, and the
// two devices the sim's log names are the rows with dropouts, on top;
// enter opens the worst, esc goes back, and a control sent to two marked
// things after y is applied by the device.
func TestFleetInTerminal(t *testing.T) {
	apiPort := freePort(t)
	bin, lab, _ := lab(t, "esp32-lab", "--api-listen", "127.0.0.1:"+apiPort)
	watch := filepath.Join(lab, "watch.toml")
	data, _ := os.ReadFile(watch)
	os.WriteFile(watch, []byte(strings.Replace(string(data), "[thing]\n", "[thing]\nmatch = \"esp32-lab-*\"\n", 1)), 0o644)
	term := startSized(t, bin+" watch -c "+watch, 160, 50)
	term.waitFor("the fleet screen", contains("iotwatch fleet"))
	simLog := &lockedBuffer{}
	sim := exec.Command(bin, "sim", "-c", filepath.Join(lab, "device.toml"), "--interval", "1s", "--fleet", "20",
		"--fault-random", "drop:4s/every:8s", "--fault-random", "drop:4s/every:8s",
		"--endpoint-url", "https://127.0.0.1:"+apiPort, "--ca-bundle", filepath.Join(lab, "ca.pem"))
	sim.Stdout, sim.Stderr = simLog, simLog
	background(t, sim)
	term.waitFor("twenty things", contains("20 things"))
	dropped := regexp.MustCompile(`(esp32-lab-\d{3}) fleet: fault drop:4s/every:8s on this device`).FindAllStringSubmatch(simLog.String(), -1)
	if len(dropped) != 2 {
		t.Fatalf("the sim's log names %d dropped devices:\n%s", len(dropped), simLog.String())
	}
	want := []string{dropped[0][1], dropped[1][1]}
	slices.Sort(want)
	rowDrops := regexp.MustCompile(`(esp32-lab-\d{3})\s+\S+\s+\S+\s+\S+\s+[▁▂▃▄▅▆▇█ ]*\s(\d+)\s+\d+\.\d+%`)
	var withDrops, top []string
	term.waitFor("dropouts on the two dropped devices' rows, on top", func(s string) bool {
		withDrops, top = nil, nil
		for _, m := range rowDrops.FindAllStringSubmatch(s, -1) {
			if len(top) < 2 {
				top = append(top, m[1])
			}
			if m[2] != "0" {
				withDrops = append(withDrops, m[1])
			}
		}
		slices.Sort(top)
		slices.Sort(withDrops)
		return slices.Equal(withDrops, want) && slices.Equal(top, want) || len(withDrops) > 2
	})
	if !slices.Equal(withDrops, want) || !slices.Equal(top, want) {
		t.Fatalf("rows with dropouts %v, top rows %v; the sim dropped %v:\n%s", withDrops, top, want, term.screen())
	}
	term.keys("Enter")
	term.waitFor("the worst thing's own screen", func(s string) bool {
		return !strings.Contains(s, "iotwatch fleet") && (strings.Contains(s, want[0]) || strings.Contains(s, want[1]))
	})
	term.keys("Escape")
	term.waitFor("the fleet again", contains("iotwatch fleet"))
	// By name, mark the first two things and toggle their LEDs after y;
	// each device applies it, as the first one's own screen shows.
	term.keys("o", "Space", "Space", "l")
	term.waitFor("the question", contains("toggle LED on 2 marked things? (y/n)"))
	term.keys("y")
	term.waitFor("the patches sent", contains("toggle LED: sent to 2 things"))
	term.keys("Up", "Up", "Enter")
	term.waitFor("esp32-lab-000 applying the LED, its link up", func(s string) bool {
		return strings.Contains(s, "esp32-lab-000  link up") && strings.Contains(s, "device applied led = true")
	})
	term.keys("Escape")
	term.waitFor("the fleet at last", contains("iotwatch fleet"))
	term.keys("q")
	term.waitExit()
}
