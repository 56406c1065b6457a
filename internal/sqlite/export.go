package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/picloud/picloud"
)

// The export and import of picloud export / picloud import: rows as they are
// stored, ids and times kept (see docs/cluster.md).

var (
	_ picloud.Exporter = (*Store)(nil)
	_ picloud.Importer = (*Store)(nil)
)

// ExportKV implements picloud.Exporter.
func (s *Store) ExportKV(ctx context.Context, fn func(ns string, e *picloud.KVEntry) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT ns, key, value, expires_at, updated_at FROM kv ORDER BY ns, key`)
	if err != nil {
		return fmt.Errorf("sqlite: export kv: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ns, v string
		var expires sql.NullInt64
		var updated int64
		e := &picloud.KVEntry{}
		if err := rows.Scan(&ns, &e.Key, &v, &expires, &updated); err != nil {
			return fmt.Errorf("sqlite: export kv: %w", err)
		}
		e.Value, e.UpdatedAt.Time = json.RawMessage(v), fromMicros(updated)
		if expires.Valid {
			e.ExpiresAt = &picloud.Time{Time: fromMicros(expires.Int64)}
		}
		if err := fn(ns, e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: export kv: %w", err)
	}
	return nil
}

// ExportSecrets implements picloud.Exporter.
func (s *Store) ExportSecrets(ctx context.Context, fn func(*picloud.SealedSecret) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT scope, name, value, updated_at FROM secrets ORDER BY scope, name`)
	if err != nil {
		return fmt.Errorf("sqlite: export secrets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sec picloud.SealedSecret
		var updated int64
		if err := rows.Scan(&sec.Scope, &sec.Name, &sec.Sealed, &updated); err != nil {
			return fmt.Errorf("sqlite: export secrets: %w", err)
		}
		sec.UpdatedAt = fromMicros(updated)
		if err := fn(&sec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: export secrets: %w", err)
	}
	return nil
}

// ExportExecutions implements picloud.Exporter.
func (s *Store) ExportExecutions(ctx context.Context, fn func(*picloud.ExecutionLog) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT `+execCols+` FROM executions ORDER BY started_at, id`)
	if err != nil {
		return fmt.Errorf("sqlite: export executions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanExecution(rows)
		if err != nil {
			return fmt.Errorf("sqlite: export executions: %w", err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: export executions: %w", err)
	}
	return nil
}

// Import implements picloud.Importer: one transaction on the writer
// connection (BEGIN IMMEDIATE), so no other writer of the file runs
// meanwhile and a failure leaves the file as it was.
func (s *Store) Import(ctx context.Context, fn func(picloud.ImportTx) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var held []string
		for _, t := range []string{"scripts", "schedules", "kv", "secrets", "executions", "api_tokens"} {
			var n int64
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
				return fmt.Errorf("sqlite: import: %w", err)
			}
			if n > 0 {
				held = append(held, fmt.Sprintf("%s: %d", t, n))
			}
		}
		if len(held) > 0 {
			return fmt.Errorf("sqlite: import: %w (%s)", picloud.ErrNotEmpty, strings.Join(held, ", "))
		}
		return fn(importTx{tx})
	})
}

// importTx is picloud.ImportTx in one SQLite transaction.
type importTx struct{ tx *sql.Tx }

// ImportScript implements picloud.ImportTx.
func (t importTx) ImportScript(ctx context.Context, sc *picloud.Script) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO scripts (`+scriptCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sc.ID, sc.Name, sc.Version, sc.Source, sc.TimeoutMS, sc.MaxOperations, sc.MaxConcurrency,
		sc.MaxMemoryBytes, sc.MaxResponseBytes, sc.Unsandboxed, sc.KVNamespaces, sc.KVMaxKeys, sc.KVMaxBytes,
		sc.HTTPMaxRequests, sc.HTTPMaxResponseBytes, sc.HTTPTimeoutMS, sc.EgressAllow,
		sc.Disabled, sc.MaxAttempts, strings.Join(sc.Subscriptions, ","), accessOf(sc), sc.RateLimitRPS, sc.RateLimitBurst, rateLimitByOf(sc), micros(sc.CreatedAt.Time), micros(sc.UpdatedAt.Time), sc.ConfinedTo); err != nil {
		return fmt.Errorf("sqlite: import script %q: %w", sc.Name, err)
	}
	return nil
}

// ImportVersion implements picloud.ImportTx.
func (t importTx) ImportVersion(ctx context.Context, v *picloud.Version) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO script_versions (script_id, version, source, created_at) VALUES (?, ?, ?, ?)`,
		v.ScriptID, v.Version, v.Source, micros(v.CreatedAt.Time)); err != nil {
		return fmt.Errorf("sqlite: import version %d of %q: %w", v.Version, v.ScriptID, err)
	}
	return nil
}

// ImportSchedule implements picloud.ImportTx.
func (t importTx) ImportSchedule(ctx context.Context, sc *picloud.Schedule) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO schedules (`+scheduleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sc.ID, sc.ScriptID, sc.Cron, sc.Timezone, []byte(sc.Body), sc.Enabled, nullMicros(sc.LastScheduledAt.Time),
		micros(sc.CreatedAt.Time), micros(sc.UpdatedAt.Time)); err != nil {
		return fmt.Errorf("sqlite: import schedule %q: %w", sc.ID, err)
	}
	return nil
}

// ImportKV implements picloud.ImportTx.
func (t importTx) ImportKV(ctx context.Context, ns string, e *picloud.KVEntry) error {
	var expires sql.NullInt64
	if e.ExpiresAt != nil {
		expires = expiry(e.ExpiresAt.Time)
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO kv (ns, key, value, size, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		ns, e.Key, string(e.Value), len(e.Key)+len(e.Value), expires, micros(e.UpdatedAt.Time)); err != nil {
		return fmt.Errorf("sqlite: import kv %s %q: %w", ns, e.Key, err)
	}
	return nil
}

// ImportSecret implements picloud.ImportTx.
func (t importTx) ImportSecret(ctx context.Context, sec *picloud.SealedSecret) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO secrets (scope, name, value, updated_at) VALUES (?, ?, ?, ?)`,
		sec.Scope, sec.Name, sec.Sealed, micros(sec.UpdatedAt)); err != nil {
		return fmt.Errorf("sqlite: import secret %s %s: %w", sec.Scope, sec.Name, err)
	}
	return nil
}

// ImportExecutions implements picloud.ImportTx. Row by row: the cached
// multi-row statements of InsertExecutions are prepared on the writer
// connection, which this transaction holds.
func (t importTx) ImportExecutions(ctx context.Context, logs []*picloud.ExecutionLog) error {
	cols, err := encodeColumns(logs)
	if err != nil {
		return fmt.Errorf("sqlite: import executions: %w", err)
	}
	for i, l := range logs {
		c := &cols[i]
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO executions (`+execCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			l.ID, l.ScriptID, l.ScriptVersion, string(l.Trigger), string(l.Status),
			micros(l.StartedAt.Time), l.DurationMS, int64(l.Operations), c.req, c.resp, c.lines, c.xerr, c.out,
			l.JobID, l.Attempt, l.ScheduleID, l.Node); err != nil {
			return fmt.Errorf("sqlite: import execution %s: %w", l.ID, err)
		}
	}
	return nil
}

// ImportAdminTokenHash implements picloud.ImportTx.
func (t importTx) ImportAdminTokenHash(ctx context.Context, hash string) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('admin_token_hash', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, hash); err != nil {
		return fmt.Errorf("sqlite: import admin token: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM sessions`); err != nil {
		return fmt.Errorf("sqlite: import admin token: %w", err)
	}
	return nil
}

// ImportAPIToken implements picloud.ImportTx.
func (t importTx) ImportAPIToken(ctx context.Context, tk *picloud.APIToken) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO api_tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tk.ID, tk.Name, tk.Prefix, tk.Hash, strings.Join(tk.Scopes, ","), tk.Scripts, micros(tk.CreatedAt.Time),
		optMicros(tk.LastUsedAt), optMicros(tk.ExpiresAt)); err != nil {
		return fmt.Errorf("sqlite: import token %q: %w", tk.Name, err)
	}
	return nil
}

// ImportInvokeKey implements picloud.ImportTx.
func (t importTx) ImportInvokeKey(ctx context.Context, k *picloud.InvokeKey) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO invoke_keys (`+keyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.ScriptID, k.Name, k.Prefix, k.Hash, micros(k.CreatedAt.Time), optMicros(k.LastUsedAt)); err != nil {
		return fmt.Errorf("sqlite: import key %q: %w", k.Prefix, err)
	}
	return nil
}
