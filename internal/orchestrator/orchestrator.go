// Package orchestrator is the data plane: it takes invocations (/api/execute/{id},
// /fn/{name}/...), holds the concurrency gates and the script cache, runs scripts
// through the executor, writes the response, and hands an execution log to the
// sink for every execution.
package orchestrator

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/httpapi"
	"github.com/picloud/picloud/internal/metrics"
	"github.com/picloud/picloud/rhai"
)

// Config tunes the orchestrator; zero fields take the defaults.
type Config struct {
	MaxConcurrency int           // executions at once, server-wide (4 × CPUs)
	GateWait       time.Duration // how long a request may wait for a slot before 429 (0: not at all)
	MaxBodyBytes   int64         // request body limit (1 MiB)
	MaxLoggedBody  int           // request and response bytes kept in the log (64 KiB)
	CacheTTL       time.Duration // how long a cached script is trusted without a reload (5 s)
}

// Orchestrator runs invocations.
type Orchestrator struct {
	cfg     Config
	exec    *executor.Executor
	sink    picloud.ExecutionSink
	metrics *metrics.Metrics
	log     *slog.Logger
	cache   *cache

	gate      chan struct{}
	perScript sync.Map // script id -> *atomic.Int64 executions running
}

// New makes an orchestrator. The executor's import resolver should call
// Resolve (see executor.New); New returns the orchestrator first so the
// executor can be built with it: call SetExecutor before serving.
func New(cfg Config, scripts picloud.ScriptStore, sink picloud.ExecutionSink, m *metrics.Metrics, logger *slog.Logger) *Orchestrator {
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = 4 * runtime.NumCPU()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxLoggedBody <= 0 {
		cfg.MaxLoggedBody = 64 << 10
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 5 * time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o := &Orchestrator{cfg: cfg, sink: sink, metrics: m, log: logger, gate: make(chan struct{}, cfg.MaxConcurrency)}
	o.cache = newCache(scripts, func(name, source string) (*rhai.AST, error) { return o.exec.Compile(name, source) }, cfg.CacheTTL)
	return o
}

// SetExecutor sets the executor (built after the orchestrator because its
// import resolver is Resolve).
func (o *Orchestrator) SetExecutor(x *executor.Executor) { o.exec = x }

// Resolve compiles (or finds cached) the current version of the script named
// name, for `import "name"`.
func (o *Orchestrator) Resolve(ctx context.Context, name string) (*rhai.AST, error) {
	e, err := o.cache.getByName(ctx, name)
	if err != nil {
		return nil, err
	}
	return e.ast, e.err
}

// Invalidate drops a script from the cache; the manager calls it on every change.
func (o *Orchestrator) Invalidate(id string) { o.cache.invalidate(id) }

// HandleExecute serves /api/execute/{id}, any method.
func (o *Orchestrator) HandleExecute(w http.ResponseWriter, r *http.Request) {
	e, err := o.cache.get(r.Context(), r.PathValue("id"))
	if err != nil {
		httpapi.WriteError(w, r, o.log, err)
		return
	}
	o.serve(w, r, e, "")
}

// HandleFn serves /fn/{name} and /fn/{name}/..., any method.
func (o *Orchestrator) HandleFn(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !picloud.ValidName(name) {
		httpapi.WriteError(w, r, o.log, picloud.Errorf(picloud.ENotFound, "script %q not found", name))
		return
	}
	e, err := o.cache.getByName(r.Context(), name)
	if err != nil {
		httpapi.WriteError(w, r, o.log, err)
		return
	}
	o.serve(w, r, e, strings.TrimPrefix(r.URL.Path, "/fn/"+name))
}

func (o *Orchestrator) serve(w http.ResponseWriter, r *http.Request, e *compiled, subpath string) {
	body, err := httpapi.ReadBody(w, r, o.cfg.MaxBodyBytes)
	if err != nil {
		httpapi.WriteError(w, r, o.log, err)
		return
	}
	var query url.Values
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	req := &executor.Request{Method: r.Method, Path: r.URL.Path, Subpath: subpath, Query: query, Header: r.Header, Body: body}
	res, l, err := o.run(r.Context(), e, req, picloud.TriggerHTTP)
	if err != nil {
		httpapi.WriteError(w, r, o.log, err)
		return
	}
	if res.Status == picloud.StatusSuccess {
		writeResponse(w, res.Response)
	} else {
		// Exactly the error response the log records (see executionLog).
		w.Header()["Content-Type"] = jsonContentType
		w.WriteHeader(l.Response.Status)
		io.WriteString(w, l.Response.Body)
	}
	o.record(r.Context(), l)
}

// Invoke runs a script as a test (trigger test), for the manager's
// /api/scripts/{id}/invoke. The log is recorded like any other.
func (o *Orchestrator) Invoke(ctx context.Context, scriptID string, req *executor.Request) (*executor.Result, *picloud.ExecutionLog, error) {
	e, err := o.cache.get(ctx, scriptID)
	if err != nil {
		return nil, nil, err
	}
	res, l, err := o.run(ctx, e, req, picloud.TriggerTest)
	if err != nil {
		return nil, nil, err
	}
	o.record(ctx, l)
	return res, l, nil
}

// run passes the gates and executes. The error is overloaded, or nil.
func (o *Orchestrator) run(ctx context.Context, e *compiled, req *executor.Request, trig picloud.Trigger) (*executor.Result, *picloud.ExecutionLog, error) {
	sc := e.script
	release, err := o.acquire(ctx, sc)
	if err != nil {
		return nil, nil, err
	}
	var res *executor.Result
	if e.err != nil {
		res = compileFailure(e.err)
	} else {
		res = o.exec.Execute(ctx, e.ast, executor.Limits{
			Timeout: time.Duration(sc.TimeoutMS) * time.Millisecond, MaxOperations: uint64(sc.MaxOperations),
		}, req)
	}
	release()

	if o.metrics != nil {
		o.metrics.Invoked(sc.Name, string(res.Status), res.Duration, res.Operations)
	}
	return res, o.executionLog(sc, trig, req, res), nil
}

func compileFailure(err error) *executor.Result {
	res := &executor.Result{Started: time.Now(), Status: picloud.StatusError, Code: picloud.EScriptError, Logs: []picloud.LogLine{}}
	xe := &picloud.ExecError{Kind: "ErrorParsing", Message: picloud.ErrorMessage(err)}
	if pe, ok := err.(*picloud.Error); ok {
		xe.Line, _ = pe.Details["line"].(int)
		xe.Column, _ = pe.Details["column"].(int)
		if k, ok := pe.Details["kind"].(string); ok {
			xe.Kind = "ErrorParsing/" + k
		}
	}
	res.Err = xe
	return res
}

// acquire takes a slot of the server-wide gate (waiting at most GateWait) and
// of the script's own gate (max_concurrency, never waiting).
func (o *Orchestrator) acquire(ctx context.Context, sc *picloud.Script) (func(), error) {
	select {
	case o.gate <- struct{}{}:
	default:
		if !o.waitGate(ctx) {
			o.reject("server")
			return nil, picloud.Errorf(picloud.EOverloaded, "the server is running %d executions; try again later", cap(o.gate))
		}
	}
	var n *atomic.Int64
	if sc.MaxConcurrency > 0 {
		v, _ := o.perScript.LoadOrStore(sc.ID, new(atomic.Int64))
		n = v.(*atomic.Int64)
		if n.Add(1) > int64(sc.MaxConcurrency) {
			n.Add(-1)
			<-o.gate
			o.reject("script")
			return nil, picloud.Errorf(picloud.EOverloaded, "script %q is already running %d executions", sc.Name, sc.MaxConcurrency)
		}
	}
	if o.metrics != nil {
		o.metrics.GateInFlight.Inc()
	}
	return func() {
		if n != nil {
			n.Add(-1)
		}
		<-o.gate
		if o.metrics != nil {
			o.metrics.GateInFlight.Dec()
		}
	}, nil
}

func (o *Orchestrator) waitGate(ctx context.Context) bool {
	if o.cfg.GateWait <= 0 {
		return false
	}
	t := time.NewTimer(o.cfg.GateWait)
	defer t.Stop()
	select {
	case o.gate <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func (o *Orchestrator) reject(gate string) {
	if o.metrics != nil {
		o.metrics.GateRejected.WithLabelValues(gate).Inc()
	}
}

// record hands l to the sink. It waits while the sink's queue is full, but
// not past the caller's going away... except that the row must not be lost,
// so it uses a context that is not cancelled with the request.
func (o *Orchestrator) record(ctx context.Context, l *picloud.ExecutionLog) {
	if err := o.sink.Record(context.WithoutCancel(ctx), l); err != nil {
		o.log.Warn("execution log not recorded", "execution_id", l.ID, "script_id", l.ScriptID, "err", err)
	}
}

func publicMessage(code string) string {
	switch code {
	case picloud.EScriptError:
		return "the script failed"
	case picloud.EInvalidResponse:
		return "the script returned an invalid response"
	case picloud.EBudgetExceeded:
		return "the script exceeded a resource limit"
	case picloud.ETimeout:
		return "the script timed out"
	}
	return "internal error"
}

// writeResponse writes a script's response with the sandboxing headers,
// unless the script set them itself.
func writeResponse(w http.ResponseWriter, resp *executor.Response) {
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = vs
	}
	if _, ok := resp.Header["Content-Security-Policy"]; !ok {
		h["Content-Security-Policy"] = cspSandbox
	}
	if _, ok := resp.Header["X-Content-Type-Options"]; !ok {
		h["X-Content-Type-Options"] = noSniff
	}
	w.WriteHeader(resp.Status)
	if len(resp.Body) > 0 && resp.Status != http.StatusNoContent && resp.Status != http.StatusNotModified && resp.Status >= 200 {
		w.Write(resp.Body)
	}
}

// The sandboxing headers' values, shared by every response (net/http only
// reads them; a handler that adds a value appends to a copy).
var (
	cspSandbox      = []string{"sandbox"}
	noSniff         = []string{"nosniff"}
	jsonContentType = []string{"application/json"}
)

// secretHeaders are redacted in the log.
var secretHeaders = map[string]bool{"authorization": true, "cookie": true, "proxy-authorization": true, "x-api-key": true}

func (o *Orchestrator) executionLog(sc *picloud.Script, trig picloud.Trigger, req *executor.Request, res *executor.Result) *picloud.ExecutionLog {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	l := &picloud.ExecutionLog{
		ID: id.String(), ScriptID: sc.ID, ScriptVersion: sc.Version, Trigger: trig, Status: res.Status,
		StartedAt: picloud.Time{Time: res.Started.UTC()}, DurationMS: float64(res.Duration.Microseconds()) / 1000,
		Operations: res.Operations, Logs: res.Logs, Error: res.Err,
	}
	// The request and response records are allocated with the log, in one go.
	recs := &struct {
		req  picloud.RequestRecord
		resp picloud.ResponseRecord
	}{}
	rr := &recs.req
	rr.Method, rr.Path = req.Method, req.Path
	rr.Query = make(map[string]string, len(req.Query))
	for k, vs := range req.Query {
		if len(vs) > 0 {
			rr.Query[k] = vs[0]
		}
	}
	rr.Headers = make(map[string]string, len(req.Header))
	for k, vs := range req.Header {
		k = executor.LowerHeader(k)
		if secretHeaders[k] {
			rr.Headers[k] = "[REDACTED]"
		} else {
			rr.Headers[k] = executor.JoinHeader(vs)
		}
	}
	rr.Body, rr.BodyEncoding, rr.BodySize, rr.BodyTruncated = o.loggedBody(req.Body)
	l.Request = rr
	resp := &recs.resp
	if res.Response != nil {
		resp.Status = res.Response.Status
		resp.Headers = make(map[string]string, len(res.Response.Header))
		for k, vs := range res.Response.Header {
			resp.Headers[executor.LowerHeader(k)] = executor.JoinHeader(vs)
		}
		resp.Body, resp.BodyEncoding, resp.BodySize, resp.BodyTruncated = o.loggedBody(res.Response.Body)
	} else {
		// A failed execution's caller gets the public error body (code, short
		// message, execution id); the log keeps that body as the response.
		status, body := httpapi.ErrorJSON(&picloud.Error{Code: res.Code, Message: publicMessage(res.Code),
			Details: map[string]any{"execution_id": l.ID}})
		resp.Status, resp.Headers = status, map[string]string{"content-type": jsonContentType[0]}
		resp.Body, resp.BodySize = string(body), len(body)
	}
	l.Response = resp
	return l
}

// loggedBody cuts b to the logged size; a body that is not UTF-8 is base64.
func (o *Orchestrator) loggedBody(b []byte) (body, encoding string, size int, truncated bool) {
	size = len(b)
	if len(b) > o.cfg.MaxLoggedBody {
		b, truncated = b[:o.cfg.MaxLoggedBody], true
		if utf8.Valid(b[:max(0, len(b)-utf8.UTFMax)]) {
			for len(b) > 0 && !utf8.Valid(b) { // do not split a character
				b = b[:len(b)-1]
			}
		}
	}
	if !utf8.Valid(b) {
		return base64.StdEncoding.EncodeToString(b), "base64", size, truncated
	}
	return string(b), "", size, truncated
}
