package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// riverClient is what the queue uses of a River client; *river.Client of
// either driver (their transaction types differ) has it.
type riverClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobDelete(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

// backend is River on one database: its client, its migrator, and the one
// query River has no call for (the unfinished jobs of a script), whose SQL
// differs by dialect.
type backend struct {
	client  riverClient
	migrate func(ctx context.Context) error
	// listen, when set (PostgreSQL), listens for River's insert
	// notifications on a connection of its own and calls wake on each,
	// until ctx ends or the connection fails (see sleep.go).
	listen func(ctx context.Context, wake func()) error
	// rescue, when set, runs at start, before River: it makes the jobs
	// left running by a process that died ready to run again.
	rescue func(ctx context.Context) error
	// unfinished counts the unfinished jobs of a script ("": of all), up
	// to limit (counting stops there: the bound is all that matters).
	unfinished func(ctx context.Context, scriptID string, limit int) (int, error)
}

// The states of a job that still waits or runs, as SQL.
const unfinishedStates = `('available', 'pending', 'retryable', 'running', 'scheduled')`

// sqliteDriver is River's SQLite driver without its listener: that one
// polls a notification table every 50 ms, which an idle server must not.
// Poll-only, River still wakes this process's producer at once when this
// process inserts a job (SQLite has one process), and polls every
// Config.PollInterval otherwise. Notifications are off as well: nothing
// would read them.
type sqliteDriver struct{ *riversqlite.Driver }

func (sqliteDriver) SupportsListener() bool     { return false }
func (sqliteDriver) SupportsListenNotify() bool { return false }

func sqliteBackend(db *sql.DB, cfg *river.Config) (*backend, error) {
	cfg.PollOnly = true
	driver := sqliteDriver{riversqlite.New(db)}
	client, err := river.NewClient[*sql.Tx](driver, cfg)
	if err != nil {
		return nil, err
	}
	return &backend{
		client:  &startGuard{riverClient: client},
		migrate: migrator[*sql.Tx](driver, cfg),
		rescue:  func(ctx context.Context) error { return rescue(ctx, client, driver.GetExecutor()) },
		unfinished: func(ctx context.Context, scriptID string, limit int) (int, error) {
			var n int
			err := db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM river_job
				WHERE state IN `+unfinishedStates+` AND (?1 = '' OR args ->> '$.script_id' = ?1) LIMIT ?2)`,
				scriptID, limit).Scan(&n)
			return n, err
		},
	}, nil
}

// startGuard keeps River's Start apart from inserts. Poll-only, an insert
// pokes the client's producer (TriggerJobFetch), whose fetch limiter Start
// makes anew without a lock: River expects to be started once, before any
// insert, but the queue starts its client whenever a job wakes it (see
// sleep.go), while other inserts may run. PostgreSQL's client, which
// listens, never pokes its producer on insert.
type startGuard struct {
	riverClient
	mu sync.RWMutex // Start holds it; inserts share it
}

func (g *startGuard) Start(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.riverClient.Start(ctx)
}

func (g *startGuard) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.riverClient.Insert(ctx, args, opts)
}

func (g *startGuard) InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.riverClient.InsertMany(ctx, params)
}

func postgresBackend(pool *pgxpool.Pool, cfg *river.Config) (*backend, error) {
	driver := riverpgxv5.New(pool)
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, err
	}
	return &backend{
		client:  client,
		migrate: migrator(driver, cfg),
		listen: func(ctx context.Context, wake func()) error {
			return listenInserts(ctx, pool, wake)
		},
		unfinished: func(ctx context.Context, scriptID string, limit int) (int, error) {
			var n int
			err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM river_job
				WHERE state IN `+unfinishedStates+` AND ($1::text = '' OR args->>'script_id' = $1::text) LIMIT $2) t`,
				scriptID, limit).Scan(&n)
			return n, err
		},
	}, nil
}

// rescue makes every running job available again (or, out of attempts, a
// dead letter), its attempt recorded as interrupted. Only for SQLite: one
// process uses the database, so at start nothing runs; River's own rescuer
// would wait RescueStuckJobsAfter (over an hour: a script may run that
// long). On PostgreSQL another process may be running the job.
func rescue(ctx context.Context, client riverClient, exec riverdriver.Executor) error {
	res, err := client.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateRunning).First(10000))
	if err != nil || len(res.Jobs) == 0 {
		return err
	}
	now := time.Now().UTC()
	p := &riverdriver.JobRescueManyParams{StuckHorizon: now.Add(time.Second)}
	for _, row := range res.Jobs {
		e, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: row.Attempt, Error: "interrupted: the server stopped during the attempt"})
		if err != nil {
			return err
		}
		state, finalized := rivertype.JobStateAvailable, (*time.Time)(nil)
		if row.Attempt >= row.MaxAttempts {
			state, finalized = rivertype.JobStateDiscarded, &now
		}
		p.ID = append(p.ID, row.ID)
		p.Error = append(p.Error, e)
		p.FinalizedAt = append(p.FinalizedAt, finalized)
		p.ScheduledAt = append(p.ScheduledAt, now)
		p.State = append(p.State, string(state))
	}
	_, err = exec.JobRescueMany(ctx, p)
	return err
}

// listenInserts listens for River's insert notifications (channel
// "<schema>.river_insert", River's naming) on a connection outside the
// pool, whose connections are for work, and calls wake on each.
func listenInserts(ctx context.Context, pool *pgxpool.Pool, wake func()) error {
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{schema + ".river_insert"}.Sanitize()); err != nil {
		return err
	}
	wake() // a job inserted before the LISTEN
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}

// migrator returns what applies River's migrations not applied yet.
func migrator[TTx any](driver riverdriver.Driver[TTx], cfg *river.Config) func(context.Context) error {
	return func(ctx context.Context) error {
		m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: cfg.Logger, Schema: cfg.Schema})
		if err != nil {
			return err
		}
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	}
}
