package main

import (
	"context"
	"io"
)

func runCerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("certs", "certs [flags]", stderr)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	return errNotBuilt
}
