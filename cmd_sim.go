package main

import (
	"context"
	"io"
)

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", "sim [flags]", stderr)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	return errNotBuilt
}
