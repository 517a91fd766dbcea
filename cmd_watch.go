package main

import (
	"context"
	"io"
)

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("watch", "watch [flags]", stderr)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	return errNotBuilt
}
