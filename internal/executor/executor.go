// Package executor is the only bridge between the Rhai engine and the
// platform: it configures the engine and its limits, provides the log:: host
// module, turns an HTTP request into the script's `request` map, and turns the
// script's value or error into a response and an execution status.
package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
	"github.com/picloud/picloud/rhai/syntax"
)

// Config holds the server-wide limits. Zero fields take the defaults below.
type Config struct {
	DefaultTimeout       time.Duration // a script's wall clock when it sets none (5 s)
	DefaultMaxOperations uint64        // a script's operations when it sets none (10,000,000)
	MaxCallDepth         int           // Rhai's default 64
	MaxExprDepth         int           // Rhai's default 64
	MaxFnExprDepth       int           // Rhai's default 32
	MaxStringSize        int           // bytes in one string (4 MiB)
	MaxArraySize         int           // elements in one array, bytes in one BLOB (1,000,000)
	MaxMapSize           int           // entries in one map (100,000)
	MaxModules           int           // imports in one execution (64)
	MaxLogLines          int           // log lines kept per execution (100)
	MaxLogBytes          int           // bytes of log messages and data kept per execution (64 KiB)
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if c.DefaultTimeout == 0 {
		c.DefaultTimeout = 5 * time.Second
	}
	if c.DefaultMaxOperations == 0 {
		c.DefaultMaxOperations = 10_000_000
	}
	def(&c.MaxStringSize, 4<<20)
	def(&c.MaxArraySize, 1_000_000)
	def(&c.MaxMapSize, 100_000)
	def(&c.MaxModules, 64)
	def(&c.MaxLogLines, 100)
	def(&c.MaxLogBytes, 64<<10)
	return c
}

// Resolver returns the compiled current version of the stored script named
// name, for `import "name"`.
type Resolver func(ctx context.Context, name string) (*rhai.AST, error)

// Executor runs compiled scripts. It is safe for concurrent use.
type Executor struct {
	eng *rhai.Engine
	cfg Config
	log *slog.Logger
}

// New configures an engine with cfg's limits, the log:: module and resolve for
// imports (nil: imports fail).
func New(cfg Config, resolve Resolver, logger *slog.Logger) *Executor {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	eng := rhai.New()
	eng.SetLimits(rhai.Limits{
		MaxOperations:  cfg.DefaultMaxOperations,
		MaxCallDepth:   cfg.MaxCallDepth,
		MaxExprDepth:   cfg.MaxExprDepth,
		MaxFnExprDepth: cfg.MaxFnExprDepth,
		MaxStringSize:  cfg.MaxStringSize,
		MaxArraySize:   cfg.MaxArraySize,
		MaxMapSize:     cfg.MaxMapSize,
		MaxModules:     cfg.MaxModules,
	})
	if resolve != nil {
		eng.SetModuleResolver(func(ctx context.Context, _ *rhai.Engine, path string) (*rhai.AST, error) {
			ast, err := resolve(ctx, path)
			if err != nil {
				return nil, rhai.NewError(rhai.ErrModuleNotFound, "Module not found: %s", path)
			}
			return ast, nil
		})
	}
	eng.RegisterStaticModule("log", logModule())
	return &Executor{eng: eng, cfg: cfg, log: logger}
}

// Config returns the effective configuration (defaults filled in).
func (x *Executor) Config() Config { return x.cfg }

// SourceError is one compile error, as /api/validate lists them.
type SourceError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
}

// Compile compiles source. An invalid source is an *picloud.Error with code
// invalid_source whose Details carry the line and column.
func (x *Executor) Compile(name, source string) (*rhai.AST, error) {
	ast, err := x.eng.Compile(name, source)
	if err != nil {
		se := sourceError(err)
		return nil, &picloud.Error{Code: picloud.EInvalidSource, Message: se.Message,
			Details: map[string]any{"line": se.Line, "column": se.Column, "kind": se.Kind}}
	}
	return ast, nil
}

// Validate compiles source and lists its errors (none when it compiles).
func (x *Executor) Validate(source string) []SourceError {
	if _, err := x.eng.Compile("", source); err != nil {
		return []SourceError{sourceError(err)}
	}
	return []SourceError{}
}

func sourceError(err error) SourceError {
	var pe *syntax.Error
	if errors.As(err, &pe) {
		return SourceError{Kind: pe.FullKind(), Message: pe.Message, Line: int(pe.Pos.Line), Column: int(pe.Pos.Col)}
	}
	return SourceError{Kind: "ErrorParsing", Message: err.Error()}
}

// Limits are one script's limits; zero fields take the server defaults.
type Limits struct {
	Timeout       time.Duration
	MaxOperations uint64
}

// Request is the HTTP request a script handles.
type Request struct {
	Method  string
	Path    string
	Subpath string
	Query   url.Values
	Header  http.Header
	Body    []byte
}

// Response is what the caller gets when the script succeeds.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Result is the outcome of one execution.
type Result struct {
	Response   *Response // nil unless Status is success
	Status     picloud.ExecutionStatus
	Code       string             // the API error code when Status is not success
	Err        *picloud.ExecError // the full error when Status is not success
	Logs       []picloud.LogLine
	Operations uint64
	Started    time.Time
	Duration   time.Duration
}

// Execute runs ast on req within lim. It never panics and never returns a
// nil Result: every failure is a status in the Result.
func (x *Executor) Execute(ctx context.Context, ast *rhai.AST, lim Limits, req *Request) (res *Result) {
	res = &Result{Started: time.Now()}
	if lim.Timeout <= 0 {
		lim.Timeout = x.cfg.DefaultTimeout
	}
	if lim.MaxOperations == 0 {
		lim.MaxOperations = x.cfg.DefaultMaxOperations
	}
	logs := &collector{maxLines: x.cfg.MaxLogLines, maxBytes: x.cfg.MaxLogBytes}
	defer func() {
		if p := recover(); p != nil {
			x.log.Error("executor: panic", "panic", p)
			res.Response, res.Status, res.Code = nil, picloud.StatusError, picloud.EInternal
			res.Err = &picloud.ExecError{Kind: "ErrorSystem", Message: "internal error"}
		}
		res.Logs = logs.finish()
		res.Duration = time.Since(res.Started)
	}()

	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	ctx = context.WithValue(ctx, collectorKey{}, logs)
	scope := rhai.NewScope()
	scope.Push("request", requestValue(req))
	opts := &rhai.EvalOptions{
		Scope:         scope,
		MaxOperations: lim.MaxOperations,
		OnPrint:       func(s string) { logs.add(picloud.LevelInfo, s, nil) },
		OnDebug:       func(s string, _ string, _ syntax.Pos) { logs.add(picloud.LevelDebug, s, nil) },
	}
	v, err := x.eng.EvalWith(ctx, ast, opts)
	res.Operations = opts.Operations
	if err != nil {
		x.fail(ctx, res, err)
		return res
	}
	resp, err := toResponse(v)
	if err != nil {
		res.Status, res.Code = picloud.StatusError, picloud.EInvalidResponse
		res.Err = &picloud.ExecError{Kind: "InvalidResponse", Message: err.Error()}
		return res
	}
	res.Status, res.Response = picloud.StatusSuccess, resp
	return res
}

// fail maps an evaluation error to a status and a code.
func (x *Executor) fail(ctx context.Context, res *Result, err error) {
	var re *rhai.Error
	if !errors.As(err, &re) {
		x.log.Error("executor: unexpected error", "err", err)
		res.Status, res.Code = picloud.StatusError, picloud.EInternal
		res.Err = &picloud.ExecError{Kind: "ErrorSystem", Message: err.Error()}
		return
	}
	root := re.Root()
	pos := root.Pos
	if !pos.IsValid() {
		pos = re.Pos
	}
	res.Err = &picloud.ExecError{Kind: re.RootKind(), Message: re.Error(), Line: int(pos.Line), Column: int(pos.Col)}
	switch {
	case root.Kind == rhai.ErrTerminated && errors.Is(ctx.Err(), context.DeadlineExceeded):
		res.Status, res.Code = picloud.StatusTimeout, picloud.ETimeout
	case root.Kind == rhai.ErrTerminated:
		// The caller went away (or the server is stopping hard).
		res.Status, res.Code = picloud.StatusError, picloud.EScriptError
	case re.IsLimit():
		res.Status, res.Code = picloud.StatusBudgetExceeded, picloud.EBudgetExceeded
	default:
		res.Status, res.Code = picloud.StatusError, picloud.EScriptError
	}
}

// String is for logs.
func (r *Result) String() string {
	return fmt.Sprintf("%s in %v (%d ops)", r.Status, r.Duration, r.Operations)
}
