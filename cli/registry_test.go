package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/iotwatch/iotwatch/config"
	"github.com/iotwatch/iotwatch/eventlog"
	"github.com/iotwatch/iotwatch/internal/testkit"
	"github.com/iotwatch/iotwatch/monitor"
)

// TestThingNotInTheRegistry: with a thing in the emulator's registry, a
// typo of its name is named by doctor (with the registry's nearest name)
// and logged by soak as an unregistered line, which the monitor shows; a
// thing missing with no near name (certs init's lab registers no thing)
// is no failure.
func TestThingNotInTheRegistry(t *testing.T) {
	dir := t.TempDir()
	run(t, "certs", "init", "--dir", dir, "--thing", "esp32-pico")
	api := testkit.FreeAddr(t)
	addr, _ := testkit.StartServe(t, Run, "--pki", dir, "--api-listen", api)
	_, port, _ := strings.Cut(addr, ":")
	watch := filepath.Join(dir, "watch.toml")
	text := strings.Replace(mustRead(t, watch), "port = 8883", "port = "+port, 1)
	text = strings.Replace(text, "[thing]", "control_url = \"https://"+api+"\"\n\n[thing]", 1)
	os.WriteFile(watch, []byte(text), 0o644)

	code, stdout, _ := run(t, "doctor", "-c", watch, "--thing", "esp32-picco")
	if code != 0 || !strings.Contains(stdout, "thing in the registry                         ok   thing esp32-picco is not in the registry (its shadow works without it") {
		t.Errorf("empty registry: exit %d\n%s", code, stdout)
	}
	cfg, err := config.Load(watch)
	if err != nil {
		t.Fatal(err)
	}
	client, _, err := fleetControlPlane(context.Background(), cfg, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateThing(context.Background(), &iot.CreateThingInput{ThingName: &cfg.Thing.Name}); err != nil {
		t.Fatal(err)
	}
	want := "thing esp32-picco is not in the registry (did you mean esp32-pico?)"
	code, stdout, _ = run(t, "doctor", "-c", watch, "--thing", "esp32-picco")
	if code != 1 || !strings.Contains(stdout, "6. thing in the registry                         FAIL\n   "+want) {
		t.Errorf("typo: exit %d, want %q at step 6 in\n%s", code, want, stdout)
	}
	if code, stdout, _ = run(t, "doctor", "-c", watch); !strings.Contains(stdout, "ok   thing esp32-pico is in the registry") {
		t.Errorf("the thing itself: exit %d\n%s", code, stdout)
	}
	log := filepath.Join(dir, "soak.jsonl")
	run(t, "soak", "-c", watch, "--thing", "esp32-picco", "--duration", "2s", "--log", log)
	read, err := eventlog.Read(log)
	if err != nil {
		t.Fatal(err)
	}
	if data := mustRead(t, log); !strings.Contains(data, `"type":"unregistered",`) || !strings.Contains(data, `"thing":"esp32-picco","suggestion":"esp32-pico"`) {
		t.Errorf("the soak's log has no unregistered line:\n%s", data)
	}
	mon := monitor.New(monitorOptions(cfg))
	for _, ev := range read.Events {
		mon.Apply(ev)
	}
	if mon.Unregistered != want {
		t.Errorf("the monitor (the TUI's header and event log) has %q, want %q", mon.Unregistered, want)
	}
}
