package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
)

// accessOf and rateLimitByOf store a script's unset access and rate-limit
// key as their defaults, so that every stored row says what applies.
func accessOf(sc *picloud.Script) string {
	if sc.Access == "" {
		sc.Access = picloud.AccessPublic
	}
	return sc.Access
}

func rateLimitByOf(sc *picloud.Script) string {
	if sc.RateLimitBy == "" {
		sc.RateLimitBy = picloud.RateLimitByClient
	}
	return sc.RateLimitBy
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// optMicros is nullMicros for an optional time.
func optMicros(t *picloud.Time) any {
	if t == nil {
		return nil
	}
	return nullMicros(t.Time)
}

func timeOrNil(us sql.NullInt64) *picloud.Time {
	if !us.Valid {
		return nil
	}
	return &picloud.Time{Time: fromMicros(us.Int64)}
}

const tokenCols = `id, name, prefix, hash, scopes, scripts, created_at, last_used_at, expires_at`

func scanToken(row scanner) (*picloud.APIToken, error) {
	var t picloud.APIToken
	var scopes string
	var created int64
	var used, expires sql.NullInt64
	if err := row.Scan(&t.ID, &t.Name, &t.Prefix, &t.Hash, &scopes, &t.Scripts, &created, &used, &expires); err != nil {
		return nil, err
	}
	t.Scopes = splitList(scopes)
	t.CreatedAt.Time, t.LastUsedAt, t.ExpiresAt = fromMicros(created), timeOrNil(used), timeOrNil(expires)
	return &t, nil
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// CreateAPIToken implements picloud.APITokenStore.
func (s *Store) CreateAPIToken(ctx context.Context, t *picloud.APIToken) error {
	if err := picloud.ValidateName(t.Name); err != nil {
		return err
	}
	if err := picloud.ValidateScopes(t.Scopes); err != nil {
		return err
	}
	t.ID = uuid.NewString()
	t.CreatedAt.Time = time.Now().UTC().Truncate(time.Microsecond)
	_, err := s.w.ExecContext(ctx, `INSERT INTO api_tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.Prefix, t.Hash, strings.Join(t.Scopes, ","), t.Scripts, micros(t.CreatedAt.Time),
		optMicros(t.LastUsedAt), optMicros(t.ExpiresAt))
	if isUnique(err) && strings.Contains(err.Error(), "api_tokens.name") {
		return picloud.Errorf(picloud.ENameTaken, "a token named %q already exists", t.Name)
	} else if err != nil {
		return fmt.Errorf("sqlite: create token %q: %w", t.Name, err)
	}
	return nil
}

// APITokens implements picloud.APITokenStore.
func (s *Store) APITokens(ctx context.Context) ([]*picloud.APIToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenCols+` FROM api_tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tokens: %w", err)
	}
	defer rows.Close()
	list := []*picloud.APIToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: tokens: %w", err)
		}
		list = append(list, t)
	}
	return list, rows.Err()
}

func (s *Store) tokenWhere(ctx context.Context, q *sql.DB, where, arg string) (*picloud.APIToken, error) {
	t, err := scanToken(q.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE `+where+` = ?`, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, picloud.Errorf(picloud.ENotFound, "no such token")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: token: %w", err)
	}
	return t, nil
}

// APIToken implements picloud.APITokenStore.
func (s *Store) APIToken(ctx context.Context, id string) (*picloud.APIToken, error) {
	return s.tokenWhere(ctx, s.r, "id", id)
}

// APITokenByHash implements picloud.APITokenStore.
func (s *Store) APITokenByHash(ctx context.Context, hash string) (*picloud.APIToken, error) {
	return s.tokenWhere(ctx, s.r, "hash", hash)
}

// RotateAPIToken implements picloud.APITokenStore: the new hash and the end
// of the token's sessions commit together.
func (s *Store) RotateAPIToken(ctx context.Context, id, hash, prefix string) (*picloud.APIToken, error) {
	var out *picloud.APIToken
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET hash = ?, prefix = ? WHERE id = ?`, hash, prefix, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return picloud.Errorf(picloud.ENotFound, "no such token")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_id = ?`, id); err != nil {
			return err
		}
		out, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE id = ?`, id))
		return err
	})
	if picloud.ErrorCode(err) == picloud.ENotFound {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: rotate token: %w", err)
	}
	return out, nil
}

// DeleteAPIToken implements picloud.APITokenStore: the row and the token's
// sessions go together.
func (s *Store) DeleteAPIToken(ctx context.Context, id string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return picloud.Errorf(picloud.ENotFound, "no such token")
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_id = ?`, id)
		return err
	})
	if err != nil && picloud.ErrorCode(err) != picloud.ENotFound {
		return fmt.Errorf("sqlite: delete token: %w", err)
	}
	return err
}

// TouchAPIToken implements picloud.APITokenStore.
func (s *Store) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, micros(at), id); err != nil {
		return fmt.Errorf("sqlite: touch token: %w", err)
	}
	return nil
}

const keyCols = `id, script_id, name, prefix, hash, created_at, last_used_at`

func scanKey(row scanner) (*picloud.InvokeKey, error) {
	var k picloud.InvokeKey
	var created int64
	var used sql.NullInt64
	if err := row.Scan(&k.ID, &k.ScriptID, &k.Name, &k.Prefix, &k.Hash, &created, &used); err != nil {
		return nil, err
	}
	k.CreatedAt.Time, k.LastUsedAt = fromMicros(created), timeOrNil(used)
	return &k, nil
}

// CreateInvokeKey implements picloud.InvokeKeyStore.
func (s *Store) CreateInvokeKey(ctx context.Context, k *picloud.InvokeKey) error {
	if len(k.Name) > picloud.MaxInvokeKeyName {
		return picloud.Errorf(picloud.EInvalidRequest, "a key's name is at most %d bytes", picloud.MaxInvokeKeyName)
	}
	k.ID = uuid.NewString()
	k.CreatedAt.Time = time.Now().UTC().Truncate(time.Microsecond)
	_, err := s.w.ExecContext(ctx, `INSERT INTO invoke_keys (`+keyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.ScriptID, k.Name, k.Prefix, k.Hash, micros(k.CreatedAt.Time), optMicros(k.LastUsedAt))
	if isForeignKey(err) {
		return notFound("script", k.ScriptID)
	} else if err != nil {
		return fmt.Errorf("sqlite: create key: %w", err)
	}
	return nil
}

// InvokeKeys implements picloud.InvokeKeyStore.
func (s *Store) InvokeKeys(ctx context.Context, scriptID string) ([]*picloud.InvokeKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+keyCols+` FROM invoke_keys WHERE script_id = ? ORDER BY created_at, id`, scriptID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: keys: %w", err)
	}
	defer rows.Close()
	list := []*picloud.InvokeKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: keys: %w", err)
		}
		list = append(list, k)
	}
	return list, rows.Err()
}

// InvokeKeyByHash implements picloud.InvokeKeyStore.
func (s *Store) InvokeKeyByHash(ctx context.Context, hash string) (*picloud.InvokeKey, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyCols+` FROM invoke_keys WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, picloud.Errorf(picloud.ENotFound, "no such key")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: key: %w", err)
	}
	return k, nil
}

// DeleteInvokeKey implements picloud.InvokeKeyStore.
func (s *Store) DeleteInvokeKey(ctx context.Context, scriptID, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM invoke_keys WHERE id = ? AND script_id = ?`, id, scriptID)
	if err != nil {
		return fmt.Errorf("sqlite: delete key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return picloud.Errorf(picloud.ENotFound, "no such key")
	}
	return nil
}

// TouchInvokeKey implements picloud.InvokeKeyStore.
func (s *Store) TouchInvokeKey(ctx context.Context, id string, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE invoke_keys SET last_used_at = ? WHERE id = ?`, micros(at), id); err != nil {
		return fmt.Errorf("sqlite: touch key: %w", err)
	}
	return nil
}

// RecordAudit implements picloud.AuditStore.
func (s *Store) RecordAudit(ctx context.Context, e *picloud.AuditEvent) error {
	if err := fillAudit(e); err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO audit_events (id, at, actor, token_id, via, ip, action, target, target_id, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, micros(e.At.Time), e.Actor, e.TokenID, e.Via, e.IP, e.Action, e.Target, e.TargetID, string(e.Detail)); err != nil {
		return fmt.Errorf("sqlite: record audit: %w", err)
	}
	return nil
}

// fillAudit fills an event's id and time when empty and checks its detail.
func fillAudit(e *picloud.AuditEvent) error {
	if e.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		e.ID = id.String()
	}
	if e.At.IsZero() {
		e.At.Time = time.Now()
	}
	e.At.Time = e.At.UTC().Truncate(time.Microsecond)
	if len(e.Detail) > 0 && !json.Valid(e.Detail) {
		return fmt.Errorf("audit detail is not JSON")
	}
	return nil
}

// AuditEvents implements picloud.AuditStore.
func (s *Store) AuditEvents(ctx context.Context, q picloud.AuditQuery) ([]*picloud.AuditEvent, error) {
	where, args := []string{}, []any{}
	if !q.Since.IsZero() {
		where, args = append(where, `at >= ?`), append(args, micros(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, `at < ?`), append(args, micros(q.Until))
	}
	if strings.HasSuffix(q.Action, ".") {
		where, args = append(where, `substr(action, 1, ?) = ?`), append(args, len(q.Action), q.Action)
	} else if q.Action != "" {
		where, args = append(where, `action = ?`), append(args, q.Action)
	}
	if q.Actor != "" {
		where, args = append(where, `actor = ?`), append(args, q.Actor)
	}
	if q.Target != "" {
		where, args = append(where, `target = ?`), append(args, q.Target)
	}
	if q.Before != "" {
		where, args = append(where, `id < ?`), append(args, q.Before)
	}
	query := `SELECT id, at, actor, token_id, via, ip, action, target, target_id, detail FROM audit_events`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	rows, err := s.r.QueryContext(ctx, query+` ORDER BY id DESC LIMIT ?`, append(args, q.AuditLimit())...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit: %w", err)
	}
	defer rows.Close()
	list := []*picloud.AuditEvent{}
	for rows.Next() {
		var e picloud.AuditEvent
		var at int64
		var detail string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.TokenID, &e.Via, &e.IP, &e.Action, &e.Target, &e.TargetID, &detail); err != nil {
			return nil, fmt.Errorf("sqlite: audit: %w", err)
		}
		e.At.Time = fromMicros(at)
		if detail != "" {
			e.Detail = json.RawMessage(detail)
		}
		list = append(list, &e)
	}
	return list, rows.Err()
}

// PruneAudit implements picloud.AuditStore.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM audit_events WHERE at < ?`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune audit: %w", err)
	}
	return res.RowsAffected()
}
