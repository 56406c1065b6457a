// Package sqlite is the embedded store: PiCloud's scripts, versions, execution
// logs and settings in one SQLite file in WAL mode, through the pure-Go
// modernc.org/sqlite driver. Writes go through one connection (SQLite has one
// writer anyway); reads use a pool.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/picloud/picloud"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store implements picloud.Store on SQLite.
type Store struct {
	w *sql.DB // one connection: every write
	r *sql.DB // a pool: reads

	insMu sync.Mutex
	ins   [insertChunk + 1]*sql.Stmt // INSERTs of n execution rows, prepared on first use
}

var _ picloud.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and migrates it.
// The file and its -wal and -shm companions are made mode 0600.
func Open(ctx context.Context, path string) (*Store, error) {
	dsn := func(mode string) string {
		q := url.Values{}
		for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(ON)"} {
			q.Add("_pragma", p)
		}
		if mode != "" {
			q.Set("_txlock", mode)
		}
		return "file:" + path + "?" + q.Encode()
	}
	if err := secureFile(path); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	s := &Store{w: w, r: r}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := secureSidecars(path); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.insMu.Lock()
	for i, st := range s.ins {
		if st != nil {
			st.Close()
			s.ins[i] = nil
		}
	}
	s.insMu.Unlock()
	return errors.Join(s.r.Close(), s.w.Close())
}

// Kind implements picloud.Store.
func (s *Store) Kind() string { return "sqlite" }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// migrate applies the embedded up migrations not applied yet, in order, each
// in its own transaction.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.up.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		var n int
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, "migrations/"), "%d_", &n); err != nil {
			return fmt.Errorf("sqlite: migration %s: bad name", name)
		}
		body, _ := migrations.ReadFile(name)
		if err := s.tx(ctx, func(tx *sql.Tx) error {
			var done int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, n).Scan(&done); err != nil || done > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, n, time.Now().UnixMicro())
			return err
		}); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", name, err)
		}
	}
	return nil
}

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func micros(t time.Time) int64      { return t.UTC().UnixMicro() }
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func notFound(what, id string) error {
	return picloud.Errorf(picloud.ENotFound, "%s %q not found", what, id)
}

const scriptCols = `id, name, version, source, timeout_ms, max_operations, max_concurrency, max_memory_bytes, max_response_bytes, unsandboxed, kv_namespaces, kv_max_keys, kv_max_bytes, http_max_requests, http_max_response_bytes, http_timeout_ms, egress_allow, disabled, max_attempts, subscriptions, access, rate_limit_rps, rate_limit_burst, rate_limit_by, created_at, updated_at, confined_to`

type scanner interface{ Scan(...any) error }

func scanScript(row scanner) (*picloud.Script, error) {
	var sc picloud.Script
	var created, updated int64
	var subs string
	if err := row.Scan(&sc.ID, &sc.Name, &sc.Version, &sc.Source, &sc.TimeoutMS, &sc.MaxOperations,
		&sc.MaxConcurrency, &sc.MaxMemoryBytes, &sc.MaxResponseBytes, &sc.Unsandboxed, &sc.KVNamespaces, &sc.KVMaxKeys, &sc.KVMaxBytes,
		&sc.HTTPMaxRequests, &sc.HTTPMaxResponseBytes, &sc.HTTPTimeoutMS, &sc.EgressAllow,
		&sc.Disabled, &sc.MaxAttempts, &subs, &sc.Access, &sc.RateLimitRPS, &sc.RateLimitBurst, &sc.RateLimitBy, &created, &updated, &sc.ConfinedTo); err != nil {
		return nil, err
	}
	sc.Subscriptions = picloud.Topics(subs)
	sc.CreatedAt.Time, sc.UpdatedAt.Time = fromMicros(created), fromMicros(updated)
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
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO scripts (`+scriptCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sc.ID, sc.Name, sc.Version, sc.Source, sc.TimeoutMS, sc.MaxOperations, sc.MaxConcurrency,
			sc.MaxMemoryBytes, sc.MaxResponseBytes, sc.Unsandboxed, sc.KVNamespaces, sc.KVMaxKeys, sc.KVMaxBytes,
			sc.HTTPMaxRequests, sc.HTTPMaxResponseBytes, sc.HTTPTimeoutMS, sc.EgressAllow,
			sc.Disabled, sc.MaxAttempts, strings.Join(sc.Subscriptions, ","), accessOf(sc), sc.RateLimitRPS, sc.RateLimitBurst, rateLimitByOf(sc), micros(now), micros(now), sc.ConfinedTo); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO script_versions (script_id, version, source, created_at) VALUES (?, 1, ?, ?)`,
			sc.ID, sc.Source, micros(now))
		return err
	})
	if isUnique(err) {
		return picloud.Errorf(picloud.ENameTaken, "a script named %q already exists", sc.Name)
	} else if err != nil {
		return fmt.Errorf("sqlite: create script %q: %w", sc.Name, err)
	}
	return nil
}

// Script implements picloud.ScriptStore.
func (s *Store) Script(ctx context.Context, id string) (*picloud.Script, error) {
	sc, err := scanScript(s.r.QueryRowContext(ctx, `SELECT `+scriptCols+` FROM scripts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("script", id)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: script %q: %w", id, err)
	}
	return sc, nil
}

// ScriptByName implements picloud.ScriptStore.
func (s *Store) ScriptByName(ctx context.Context, name string) (*picloud.Script, error) {
	sc, err := scanScript(s.r.QueryRowContext(ctx, `SELECT `+scriptCols+` FROM scripts WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("script", name)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: script %q: %w", name, err)
	}
	return sc, nil
}

// ListScripts implements picloud.ScriptStore.
func (s *Store) ListScripts(ctx context.Context, f picloud.ScriptFilter) ([]*picloud.Script, error) {
	q, args := `SELECT `+scriptCols+` FROM scripts`, []any{}
	if f.Name != "" {
		q, args = q+` WHERE name = ?`, append(args, f.Name)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list scripts: %w", err)
	}
	defer rows.Close()
	list := []*picloud.Script{}
	for rows.Next() {
		sc, err := scanScript(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list scripts: %w", err)
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
	err := s.tx(ctx, func(tx *sql.Tx) error {
		sc, err := updateScriptTx(ctx, tx, id, u)
		out = sc
		return err
	})
	if isUnique(err) {
		return nil, picloud.Errorf(picloud.ENameTaken, "a script named %q already exists", *u.Name)
	} else if picloud.ErrorCode(err) == picloud.ENotFound {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: update script %q: %w", id, err)
	}
	return out, nil
}

// updateScriptTx applies u to script id inside tx, appending a version when
// u makes one: UpdateScript and PromoteDraft share it.
func updateScriptTx(ctx context.Context, tx *sql.Tx, id string, u picloud.ScriptUpdate) (*picloud.Script, error) {
	sc, err := scanScript(tx.QueryRowContext(ctx, `SELECT `+scriptCols+` FROM scripts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("script", id)
	} else if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if u.Apply(sc) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO script_versions (script_id, version, source, created_at) VALUES (?, ?, ?, ?)`,
			sc.ID, sc.Version, sc.Source, micros(now)); err != nil {
			return nil, err
		}
	}
	sc.UpdatedAt.Time = now
	if _, err := tx.ExecContext(ctx, `UPDATE scripts SET name = ?, version = ?, source = ?, timeout_ms = ?,
		max_operations = ?, max_concurrency = ?, max_memory_bytes = ?, max_response_bytes = ?,
		unsandboxed = ?, kv_namespaces = ?, kv_max_keys = ?, kv_max_bytes = ?,
		http_max_requests = ?, http_max_response_bytes = ?, http_timeout_ms = ?, egress_allow = ?,
		disabled = ?, max_attempts = ?, subscriptions = ?, access = ?, rate_limit_rps = ?, rate_limit_burst = ?,
		rate_limit_by = ?, updated_at = ?, confined_to = ? WHERE id = ?`,
		sc.Name, sc.Version, sc.Source, sc.TimeoutMS, sc.MaxOperations, sc.MaxConcurrency,
		sc.MaxMemoryBytes, sc.MaxResponseBytes, sc.Unsandboxed, sc.KVNamespaces, sc.KVMaxKeys, sc.KVMaxBytes,
		sc.HTTPMaxRequests, sc.HTTPMaxResponseBytes, sc.HTTPTimeoutMS, sc.EgressAllow,
		sc.Disabled, sc.MaxAttempts, strings.Join(sc.Subscriptions, ","), accessOf(sc), sc.RateLimitRPS, sc.RateLimitBurst, rateLimitByOf(sc), micros(now), sc.ConfinedTo, sc.ID); err != nil {
		return nil, err
	}
	return sc, nil
}

// DeleteScript implements picloud.ScriptStore.
func (s *Store) DeleteScript(ctx context.Context, id string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM scripts WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("script", id)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM script_versions WHERE script_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM kv WHERE ns = ?`, picloud.ScriptNamespace(id)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM executions WHERE script_id = ?`, id)
		return err
	})
	if err != nil && picloud.ErrorCode(err) != picloud.ENotFound {
		return fmt.Errorf("sqlite: delete script %q: %w", id, err)
	}
	return err
}

// Versions implements picloud.ScriptStore.
func (s *Store) Versions(ctx context.Context, scriptID string) ([]*picloud.Version, error) {
	if _, err := s.Script(ctx, scriptID); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT script_id, version, source, created_at FROM script_versions
		WHERE script_id = ? ORDER BY version DESC`, scriptID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: versions of %q: %w", scriptID, err)
	}
	defer rows.Close()
	list := []*picloud.Version{}
	for rows.Next() {
		var v picloud.Version
		var created int64
		if err := rows.Scan(&v.ScriptID, &v.Version, &v.Source, &created); err != nil {
			return nil, fmt.Errorf("sqlite: versions of %q: %w", scriptID, err)
		}
		v.CreatedAt.Time = fromMicros(created)
		list = append(list, &v)
	}
	return list, rows.Err()
}

// ScriptVersion implements picloud.ScriptStore.
func (s *Store) ScriptVersion(ctx context.Context, scriptID string, version int) (*picloud.Version, error) {
	var v picloud.Version
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT script_id, version, source, created_at FROM script_versions
		WHERE script_id = ? AND version = ?`, scriptID, version).Scan(&v.ScriptID, &v.Version, &v.Source, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, picloud.Errorf(picloud.ENotFound, "version %d of script %q not found", version, scriptID)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: version %d of %q: %w", version, scriptID, err)
	}
	v.CreatedAt.Time = fromMicros(created)
	return &v, nil
}

// AdminTokenHash implements picloud.TokenStore.
func (s *Store) AdminTokenHash(ctx context.Context) (string, error) {
	var h string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'admin_token_hash'`).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("sqlite: admin token: %w", err)
	}
	return h, nil
}

const execCols = `id, script_id, script_version, trigger_type, status, started_at, duration_ms, operations, request, response, logs, error, outbound, job_id, attempt, schedule_id, node`

// execParams is the parameters of one execution row.
const execParams = 17

// insertChunk is the most rows one INSERT statement writes (execParams
// parameters a row, well under SQLite's 32,766).
const insertChunk = 64

// insertStmt returns the prepared INSERT of n rows (1 ≤ n ≤ insertChunk),
// preparing it on first use. Prepared on the write pool's only connection, a
// statement is reused by every transaction without being parsed again.
func (s *Store) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	s.insMu.Lock()
	defer s.insMu.Unlock()
	if st := s.ins[n]; st != nil {
		return st, nil
	}
	var q strings.Builder
	// OR IGNORE rather than ON CONFLICT (id) DO NOTHING: both skip a row
	// already written by a retried batch, but with OR IGNORE no constraint can
	// abort the statement halfway, so SQLite keeps no statement journal for
	// it (about 10 % of an insert). The NOT NULL columns are always bound.
	q.WriteString(`INSERT OR IGNORE INTO executions (` + execCols + `) VALUES `)
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	}

	st, err := s.w.PrepareContext(ctx, q.String())
	if err != nil {
		return nil, err
	}
	s.ins[n] = st
	return st, nil
}

// InsertExecutions implements picloud.ExecutionStore: one transaction per
// batch, multi-row INSERTs of up to insertChunk rows through cached prepared
// statements, the JSON columns of the whole batch encoded into one buffer.
func (s *Store) InsertExecutions(ctx context.Context, logs []*picloud.ExecutionLog) error {
	if len(logs) == 0 {
		return nil
	}
	cols, err := encodeColumns(logs)
	if err != nil {
		return fmt.Errorf("sqlite: insert %d executions: %w", len(logs), err)
	}
	// Prepare before the transaction takes the write pool's only connection.
	full, err := s.insertStmt(ctx, min(len(logs), insertChunk))
	if err != nil {
		return fmt.Errorf("sqlite: insert %d executions: %w", len(logs), err)
	}
	last := full
	if n := len(logs) % insertChunk; n != 0 && len(logs) > insertChunk {
		if last, err = s.insertStmt(ctx, n); err != nil {
			return fmt.Errorf("sqlite: insert %d executions: %w", len(logs), err)
		}
	}
	args := make([]any, 0, execParams*min(len(logs), insertChunk))
	err = s.tx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(logs); start += insertChunk {
			chunk := logs[start:min(start+insertChunk, len(logs))]
			st := full
			if len(chunk) < insertChunk {
				st = last
			}
			args = args[:0]
			for i, l := range chunk {
				c := &cols[start+i]
				args = append(args, l.ID, l.ScriptID, l.ScriptVersion, string(l.Trigger), string(l.Status),
					micros(l.StartedAt.Time), l.DurationMS, int64(l.Operations), c.req, c.resp, c.lines, c.xerr, c.out,
					l.JobID, l.Attempt, l.ScheduleID, l.Node)
			}
			if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: insert %d executions: %w", len(logs), err)
	}
	return nil
}

// jsonColumns are one log's JSON columns: a string, or nil for SQL NULL.
type jsonColumns struct{ req, resp, lines, xerr, out any }

// encodeColumns encodes the JSON columns of logs into one buffer, converted
// to one string that the columns share.
func encodeColumns(logs []*picloud.ExecutionLog) ([]jsonColumns, error) {
	type span struct{ req, resp, lines, xerr, out [2]int }
	spans := make([]span, len(logs))
	buf := make([]byte, 0, 512*len(logs))
	var err error
	for i, l := range logs {
		sp := &spans[i]
		sp.req[0] = len(buf)
		buf = l.Request.AppendJSON(buf)
		sp.req[1], sp.resp[0] = len(buf), len(buf)
		buf = l.Response.AppendJSON(buf)
		sp.resp[1], sp.lines[0] = len(buf), len(buf)
		if buf, err = picloud.AppendLogLinesJSON(buf, l.Logs); err != nil {
			return nil, fmt.Errorf("execution %s: %w", l.ID, err)
		}
		sp.lines[1], sp.xerr[0] = len(buf), len(buf)
		buf = l.Error.AppendJSON(buf)
		sp.xerr[1], sp.out[0] = len(buf), len(buf)
		buf = picloud.AppendOutboundJSON(buf, l.Outbound)
		sp.out[1] = len(buf)
	}
	all := string(buf)
	cols := make([]jsonColumns, len(logs))
	col := func(sp [2]int, isNil bool) any {
		if isNil {
			return nil
		}
		return all[sp[0]:sp[1]]
	}
	for i, l := range logs {
		sp := &spans[i]
		cols[i] = jsonColumns{col(sp.req, l.Request == nil), col(sp.resp, l.Response == nil),
			col(sp.lines, l.Logs == nil), col(sp.xerr, l.Error == nil), col(sp.out, l.Outbound == nil)}
	}
	return cols, nil
}

func scanExecution(row scanner) (*picloud.ExecutionLog, error) {
	var l picloud.ExecutionLog
	var started, ops int64
	var trig, status string
	var req, resp, lines, xerr, out sql.NullString
	if err := row.Scan(&l.ID, &l.ScriptID, &l.ScriptVersion, &trig, &status, &started, &l.DurationMS, &ops,
		&req, &resp, &lines, &xerr, &out, &l.JobID, &l.Attempt, &l.ScheduleID, &l.Node); err != nil {
		return nil, err
	}
	l.Trigger, l.Status, l.Operations = picloud.Trigger(trig), picloud.ExecutionStatus(status), uint64(ops)
	l.StartedAt.Time = fromMicros(started)
	for _, p := range []struct {
		s sql.NullString
		v any
	}{{req, &l.Request}, {resp, &l.Response}, {lines, &l.Logs}, {xerr, &l.Error}, {out, &l.Outbound}} {
		if p.s.Valid {
			if err := json.Unmarshal([]byte(p.s.String), p.v); err != nil {
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
	rows, err := s.r.QueryContext(ctx, `SELECT `+execCols+` FROM executions WHERE script_id = ?
		ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?`, scriptID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list executions of %q: %w", scriptID, err)
	}
	defer rows.Close()
	list := []*picloud.ExecutionLog{}
	for rows.Next() {
		l, err := scanExecution(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list executions of %q: %w", scriptID, err)
		}
		list = append(list, l)
	}
	return list, rows.Err()
}

// Execution implements picloud.ExecutionStore.
func (s *Store) Execution(ctx context.Context, id string) (*picloud.ExecutionLog, error) {
	l, err := scanExecution(s.r.QueryRowContext(ctx, `SELECT `+execCols+` FROM executions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("execution", id)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: execution %q: %w", id, err)
	}
	return l, nil
}

// CountExecutions implements picloud.ExecutionStore.
func (s *Store) CountExecutions(ctx context.Context, scriptID string) (int64, error) {
	var n int64
	var err error
	if scriptID == "" {
		err = s.r.QueryRowContext(ctx, `SELECT count(*) FROM executions`).Scan(&n)
	} else {
		err = s.r.QueryRowContext(ctx, `SELECT count(*) FROM executions WHERE script_id = ?`, scriptID).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: count executions: %w", err)
	}
	return n, nil
}

// ExecutionStats implements picloud.ExecutionStore.
func (s *Store) ExecutionStats(ctx context.Context, ids []string) (map[string]picloud.ExecutionStats, error) {
	out := make(map[string]picloud.ExecutionStats, len(ids))
	for _, id := range ids {
		rows, err := s.r.QueryContext(ctx, `SELECT status, started_at FROM executions WHERE script_id = ?
			ORDER BY started_at DESC, id DESC LIMIT 100`, id)
		if err != nil {
			return nil, fmt.Errorf("sqlite: execution stats: %w", err)
		}
		var st picloud.ExecutionStats
		for rows.Next() {
			var status string
			var at int64
			if err := rows.Scan(&status, &at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: execution stats: %w", err)
			}
			if st.Recent == 0 {
				st.LastStatus, st.LastAt = picloud.ExecutionStatus(status), fromMicros(at)
			}
			st.Recent++
			if status != string(picloud.StatusSuccess) {
				st.RecentErrors++
			}
		}
		rows.Close()
		if st.Recent > 0 {
			out[id] = st
		}
	}
	return out, nil
}

// PruneExecutions implements picloud.ExecutionStore.
func (s *Store) PruneExecutions(ctx context.Context, before time.Time, keep int) (int64, error) {
	var total int64
	if !before.IsZero() {
		res, err := s.w.ExecContext(ctx, `DELETE FROM executions WHERE started_at < ?`, micros(before))
		if err != nil {
			return 0, fmt.Errorf("sqlite: prune executions: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	if keep > 0 {
		res, err := s.w.ExecContext(ctx, `DELETE FROM executions WHERE id IN (
			SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY script_id ORDER BY started_at DESC, id DESC) AS rn
			FROM executions) WHERE rn > ?)`, keep)
		if err != nil {
			return total, fmt.Errorf("sqlite: prune executions: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
