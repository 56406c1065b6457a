package jobs

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/postgres"
	"github.com/picloud/picloud/internal/postgres/pgtest"
	"github.com/picloud/picloud/internal/sqlite"
)

// stores runs test on each store: SQLite always, PostgreSQL when
// PICLOUD_TEST_DATABASE_URL is set.
func stores(t *testing.T, test func(t *testing.T, open func(t *testing.T) picloud.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t, openSQLite)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dbURL := os.Getenv("PICLOUD_TEST_DATABASE_URL")
		if dbURL == "" {
			t.Skip("PICLOUD_TEST_DATABASE_URL is not set")
		}
		test(t, func(t *testing.T) picloud.Store { return pgtest.Open(t, dbURL) })
	})
}

func openSQLite(t *testing.T) picloud.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// reopenPostgres opens a second store on s's schema: another process's
// view of the same database.
func reopenPostgres(t *testing.T, s picloud.Store) picloud.Store {
	t.Helper()
	ctx := context.Background()
	var schema string
	if err := s.(postgresStore).Pool().QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(os.Getenv("PICLOUD_TEST_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	v := u.Query()
	v.Set("search_path", schema)
	u.RawQuery = v.Encode()
	s2, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	return s2
}

// runner is the orchestrator's stand-in: it records each run, asks outcome
// for its result (success when nil), and records the execution row as the
// orchestrator does.
type runner struct {
	store   picloud.Store
	mu      sync.Mutex
	runs    []picloud.JobRun
	outcome func(run *picloud.JobRun) (picloud.ExecutionStatus, error)
}

func (r *runner) RunJob(ctx context.Context, run *picloud.JobRun) (*picloud.ExecutionLog, error) {
	r.mu.Lock()
	r.runs = append(r.runs, *run)
	outcome := r.outcome
	r.mu.Unlock()
	status := picloud.StatusSuccess
	if outcome != nil {
		var err error
		if status, err = outcome(run); err != nil {
			return nil, err
		}
	}
	l := &picloud.ExecutionLog{
		ID: uuid.NewString(), ScriptID: run.ScriptID, ScriptVersion: 1, Trigger: run.Trigger, Status: status,
		StartedAt: picloud.Time{Time: time.Now().UTC().Truncate(time.Microsecond)},
		JobID:     run.JobID, Attempt: run.Attempt,
		Logs: []picloud.LogLine{}, Outbound: []picloud.OutboundCall{},
	}
	if run.Schedule != nil {
		l.ScheduleID = run.Schedule.ID
	}
	if status != picloud.StatusSuccess {
		l.Error = &picloud.ExecError{Kind: "ErrorRuntime", Message: "boom"}
	}
	if err := r.store.InsertExecutions(ctx, []*picloud.ExecutionLog{l}); err != nil {
		return nil, err
	}
	return l, nil
}

func (r *runner) setOutcome(f func(run *picloud.JobRun) (picloud.ExecutionStatus, error)) {
	r.mu.Lock()
	r.outcome = f
	r.mu.Unlock()
}

// Runs returns a copy of the runs so far.
func (r *runner) Runs() []picloud.JobRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]picloud.JobRun(nil), r.runs...)
}

// start makes and starts a queue on store, stopped when the test ends.
func start(t *testing.T, store picloud.Store, r *runner, cfg Config) *Queue {
	t.Helper()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 50 * time.Millisecond
	}
	q, err := New(cfg, store, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return q
}

func createScript(t *testing.T, s picloud.Store, sc *picloud.Script) *picloud.Script {
	t.Helper()
	if sc.Source == "" {
		sc.Source = "1"
	}
	if err := s.CreateScript(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	return sc
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitState waits until the job is in state and returns it.
func waitState(t *testing.T, q *Queue, id string, state picloud.JobState, within time.Duration) *picloud.Job {
	t.Helper()
	var job *picloud.Job
	eventually(t, within, "job "+id+" "+string(state), func() bool {
		var err error
		if job, err = q.Job(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		return job.State == state
	})
	return job
}

func wantCode(t *testing.T, err error, code string) *picloud.Error {
	t.Helper()
	var e *picloud.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
	return e
}
