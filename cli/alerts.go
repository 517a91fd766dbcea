package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/iotwatch/iotwatch/alert"
	"github.com/iotwatch/iotwatch/config"
)

// startAlerts runs the configuration's [[alert]] rules, logging each alert
// and each failing output on stderr (a line of its own, below any progress
// line). stop waits a few seconds for the alerts still queued.
func startAlerts(cfg *config.Config, stderr io.Writer) (a *alert.Alerter, stop func()) {
	a = alert.New(alert.Options{Rules: cfg.Alert, Log: func(line string) { fmt.Fprintf(stderr, "\n%s\n", line) }})
	return a, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Close(ctx)
	}
}
