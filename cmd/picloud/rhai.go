package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/picloud/picloud/internal/rhairun"
	"github.com/picloud/picloud/rhai"
)

const rhaiUsage = `usage:
  picloud rhai run [flags] FILE        run a script; print() goes to stdout
  picloud rhai eval [--json] [flags] FILE|-
                                       evaluate a script and print its value
                                       (--json: one JSON line, the conformance contract)

flags (both subcommands):
  --raw                  no standard library (Rhai's Engine::new_raw)
  --compile-only         parse and compile only
  --expression           the script is a single expression
  --max-operations N     operation budget (0: unlimited)
  --timeout D            wall-clock limit, e.g. 2s (0: none)
  --max-call-depth N     nested calls (default 64)
  --max-expr-depth N     expression nesting (default 64, 32 in functions)
  --max-string-size N    bytes in one string (0: unlimited)
  --max-array-size N     elements in one array or bytes in one BLOB (0: unlimited)
  --max-map-size N       entries in one map (0: unlimited)
  --time                 print the evaluation time (compile excluded) on stderr
                         as "eval time: DURATION" (Go's duration syntax)

import "name" resolves to name.rhai in the script's directory (standard input: none).
`

// runRhai implements `picloud rhai run|eval`.
func runRhai(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, rhaiUsage)
		return errors.New("rhai: missing subcommand")
	}
	sub, args := args[0], args[1:]
	if sub != "run" && sub != "eval" {
		fmt.Fprint(stderr, rhaiUsage)
		return fmt.Errorf("rhai: unknown subcommand %q", sub)
	}
	fs := flag.NewFlagSet("rhai "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, rhaiUsage) }
	asJSON := fs.Bool("json", false, "print the result as one JSON line")
	raw := fs.Bool("raw", false, "no standard library")
	compileOnly := fs.Bool("compile-only", false, "parse and compile only")
	expression := fs.Bool("expression", false, "a single expression")
	timeout := fs.Duration("timeout", 0, "wall-clock limit")
	showTime := fs.Bool("time", false, "print the evaluation time on stderr")
	var lim rhai.Limits
	fs.Uint64Var(&lim.MaxOperations, "max-operations", 0, "operation budget")
	fs.IntVar(&lim.MaxCallDepth, "max-call-depth", 0, "call depth")
	fs.IntVar(&lim.MaxExprDepth, "max-expr-depth", 0, "expression depth")
	fs.IntVar(&lim.MaxStringSize, "max-string-size", 0, "string size")
	fs.IntVar(&lim.MaxArraySize, "max-array-size", 0, "array size")
	fs.IntVar(&lim.MaxMapSize, "max-map-size", 0, "map size")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, rhaiUsage)
		return errors.New("rhai: expected one FILE (or - for standard input)")
	}
	path := fs.Arg(0)
	var src []byte
	var err error
	opts := rhairun.Options{Raw: *raw, CompileOnly: *compileOnly, Expression: *expression, Limits: lim}
	if path == "-" {
		src, err = io.ReadAll(stdin)
	} else {
		src, err = os.ReadFile(path)
		opts.Name = filepath.Base(path)
		opts.Dir = filepath.Dir(path)
	}
	if err != nil {
		return fmt.Errorf("rhai: %w", err)
	}
	// print goes to stdout for `run`; for `eval` stdout carries the result, so
	// print and debug go to stderr.
	out := stdout
	if sub == "eval" {
		out = stderr
	}
	opts.Output = func(line string) { fmt.Fprintln(out, line) }
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	res := rhairun.Run(ctx, string(src), opts)
	if *showTime && !*compileOnly {
		fmt.Fprintf(stderr, "eval time: %s\n", res.EvalTime)
	}
	switch {
	case sub == "eval" && *asJSON:
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
		if !res.OK {
			return errors.New("rhai: the script failed")
		}
	case sub == "eval" && res.OK:
		fmt.Fprintln(stdout, *res.Value)
	case !res.OK:
		file := path
		if file == "-" {
			file = "<stdin>"
		}
		return &sourceError{File: file, Source: string(src), Line: res.AtLine, Col: res.AtCol,
			Msg: res.Phase + " error: " + res.Error}
	}
	return nil
}
