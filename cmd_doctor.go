package main

import (
	"context"
	"io"
)

func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("doctor", "doctor [flags]", stderr)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	return errNotBuilt
}
