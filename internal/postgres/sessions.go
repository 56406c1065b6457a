package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/picloud/picloud"
)

// SetAdminTokenHash implements picloud.TokenStore: the new hash and the
// deletion of every session commit together, so no session outlives the
// token it was opened with.
func (s *Store) SetAdminTokenHash(ctx context.Context, hash string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ('admin_token_hash', $1)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, hash); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM sessions`)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: set admin token: %w", err)
	}
	return nil
}

// CreateSession implements picloud.SessionStore.
func (s *Store) CreateSession(ctx context.Context, ss *picloud.Session) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO sessions (hash, created_at, expires_at, token_id, subject, scopes) VALUES ($1, $2, $3, $4, $5, $6)`,
		ss.Hash, ss.CreatedAt.UTC(), ss.ExpiresAt.UTC(), nullString(ss.TokenID), ss.Subject, strings.Join(ss.Scopes, ",")); err != nil {
		return fmt.Errorf("postgres: create session: %w", err)
	}
	return nil
}

// SessionByHash implements picloud.SessionStore. Expiry is checked here, in
// the query (against this process's clock, as the other store does), so that
// no caller can forget it.
func (s *Store) SessionByHash(ctx context.Context, hash string) (*picloud.Session, error) {
	ss := &picloud.Session{Hash: hash}
	var tokenID *string
	var scopes string
	err := s.pool.QueryRow(ctx, `SELECT created_at, expires_at, token_id, subject, scopes FROM sessions WHERE hash = $1 AND expires_at > $2`,
		hash, time.Now().UTC()).Scan(&ss.CreatedAt, &ss.ExpiresAt, &tokenID, &ss.Subject, &scopes)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, picloud.Errorf(picloud.ENotFound, "no such session")
	} else if err != nil {
		return nil, fmt.Errorf("postgres: session: %w", err)
	}
	ss.CreatedAt, ss.ExpiresAt = ss.CreatedAt.UTC(), ss.ExpiresAt.UTC()
	if tokenID != nil {
		ss.TokenID = *tokenID
	}
	if scopes != "" {
		ss.Scopes = strings.Split(scopes, ",")
	}
	return ss, nil
}

// DeleteSession implements picloud.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("postgres: delete session: %w", err)
	}
	return nil
}

// DeleteSessions implements picloud.SessionStore.
func (s *Store) DeleteSessions(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions`); err != nil {
		return fmt.Errorf("postgres: delete sessions: %w", err)
	}
	return nil
}

// PruneSessions implements picloud.SessionStore.
func (s *Store) PruneSessions(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now.UTC())
	if err != nil {
		return 0, fmt.Errorf("postgres: prune sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}
