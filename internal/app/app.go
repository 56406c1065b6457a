// Package app builds the whole all-in-one application (manager, orchestrator,
// executor, audit sink, retention, metrics) from a configuration and a store.
// `picloud serve` and the integration tests both go through New.
package app

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/audit"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/metrics"
	"github.com/picloud/picloud/internal/orchestrator"
)

// Config is the application's configuration. The zero value works: every
// part takes its defaults.
type Config struct {
	Executor     executor.Config
	Orchestrator orchestrator.Config
	Sink         audit.Config

	// Retention: execution logs older than RetentionMaxAge, and beyond the
	// newest RetentionMaxRows of each script, are deleted every
	// RetentionInterval (default 10 min). Zero keeps them.
	RetentionMaxAge   time.Duration
	RetentionMaxRows  int
	RetentionInterval time.Duration

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
	orch    *orchestrator.Orchestrator
	exec    *executor.Executor
	mgr     *manager.Manager
	handler http.Handler

	mu            sync.Mutex
	started       bool
	stopRetention context.CancelFunc
	retentionDone chan struct{}
	stopOnce      sync.Once
	stopErr       error
}

// New wires the application on store. Call Start before serving Handler.
func New(cfg Config, store picloud.Store) (*App, error) {
	if store == nil {
		return nil, errors.New("app: no store")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.RetentionInterval <= 0 {
		cfg.RetentionInterval = 10 * time.Minute
	}
	a := &App{cfg: cfg, store: store, log: log}

	var sink *audit.Sink
	a.metrics = metrics.New(func() float64 { return float64(sink.Len()) })
	sc := cfg.Sink
	sc.OnWritten = func(n int) { a.metrics.SinkWritten.Add(float64(n)) }
	sc.OnRetry = func() { a.metrics.SinkRetries.Inc() }
	sc.OnLost = func(n int) { a.metrics.SinkFailures.Add(float64(n)) }
	sink = audit.New(store, sc, log)
	a.sink = sink

	a.orch = orchestrator.New(cfg.Orchestrator, store, sink, a.metrics, log)
	a.exec = executor.New(cfg.Executor, a.orch.Resolve, log)
	a.orch.SetExecutor(a.exec)
	a.mgr = manager.New(manager.Config{Store: store, Executor: a.exec, Invoker: a.orch,
		MaxBodyBytes: cfg.Orchestrator.MaxBodyBytes, Logger: log})
	a.handler = a.routes()
	return a, nil
}

// Handler is the HTTP handler of every route.
func (a *App) Handler() http.Handler { return a.handler }

// Start starts the sink's writer and the retention loop.
func (a *App) Start(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		return
	}
	a.started = true
	a.sink.Start()
	ctx, a.stopRetention = context.WithCancel(context.WithoutCancel(ctx))
	a.retentionDone = make(chan struct{})
	go a.retain(ctx)
}

// Stop stops retention and flushes the sink: every execution recorded before
// Stop is in the store when it returns nil. Stop the HTTP server first, so that
// in-flight executions record their logs. It is idempotent.
func (a *App) Stop(ctx context.Context) error {
	a.stopOnce.Do(func() {
		a.mu.Lock()
		if a.stopRetention != nil {
			a.stopRetention()
			<-a.retentionDone
		}
		a.mu.Unlock()
		a.stopErr = a.sink.Stop(ctx)
	})
	return a.stopErr
}

// Prune runs one retention pass.
func (a *App) Prune(ctx context.Context) (int64, error) {
	if a.cfg.RetentionMaxAge <= 0 && a.cfg.RetentionMaxRows <= 0 {
		return 0, nil
	}
	var before time.Time
	if a.cfg.RetentionMaxAge > 0 {
		before = time.Now().Add(-a.cfg.RetentionMaxAge)
	}
	n, err := a.store.PruneExecutions(ctx, before, a.cfg.RetentionMaxRows)
	a.metrics.Pruned.Add(float64(n))
	return n, err
}

func (a *App) retain(ctx context.Context) {
	defer close(a.retentionDone)
	if a.cfg.RetentionMaxAge <= 0 && a.cfg.RetentionMaxRows <= 0 {
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
