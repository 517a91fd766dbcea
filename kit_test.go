package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/iotwatch/iotwatch/cli"
	"github.com/iotwatch/iotwatch/internal/testkit"
)

// The root package holds the integration tests that run whole commands
// against real processes (the emulator, sim, fw-host); these are their
// shorthands over testkit.

type lockedBuffer = testkit.LockedBuffer

// run runs a command line in-process and returns its exit status and output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func soakLab(t *testing.T) string { return testkit.SoakLab(t, cli.Run) }
