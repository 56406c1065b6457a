package main

import (
	"context"
	"io"
)

func runCompletion(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return nil
}
