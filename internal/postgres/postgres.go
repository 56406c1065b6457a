// Package postgres is the PostgreSQL store, for operators who want a database
// server, and the store of a cluster: several managers share it, and its
// NOTIFY/LISTEN carries script changes between them (notify.go). It uses
// pgx's pool directly and writes execution logs in one round trip per batch.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/picloud/picloud"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store implements picloud.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	// schema is the schema the store's tables are in (current_schema(), as
	// the URL's search_path chooses it): the change feed's scope.
	schema string
	// listenPing, when set, replaces listenPingEvery (tests).
	listenPing time.Duration
	// origin names this store value in its execution announcements, so that
	// its own listener skips the rows its process already published.
	origin string
}

var _ picloud.Store = (*Store)(nil)

// Open connects to the database at url (postgres://...) and migrates it.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &Store{pool: pool, origin: uuid.NewString()}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&s.schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: current schema: %w", err)
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() error { s.pool.Close(); return nil }

// Kind implements picloud.Store.
func (s *Store) Kind() string { return "postgres" }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// migrate applies the embedded up migrations not applied yet, in order, under
// an advisory lock so that two servers starting together do not race.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.up.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7431001)`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		for _, name := range names {
			var n int
			if _, err := fmt.Sscanf(strings.TrimPrefix(name, "migrations/"), "%d_", &n); err != nil {
				return fmt.Errorf("migration %s: bad name", name)
			}
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, n).Scan(&done); err != nil {
				return err
			}
			if done {
				continue
			}
			body, _ := migrations.ReadFile(name)
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func notFound(what, id string) error {
	return picloud.Errorf(picloud.ENotFound, "%s %q not found", what, id)
}

const scriptCols = `id, name, version, source, timeout_ms, max_operations, max_concurrency, max_memory_bytes, max_response_bytes, unsandboxed, kv_namespaces, kv_max_keys, kv_max_bytes, http_max_requests, http_max_response_bytes, http_timeout_ms, egress_allow, disabled, max_attempts, subscriptions, access, rate_limit_rps, rate_limit_burst, rate_limit_by, created_at, updated_at, confined_to`

func scanScript(row pgx.Row) (*picloud.Script, error) {
	var sc picloud.Script
	var subs string
	if err := row.Scan(&sc.ID, &sc.Name, &sc.Version, &sc.Source, &sc.TimeoutMS, &sc.MaxOperations,
		&sc.MaxConcurrency, &sc.MaxMemoryBytes, &sc.MaxResponseBytes, &sc.Unsandboxed, &sc.KVNamespaces, &sc.KVMaxKeys, &sc.KVMaxBytes,
		&sc.HTTPMaxRequests, &sc.HTTPMaxResponseBytes, &sc.HTTPTimeoutMS, &sc.EgressAllow,
		&sc.Disabled, &sc.MaxAttempts, &subs, &sc.Access, &sc.RateLimitRPS, &sc.RateLimitBurst, &sc.RateLimitBy, &sc.CreatedAt.Time, &sc.UpdatedAt.Time, &sc.ConfinedTo); err != nil {
		return nil, err
	}
	sc.Subscriptions = picloud.Topics(subs)
	sc.CreatedAt.Time, sc.UpdatedAt.Time = sc.CreatedAt.UTC(), sc.UpdatedAt.UTC()
	return &sc, nil
}

// CreateScript implements picloud.ScriptStore.
func (s *Store) CreateScript(ctx context.Context, sc *picloud.Script) error {
	if err := picloud.ValidateName(sc.Name); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	sc.ID, sc.Version = uuid.NewString(), 1
	sc.CreatedAt.Time, sc.UpdatedAt.Time = now, now
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO scripts (`+scriptCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $25, $26)`,
			sc.ID, sc.Name, sc.Version, sc.Source, sc.TimeoutMS, sc.MaxOperations, sc.MaxConcurrency,
			sc.MaxMemoryBytes, sc.MaxResponseBytes, sc.Unsandboxed, sc.KVNamespaces, sc.KVMaxKeys, sc.KVMaxBytes,
			sc.HTTPMaxRequests, sc.HTTPMaxResponseBytes, sc.HTTPTimeoutMS, sc.EgressAllow,
			sc.Disabled, sc.MaxAttempts, strings.Join(sc.Subscriptions, ","), accessOf(sc), sc.RateLimitRPS, sc.RateLimitBurst, rateLimitByOf(sc), now, sc.ConfinedTo); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO script_versions (script_id, version, source, created_at) VALUES ($1, 1, $2, $3)`,
			sc.ID, sc.Source, now)
		return err
	})
	if isUnique(err) {
		return picloud.Errorf(picloud.ENameTaken, "a script named %q already exists", sc.Name)
	} else if err != nil {
		return fmt.Errorf("postgres: create script %q: %w", sc.Name, err)
	}
	return nil
}

// Script implements picloud.ScriptStore.
func (s *Store) Script(ctx context.Context, id string) (*picloud.Script, error) {
	sc, err := scanScript(s.pool.QueryRow(ctx, `SELECT `+scriptCols+` FROM scripts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("script", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres: script %q: %w", id, err)
	}
	return sc, nil
}

// ScriptByName implements picloud.ScriptStore.
func (s *Store) ScriptByName(ctx context.Context, name string) (*picloud.Script, error) {
	sc, err := scanScript(s.pool.QueryRow(ctx, `SELECT `+scriptCols+` FROM scripts WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("script", name)
	} else if err != nil {
		return nil, fmt.Errorf("postgres: script %q: %w", name, err)
	}
	return sc, nil
}

// ListScripts implements picloud.ScriptStore.
func (s *Store) ListScripts(ctx context.Context, f picloud.ScriptFilter) ([]*picloud.Script, error) {
	q, args := `SELECT `+scriptCols+` FROM scripts`, []any{}
	if f.Name != "" {
		q, args = q+` WHERE name = $1`, append(args, f.Name)
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY name COLLATE "C"`, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list scripts: %w", err)
	}
	defer rows.Close()
	list := []*picloud.Script{}
	for rows.Next() {
		sc, err := scanScript(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list scripts: %w", err)
		}
		list = append(list, sc)
	}
	return list, rows.Err()
}

// UpdateScript implements picloud.ScriptStore.
func (s *Store) UpdateScript(ctx context.Context, id string, u picloud.ScriptUpdate) (*picloud.Script, error) {
	if u.Name != nil {
		if err := picloud.ValidateName(*u.Name); err != nil {
			return nil, err
		}
	}
	var out *picloud.Script
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		sc, err := updateScriptTx(ctx, tx, id, u)
		out = sc
		return err
	})
	if isUnique(err) {
		return nil, picloud.Errorf(picloud.ENameTaken, "a script named %q already exists", *u.Name)
	} else if picloud.ErrorCode(err) == picloud.ENotFound {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("postgres: update script %q: %w", id, err)
	}
	return out, nil
}

// updateScriptTx applies u to script id inside tx, appending a version when
// u makes one: UpdateScript and PromoteDraft share it.
func updateScriptTx(ctx context.Context, tx pgx.Tx, id string, u picloud.ScriptUpdate) (*picloud.Script, error) {
	sc, err := scanScript(tx.QueryRow(ctx, `SELECT `+scriptCols+` FROM scripts WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("script", id)
	} else if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if u.Apply(sc) {
		if _, err := tx.Exec(ctx, `INSERT INTO script_versions (script_id, version, source, created_at) VALUES ($1, $2, $3, $4)`,
			sc.ID, sc.Version, sc.Source, now); err != nil {
			return nil, err
		}
	}
	sc.UpdatedAt.Time = now
	if _, err := tx.Exec(ctx, `UPDATE scripts SET name = $1, version = $2, source = $3, timeout_ms = $4,
		max_operations = $5, max_concurrency = $6, max_memory_bytes = $7, max_response_bytes = $8,
		unsandboxed = $9, kv_namespaces = $10, kv_max_keys = $11, kv_max_bytes = $12,
		http_max_requests = $13, http_max_response_bytes = $14, http_timeout_ms = $15, egress_allow = $16,
		disabled = $17, max_attempts = $18, subscriptions = $19, access = $20, rate_limit_rps = $21, rate_limit_burst = $22,
		rate_limit_by = $23, updated_at = $24, confined_to = $26 WHERE id = $25`,
		sc.Name, sc.Version, sc.Source, sc.TimeoutMS, sc.MaxOperations, sc.MaxConcurrency,
		sc.MaxMemoryBytes, sc.MaxResponseBytes, sc.Unsandboxed, sc.KVNamespaces, sc.KVMaxKeys, sc.KVMaxBytes,
		sc.HTTPMaxRequests, sc.HTTPMaxResponseBytes, sc.HTTPTimeoutMS, sc.EgressAllow,
		sc.Disabled, sc.MaxAttempts, strings.Join(sc.Subscriptions, ","), accessOf(sc), sc.RateLimitRPS, sc.RateLimitBurst, rateLimitByOf(sc), now, sc.ID, sc.ConfinedTo); err != nil {
		return nil, err
	}
	return sc, nil
}

// DeleteScript implements picloud.ScriptStore.
func (s *Store) DeleteScript(ctx context.Context, id string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM scripts WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("script", id)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM kv WHERE ns = $1`, picloud.ScriptNamespace(id)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM executions WHERE script_id = $1`, id)
		return err
	})
	if err != nil && picloud.ErrorCode(err) != picloud.ENotFound {
		return fmt.Errorf("postgres: delete script %q: %w", id, err)
	}
	return err
}

// Versions implements picloud.ScriptStore.
func (s *Store) Versions(ctx context.Context, scriptID string) ([]*picloud.Version, error) {
	if _, err := s.Script(ctx, scriptID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT script_id, version, source, created_at FROM script_versions
		WHERE script_id = $1 ORDER BY version DESC`, scriptID)
	if err != nil {
		return nil, fmt.Errorf("postgres: versions of %q: %w", scriptID, err)
	}
	defer rows.Close()
	list := []*picloud.Version{}
	for rows.Next() {
		var v picloud.Version
		if err := rows.Scan(&v.ScriptID, &v.Version, &v.Source, &v.CreatedAt.Time); err != nil {
			return nil, fmt.Errorf("postgres: versions of %q: %w", scriptID, err)
		}
		v.CreatedAt.Time = v.CreatedAt.UTC()
		list = append(list, &v)
	}
	return list, rows.Err()
}

// ScriptVersion implements picloud.ScriptStore.
func (s *Store) ScriptVersion(ctx context.Context, scriptID string, version int) (*picloud.Version, error) {
	var v picloud.Version
	err := s.pool.QueryRow(ctx, `SELECT script_id, version, source, created_at FROM script_versions
		WHERE script_id = $1 AND version = $2`, scriptID, version).Scan(&v.ScriptID, &v.Version, &v.Source, &v.CreatedAt.Time)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, picloud.Errorf(picloud.ENotFound, "version %d of script %q not found", version, scriptID)
	} else if err != nil {
		return nil, fmt.Errorf("postgres: version %d of %q: %w", version, scriptID, err)
	}
	v.CreatedAt.Time = v.CreatedAt.UTC()
	return &v, nil
}

// AdminTokenHash implements picloud.TokenStore.
func (s *Store) AdminTokenHash(ctx context.Context) (string, error) {
	var h string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'admin_token_hash'`).Scan(&h)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("postgres: admin token: %w", err)
	}
	return h, nil
}

const execCols = `id, script_id, script_version, trigger_type, status, started_at, duration_ms, operations, request, response, logs, error, outbound, job_id, attempt, schedule_id, node`

// InsertExecutions implements picloud.ExecutionStore: one INSERT ... SELECT
// FROM unnest(...) per batch, so a batch costs one round trip. The JSON
// columns of the whole batch are encoded into one buffer.
func (s *Store) InsertExecutions(ctx context.Context, logs []*picloud.ExecutionLog) error {
	return insertExecutions(ctx, s.pool, logs)
}

// execer is what runs a statement: the pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// insertExecutions is InsertExecutions on q (the pool, or the import's
// transaction).
func insertExecutions(ctx context.Context, q execer, logs []*picloud.ExecutionLog) error {
	if len(logs) == 0 {
		return nil
	}
	n := len(logs)
	ids, scripts, trigs, statuses := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	versions, ops := make([]int64, n), make([]int64, n)
	started, durs := make([]time.Time, n), make([]float64, n)
	jobs, attempts, schedules, nodes := make([]string, n), make([]int64, n), make([]string, n), make([]string, n)
	for i, l := range logs {
		ids[i], scripts[i], trigs[i], statuses[i] = l.ID, l.ScriptID, string(l.Trigger), string(l.Status)
		versions[i], ops[i], started[i], durs[i] = int64(l.ScriptVersion), int64(l.Operations), l.StartedAt.UTC(), l.DurationMS
		jobs[i], attempts[i], schedules[i], nodes[i] = l.JobID, int64(l.Attempt), l.ScheduleID, l.Node
	}
	reqs, resps, lines, xerrs, outs, err := encodeColumns(logs)
	if err != nil {
		return fmt.Errorf("postgres: insert %d executions: %w", n, err)
	}
	_, err = q.Exec(ctx, `INSERT INTO executions (`+execCols+`)
		SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::timestamptz[],
			$7::float8[], $8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
			$14::text[], $15::int[], $16::text[], $17::text[])
		ON CONFLICT (id) DO NOTHING`,
		ids, scripts, versions, trigs, statuses, started, durs, ops, reqs, resps, lines, xerrs, outs, jobs, attempts, schedules, nodes)
	if err != nil {
		return fmt.Errorf("postgres: insert %d executions: %w", n, err)
	}
	return nil
}

// encodeColumns encodes the JSON columns of logs into one buffer, converted
// to one string that the columns share; a nil part is SQL NULL.
func encodeColumns(logs []*picloud.ExecutionLog) (req, resp, lines, xerr, out []pgtype.Text, err error) {
	n := len(logs)
	spans := make([][6]int, n) // where each log's request, response, lines, error and outbound calls start and end
	buf := make([]byte, 0, 512*n)
	for i, l := range logs {
		sp := &spans[i]
		sp[0] = len(buf)
		buf = l.Request.AppendJSON(buf)
		sp[1] = len(buf)
		buf = l.Response.AppendJSON(buf)
		sp[2] = len(buf)
		if buf, err = picloud.AppendLogLinesJSON(buf, l.Logs); err != nil {
			return nil, nil, nil, nil, nil, fmt.Errorf("execution %s: %w", l.ID, err)
		}
		sp[3] = len(buf)
		buf = l.Error.AppendJSON(buf)
		sp[4] = len(buf)
		buf = picloud.AppendOutboundJSON(buf, l.Outbound)
		sp[5] = len(buf)
	}
	all := string(buf)
	req, resp, lines, xerr, out = make([]pgtype.Text, n), make([]pgtype.Text, n), make([]pgtype.Text, n), make([]pgtype.Text, n), make([]pgtype.Text, n)
	for i, l := range logs {
		sp := spans[i]
		req[i] = pgtype.Text{String: all[sp[0]:sp[1]], Valid: l.Request != nil}
		resp[i] = pgtype.Text{String: all[sp[1]:sp[2]], Valid: l.Response != nil}
		lines[i] = pgtype.Text{String: all[sp[2]:sp[3]], Valid: l.Logs != nil}
		xerr[i] = pgtype.Text{String: all[sp[3]:sp[4]], Valid: l.Error != nil}
		out[i] = pgtype.Text{String: all[sp[4]:sp[5]], Valid: l.Outbound != nil}
	}
	return req, resp, lines, xerr, out, nil
}

func scanExecution(row pgx.Row) (*picloud.ExecutionLog, error) {
	var l picloud.ExecutionLog
	var ops int64
	var trig, status string
	var req, resp, lines, xerr, out *string
	if err := row.Scan(&l.ID, &l.ScriptID, &l.ScriptVersion, &trig, &status, &l.StartedAt.Time, &l.DurationMS, &ops,
		&req, &resp, &lines, &xerr, &out, &l.JobID, &l.Attempt, &l.ScheduleID, &l.Node); err != nil {
		return nil, err
	}
	l.Trigger, l.Status, l.Operations = picloud.Trigger(trig), picloud.ExecutionStatus(status), uint64(ops)
	l.StartedAt.Time = l.StartedAt.UTC()
	for _, p := range []struct {
		s *string
		v any
	}{{req, &l.Request}, {resp, &l.Response}, {lines, &l.Logs}, {xerr, &l.Error}, {out, &l.Outbound}} {
		if p.s != nil {
			if err := json.Unmarshal([]byte(*p.s), p.v); err != nil {
				return nil, fmt.Errorf("execution %s: %w", l.ID, err)
			}
		}
	}
	if l.Logs == nil {
		l.Logs = []picloud.LogLine{}
	}
	if l.Outbound == nil {
		l.Outbound = []picloud.OutboundCall{}
	}
	return &l, nil
}

// ListExecutions implements picloud.ExecutionStore.
func (s *Store) ListExecutions(ctx context.Context, scriptID string, limit, offset int) ([]*picloud.ExecutionLog, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+execCols+` FROM executions WHERE script_id = $1
		ORDER BY started_at DESC, id DESC LIMIT $2 OFFSET $3`, scriptID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("postgres: list executions of %q: %w", scriptID, err)
	}
	defer rows.Close()
	list := []*picloud.ExecutionLog{}
	for rows.Next() {
		l, err := scanExecution(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list executions of %q: %w", scriptID, err)
		}
		list = append(list, l)
	}
	return list, rows.Err()
}

// Execution implements picloud.ExecutionStore.
func (s *Store) Execution(ctx context.Context, id string) (*picloud.ExecutionLog, error) {
	l, err := scanExecution(s.pool.QueryRow(ctx, `SELECT `+execCols+` FROM executions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("execution", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres: execution %q: %w", id, err)
	}
	return l, nil
}

// CountExecutions implements picloud.ExecutionStore.
func (s *Store) CountExecutions(ctx context.Context, scriptID string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM executions WHERE $1 = '' OR script_id = $1`, scriptID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: count executions: %w", err)
	}
	return n, nil
}

// ExecutionStats implements picloud.ExecutionStore.
func (s *Store) ExecutionStats(ctx context.Context, ids []string) (map[string]picloud.ExecutionStats, error) {
	out := make(map[string]picloud.ExecutionStats, len(ids))
	rows, err := s.pool.Query(ctx, `SELECT s.id, e.status, e.started_at
		FROM unnest($1::text[]) AS s(id)
		CROSS JOIN LATERAL (SELECT status, started_at FROM executions
			WHERE script_id = s.id ORDER BY started_at DESC, id DESC LIMIT 100) e`, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres: execution stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, status string
		var at time.Time
		if err := rows.Scan(&id, &status, &at); err != nil {
			return nil, fmt.Errorf("postgres: execution stats: %w", err)
		}
		st := out[id]
		if st.Recent == 0 {
			st.LastStatus, st.LastAt = picloud.ExecutionStatus(status), at.UTC()
		}
		st.Recent++
		if status != string(picloud.StatusSuccess) {
			st.RecentErrors++
		}
		out[id] = st
	}
	return out, rows.Err()
}

// PruneExecutions implements picloud.ExecutionStore.
func (s *Store) PruneExecutions(ctx context.Context, before time.Time, keep int) (int64, error) {
	var total int64
	if !before.IsZero() {
		tag, err := s.pool.Exec(ctx, `DELETE FROM executions WHERE started_at < $1`, before)
		if err != nil {
			return 0, fmt.Errorf("postgres: prune executions: %w", err)
		}
		total += tag.RowsAffected()
	}
	if keep > 0 {
		tag, err := s.pool.Exec(ctx, `DELETE FROM executions WHERE id IN (
			SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY script_id ORDER BY started_at DESC, id DESC) AS rn
			FROM executions) ranked WHERE rn > $1)`, keep)
		if err != nil {
			return total, fmt.Errorf("postgres: prune executions: %w", err)
		}
		total += tag.RowsAffected()
	}
	return total, nil
}
