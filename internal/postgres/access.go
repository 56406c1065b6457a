package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// optTime is nullTime for an optional time.
func optTime(t *picloud.Time) *time.Time {
	if t == nil {
		return nil
	}
	return nullTime(t.Time)
}

func timeOrNil(t *time.Time) *picloud.Time {
	if t == nil {
		return nil
	}
	return &picloud.Time{Time: t.UTC()}
}

func isUniqueOn(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == constraint
}

const tokenCols = `id, name, prefix, hash, scopes, scripts, created_at, last_used_at, expires_at`

func scanToken(row pgx.Row) (*picloud.APIToken, error) {
	var t picloud.APIToken
	var scopes string
	var used, expires *time.Time
	if err := row.Scan(&t.ID, &t.Name, &t.Prefix, &t.Hash, &scopes, &t.Scripts, &t.CreatedAt.Time, &used, &expires); err != nil {
		return nil, err
	}
	t.Scopes = []string{}
	if scopes != "" {
		t.Scopes = strings.Split(scopes, ",")
	}
	t.CreatedAt.Time, t.LastUsedAt, t.ExpiresAt = t.CreatedAt.UTC(), timeOrNil(used), timeOrNil(expires)
	return &t, nil
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
	_, err := s.pool.Exec(ctx, `INSERT INTO api_tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.ID, t.Name, t.Prefix, t.Hash, strings.Join(t.Scopes, ","), t.Scripts, t.CreatedAt.Time,
		optTime(t.LastUsedAt), optTime(t.ExpiresAt))
	if isUniqueOn(err, "api_tokens_name_key") {
		return picloud.Errorf(picloud.ENameTaken, "a token named %q already exists", t.Name)
	} else if err != nil {
		return fmt.Errorf("postgres: create token %q: %w", t.Name, err)
	}
	return nil
}

// APITokens implements picloud.APITokenStore.
func (s *Store) APITokens(ctx context.Context) ([]*picloud.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM api_tokens ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("postgres: tokens: %w", err)
	}
	defer rows.Close()
	list := []*picloud.APIToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: tokens: %w", err)
		}
		list = append(list, t)
	}
	return list, rows.Err()
}

func (s *Store) tokenWhere(ctx context.Context, column, arg string) (*picloud.APIToken, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE `+column+` = $1`, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, picloud.Errorf(picloud.ENotFound, "no such token")
	} else if err != nil {
		return nil, fmt.Errorf("postgres: token: %w", err)
	}
	return t, nil
}

// APIToken implements picloud.APITokenStore.
func (s *Store) APIToken(ctx context.Context, id string) (*picloud.APIToken, error) {
	return s.tokenWhere(ctx, "id", id)
}

// APITokenByHash implements picloud.APITokenStore.
func (s *Store) APITokenByHash(ctx context.Context, hash string) (*picloud.APIToken, error) {
	return s.tokenWhere(ctx, "hash", hash)
}

// RotateAPIToken implements picloud.APITokenStore: the new hash and the end
// of the token's sessions commit together.
func (s *Store) RotateAPIToken(ctx context.Context, id, hash, prefix string) (*picloud.APIToken, error) {
	var out *picloud.APIToken
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		t, err := scanToken(tx.QueryRow(ctx, `UPDATE api_tokens SET hash = $1, prefix = $2 WHERE id = $3 RETURNING `+tokenCols, hash, prefix, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return picloud.Errorf(picloud.ENotFound, "no such token")
		} else if err != nil {
			return err
		}
		out = t
		_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE token_id = $1`, id)
		return err
	})
	if picloud.ErrorCode(err) == picloud.ENotFound {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("postgres: rotate token: %w", err)
	}
	return out, nil
}

// DeleteAPIToken implements picloud.APITokenStore: the row and the token's
// sessions go together.
func (s *Store) DeleteAPIToken(ctx context.Context, id string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return picloud.Errorf(picloud.ENotFound, "no such token")
		}
		_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE token_id = $1`, id)
		return err
	})
	if err != nil && picloud.ErrorCode(err) != picloud.ENotFound {
		return fmt.Errorf("postgres: delete token: %w", err)
	}
	return err
}

// TouchAPIToken implements picloud.APITokenStore.
func (s *Store) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, nullTime(at), id); err != nil {
		return fmt.Errorf("postgres: touch token: %w", err)
	}
	return nil
}

const keyCols = `id, script_id, name, prefix, hash, created_at, last_used_at`

func scanKey(row pgx.Row) (*picloud.InvokeKey, error) {
	var k picloud.InvokeKey
	var used *time.Time
	if err := row.Scan(&k.ID, &k.ScriptID, &k.Name, &k.Prefix, &k.Hash, &k.CreatedAt.Time, &used); err != nil {
		return nil, err
	}
	k.CreatedAt.Time, k.LastUsedAt = k.CreatedAt.UTC(), timeOrNil(used)
	return &k, nil
}

// CreateInvokeKey implements picloud.InvokeKeyStore.
func (s *Store) CreateInvokeKey(ctx context.Context, k *picloud.InvokeKey) error {
	if len(k.Name) > picloud.MaxInvokeKeyName {
		return picloud.Errorf(picloud.EInvalidRequest, "a key's name is at most %d bytes", picloud.MaxInvokeKeyName)
	}
	k.ID = uuid.NewString()
	k.CreatedAt.Time = time.Now().UTC().Truncate(time.Microsecond)
	_, err := s.pool.Exec(ctx, `INSERT INTO invoke_keys (`+keyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.ScriptID, k.Name, k.Prefix, k.Hash, k.CreatedAt.Time, optTime(k.LastUsedAt))
	if isForeignKey(err) {
		return notFound("script", k.ScriptID)
	} else if err != nil {
		return fmt.Errorf("postgres: create key: %w", err)
	}
	return nil
}

// InvokeKeys implements picloud.InvokeKeyStore.
func (s *Store) InvokeKeys(ctx context.Context, scriptID string) ([]*picloud.InvokeKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyCols+` FROM invoke_keys WHERE script_id = $1 ORDER BY created_at, id`, scriptID)
	if err != nil {
		return nil, fmt.Errorf("postgres: keys: %w", err)
	}
	defer rows.Close()
	list := []*picloud.InvokeKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: keys: %w", err)
		}
		list = append(list, k)
	}
	return list, rows.Err()
}

// InvokeKeyByHash implements picloud.InvokeKeyStore.
func (s *Store) InvokeKeyByHash(ctx context.Context, hash string) (*picloud.InvokeKey, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyCols+` FROM invoke_keys WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, picloud.Errorf(picloud.ENotFound, "no such key")
	} else if err != nil {
		return nil, fmt.Errorf("postgres: key: %w", err)
	}
	return k, nil
}

// DeleteInvokeKey implements picloud.InvokeKeyStore.
func (s *Store) DeleteInvokeKey(ctx context.Context, scriptID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM invoke_keys WHERE id = $1 AND script_id = $2`, id, scriptID)
	if err != nil {
		return fmt.Errorf("postgres: delete key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return picloud.Errorf(picloud.ENotFound, "no such key")
	}
	return nil
}

// TouchInvokeKey implements picloud.InvokeKeyStore.
func (s *Store) TouchInvokeKey(ctx context.Context, id string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE invoke_keys SET last_used_at = $1 WHERE id = $2`, nullTime(at), id); err != nil {
		return fmt.Errorf("postgres: touch key: %w", err)
	}
	return nil
}

// RecordAudit implements picloud.AuditStore.
func (s *Store) RecordAudit(ctx context.Context, e *picloud.AuditEvent) error {
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
		return fmt.Errorf("postgres: record audit: detail is not JSON")
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO audit_events (id, at, actor, token_id, via, ip, action, target, target_id, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULLIF($10::text, '')::jsonb)`,
		e.ID, e.At.Time, e.Actor, e.TokenID, e.Via, e.IP, e.Action, e.Target, e.TargetID, string(e.Detail)); err != nil {
		return fmt.Errorf("postgres: record audit: %w", err)
	}
	return nil
}

// AuditEvents implements picloud.AuditStore.
func (s *Store) AuditEvents(ctx context.Context, q picloud.AuditQuery) ([]*picloud.AuditEvent, error) {
	where, args := []string{}, []any{}
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if !q.Since.IsZero() {
		arg(`at >= $%d`, q.Since.UTC())
	}
	if !q.Until.IsZero() {
		arg(`at < $%d`, q.Until.UTC())
	}
	if strings.HasSuffix(q.Action, ".") {
		arg(`starts_with(action, $%d)`, q.Action)
	} else if q.Action != "" {
		arg(`action = $%d`, q.Action)
	}
	if q.Actor != "" {
		arg(`actor = $%d`, q.Actor)
	}
	if q.Target != "" {
		arg(`target = $%d`, q.Target)
	}
	if q.Before != "" {
		arg(`id COLLATE "C" < $%d`, q.Before)
	}
	query := `SELECT id, at, actor, token_id, via, ip, action, target, target_id, COALESCE(detail::text, '') FROM audit_events`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, q.AuditLimit())
	rows, err := s.pool.Query(ctx, query+fmt.Sprintf(` ORDER BY id COLLATE "C" DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit: %w", err)
	}
	defer rows.Close()
	list := []*picloud.AuditEvent{}
	for rows.Next() {
		var e picloud.AuditEvent
		var detail string
		if err := rows.Scan(&e.ID, &e.At.Time, &e.Actor, &e.TokenID, &e.Via, &e.IP, &e.Action, &e.Target, &e.TargetID, &detail); err != nil {
			return nil, fmt.Errorf("postgres: audit: %w", err)
		}
		e.At.Time = e.At.UTC()
		if detail != "" {
			e.Detail = json.RawMessage(detail)
		}
		list = append(list, &e)
	}
	return list, rows.Err()
}

// PruneAudit implements picloud.AuditStore.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM audit_events WHERE at < $1`, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("postgres: prune audit: %w", err)
	}
	return tag.RowsAffected(), nil
}
