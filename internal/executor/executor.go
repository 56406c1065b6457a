// Package executor is the only bridge between the Rhai engine and the
// platform: it compiles sources into opaque Programs, configures the engine
// and its limits, provides the log:: host module, turns an HTTP request into
// the script's `request` map (without PiCloud's credentials), and turns the
// script's value or error into a response (bounded in size, with the
// platform's sandboxing headers) and an execution status.
//
// Nothing outside this package touches the engine: callers hold *Program
// values, pass a module Resolver per execution (Options), and read Results.
package executor

import (
	"cmp"
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

// The server-wide defaults, each named once and applied with cmp.Or wherever
// a zero setting means "the default".
const (
	DefaultTimeout          = 5 * time.Second // a script's wall clock
	DefaultMaxOperations    = 10_000_000      // a script's operations
	DefaultMaxMemoryBytes   = 64 << 20        // bytes a script may hold at once in strings, arrays, maps, BLOBs
	DefaultMaxResponseBytes = 10 << 20        // bytes of a script's response headers and body
	DefaultMaxStringSize    = 4 << 20         // bytes in one string
	DefaultMaxArraySize     = 1_000_000       // elements in one array, bytes in one BLOB
	DefaultMaxMapSize       = 100_000         // entries in one map
	DefaultMaxModules       = 64              // imports in one execution
	DefaultMaxLogLines      = 100             // log lines kept per execution
	DefaultMaxLogBytes      = 64 << 10        // bytes of log messages and data kept per execution
	DefaultMaxEmits         = 100             // events::emit calls per execution
	DefaultMaxEventDepth    = 8               // the longest event chain (an event emitted by a run of an event...)
)

// Config holds the server-wide limits. Zero fields take the Default*
// constants (the depth limits: Rhai's own defaults, 64, 64 and 32).
type Config struct {
	DefaultTimeout          time.Duration // a script's wall clock when it sets none
	DefaultMaxOperations    uint64        // a script's operations when it sets none
	DefaultMaxMemoryBytes   int64         // a script's memory budget when it sets none
	DefaultMaxResponseBytes int64         // a script's response cap when it sets none
	MaxCallDepth            int
	MaxExprDepth            int
	MaxFnExprDepth          int
	MaxStringSize           int // bytes in one string
	MaxArraySize            int // elements in one array, bytes in one BLOB
	MaxMapSize              int // entries in one map
	MaxModules              int // imports in one execution
	MaxLogLines             int // log lines kept per execution
	MaxLogBytes             int // bytes of log messages and data kept per execution
	MaxEmits                int // events::emit calls per execution
	MaxEventDepth           int // an event of this depth may not emit: it stops loops of scripts triggering each other
	KV                      KVConfig

	// Secrets is what secret(name) reads through (nil: secret() fails);
	// OnSecretRead, when set, is told each read's result (one of
	// SecretReadResults). Connections, not settings: Config reports neither.
	Secrets      picloud.SecretReader
	OnSecretRead func(result string)

	// HTTP configures http:: (its defaults, the server's egress allowlist;
	// its resolver and hooks are connections Config does not report).
	HTTP HTTPConfig

	// OnHostCall, when set, is asked once per module of HostModules for the
	// function that counts one call of it (metrics). A hook, not a setting:
	// Config does not report it.
	OnHostCall func(module string) func()
}

func (c Config) withDefaults() Config {
	c.DefaultTimeout = cmp.Or(c.DefaultTimeout, DefaultTimeout)
	c.DefaultMaxOperations = cmp.Or(c.DefaultMaxOperations, DefaultMaxOperations)
	c.DefaultMaxMemoryBytes = cmp.Or(c.DefaultMaxMemoryBytes, DefaultMaxMemoryBytes)
	c.DefaultMaxResponseBytes = cmp.Or(c.DefaultMaxResponseBytes, DefaultMaxResponseBytes)
	c.MaxStringSize = cmp.Or(c.MaxStringSize, DefaultMaxStringSize)
	c.MaxArraySize = cmp.Or(c.MaxArraySize, DefaultMaxArraySize)
	c.MaxMapSize = cmp.Or(c.MaxMapSize, DefaultMaxMapSize)
	c.MaxModules = cmp.Or(c.MaxModules, DefaultMaxModules)
	c.MaxLogLines = cmp.Or(c.MaxLogLines, DefaultMaxLogLines)
	c.MaxLogBytes = cmp.Or(c.MaxLogBytes, DefaultMaxLogBytes)
	c.MaxEmits = cmp.Or(max(c.MaxEmits, 0), DefaultMaxEmits)
	c.MaxEventDepth = cmp.Or(max(c.MaxEventDepth, 0), DefaultMaxEventDepth)
	c.KV.MaxKeys = cmp.Or(c.KV.MaxKeys, picloud.DefaultKVMaxKeys)
	c.KV.MaxBytes = cmp.Or(c.KV.MaxBytes, picloud.DefaultKVMaxBytes)
	return c
}

// Executor compiles and runs scripts. It is safe for concurrent use: the
// engine is configured once in New and only read afterwards.
type Executor struct {
	eng  *rhai.Engine
	cfg  Config
	log  *slog.Logger
	http *httpModule
}

// New configures an engine with cfg's limits and the log:: module. Imports
// are resolved per execution (Options.Resolver); the engine has no resolver
// of its own.
func New(cfg Config, logger *slog.Logger) *Executor {
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
		MaxMemoryBytes: cfg.DefaultMaxMemoryBytes,
	})
	eng.RegisterStaticModule("log", logModule())
	registerKV(eng, cfg.KV)
	// The kv store and hook are connections, not settings: Config reports
	// the quotas alone.
	cfg.KV.Store, cfg.KV.OnOp = nil, nil
	registerSecret(eng, cfg.Secrets, cfg.OnSecretRead, logger)
	cfg.Secrets, cfg.OnSecretRead = nil, nil
	counter := func(module string) func() {
		if cfg.OnHostCall == nil {
			return nil
		}
		return cfg.OnHostCall(module)
	}
	eng.RegisterStaticModule("crypto", cryptoModule(counter("crypto")))
	eng.RegisterStaticModule("hex", hexModule(counter("hex")))
	eng.RegisterStaticModule("base64", base64Module(counter("base64")))
	eng.RegisterStaticModule("time", timeModule(counter("time")))
	eng.RegisterStaticModule("webhook", webhookModule(counter("webhook")))
	eng.RegisterStaticModule("events", eventsModule(cfg.MaxEmits, cfg.MaxEventDepth, counter("events")))
	cfg.OnHostCall = nil
	hm := newHTTPModule(cfg.HTTP)
	hm.register(eng)
	cfg.HTTP = hm.cfg
	cfg.HTTP.Resolver, cfg.HTTP.OnDial, cfg.HTTP.OnRequest = nil, nil, nil
	return &Executor{eng: eng, cfg: cfg, log: logger, http: hm}
}

// Config returns the effective configuration (defaults filled in).
func (x *Executor) Config() Config { return x.cfg }

// Limits are one script's limits; zero fields take the server defaults.
type Limits struct {
	Timeout          time.Duration
	MaxOperations    uint64
	MaxMemoryBytes   int64
	MaxResponseBytes int64
}

// Options are the hooks and switches of one execution.
type Options struct {
	// Resolver returns the program that `import "name"` loads (the current
	// version of the stored script named name) and that script (nil for a
	// program outside the store, which is unconfined). A *picloud.Error with
	// code not_found makes the import fail with ErrorModuleNotFound; any
	// other error fails the execution as internal. Nil: every import fails.
	// An import, nested ones included, loads a library only when the
	// library and Script admit each other (picloud.MutuallyAdmitted): the
	// imported code runs as Script.
	Resolver func(ctx context.Context, name string) (*Program, *picloud.Script, error)
	// Unsandboxed drops the platform's `Content-Security-Policy: sandbox`.
	// The orchestrator sets it only when functions are served from their own
	// origin (--functions-origin) and the script asks for it.
	Unsandboxed bool
	// Script is the stored script being run (nil for programs run outside
	// the platform's store, in tests): host modules scope their state to it
	// (kv:: namespaces, secrets).
	Script *picloud.Script
	// Replay, when set, runs the execution in replay mode: kv:: through
	// Replay.KV, time::now() fixed, http:: answered by a stub (see Replay).
	Replay *Replay
}

// Request is the HTTP request a script handles. Header may hold
// credentials: the script's `request.headers` never does (stripValues).
// The trigger fields say what started the execution: the script sees them
// as request.trigger, job_id, attempt, schedule and event.
type Request struct {
	Method  string
	Path    string
	Subpath string
	Query   url.Values
	Header  http.Header
	Body    []byte

	Trigger  picloud.Trigger         // "" is picloud.TriggerHTTP
	JobID    string                  // the job of an async, event or cron run ("" otherwise)
	Attempt  int                     // the job's attempt, 1-based
	Schedule *picloud.ScheduleFiring // a cron run's firing
	Event    *picloud.Event          // an event run's event
}

// Response is what the caller gets when the script succeeds. Header holds
// the final headers, the platform's rules applied (see finalHeaders): what
// WriteResponse sends and what the execution log records are the same.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Result is the outcome of one execution.
type Result struct {
	Response *Response // nil unless Status is success
	Status   picloud.ExecutionStatus
	Code     string             // the API error code when Status is not success
	Err      *picloud.ExecError // the full error when Status is not success
	Logs     []picloud.LogLine
	// Outbound lists the http:: requests the execution made.
	Outbound []picloud.OutboundCall
	// Events are what the script emitted (events::emit), in order; only a
	// successful execution has them (a failed one's are never delivered).
	Events []picloud.Event
	// Redactor replaces the secrets the execution read (nil: none). Logs and
	// Err are redacted already; the orchestrator applies it to the captured
	// request and response.
	Redactor   *Redactor
	Operations uint64 // the evaluation's operations plus the response encoding's
	MemoryPeak int64  // the most bytes the evaluation held at once (0: not measured)
	Started    time.Time
	Duration   time.Duration
}

// Limits returns lim with the server's defaults in its zero (or negative)
// fields: the limits Execute applies. The orchestrator reserves the memory
// budget it finds here at its gate, so both agree on it.
func (x *Executor) Limits(lim Limits) Limits {
	lim.Timeout = cmp.Or(max(lim.Timeout, 0), x.cfg.DefaultTimeout)
	lim.MaxOperations = cmp.Or(lim.MaxOperations, x.cfg.DefaultMaxOperations)
	lim.MaxMemoryBytes = cmp.Or(max(lim.MaxMemoryBytes, 0), x.cfg.DefaultMaxMemoryBytes)
	lim.MaxResponseBytes = cmp.Or(max(lim.MaxResponseBytes, 0), x.cfg.DefaultMaxResponseBytes)
	return lim
}

// PublicError is what a public caller of a failed execution is told: its
// code and a short message that says nothing of the script's insides (the
// full error is in Err, for the execution log and test invocations).
func (r *Result) PublicError() *picloud.Error {
	msg := "internal error"
	switch r.Code {
	case picloud.EScriptError:
		msg = "the script failed"
	case picloud.EInvalidResponse:
		msg = "the script returned an invalid response"
	case picloud.EBudgetExceeded:
		msg = "the script exceeded a resource limit"
	case picloud.ETimeout:
		msg = "the script timed out"
	}
	return &picloud.Error{Code: r.Code, Message: msg}
}

// execState is one execution's state that the host modules reach through
// the context their natives get: one allocation and one context value per
// execution, whatever the modules.
type execState struct {
	logs    collector
	secrets secretsRead
	http    httpCalls       // set up by the first http:: call
	script  *picloud.Script // nil outside the platform's store
	events  emitted
	replay  *Replay // nil outside a replay
}

// stateKey finds the execState in the context natives get.
type stateKey struct{}

// state is the execution's state, nil when c runs outside Execute.
func state(c *rhai.Context) *execState {
	st, _ := c.Context().Value(stateKey{}).(*execState)
	return st
}

// Execute runs prog on req within lim. It never panics and never returns a
// nil Result: every failure, including a program that does not compile, is a
// status in the Result.
func (x *Executor) Execute(ctx context.Context, prog *Program, lim Limits, req *Request, opts Options) (res *Result) {
	// The result and the execution's state in one allocation: they live
	// about as long (the result until the response is written).
	// The evaluation's scope, options and context, the response and its
	// encoder are in it too.
	both := &struct {
		res   Result
		st    execState
		scope rhai.Scope
		eo    rhai.EvalOptions
		ctx   runCtx
		resp  Response
		enc   encoder
	}{res: Result{Started: time.Now()}, st: execState{logs: collector{maxLines: x.cfg.MaxLogLines, maxBytes: x.cfg.MaxLogBytes}, script: opts.Script, replay: opts.Replay}}
	res = &both.res
	lim = x.Limits(lim)
	st := &both.st
	if opts.Script != nil {
		st.secrets.scriptID = opts.Script.ID
		st.secrets.confinedTo = opts.Script.ConfinedTo
	}
	if req != nil && req.Event != nil {
		st.events.depth = req.Event.Depth
	}
	logs := &st.logs
	defer func() {
		if p := recover(); p != nil {
			x.internal(res, fmt.Errorf("panic: %v", p))
		}
		res.Logs = logs.finish()
		res.Outbound = st.http.finish()
		if res.Status == picloud.StatusSuccess {
			res.Events = st.events.finish()
		}
		res.Redactor = st.secrets.redactor()
		res.Redactor.redact(res)
		res.Duration = time.Since(res.Started)
	}()
	switch {
	case prog == nil:
		x.internal(res, errors.New("no program"))
		return res
	case prog.err != nil:
		compileFailure(res, prog)
		return res
	}

	both.ctx.start(ctx, lim.Timeout, st)
	defer both.ctx.cancel(context.Canceled)
	ctx = &both.ctx
	// `request` is built when the script first names it: a script that
	// does not read it (or reads it only on some paths) does not pay for
	// the maps of its headers and query, nor for parsing a JSON body.
	scope := &both.scope
	scope.PushLazy("request", func() rhai.Value { return requestValue(req) })
	eo := &both.eo
	*eo = rhai.EvalOptions{
		Scope:          scope,
		MaxOperations:  lim.MaxOperations,
		MaxMemoryBytes: lim.MaxMemoryBytes,
		Resolver:       x.moduleResolver(opts.Resolver, opts.Script),
		OnPrint:        func(s string) { logs.add(picloud.LevelInfo, s, nil) },
		OnDebug:        func(s string, _ string, _ syntax.Pos) { logs.add(picloud.LevelDebug, s, nil) },
	}
	v, err := x.eng.EvalWith(ctx, prog.ast, eo)
	res.Operations, res.MemoryPeak = eo.Operations, eo.MemoryPeak
	// The result outlives the evaluation (until the response is written,
	// after the gate's slot and memory are given back): it must not keep
	// the request's value alive with it.
	*scope, eo.Scope = rhai.Scope{}, nil
	if err != nil {
		x.fail(ctx, res, err, prog.name)
		return res
	}
	enc := &both.enc
	*enc = encoder{ctx: ctx, max: lim.MaxResponseBytes, ops: eo.Operations, maxOps: lim.MaxOperations}
	resp := &both.resp
	err = toResponse(enc, v, resp)
	res.Operations = enc.ops
	if err != nil {
		// The value is the last statement's: a response that cannot be
		// sent points there.
		var le *limitError
		if errors.As(err, &le) {
			x.fail(ctx, res, le.err, prog.name)
			if res.Err != nil && res.Err.Line == 0 {
				res.Err.Line, res.Err.Column = int(eo.Last.Line), int(eo.Last.Col)
			}
			return res
		}
		res.Status, res.Code = picloud.StatusError, picloud.EInvalidResponse
		res.Err = &picloud.ExecError{Kind: "InvalidResponse", Message: err.Error(), Line: int(eo.Last.Line), Column: int(eo.Last.Col)}
		return res
	}
	finalHeaders(resp.Header, opts.Unsandboxed)
	res.Status, res.Response = picloud.StatusSuccess, resp
	return res
}

// internal records a fault of the platform (a panic, a native or resolver
// failing in a way no script can cause): status error, code internal. The
// cause goes to the server log, never to the caller.
func (x *Executor) internal(res *Result, cause error) {
	x.log.Error("executor: internal error", "err", cause)
	res.Response, res.Status, res.Code = nil, picloud.StatusError, picloud.EInternal
	res.Err = &picloud.ExecError{Kind: rhai.ErrSystem, Message: "internal error"}
}

// fail maps an evaluation error to a status and a code.
func (x *Executor) fail(ctx context.Context, res *Result, err error, main string) {
	var re *rhai.Error
	if !errors.As(err, &re) {
		x.internal(res, err)
		return
	}
	root := re.Root()
	if root.Kind == rhai.ErrSystem {
		// The engine turned a panic (a native, a resolver) into this error.
		x.internal(res, err)
		return
	}
	// Rhai's position, or where the engine was when Rhai gives none (an
	// arithmetic error, a limit): every failure points at a line. The
	// message stays exactly Rhai's text.
	pos := re.PosIn(main)
	res.Err = &picloud.ExecError{Kind: re.RootKind(), Message: re.Error(), Line: int(pos.Line), Column: int(pos.Col)}
	switch {
	case root.Kind == rhai.ErrTerminated && errors.Is(ctx.Err(), context.DeadlineExceeded):
		res.Status, res.Code = picloud.StatusTimeout, picloud.ETimeout
	case root.Kind == rhai.ErrTerminated:
		// The caller went away (or the server is stopping hard): not a limit
		// of the script's, so not budget_exceeded.
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
