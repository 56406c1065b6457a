package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/audit"
	"github.com/picloud/picloud/internal/cluster"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/httpapi"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/metrics"
	"github.com/picloud/picloud/internal/orchestrator"
)

// NodeConfig is `picloud node`'s configuration.
type NodeConfig struct {
	Executor     executor.Config
	Orchestrator orchestrator.Config // its NodeName is Name
	// Sink is the node's execution journal (Dir: its directory, under the
	// node's data directory): rows wait there until the manager has them.
	Sink audit.Config

	// ManagerURL is the manager's base URL ("http://10.0.0.1:8000"), Token
	// the cluster token (at least 16 bytes).
	ManagerURL string
	Token      string
	// Name identifies the node to the manager and in execution logs;
	// Advertise is the URL the manager dispatches jobs to. Both required.
	Name      string
	Advertise string
	// HTTPClient talks to the manager (TLS settings); nil takes the
	// client's default.
	HTTPClient *http.Client

	// PublicMetrics serves /metrics without the cluster token.
	PublicMetrics bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client: scripts' rate limits count per client address.
	TrustedProxies httpapi.TrustedProxies
	Logger         *slog.Logger
}

// managerGrace is how long a node counts the manager up after the last
// answer it got from it while the change feed is not connected: a feed
// reconnecting (a manager restarted) is not an outage.
const managerGrace = 3 * time.Second

// Node is a running `picloud node`: an orchestrator and executor whose
// store, secrets, job queue and execution log are the manager's cluster API.
type Node struct {
	cfg     NodeConfig
	log     *slog.Logger
	client  *cluster.Client
	metrics *metrics.Metrics
	cm      *metrics.Cluster
	sink    *audit.Sink
	exec    *executor.Executor
	orch    *orchestrator.Orchestrator
	health  *manager.Health
	handler http.Handler
	table   []Route // the route table routes() registered

	mu        sync.Mutex
	started   bool
	startedAt time.Time
	// startNanos is startedAt for the health check, which may run before
	// Start (the listener is open first): the manager is not reported down
	// during the first managerGrace, before the node had a chance to reach it.
	startNanos atomic.Int64
	cancel     context.CancelFunc
	loops      sync.WaitGroup
	stopOnce   sync.Once
	stopErr    error
	// refused is set while the manager refuses the heartbeat's token: it
	// answers, but nothing the node asks will work.
	refused atomic.Bool
	// draining is set by Drain: shutting down.
	draining atomic.Bool
	kick     chan struct{} // a heartbeat now
}

// NewNode wires a node. Call Start before serving Handler.
func NewNode(cfg NodeConfig) (*Node, error) {
	if err := cluster.CheckToken(cfg.Token); err != nil {
		return nil, fmt.Errorf("--cluster-token: %w", err)
	}
	switch {
	case cfg.ManagerURL == "":
		return nil, errors.New("app: a node needs the manager's URL (--manager)")
	case cfg.Name == "":
		return nil, errors.New("app: a node needs a name (--name)")
	case cfg.Advertise == "":
		return nil, errors.New("app: a node needs the URL the manager reaches it at (--advertise)")
	}
	// The manager refuses a report with a bad name or address: say so at
	// start rather than in every heartbeat's warning.
	if err := cluster.ValidNodeName(cfg.Name); err != nil {
		return nil, fmt.Errorf("--name: %w", err)
	}
	if u, err := url.Parse(cfg.Advertise); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--advertise: %q is not an http:// or https:// URL with a host", cfg.Advertise)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("node", cfg.Name)
	client, err := cluster.NewClient(cluster.ClientConfig{ManagerURL: cfg.ManagerURL, Token: cfg.Token,
		HTTPClient: cfg.HTTPClient, Logger: log})
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: log, client: client, kick: make(chan struct{}, 1)}

	var sink *audit.Sink
	n.metrics = metrics.New(func() float64 { return float64(sink.Len()) })
	n.cm = n.metrics.NewNodeCluster(func() float64 {
		if n.managerUp() {
			return 1
		}
		return 0
	})
	// kv:: and secret() reach their state through the manager. (Checked
	// before the journal is opened: a bad allowlist leaves nothing open.)
	if err := executorHooks(&cfg.Executor, n.metrics, client, client); err != nil {
		return nil, err
	}
	// The journal's store is the manager: rows are posted in batches, and
	// wait in the journal while it is away.
	sink, err = audit.New(rowPoster{client, log}, sinkHooks(cfg.Sink, n.metrics), log)
	if err != nil {
		return nil, err
	}
	n.metrics.WatchJournal(func() float64 { return float64(sink.JournalBytes()) })
	n.sink = sink

	n.exec = executor.New(cfg.Executor, log)
	oc := cfg.Orchestrator
	oc.NodeName = cfg.Name
	// Rows leave the node: the cluster token must not be in them.
	oc.RedactTokens = append(slices.Clip(oc.RedactTokens), cfg.Token)
	oc.TrustedProxies = cfg.TrustedProxies
	n.orch = orchestrator.New(oc, n.exec, client, sink, n.metrics, log)
	// Invoke credentials are checked by the manager (by hash), its answers
	// remembered for 5 s.
	n.orch.SetAuthorizer(orchestrator.HashAuthorizer(cluster.NewNodeAuthorizer(client, 0).Authorize))
	// Asynchronous invocations and events are queued on the manager, which
	// dispatches their runs to the nodes.
	n.orch.SetQueue(client)
	n.cfg.Executor, n.cfg.Orchestrator, n.cfg.Sink = n.exec.Config(), n.orch.Config(), sink.Config()
	// Settings, not connections: the hooks are the node's own.
	n.cfg.Sink.OnWritten, n.cfg.Sink.OnRetry, n.cfg.Sink.OnLost, n.cfg.Sink.OnJournalError = nil, nil, nil, nil

	n.health = manager.NewHealth([]manager.HealthCheck{n.journalCheck(), n.managerCheck(), n.tokenCheck(), n.shutdownCheck()}, 0, log)
	n.handler = n.routes()
	return n, nil
}

// journalCheck is the journal's health: down (critical) while it is over
// its bound, when executions wait and then answer 503.
func (n *Node) journalCheck() manager.HealthCheck {
	kind := "file"
	if n.cfg.Sink.Dir == "" {
		kind = "memory"
	}
	return manager.HealthCheck{Name: "journal", Kind: kind, Critical: true, Check: func(context.Context) error {
		if n.sink.Full() {
			return picloud.Errorf(picloud.EUnavailable, "full: the manager is not keeping up")
		}
		return nil
	}}
}

// undelivered is the journal's size while it holds rows the manager does
// not have yet, and 0 once every row is delivered: the journal's files
// keep delivered rows until a whole segment can go, and "bytes waiting" is
// what the node list reports.
func (n *Node) undelivered() int64 {
	if n.sink.Pending() == 0 {
		return 0
	}
	return n.sink.JournalBytes()
}

// Drain makes the node's health answer 503 (component shutdown down) and
// its heartbeats report it down, while it keeps serving: called when
// shutdown begins, so that the proxy and the managers stop sending it work
// before its listener closes.
func (n *Node) Drain() {
	n.draining.Store(true)
	select {
	case n.kick <- struct{}{}: // report it now: no job is dispatched here any more
	default:
	}
}

// shutdownCheck is down (critical) once Drain was called.
func (n *Node) shutdownCheck() manager.HealthCheck {
	return manager.HealthCheck{Name: "shutdown", Kind: "process", Critical: true, Check: func(context.Context) error {
		if n.draining.Load() {
			return picloud.Errorf(picloud.EUnavailable, "draining: shutting down")
		}
		return nil
	}}
}

// tokenCheck is down (critical: health answers 503) while the manager
// refuses the node's cluster token. Such a node cannot load a script, send
// a row or take a job: a proxy's health check must take it out of rotation
// rather than let it answer every request 503.
func (n *Node) tokenCheck() manager.HealthCheck {
	return manager.HealthCheck{Name: "cluster_token", Kind: "cluster", Critical: true, Check: func(context.Context) error {
		if n.refused.Load() {
			return picloud.Errorf(picloud.EUnavailable, "refused by the manager: start the node with the managers' --cluster-token")
		}
		return nil
	}}
}

// managerCheck is the manager's health as the node sees it. Not critical:
// without the manager the node serves the scripts it has cached and keeps
// rows in its journal.
func (n *Node) managerCheck() manager.HealthCheck {
	return manager.HealthCheck{Name: "manager", Kind: "cluster", Check: func(context.Context) error {
		if n.refused.Load() {
			return picloud.Errorf(picloud.EUnavailable, "refused: the manager has another cluster token")
		}
		if !n.managerUp() {
			return picloud.Errorf(picloud.EUnavailable, "unreachable: serving cached scripts, rows kept in the journal")
		}
		return nil
	}}
}

// managerUp reports whether the manager serves the node: it takes the
// node's token, and the change feed is connected or the manager answered
// within managerGrace.
func (n *Node) managerUp() bool {
	if n.refused.Load() {
		return false
	}
	last := n.client.LastContact()
	if s := n.startNanos.Load(); s != 0 && time.Unix(0, s).After(last) {
		last = time.Unix(0, s) // just started: not heard from yet is not an outage yet
	}
	return n.client.Connected() || time.Since(last) < managerGrace
}

// Routes is the node's route table.
func (n *Node) Routes() []Route { return n.table }

// routes builds the node's route table and the handler that serves it.
func (n *Node) routes() http.Handler {
	n.table = n.routeTable()
	authFailed := func() { n.metrics.AuthFailures.WithLabelValues("cluster_token").Inc() }
	return register(n.table, map[Auth]func(Route) http.Handler{
		AuthCluster: func(r Route) http.Handler { return cluster.RequireToken(n.cfg.Token, r.Handler, authFailed) },
	})
}

// routeTable lists a node's routes: the invocations, health, metrics and the
// manager's dispatch; anything else belongs to the manager.
func (n *Node) routeTable() []Route {
	o := n.orch
	metricsAuth := AuthCluster
	if n.cfg.PublicMetrics {
		metricsAuth = AuthPublic
	}
	return []Route{
		{Method: "GET", Pattern: "/api/health", Handler: http.HandlerFunc(n.health.Handle), Auth: AuthPublic},
		{Pattern: "/api/execute/{id}", Handler: http.HandlerFunc(o.HandleExecute), Auth: AuthPublic},
		{Pattern: "/fn/{name}", Handler: http.HandlerFunc(o.HandleFn), Auth: AuthPublic},
		{Pattern: "/fn/{name}/{rest...}", Handler: http.HandlerFunc(o.HandleFn), Auth: AuthPublic},
		{Method: "POST", Pattern: cluster.PathRun, Handler: cluster.RunHandler(n.orch, n.log), Auth: AuthCluster, Internal: true},
		{Method: "GET", Pattern: "/metrics", Handler: promhttp.HandlerFor(n.metrics.Registry, promhttp.HandlerOpts{}), Auth: metricsAuth},
		{Pattern: "/", Auth: AuthPublic, Internal: true, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httpapi.WriteError(w, r, n.log, picloud.Errorf(picloud.ENotFound, "this is a node: the admin API is on the manager"))
		})},
	}
}

// Config is the configuration the node runs with (defaults filled in).
func (n *Node) Config() NodeConfig { return n.cfg }

// Handler is the HTTP handler of the node's routes.
func (n *Node) Handler() http.Handler { return n.handler }

// Start starts the sink's writer (which first replays the journal to the
// manager, when it answers), the heartbeat (one at once, then every
// picloud.NodeHeartbeatEvery) and the change-feed follower. Neither needs
// the manager to be up: they retry until it is. It fails when the node was
// stopped.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		return nil
	}
	if err := n.sink.Start(ctx); err != nil {
		return fmt.Errorf("app: starting the execution journal: %w", err)
	}
	n.started, n.startedAt = true, time.Now()
	n.startNanos.Store(n.startedAt.UnixNano())
	ctx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	n.loops.Add(2)
	go func() {
		defer n.loops.Done()
		n.heartbeats(ctx)
	}()
	go func() {
		defer n.loops.Done()
		n.follow(ctx)
	}()
	return nil
}

// heartbeats reports the node to the manager until ctx ends. A failed
// heartbeat is logged when the manager goes away and when it is back, not
// every time.
func (n *Node) heartbeats(ctx context.Context) {
	t := time.NewTicker(picloud.NodeHeartbeatEvery)
	defer t.Stop()
	failing := false
	for {
		hctx, cancel := context.WithTimeout(ctx, picloud.NodeHeartbeatEvery)
		err := n.client.Heartbeat(hctx, n.record(hctx))
		cancel()
		n.refused.Store(cluster.Refused(err))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			n.log.Warn("cluster: heartbeat failed; retrying", "err", err)
		case err == nil && failing:
			failing = false
			n.log.Info("cluster: heartbeat accepted again")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.kick:
		}
	}
}

// record is the node as it reports itself. The manager component is left
// out of its status: a report that arrives proves the manager reachable
// (the first one, before any contact, would otherwise say degraded).
func (n *Node) record(ctx context.Context) *picloud.Node {
	h, _ := n.health.Report(ctx)
	status := picloud.NodeOK
	for name, c := range h.Components {
		if name == "manager" {
			h.Components[name] = picloud.HealthComponent{Status: picloud.HealthOK, Kind: c.Kind}
		} else if c.Status != picloud.HealthOK && status == picloud.NodeOK {
			status = picloud.NodeDegraded
		}
	}
	if h.Status == picloud.HealthDown {
		status = picloud.NodeDown // a critical component: the node cannot run scripts
	}
	return &picloud.Node{Name: n.cfg.Name, Address: n.cfg.Advertise, Version: picloud.BuildVersion,
		Capacity: n.cfg.Orchestrator.MaxConcurrency, Load: n.orch.InFlight(), Status: status,
		Components: h.Components, JournalBytes: n.undelivered(),
		StartedAt: picloud.Time{Time: n.startedAt.UTC()}}
}

// follow keeps the script cache in step with the manager's change feed
// until ctx ends: a change drops the script's entry; every (re)connection
// expires them all, since changes made while the node was away were not
// sent to it (entries stay, and are served stale if the manager cannot
// confirm them).
func (n *Node) follow(ctx context.Context) {
	first := true
	n.client.FollowChanges(ctx, func(c picloud.ScriptChange) {
		n.cm.ScriptChanges.Inc()
		n.orch.Invalidate(c.ID)
	}, func() {
		if !first {
			n.cm.FeedReconnect.Inc()
		}
		first = false
		n.orch.ExpireAll()
	})
}

// Stop stops the heartbeat and the change-feed follower, then flushes the
// journal to the manager within ctx: rows it cannot deliver in time stay in
// the journal for the next start (with a file journal). Stop the HTTP server
// first, so that in-flight executions record their rows. It is idempotent.
func (n *Node) Stop(ctx context.Context) error {
	n.stopOnce.Do(func() {
		n.mu.Lock()
		if n.cancel != nil {
			n.cancel()
		}
		n.mu.Unlock()
		n.loops.Wait()
		n.stopErr = n.sink.Stop(ctx)
	})
	return n.stopErr
}

// rowPoster is the execution store of a node's journal: the client, and a
// batch the manager refuses as too large is sent again in halves. Without
// it such a batch would be retried as it is forever, and every row behind
// it would wait in the journal.
type rowPoster struct {
	*cluster.Client
	log *slog.Logger
}

func (p rowPoster) InsertExecutions(ctx context.Context, logs []*picloud.ExecutionLog) error {
	err := p.Client.InsertExecutions(ctx, logs)
	if picloud.ErrorCode(err) != picloud.EPayloadTooLarge {
		return err
	}
	if len(logs) > 1 {
		half := len(logs) / 2
		if err := p.InsertExecutions(ctx, logs[:half]); err != nil {
			return err
		}
		return p.InsertExecutions(ctx, logs[half:])
	}
	// One row over the manager's limit (bodies of escaped control bytes
	// can grow sixfold in JSON): it is kept without its captured bodies
	// and log lines rather than never delivered.
	l := *logs[0]
	if l.Request != nil {
		rq := *l.Request
		rq.Body, rq.BodyEncoding, rq.BodyTruncated = "", "", true
		l.Request = &rq
	}
	if l.Response != nil {
		rs := *l.Response
		rs.Body, rs.BodyEncoding, rs.BodyTruncated = "", "", true
		l.Response = &rs
	}
	l.Logs = nil
	p.log.Warn("cluster: an execution row is over the manager's body limit; delivering it without its bodies and logs",
		"execution_id", l.ID, "script_id", l.ScriptID)
	return p.Client.InsertExecutions(ctx, []*picloud.ExecutionLog{&l})
}
