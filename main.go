// Command iotwatch watches and steers one AWS IoT thing: a terminal UI on its
// Device Shadow, a headless soak monitor, a local AWS IoT Core emulator and a
// simulated ESP32. main only dispatches to package cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/iotwatch/iotwatch/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
