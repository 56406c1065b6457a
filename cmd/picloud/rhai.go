package main

import (
	"context"
	"errors"
	"io"
)

// runRhai implements `picloud rhai run|eval`. STUB: owned by the engine lead.
func runRhai(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("rhai: not implemented yet")
}
