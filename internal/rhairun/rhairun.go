// Package rhairun runs one Rhai script the way the `picloud rhai` command does and
// reports the result in the command's JSON contract (the shape the conformance
// corpora record). The command and the conformance test both use it, so what the
// test checks is what users run.
package rhairun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/picloud/picloud/rhai"
	"github.com/picloud/picloud/rhai/syntax"
)

// Result is the one-line JSON result of `picloud rhai eval --json`.
type Result struct {
	OK         bool    `json:"ok"`
	Type       string  `json:"type,omitempty"`
	Value      *string `json:"value,omitempty"`
	Debug      *string `json:"debug,omitempty"`
	Phase      string  `json:"phase,omitempty"`
	Kind       string  `json:"kind,omitempty"`
	RootKind   string  `json:"root_kind,omitempty"`
	Error      string  `json:"error,omitempty"`
	Line       int     `json:"line,omitempty"`
	Col        int     `json:"col,omitempty"`
	Operations uint64  `json:"operations"`

	// Val is the script's value when OK (not part of the JSON).
	Val rhai.Value `json:"-"`
	// AtLine and AtCol are where the error points a user at, in the script
	// itself: Line and Col when Rhai gives them, else where the engine was
	// (an arithmetic error, a limit), else the call that led into another
	// module. Not part of the JSON, which keeps Rhai's exact output.
	AtLine, AtCol int `json:"-"`
	// EvalTime is how long evaluation took, compile excluded (0 when the
	// script did not compile or CompileOnly was set). Not part of the JSON.
	EvalTime time.Duration `json:"-"`
}

// Options configure a run.
type Options struct {
	Name        string            // source name ("" for standard input)
	Raw         bool              // an engine without the standard library
	CompileOnly bool              // parse and compile only
	Expression  bool              // a single expression, no statements
	Limits      rhai.Limits       // engine limits
	Dir         string            // where `import "x"` finds x.rhai ("" : nowhere)
	Files       map[string]string // module sources by file name, searched before Dir
	// Output receives print and debug lines (debug as "source @ line:col | text").
	Output func(line string)
}

// Run compiles and evaluates src.
func Run(ctx context.Context, src string, opts Options) Result {
	eng := rhai.New()
	if opts.Raw {
		eng = rhai.NewRaw()
	}
	eng.SetLimits(opts.Limits)
	if opts.Dir != "" || opts.Files != nil {
		eng.SetModuleResolver(fileResolver(opts.Dir, opts.Files))
	}
	var ast *rhai.AST
	var err error
	if opts.Expression {
		ast, err = eng.CompileExpression(opts.Name, src)
	} else {
		ast, err = eng.Compile(opts.Name, src)
	}
	if err != nil {
		return fromError(err, "parse", opts.Name)
	}
	if opts.CompileOnly {
		return Result{OK: true, Type: "()", Value: strp(""), Debug: strp("()")}
	}
	out := opts.Output
	if out == nil {
		out = func(string) {}
	}
	eo := &rhai.EvalOptions{
		OnPrint: out,
		OnDebug: func(text, source string, pos syntax.Pos) {
			if source == "" {
				out(fmt.Sprintf("%d:%d | %s", pos.Line, pos.Col, text))
			} else {
				out(fmt.Sprintf("%s @ %d:%d | %s", source, pos.Line, pos.Col, text))
			}
		},
	}
	start := time.Now()
	v, err := eng.EvalWith(ctx, ast, eo)
	took := time.Since(start)
	if err != nil {
		r := fromError(err, "eval", opts.Name)
		r.Operations, r.EvalTime = eo.Operations, took
		return r
	}
	return Result{OK: true, Type: v.TypeName(), Value: strp(v.String()), Debug: strp(v.DebugString()),
		Operations: eo.Operations, Val: v, EvalTime: took}
}

func strp(s string) *string { return &s }

func fromError(err error, phase, name string) Result {
	r := Result{Phase: phase, Error: err.Error()}
	var pe *syntax.Error
	var re *rhai.Error
	switch {
	case errors.As(err, &pe):
		r.Kind, r.RootKind = pe.Kind, pe.FullKind()
		if pe.Pos.IsValid() {
			r.Line, r.Col = int(pe.Pos.Line), int(pe.Pos.Col)
			r.AtLine, r.AtCol = r.Line, r.Col
		}
	case errors.As(err, &re):
		r.Kind, r.RootKind = re.Kind, re.RootKind()
		if re.Kind == rhai.ErrParsing && re.Parse != nil {
			r.Kind = rhai.ErrParsing
		}
		if re.Pos.IsValid() {
			r.Line, r.Col = int(re.Pos.Line), int(re.Pos.Col)
		}
		if at := re.PosIn(name); at.IsValid() {
			r.AtLine, r.AtCol = int(at.Line), int(at.Col)
		}
	default:
		r.Kind, r.RootKind = "ErrorSystem", "ErrorSystem"
	}
	return r
}

// fileResolver resolves `import "name"` to name.rhai among files, then in dir.
// It never leaves dir: names with path separators or ".." are refused.
func fileResolver(dir string, files map[string]string) rhai.ModuleResolver {
	return func(ctx context.Context, eng *rhai.Engine, path string) (*rhai.AST, error) {
		name := path
		if !strings.HasSuffix(name, ".rhai") {
			name += ".rhai"
		}
		if src, ok := files[name]; ok {
			return eng.Compile(name, src)
		}
		if dir == "" || strings.ContainsAny(path, `/\`) || strings.Contains(path, "..") {
			return nil, rhai.NewError(rhai.ErrModuleNotFound, "Module not found: %s", path)
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, rhai.NewError(rhai.ErrModuleNotFound, "Module not found: %s", path)
		}
		return eng.Compile(name, string(b))
	}
}
