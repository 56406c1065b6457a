package jobs

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/metrics"
)

// The policies for schedule firings missed while no PiCloud process ran
// (Config.MissedFirings).
const (
	// MissedRunOnce fires a schedule that missed firings once at start,
	// with the latest missed time as its scheduled time (the default).
	MissedRunOnce = "run-once"
	// MissedSkip skips missed firings: the schedule fires next at its next
	// time after the start.
	MissedSkip = "skip"
)

// The defaults of Config's zero fields, named once.
const (
	DefaultPollInterval       = time.Second
	DefaultMaxQueuedPerScript = 1000
	DefaultMaxQueued          = 10000
	DefaultRetryBase          = time.Second
	DefaultRetryMax           = 5 * time.Minute
	DefaultPlanRefresh        = 30 * time.Second
)

// Retention of finished jobs in River's table (see the package comment).
const (
	completedRetention = 24 * time.Hour
	discardedRetention = 30 * 24 * time.Hour
	cancelledRetention = 24 * time.Hour
)

// snoozeBusy is how long a job waits when the server is busy (the gate or
// the sink is full); a snooze is not an attempt.
const snoozeBusy = time.Second

// fetchCooldown is the least time between two fetches of jobs (River's
// default is 100 ms). A fetch takes up to Workers jobs, so it bounds the
// throughput of short runs (Workers per cooldown); it costs nothing idle,
// where PollInterval alone wakes the fetcher.
const fetchCooldown = 20 * time.Millisecond

// retryAfterFull is the Retry-After (seconds) of a refused invocation.
const retryAfterFull = 5

// Config configures the queue. The zero value is useful.
type Config struct {
	PollInterval        time.Duration // River's FetchPollInterval; 0 => 1 s
	Workers             int           // concurrent job runs; 0 => 4 × NumCPU
	MaxQueuedPerScript  int           // 0 => 1000
	MaxQueued           int           // 0 => 10000
	RetryBase, RetryMax time.Duration // 0 => 1 s, 5 min
	PlanRefresh         time.Duration // 0 => 30 s
	MissedFirings       string        // "" or MissedRunOnce (default) | MissedSkip
	// Flush is the sink's Flush: it writes the execution rows recorded so
	// far, so that a job read right after an attempt lists it. May be nil.
	Flush   func(context.Context) error
	Metrics *metrics.Metrics // may be nil
	Logger  *slog.Logger     // may be nil
}

func (c Config) withDefaults() Config {
	c.PollInterval = cmp.Or(c.PollInterval, DefaultPollInterval)
	c.Workers = cmp.Or(c.Workers, 4*runtime.NumCPU())
	c.MaxQueuedPerScript = cmp.Or(c.MaxQueuedPerScript, DefaultMaxQueuedPerScript)
	c.MaxQueued = cmp.Or(c.MaxQueued, DefaultMaxQueued)
	c.RetryBase = cmp.Or(c.RetryBase, DefaultRetryBase)
	c.RetryMax = cmp.Or(c.RetryMax, DefaultRetryMax)
	c.PlanRefresh = cmp.Or(c.PlanRefresh, DefaultPlanRefresh)
	c.MissedFirings = cmp.Or(c.MissedFirings, MissedRunOnce)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// sqliteStore is the sqlite store: River runs on its writer connection.
type sqliteStore interface{ WriterDB() *sql.DB }

// postgresStore is the postgres store: River runs on its pool.
type postgresStore interface{ Pool() *pgxpool.Pool }

// Queue is the job queue. It implements picloud.JobQueue.
type Queue struct {
	cfg    Config
	store  picloud.Store
	runner picloud.JobRunner
	log    *slog.Logger
	river  *backend
	m      *queueMetrics

	wake chan struct{} // SchedulesChanged: replan now

	// The River client's keeper (see sleep.go).
	poke       chan struct{}
	stopRiver  chan context.Context
	riverDone  chan error
	listening  chan struct{} // closed when the listener returns
	awake      atomic.Bool
	sleepAfter time.Duration
	// The last failure to start River's client, or of the listener for
	// other processes' jobs, until one succeeds (Health).
	startErr, listenErr atomic.Pointer[error]

	mu        sync.Mutex
	state     int // 0 new, 1 started, 2 stopped
	startedAt time.Time
	cancel    context.CancelFunc
	planned   chan struct{} // closed when the planner returns
}

var _ picloud.JobQueue = (*Queue)(nil)

// New makes a queue on store's database: store must be the sqlite store
// (WriterDB) or the postgres store (Pool). runner runs each attempt.
func New(cfg Config, store picloud.Store, runner picloud.JobRunner) (*Queue, error) {
	cfg = cfg.withDefaults()
	if cfg.MissedFirings != MissedRunOnce && cfg.MissedFirings != MissedSkip {
		return nil, fmt.Errorf("jobs: missed firings policy %q: want %q or %q", cfg.MissedFirings, MissedRunOnce, MissedSkip)
	}
	if cfg.RetryMax < cfg.RetryBase {
		return nil, fmt.Errorf("jobs: retry max %s is below the retry base %s", cfg.RetryMax, cfg.RetryBase)
	}
	if store == nil || runner == nil {
		return nil, errors.New("jobs: a store and a runner are required")
	}
	q := &Queue{
		cfg: cfg, store: store, runner: runner, log: cfg.Logger,
		m:    newQueueMetrics(cfg.Metrics),
		wake: make(chan struct{}, 1), poke: make(chan struct{}, 1), sleepAfter: sleepAfter,
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &runWorker{q: q})
	river.AddWorker(workers, &cronWorker{q: q})
	rc := &river.Config{
		ID:                          clientID(),
		FetchPollInterval:           cfg.PollInterval,
		FetchCooldown:               min(cfg.PollInterval, fetchCooldown),
		Queues:                      map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:                     workers,
		RetryPolicy:                 &retryPolicy{base: cfg.RetryBase, max: cfg.RetryMax},
		CompletedJobRetentionPeriod: completedRetention,
		DiscardedJobRetentionPeriod: discardedRetention,
		CancelledJobRetentionPeriod: cancelledRetention,
		// The orchestrator enforces each script's timeout (up to an hour);
		// River must neither cancel an attempt earlier nor rescue it as
		// stuck while it may still run.
		JobTimeout:           -1,
		RescueStuckJobsAfter: time.Duration(picloud.MaxTimeoutMS)*time.Millisecond + 5*time.Minute,
		Logger:               slog.New(levelHandler{min: slog.LevelWarn, Handler: cfg.Logger.Handler()}),
	}
	var err error
	switch s := store.(type) {
	case sqliteStore:
		q.river, err = sqliteBackend(s.WriterDB(), rc)
	case postgresStore:
		q.river, err = postgresBackend(s.Pool(), rc)
	default:
		return nil, fmt.Errorf("jobs: store %s exposes neither WriterDB nor Pool", store.Kind())
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	if cfg.Metrics != nil {
		cfg.Metrics.WatchJobs(func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := q.river.unfinished(ctx, "", 1<<30)
			if err != nil {
				return 0
			}
			return float64(n)
		})
	}
	return q, nil
}

// Config returns the configuration with the defaults filled in.
func (q *Queue) Config() Config { return q.cfg }

// Start migrates River's tables, starts working jobs and starts the
// schedule planner. It returns once they run; Stop stops them.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.state != 0 {
		return errors.New("jobs: started twice")
	}
	if err := q.river.migrate(ctx); err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	if q.river.rescue != nil {
		if err := q.river.rescue(ctx); err != nil {
			return fmt.Errorf("jobs: rescue interrupted jobs: %w", err)
		}
	}
	// The keeper starts River's client when a job is unfinished (see
	// sleep.go); the contexts outlive ctx (a start-up timeout's): Stop ends
	// them.
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q.stopRiver, q.riverDone = make(chan context.Context), make(chan error, 1)
	go q.keep(pctx, q.stopRiver, q.riverDone)
	q.listening = make(chan struct{})
	go func() {
		defer close(q.listening)
		if q.river.listen != nil {
			q.listen(pctx)
		}
	}()
	q.wakeUp() // jobs left from the last run
	q.state, q.startedAt, q.cancel = 1, time.Now(), cancel
	q.planned = make(chan struct{})
	go func() {
		defer close(q.planned)
		q.plan(pctx)
	}()
	return nil
}

// Stop stops the planner, then River: it stops fetching jobs and waits for
// the running attempts until ctx ends, then cancels them. Stopping twice, or
// a queue never started, is a no-op.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.state != 1 {
		q.state = 2
		return nil
	}
	q.state = 2
	q.cancel()
	<-q.planned
	<-q.listening
	q.stopRiver <- ctx
	return <-q.riverDone
}

// clientID names this process's River client uniquely (River's default, the
// host and the start time to the microsecond, could collide between two
// queues of one process, as in tests).
func clientID() string {
	host, _ := os.Hostname()
	host = strings.NewReplacer(".", "_", "-", "_").Replace(host)
	if len(host) > 40 {
		host = host[:40]
	}
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("picloud_%s_%d_%s", cmp.Or(host, "host"), os.Getpid(), hex.EncodeToString(b[:]))
}

// levelHandler passes on the records at or above min: River logs every
// retry at info, which the execution log already tells.
type levelHandler struct {
	min slog.Level
	slog.Handler
}

func (h levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return levelHandler{h.min, h.Handler.WithAttrs(a)}
}

func (h levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{h.min, h.Handler.WithGroup(name)}
}
