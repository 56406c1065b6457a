// Package app builds the whole all-in-one application (manager, orchestrator,
// executor, audit sink, job queue, retention, metrics) from a configuration
// and a store.
// `picloud serve` and the integration tests both go through New.
package app

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/audit"
	"github.com/picloud/picloud/internal/egress"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/httpapi"
	"github.com/picloud/picloud/internal/jobs"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/metrics"
	"github.com/picloud/picloud/internal/orchestrator"
	"github.com/picloud/picloud/internal/secretbox"
)

// Retention's defaults, each named once (cmd/picloud's flags default to them).
const (
	DefaultRetentionMaxAge   = 30 * 24 * time.Hour
	DefaultRetentionMaxRows  = 10_000
	DefaultRetentionInterval = 10 * time.Minute
	DefaultAuditRetention    = 90 * 24 * time.Hour
)

// Config is the application's configuration. The zero value is the server
// `picloud serve` runs with no flags: every part takes its defaults.
type Config struct {
	Executor     executor.Config
	Orchestrator orchestrator.Config
	Sink         audit.Config
	// Jobs configures the job queue of schedules, asynchronous invocations
	// and events (its Flush, Metrics and Logger are the app's own).
	Jobs jobs.Config

	// Retention: execution logs older than RetentionMaxAge, and beyond the
	// newest RetentionMaxRows of each script, are deleted every
	// RetentionInterval. Zero takes the default; a negative age or row count
	// keeps them.
	RetentionMaxAge   time.Duration
	RetentionMaxRows  int
	RetentionInterval time.Duration
	// AuditRetention: audit trail events older than this are deleted by
	// the same loop (90 days by default; negative keeps them).
	AuditRetention time.Duration

	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the
	// client (--trusted-proxies); none by default.
	TrustedProxies httpapi.TrustedProxies

	// SecretBox seals and opens scripts' secrets (the key of
	// PICLOUD_SECRET_KEY or of the data directory's key file); nil: secrets
	// cannot be set and secret() fails.
	SecretBox *secretbox.Box

	// OIDC configures the dashboard's single sign-on (--oidc-issuer...);
	// its zero value is none.
	OIDC manager.OIDCConfig

	PublicMetrics bool  // serve /metrics without the admin token
	Dashboard     fs.FS // the dashboard's files; nil serves none
	Logger        *slog.Logger
}

// App is the running application.
type App struct {
	cfg     Config
	store   picloud.Store
	log     *slog.Logger
	metrics *metrics.Metrics
	sink    *audit.Sink
	queue   *jobs.Queue // nil when the store cannot host one (a test's wrapper)
	orch    *orchestrator.Orchestrator
	exec    *executor.Executor
	mgr     *manager.Manager
	handler http.Handler
	table   []Route // the route table routes() registered
	// cluster is the manager's cluster side (NewManager); nil on `picloud
	// serve`.
	cluster *managerCluster
	tail    *tailRelay

	mu            sync.Mutex
	started       bool
	stopRetention context.CancelFunc
	retentionDone chan struct{}
	stopOnce      sync.Once
	stopErr       error
	jobsStopped   bool  // StopJobs ran
	jobsErr       error // its outcome
}

// New wires the application on store. Call Start before serving Handler.
func New(cfg Config, store picloud.Store) (*App, error) { return newApp(cfg, store, nil) }

// newApp is New, and with cc NewManager: the job queue's runner is then the
// dispatcher to the nodes, and every script change is announced on the
// change feed.
func newApp(cfg Config, store picloud.Store, cc *ClusterConfig) (*App, error) {
	if store == nil {
		return nil, errors.New("app: no store")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.RetentionMaxAge = cmp.Or(cfg.RetentionMaxAge, DefaultRetentionMaxAge)
	cfg.RetentionMaxRows = cmp.Or(cfg.RetentionMaxRows, DefaultRetentionMaxRows)
	cfg.RetentionInterval = cmp.Or(max(cfg.RetentionInterval, 0), DefaultRetentionInterval)
	cfg.AuditRetention = cmp.Or(cfg.AuditRetention, DefaultAuditRetention)
	if err := cfg.OIDC.Check(); err != nil {
		return nil, fmt.Errorf("app: single sign-on: %w", err)
	}
	a := &App{cfg: cfg, store: store, log: log}

	var cl *managerCluster
	if cc != nil {
		var err error
		if cl, err = newManagerCluster(store, *cc, log); err != nil {
			return nil, err
		}
		a.cluster = cl
		// Test invocations run here: their captured requests must not
		// hold the cluster token either.
		cfg.Orchestrator.RedactTokens = append(slices.Clip(cfg.Orchestrator.RedactTokens), cc.Token)
	}

	var sink *audit.Sink
	a.metrics = metrics.New(func() float64 { return float64(sink.Len()) })
	// The live tail: rows are announced once stored. Between managers on
	// PostgreSQL the store carries them (NOTIFY); `picloud serve` is one
	// process, whose hub is enough.
	var execNotifier picloud.ExecutionNotifier
	if n, ok := store.(picloud.ExecutionNotifier); ok && cc != nil {
		execNotifier = n
	}
	a.tail = newTailRelay(store, a.metrics, execNotifier, log)
	sc := sinkHooks(cfg.Sink, a.metrics)
	sc.OnStored = a.tail.stored
	sink, err := audit.New(store, sc, log)
	if err != nil {
		return nil, err
	}
	a.metrics.WatchJournal(func() float64 { return float64(sink.JournalBytes()) })
	a.sink = sink

	var secrets picloud.SecretReader
	if cfg.SecretBox != nil {
		secrets = secretbox.Reader{Store: store, Box: cfg.SecretBox}
	}
	if err := executorHooks(&cfg.Executor, a.metrics, store, secrets); err != nil {
		return nil, err
	}
	a.exec = executor.New(cfg.Executor, log)
	cfg.Orchestrator.TrustedProxies = cfg.TrustedProxies // rate limits count per client
	a.orch = orchestrator.New(cfg.Orchestrator, a.exec, store, sink, a.metrics, log)
	// Invocations of scripts whose access is key or token: credentials
	// checked against the store, its answers believed for 5 s.
	a.orch.SetAuthorizer(orchestrator.HashAuthorizer(manager.NewInvokeAuth(store, 0, log).Authorize))
	a.cfg.Executor, a.cfg.Orchestrator = a.exec.Config(), a.orch.Config()
	var runner picloud.JobRunner = a.orch
	var invoker manager.Invoker = a.orch
	if cl != nil {
		cl.registerMetrics(a.metrics)
		runner = cl.dispatcher()
		invoker = &announcer{Orchestrator: a.orch, store: store, feed: cl.feed, log: log}
	}
	if err := a.newQueue(store, runner); err != nil {
		return nil, err
	}
	checks := []manager.HealthCheck{a.journalCheck()}
	if a.queue != nil {
		// Not critical: a queue that cannot reach River delays jobs, and
		// synchronous invocations run on.
		checks = append(checks, manager.HealthCheck{Name: "jobs", Kind: "river", Check: a.queue.Health})
	}
	a.mgr = manager.New(manager.Config{Store: store, Executor: a.exec, Invoker: invoker, Queue: a.jobQueue(),
		MaxBodyBytes: a.cfg.Orchestrator.MaxBodyBytes, Logger: log,
		HealthChecks:   checks,
		Flush:          sink.Flush,
		Secrets:        sealer(cfg.SecretBox),
		Tail:           a.tail.server,
		Live:           a.live,
		OnAuditFailure: a.metrics.AuditWriteFailures().Inc,
		OIDC:           cfg.OIDC,
		Auth: manager.AuthConfig{TrustedProxies: cfg.TrustedProxies,
			OnFailure: func(reason string) { a.metrics.AuthFailures.WithLabelValues(reason).Inc() }}})
	if cl != nil {
		cl.serve(a, secrets)
	}
	a.handler = a.routes()
	return a, nil
}

// live is this process's figures for GET /api/overview: its role, its
// gate's (on a cluster manager, test invocations only: the nodes run the
// rest) and its sink's.
func (a *App) live() picloud.Overview {
	role := "serve"
	if a.cluster != nil {
		role = "manager"
	}
	return picloud.Overview{Role: role, Gate: a.orch.GateFigures(), Sink: picloud.OverviewSink{
		Queued: a.sink.Len(), Capacity: a.sink.Config().QueueSize, Pending: a.sink.Pending(),
		JournalBytes: a.sink.JournalBytes()}}
}

// sinkHooks is sc with the sink's events counted in m.
func sinkHooks(sc audit.Config, m *metrics.Metrics) audit.Config {
	sc.OnWritten = func(n int) { m.SinkWritten.Add(float64(n)) }
	sc.OnRetry = func() { m.SinkRetries.Inc() }
	sc.OnLost = func(n int) { m.SinkFailures.Add(float64(n)) }
	sc.OnJournalError = func() { m.JournalErrors.Inc() }
	return sc
}

// executorHooks connects the executor's host modules to their state (kv,
// secrets: nil makes secret() fail) and its counters to m, and checks the
// egress allowlist.
func executorHooks(c *executor.Config, m *metrics.Metrics, kv picloud.KVStore, secrets picloud.SecretReader) error {
	if _, err := egress.ParseAllowlist(c.HTTP.Allow); err != nil {
		return fmt.Errorf("--egress-allow: %w", err)
	}
	c.KV.Store = kv
	c.KV.OnOp = m.KVOperations(executor.KVOps...)
	if secrets != nil {
		c.Secrets = secrets
		c.OnSecretRead = m.SecretReads(executor.SecretReadResults...)
	}
	c.HTTP.OnRequest = m.HTTPRequests(executor.HTTPResults...)
	c.OnHostCall = m.HostCalls()
	return nil
}

// newQueue builds the job queue on store, runner running its jobs (the
// orchestrator; on a manager, the dispatcher to the nodes). River needs the store's own database handle: a store that offers
// neither (a test's wrapper around a real one) runs without a queue, and the
// trigger routes answer unavailable.
func (a *App) newQueue(store picloud.Store, runner picloud.JobRunner) error {
	_, sqliteOK := store.(interface{ WriterDB() *sql.DB })
	_, postgresOK := store.(interface{ Pool() *pgxpool.Pool })
	if !sqliteOK && !postgresOK {
		a.log.Warn("jobs: the store offers no database handle for the job queue; schedules, async invocations and events are off")
		return nil
	}
	jc := a.cfg.Jobs
	jc.Flush, jc.Metrics, jc.Logger = a.sink.Flush, a.metrics, a.log
	q, err := jobs.New(jc, store, runner)
	if err != nil {
		return fmt.Errorf("app: the job queue: %w", err)
	}
	a.queue = q
	a.orch.SetQueue(q)
	a.cfg.Jobs = q.Config()
	a.cfg.Jobs.Flush, a.cfg.Jobs.Metrics, a.cfg.Jobs.Logger = nil, nil, nil
	return nil
}

// jobQueue is the queue as the manager takes it: nil when there is none (an
// interface holding a nil *Queue is not nil).
func (a *App) jobQueue() picloud.JobQueue {
	if a.queue == nil {
		return nil
	}
	return a.queue
}

// sealer is box as a manager.Sealer: nil when box is (an interface holding
// a nil *Box is not nil).
func sealer(box *secretbox.Box) manager.Sealer {
	if box == nil {
		return nil
	}
	return box
}

// journalCheck is the execution journal's health: down while it is over its
// bound (the store has been away long enough to fill it), when executions
// wait for room and then answer 503 unavailable — so it is critical.
func (a *App) journalCheck() manager.HealthCheck {
	kind := "file"
	if a.cfg.Sink.Dir == "" {
		kind = "memory"
	}
	return manager.HealthCheck{Name: "journal", Kind: kind, Critical: true, Check: func(context.Context) error {
		if a.sink.Full() {
			return picloud.Errorf(picloud.EUnavailable, "full: the database is not keeping up")
		}
		return nil
	}}
}

// Config is the configuration the application runs with: defaults filled
// in for the executor, the orchestrator and retention.
func (a *App) Config() Config { return a.cfg }

// Handler is the HTTP handler of every route.
func (a *App) Handler() http.Handler { return a.handler }

// Start starts the sink's writer, which first replays the execution
// journal into the store, then the job queue (whose attempts record their
// rows through the sink), and the retention loop. It fails when the app was
// stopped.
func (a *App) Start(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		return nil
	}
	if err := a.sink.Start(ctx); err != nil {
		return fmt.Errorf("app: starting the execution sink: %w", err)
	}
	if a.cluster != nil {
		if err := a.cluster.start(ctx); err != nil {
			a.sink.Stop(ctx)
			return err
		}
	}
	if a.queue != nil {
		if err := a.queue.Start(ctx); err != nil {
			a.cluster.stop()
			a.sink.Stop(ctx)
			return fmt.Errorf("app: starting the job queue: %w", err)
		}
	}
	a.tail.start()
	a.started = true
	ctx, a.stopRetention = context.WithCancel(context.WithoutCancel(ctx))
	a.retentionDone = make(chan struct{})
	go a.retain(ctx)
	return nil
}

// StopJobs stops the job queue: no attempt starts any more, and the running
// ones finish (cancelled when ctx ends) and record their rows. Stop calls it;
// `picloud serve` calls it first, within the shutdown timeout that the HTTP
// server's in-flight requests get too, so that the sink's flush keeps its own
// time. It is idempotent.
func (a *App) StopJobs(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.queue == nil || !a.started || a.jobsStopped {
		return a.jobsErr
	}
	a.jobsStopped = true
	if err := a.queue.Stop(ctx); err != nil {
		a.jobsErr = fmt.Errorf("app: stopping the job queue: %w", err)
	}
	return a.jobsErr
}

// Stop stops retention and the job queue (StopJobs), then flushes the sink:
// every execution recorded before Stop is in the store when it returns nil.
// Stop the HTTP server first, so that in-flight executions record their
// logs. It is idempotent.
func (a *App) Stop(ctx context.Context) error {
	a.stopOnce.Do(func() {
		a.mu.Lock()
		if a.stopRetention != nil {
			a.stopRetention()
			<-a.retentionDone
		}
		a.mu.Unlock()
		qerr := a.StopJobs(ctx)
		a.cluster.stop()
		a.tail.stop()
		a.stopErr = errors.Join(qerr, a.sink.Stop(ctx))
	})
	return a.stopErr
}

// Prune runs one retention pass: the expired kv keys (invisible already),
// the audit events past AuditRetention, then the execution logs past
// retention.
func (a *App) Prune(ctx context.Context) (int64, error) {
	if n, err := a.store.PurgeKV(ctx, time.Now()); err != nil {
		a.log.Warn("retention: kv purge failed", "err", err)
	} else if n > 0 {
		a.log.Info("retention: purged expired kv keys", "keys", n)
	}
	if a.cfg.AuditRetention > 0 {
		if n, err := a.store.PruneAudit(ctx, time.Now().Add(-a.cfg.AuditRetention)); err != nil {
			a.log.Warn("retention: audit trail prune failed", "err", err)
		} else if n > 0 {
			a.log.Info("retention: pruned audit events", "events", n)
		}
	}
	if a.cfg.RetentionMaxAge <= 0 && a.cfg.RetentionMaxRows <= 0 {
		return 0, nil
	}
	var before time.Time
	if a.cfg.RetentionMaxAge > 0 {
		before = time.Now().Add(-a.cfg.RetentionMaxAge)
	}
	n, err := a.store.PruneExecutions(ctx, before, max(a.cfg.RetentionMaxRows, 0))
	a.metrics.Pruned.Add(float64(n))
	return n, err
}

func (a *App) retain(ctx context.Context) {
	defer close(a.retentionDone)
	if a.cfg.RetentionMaxAge <= 0 && a.cfg.RetentionMaxRows <= 0 && a.cfg.AuditRetention <= 0 {
		return // nothing to do: no timer, no idle wake-ups
	}
	t := time.NewTicker(a.cfg.RetentionInterval)
	defer t.Stop()
	for {
		if n, err := a.Prune(ctx); err != nil {
			a.log.Warn("retention: prune failed", "err", err)
		} else if n > 0 {
			a.log.Info("retention: pruned execution logs", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
