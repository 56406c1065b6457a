// Package orchestrator is the data plane: it takes invocations (/api/execute/{id},
// /fn/{name}/...), holds the concurrency gate (fair across scripts, bounded by
// the process memory ceiling) and the script cache, runs scripts through the
// executor, hands the execution's row to the sink, and only then writes the
// response.
package orchestrator

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/httpapi"
	"github.com/picloud/picloud/internal/metrics"
)

// The orchestrator's defaults, each named once: Config's zero fields take
// them (cmd/picloud's flags default to the same constants).
const (
	// MaxConcurrencyPerCPU sets the server-wide gate when MaxConcurrency is
	// 0: this many executions at once per CPU (DefaultMaxConcurrency).
	MaxConcurrencyPerCPU = 4
	// DefaultMaxScriptShare is the share of the server's slots one script may
	// hold when it sets no max_concurrency.
	DefaultMaxScriptShare = 0.5
	// DefaultGateWait is how long a request waits for a slot (and for room
	// in the sink's journal) before 429 overloaded (503 unavailable).
	DefaultGateWait = 2 * time.Second
	// DefaultMaxBodyBytes is the request body limit.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultBodyReadTimeout bounds reading a request's body.
	DefaultBodyReadTimeout = httpapi.DefaultBodyReadTimeout
	// DefaultWriteTimeout bounds writing a response, from when it starts.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultCacheTTL is how long a cached script is trusted without asking
	// the store (the manager invalidates its own changes at once).
	DefaultCacheTTL = 5 * time.Second
	// DefaultCacheRefreshTimeout bounds asking the store about a cached
	// script; past it the cached version is served.
	DefaultCacheRefreshTimeout = time.Second
	// The captured request and response are cut at these sizes: the body,
	// each header value, all headers (names and values), the query (keys
	// and values) and the path.
	DefaultMaxLoggedBody    = 64 << 10
	DefaultMaxLoggedHeader  = 8 << 10
	DefaultMaxLoggedHeaders = 32 << 10
	DefaultMaxLoggedQuery   = 8 << 10
	DefaultMaxLoggedPath    = 8 << 10
)

// DefaultMaxConcurrency is MaxConcurrencyPerCPU per CPU.
func DefaultMaxConcurrency() int { return MaxConcurrencyPerCPU * runtime.NumCPU() }

// Config tunes the orchestrator. Zero fields take the Default* values;
// negative GateWait means no waiting, negative MemoryLimit no ceiling.
type Config struct {
	MaxConcurrency int // executions at once, server-wide
	// MaxScriptSlots is how many slots a script may hold when it sets no
	// max_concurrency; 0 derives it from MaxScriptShare (at least 1).
	MaxScriptSlots int
	MaxScriptShare float64
	// MemoryLimit is the process memory ceiling: an execution starts only
	// while the running executions' memory budgets plus the live heap stay
	// under it (0: DefaultMemoryLimit()).
	MemoryLimit     int64
	GateWait        time.Duration // how long a request waits for a slot
	MaxBodyBytes    int64         // request body limit
	BodyReadTimeout time.Duration // deadline for reading a request body
	WriteTimeout    time.Duration // deadline for writing a response
	// FunctionsOrigin is the separate origin functions are served from
	// ("https://fn.example.com"); only requests to it may get a response
	// without the sandbox CSP, and only from scripts that set unsandboxed.
	FunctionsOrigin     string
	CacheTTL            time.Duration
	CacheRefreshTimeout time.Duration
	MaxLoggedBody       int
	MaxLoggedHeader     int
	MaxLoggedHeaders    int
	MaxLoggedQuery      int
	MaxLoggedPath       int

	// NodeName, when set, is written into every execution row (the
	// ExecutionLog's Node): the cluster node that ran it. "" on the
	// all-in-one server.
	NodeName string
	// RedactTokens are credentials besides PiCloud's own (pct_...) that the
	// captured request must never hold: on a node, the cluster token. A
	// header, query value or path holding one is recorded "[REDACTED]",
	// and it is replaced in the captured body. Tokens shorter than 8 bytes
	// are ignored (they would match ordinary text).
	RedactTokens []string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client: rate limits count requests per client address.
	TrustedProxies httpapi.TrustedProxies
}

// WithDefaults is c with every zero field set to its default: the
// configuration an orchestrator built from c runs with.
func (c Config) WithDefaults() Config {
	c.MaxConcurrency = cmp.Or(max(c.MaxConcurrency, 0), DefaultMaxConcurrency())
	c.MaxScriptShare = cmp.Or(c.MaxScriptShare, DefaultMaxScriptShare)
	if c.MaxScriptSlots <= 0 {
		c.MaxScriptSlots = max(1, int(float64(c.MaxConcurrency)*min(max(c.MaxScriptShare, 0), 1)))
	}
	c.MemoryLimit = cmp.Or(c.MemoryLimit, DefaultMemoryLimit())
	c.GateWait = cmp.Or(c.GateWait, DefaultGateWait)
	c.MaxBodyBytes = cmp.Or(max(c.MaxBodyBytes, 0), DefaultMaxBodyBytes)
	c.BodyReadTimeout = cmp.Or(max(c.BodyReadTimeout, 0), DefaultBodyReadTimeout)
	c.WriteTimeout = cmp.Or(max(c.WriteTimeout, 0), DefaultWriteTimeout)
	c.CacheTTL = cmp.Or(max(c.CacheTTL, 0), DefaultCacheTTL)
	c.CacheRefreshTimeout = cmp.Or(max(c.CacheRefreshTimeout, 0), DefaultCacheRefreshTimeout)
	c.MaxLoggedBody = cmp.Or(max(c.MaxLoggedBody, 0), DefaultMaxLoggedBody)
	c.MaxLoggedHeader = cmp.Or(max(c.MaxLoggedHeader, 0), DefaultMaxLoggedHeader)
	c.MaxLoggedHeaders = cmp.Or(max(c.MaxLoggedHeaders, 0), DefaultMaxLoggedHeaders)
	c.MaxLoggedQuery = cmp.Or(max(c.MaxLoggedQuery, 0), DefaultMaxLoggedQuery)
	c.MaxLoggedPath = cmp.Or(max(c.MaxLoggedPath, 0), DefaultMaxLoggedPath)
	return c
}

// Sink takes execution rows (*audit.Sink). Admit waits while the sink can
// take no more (its journal is full) and fails with unavailable when ctx ends
// first; Record makes the row durable by the sink's policy when it returns.
type Sink interface {
	Admit(ctx context.Context) error
	Record(ctx context.Context, l *picloud.ExecutionLog) error
}

// Orchestrator runs invocations.
type Orchestrator struct {
	cfg      Config
	exec     *executor.Executor
	sink     Sink
	metrics  *metrics.Metrics
	log      *slog.Logger
	cache    *cache
	gate     *gate
	capture  captureLimits
	fnHost   string // FunctionsOrigin's host, "" when functions share the dashboard's origin
	resolver func(context.Context, string) (*executor.Program, *picloud.Script, error)
	// queue takes asynchronous invocations and delivers events (nil until
	// SetQueue: async answers unavailable, events are dropped).
	queue atomic.Pointer[queueRef]
	// authorizer checks the credentials of invocations of scripts whose
	// access is key or token (SetAuthorizer); limits are the scripts' rate
	// limits; denials samples the log lines of refused invocations.
	authorizer atomic.Pointer[authorizerRef]
	limits     rateLimits
	denials    denialLog
	// rejected counts the executions the gate refused (GateFigures).
	rejected atomic.Uint64
}

// queueRef holds a JobQueue for atomic.Pointer.
type queueRef struct{ q picloud.JobQueue }

// New makes an orchestrator running scripts of store on exec, recording rows
// in sink. m and logger may be nil.
func New(cfg Config, exec *executor.Executor, store picloud.ScriptStore, sink Sink, m *metrics.Metrics, logger *slog.Logger) *Orchestrator {
	cfg = cfg.WithDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o := &Orchestrator{cfg: cfg, exec: exec, sink: sink, metrics: m, log: logger,
		capture: captureLimits{body: cfg.MaxLoggedBody, header: cfg.MaxLoggedHeader, headers: cfg.MaxLoggedHeaders,
			query: cfg.MaxLoggedQuery, path: cfg.MaxLoggedPath, tokens: redactTokens(cfg.RedactTokens)}}
	if cfg.FunctionsOrigin != "" {
		if u, err := url.Parse(cfg.FunctionsOrigin); err == nil && u.Host != "" {
			o.fnHost = strings.ToLower(u.Host)
		} else {
			logger.Error("orchestrator: functions origin is not a URL with a host; every response is sandboxed", "origin", cfg.FunctionsOrigin)
		}
	}
	var onStale func()
	if m != nil {
		onStale = m.CacheStale.Inc
	}
	o.limits.max = MaxRateBuckets
	o.cache = newCache(store, exec.Compile, cfg.CacheTTL, cfg.CacheRefreshTimeout, logger, onStale)
	o.resolver = o.cache.program
	memLimit := max(cfg.MemoryLimit, 0)
	o.gate = newGate(cfg.MaxConcurrency, memLimit, newHeapSampler().read)
	if m != nil {
		m.MemoryLimit.Set(float64(memLimit))
		o.gate.report = func(running, waiting int, reserved int64) {
			m.GateInFlight.Set(float64(running))
			m.GateWaiting.Set(float64(waiting))
			m.MemoryReserved.Set(float64(reserved))
		}
	}
	return o
}

// SetQueue connects the job queue: asynchronous invocations (Prefer:
// respond-async) are queued on it and the events of successful executions
// published to it. Nil disconnects it.
func (o *Orchestrator) SetQueue(q picloud.JobQueue) {
	if q == nil {
		o.queue.Store(nil)
		return
	}
	o.queue.Store(&queueRef{q})
}

func (o *Orchestrator) jobQueue() picloud.JobQueue {
	if r := o.queue.Load(); r != nil {
		return r.q
	}
	return nil
}

// Config is the configuration o runs with (defaults filled in).
func (o *Orchestrator) Config() Config { return o.cfg }

// Invalidate drops a script from the cache; the manager calls it on every change.
func (o *Orchestrator) Invalidate(id string) { o.cache.invalidate(id) }

// ExpireAll makes every cached script due for a refresh: the next request
// for each asks the store (a node's manager) again, and is served the cached
// version when the store cannot answer, as after any TTL. A node calls it
// when it (re)connects to the change feed, since changes made while it was
// away were not announced to it.
func (o *Orchestrator) ExpireAll() { o.cache.expireAll() }

// InFlight is how many executions hold a slot of the gate now (a node's
// load, in its heartbeat).
func (o *Orchestrator) InFlight() int { return o.gate.inFlight() }

// GateFigures reads the gate now: executions running and waiting, the
// slots, the memory reserved and its ceiling (0: none), and the executions
// refused since o was made (GET /api/overview).
func (o *Orchestrator) GateFigures() picloud.OverviewGate {
	running, waiting, reserved := o.gate.stats()
	return picloud.OverviewGate{Running: running, Waiting: waiting, Slots: o.cfg.MaxConcurrency,
		MemoryReservedBytes: reserved, MemoryLimitBytes: max(o.cfg.MemoryLimit, 0), RejectedTotal: o.rejected.Load()}
}

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
	if !o.guard(w, r, e.script) {
		return
	}
	if e.script.Disabled {
		httpapi.WriteError(w, r, o.log, disabled(e.script))
		return
	}
	if preferAsync(r.Header) {
		o.enqueue(w, r, e, subpath)
		return
	}
	body, err := o.readBody(w, r)
	if err != nil {
		httpapi.WriteError(w, r, o.log, err)
		return
	}
	var query url.Values
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	req := &executor.Request{Method: r.Method, Path: r.URL.Path, Subpath: subpath, Query: query, Header: r.Header, Body: body}
	unsandboxed := e.script.Unsandboxed && o.fnHost != "" && strings.EqualFold(r.Host, o.fnHost)
	res, l, err := o.run(r.Context(), e, req, picloud.TriggerHTTP, unsandboxed)
	if err != nil {
		if r.Context().Err() == nil {
			httpapi.WriteError(w, r, o.log, err)
		}
		return
	}
	// The row is recorded before the response is written: a client that
	// reads slowly (or never) delays nothing, and an answered request has
	// its row.
	o.record(r.Context(), l)
	if res.Status == picloud.StatusSuccess {
		o.publish(r.Context(), e.script, res.Events)
	}
	// The write gets its own deadline (not the server's WriteTimeout, which
	// would also bound the execution and, later, streams). A writer that
	// cannot set one (a test recorder) writes without.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(o.cfg.WriteTimeout))
	if res.Status == picloud.StatusSuccess {
		executor.WriteResponse(w, res.Response)
	} else {
		// Exactly the error response the log records (see executionLog).
		w.Header()["Content-Type"] = jsonContentType
		w.WriteHeader(l.Response.Status)
		io.WriteString(w, l.Response.Body)
	}
}

// readBody reads the request body within the body limit and the body read
// deadline (httpapi.ReadWithin).
func (o *Orchestrator) readBody(w http.ResponseWriter, r *http.Request) (body []byte, err error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	err = httpapi.ReadWithin(w, o.cfg.BodyReadTimeout, func() error {
		body, err = httpapi.ReadBody(w, r, o.cfg.MaxBodyBytes)
		return err
	})
	return body, err
}

// Invoke runs a script as a test (trigger test), for the manager's
// /api/scripts/{id}/invoke. The row is recorded like any other, before Invoke
// returns. Test responses are always sandboxed.
func (o *Orchestrator) Invoke(ctx context.Context, scriptID string, req *executor.Request) (*executor.Result, *picloud.ExecutionLog, error) {
	e, err := o.cache.get(ctx, scriptID)
	if err != nil {
		return nil, nil, err
	}
	tr := *req
	tr.Trigger = picloud.TriggerTest
	res, l, err := o.run(ctx, e, &tr, picloud.TriggerTest, false)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, err
	}
	o.record(ctx, l)
	if res.Status == picloud.StatusSuccess {
		o.publish(ctx, e.script, res.Events)
	}
	return res, l, nil
}

// run waits for room in the sink and a slot of the gate (together at most
// GateWait), then executes. The error is unavailable, overloaded, or the
// caller's leaving (ctx ended: nothing ran).
func (o *Orchestrator) run(ctx context.Context, e *compiled, req *executor.Request, trig picloud.Trigger, unsandboxed bool) (*executor.Result, *picloud.ExecutionLog, error) {
	sc := e.script
	start := time.Now()
	if err := o.admit(ctx); err != nil {
		return nil, nil, err
	}
	lim := o.exec.Limits(executor.Limits{
		Timeout:          time.Duration(sc.TimeoutMS) * time.Millisecond,
		MaxOperations:    uint64(sc.MaxOperations),
		MaxMemoryBytes:   sc.MaxMemoryBytes,
		MaxResponseBytes: sc.MaxResponseBytes,
	})
	limit := o.cfg.MaxScriptSlots
	if sc.MaxConcurrency > 0 {
		limit = sc.MaxConcurrency
	}
	t, reason := o.gate.acquire(ctx, sc.ID, limit, lim.MaxMemoryBytes, o.cfg.GateWait-time.Since(start))
	if t == nil {
		if reason == "" {
			return nil, nil, ctx.Err()
		}
		return nil, nil, o.reject(sc, reason, limit)
	}
	res := o.exec.Execute(ctx, e.prog, lim, req, executor.Options{Resolver: o.resolver, Unsandboxed: unsandboxed, Script: sc})
	o.gate.release(t)

	if o.metrics != nil {
		o.metrics.Invoked(sc.Name, string(res.Status), res.Duration, res.Operations)
	}
	return res, o.executionLog(sc, trig, req, res), nil
}

// admit waits (at most GateWait) while the sink can take no more rows. It
// asks first with a context that has already ended, which the sink answers
// at once: the common case (room) costs no timer.
func (o *Orchestrator) admit(ctx context.Context) error {
	err := o.sink.Admit(doneCtx)
	if err == nil || o.cfg.GateWait <= 0 {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.cfg.GateWait)
	defer cancel()
	return o.sink.Admit(ctx)
}

// doneCtx is a context that has ended.
var doneCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

func (o *Orchestrator) reject(sc *picloud.Script, reason string, limit int) error {
	o.rejected.Add(1)
	if o.metrics != nil {
		o.metrics.GateRejected.WithLabelValues(reason).Inc()
	}
	switch reason {
	case reasonScript:
		return picloud.Errorf(picloud.EOverloaded, "script %q is already running %d executions; try again later", sc.Name, limit)
	case reasonMemory:
		return picloud.Errorf(picloud.EOverloaded, "the server is at its memory ceiling; try again later")
	}
	return picloud.Errorf(picloud.EOverloaded, "the server is running %d executions; try again later", o.cfg.MaxConcurrency)
}

// record hands l to the sink. The row must not be lost because the caller
// left, so the sink gets a context that is not cancelled with the request.
func (o *Orchestrator) record(ctx context.Context, l *picloud.ExecutionLog) {
	if err := o.sink.Record(context.WithoutCancel(ctx), l); err != nil {
		o.log.Warn("orchestrator: execution log not recorded", "execution_id", l.ID, "script_id", l.ScriptID, "err", err)
	}
}

// jsonContentType is the error responses' Content-Type, shared (net/http
// only reads it).
var jsonContentType = []string{"application/json"}
