package main

import (
	"context"
	"io"
)

func runSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("soak", "soak [flags]", stderr)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	return errNotBuilt
}
