package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/picloud/picloud"
)

// The export and import of picloud export / picloud import: rows as they are
// stored, ids and times kept (see docs/cluster.md).

var (
	_ picloud.Exporter = (*Store)(nil)
	_ picloud.Importer = (*Store)(nil)
)

// ExportKV implements picloud.Exporter. Keys sort as bytes (COLLATE "C"),
// as in the SQLite store.
func (s *Store) ExportKV(ctx context.Context, fn func(ns string, e *picloud.KVEntry) error) error {
	rows, err := s.pool.Query(ctx, `SELECT ns, key, value, expires_at, updated_at FROM kv ORDER BY ns, key`)
	if err != nil {
		return fmt.Errorf("postgres: export kv: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ns, v string
		var expires *time.Time
		e := &picloud.KVEntry{}
		if err := rows.Scan(&ns, &e.Key, &v, &expires, &e.UpdatedAt.Time); err != nil {
			return fmt.Errorf("postgres: export kv: %w", err)
		}
		e.Value, e.UpdatedAt.Time = json.RawMessage(v), e.UpdatedAt.UTC()
		if expires != nil {
			e.ExpiresAt = &picloud.Time{Time: expires.UTC()}
		}
		if err := fn(ns, e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: export kv: %w", err)
	}
	return nil
}

// ExportSecrets implements picloud.Exporter.
func (s *Store) ExportSecrets(ctx context.Context, fn func(*picloud.SealedSecret) error) error {
	rows, err := s.pool.Query(ctx, `SELECT scope, name, value, updated_at FROM secrets ORDER BY scope COLLATE "C", name COLLATE "C"`)
	if err != nil {
		return fmt.Errorf("postgres: export secrets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sec picloud.SealedSecret
		if err := rows.Scan(&sec.Scope, &sec.Name, &sec.Sealed, &sec.UpdatedAt); err != nil {
			return fmt.Errorf("postgres: export secrets: %w", err)
		}
		sec.UpdatedAt = sec.UpdatedAt.UTC()
		if err := fn(&sec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: export secrets: %w", err)
	}
	return nil
}

// ExportExecutions implements picloud.Exporter.
func (s *Store) ExportExecutions(ctx context.Context, fn func(*picloud.ExecutionLog) error) error {
	rows, err := s.pool.Query(ctx, `SELECT `+execCols+` FROM executions ORDER BY started_at, id COLLATE "C"`)
	if err != nil {
		return fmt.Errorf("postgres: export executions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanExecution(rows)
		if err != nil {
			return fmt.Errorf("postgres: export executions: %w", err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: export executions: %w", err)
	}
	return nil
}

// Import implements picloud.Importer: one transaction, which first locks
// the tables it checks (no other writer adds a row between the check and
// the commit) and rolls back on any error.
func (s *Store) Import(ctx context.Context, fn func(picloud.ImportTx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tables := []string{"scripts", "script_versions", "schedules", "kv", "secrets", "executions", "settings", "sessions"}
		if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(tables, ", ")+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("postgres: import: %w", err)
		}
		var held []string
		for _, t := range []string{"scripts", "schedules", "kv", "secrets", "executions", "api_tokens"} {
			var n int64
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
				return fmt.Errorf("postgres: import: %w", err)
			}
			if n > 0 {
				held = append(held, fmt.Sprintf("%s: %d", t, n))
			}
		}
		if len(held) > 0 {
			return fmt.Errorf("postgres: import: %w (%s)", picloud.ErrNotEmpty, strings.Join(held, ", "))
		}
		return fn(importTx{tx})
	})
}

// importTx is picloud.ImportTx in one PostgreSQL transaction.
type importTx struct{ tx pgx.Tx }

// ImportScript implements picloud.ImportTx.
func (t importTx) ImportScript(ctx context.Context, sc *picloud.Script) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO scripts (`+scriptCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)`,
		sc.ID, sc.Name, sc.Version, sc.Source, sc.TimeoutMS, sc.MaxOperations, sc.MaxConcurrency,
		sc.MaxMemoryBytes, sc.MaxResponseBytes, sc.Unsandboxed, sc.KVNamespaces, sc.KVMaxKeys, sc.KVMaxBytes,
		sc.HTTPMaxRequests, sc.HTTPMaxResponseBytes, sc.HTTPTimeoutMS, sc.EgressAllow,
		sc.Disabled, sc.MaxAttempts, strings.Join(sc.Subscriptions, ","), accessOf(sc), sc.RateLimitRPS, sc.RateLimitBurst, rateLimitByOf(sc), sc.CreatedAt.UTC(), sc.UpdatedAt.UTC(), sc.ConfinedTo); err != nil {
		return fmt.Errorf("postgres: import script %q: %w", sc.Name, err)
	}
	return nil
}

// ImportVersion implements picloud.ImportTx.
func (t importTx) ImportVersion(ctx context.Context, v *picloud.Version) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO script_versions (script_id, version, source, created_at) VALUES ($1, $2, $3, $4)`,
		v.ScriptID, v.Version, v.Source, v.CreatedAt.UTC()); err != nil {
		return fmt.Errorf("postgres: import version %d of %q: %w", v.Version, v.ScriptID, err)
	}
	return nil
}

// ImportSchedule implements picloud.ImportTx.
func (t importTx) ImportSchedule(ctx context.Context, sc *picloud.Schedule) error {
	var last *time.Time
	if !sc.LastScheduledAt.IsZero() {
		l := sc.LastScheduledAt.UTC()
		last = &l
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO schedules (`+scheduleCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		sc.ID, sc.ScriptID, sc.Cron, sc.Timezone, []byte(sc.Body), sc.Enabled, last, sc.CreatedAt.UTC(), sc.UpdatedAt.UTC()); err != nil {
		return fmt.Errorf("postgres: import schedule %q: %w", sc.ID, err)
	}
	return nil
}

// ImportKV implements picloud.ImportTx.
func (t importTx) ImportKV(ctx context.Context, ns string, e *picloud.KVEntry) error {
	var expires *time.Time
	if e.ExpiresAt != nil {
		x := e.ExpiresAt.UTC()
		expires = &x
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO kv (ns, key, value, size, expires_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		ns, e.Key, string(e.Value), len(e.Key)+len(e.Value), expires, e.UpdatedAt.UTC()); err != nil {
		return fmt.Errorf("postgres: import kv %s %q: %w", ns, e.Key, err)
	}
	return nil
}

// ImportSecret implements picloud.ImportTx.
func (t importTx) ImportSecret(ctx context.Context, sec *picloud.SealedSecret) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO secrets (scope, name, value, updated_at) VALUES ($1, $2, $3, $4)`,
		sec.Scope, sec.Name, sec.Sealed, sec.UpdatedAt.UTC()); err != nil {
		return fmt.Errorf("postgres: import secret %s %s: %w", sec.Scope, sec.Name, err)
	}
	return nil
}

// ImportExecutions implements picloud.ImportTx.
func (t importTx) ImportExecutions(ctx context.Context, logs []*picloud.ExecutionLog) error {
	if err := insertExecutions(ctx, t.tx, logs); err != nil {
		return fmt.Errorf("postgres: import: %w", err)
	}
	return nil
}

// ImportAdminTokenHash implements picloud.ImportTx.
func (t importTx) ImportAdminTokenHash(ctx context.Context, hash string) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ('admin_token_hash', $1)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, hash); err != nil {
		return fmt.Errorf("postgres: import admin token: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `DELETE FROM sessions`); err != nil {
		return fmt.Errorf("postgres: import admin token: %w", err)
	}
	return nil
}

// ImportAPIToken implements picloud.ImportTx.
func (t importTx) ImportAPIToken(ctx context.Context, tk *picloud.APIToken) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO api_tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		tk.ID, tk.Name, tk.Prefix, tk.Hash, strings.Join(tk.Scopes, ","), tk.Scripts, tk.CreatedAt.UTC(),
		optTime(tk.LastUsedAt), optTime(tk.ExpiresAt)); err != nil {
		return fmt.Errorf("postgres: import token %q: %w", tk.Name, err)
	}
	return nil
}

// ImportInvokeKey implements picloud.ImportTx.
func (t importTx) ImportInvokeKey(ctx context.Context, k *picloud.InvokeKey) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO invoke_keys (`+keyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.ScriptID, k.Name, k.Prefix, k.Hash, k.CreatedAt.UTC(), optTime(k.LastUsedAt)); err != nil {
		return fmt.Errorf("postgres: import key %q: %w", k.Prefix, err)
	}
	return nil
}
