package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/picloud/picloud"
)

// SetAdminTokenHash implements picloud.TokenStore: the new hash and the
// deletion of every session commit together, so no session outlives the
// token it was opened with.
func (s *Store) SetAdminTokenHash(ctx context.Context, hash string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('admin_token_hash', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, hash); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions`)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: set admin token: %w", err)
	}
	return nil
}

// CreateSession implements picloud.SessionStore.
func (s *Store) CreateSession(ctx context.Context, ss *picloud.Session) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO sessions (hash, created_at, expires_at, token_id, subject, scopes) VALUES (?, ?, ?, ?, ?, ?)`,
		ss.Hash, micros(ss.CreatedAt), micros(ss.ExpiresAt), nullString(ss.TokenID), ss.Subject, strings.Join(ss.Scopes, ",")); err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// SessionByHash implements picloud.SessionStore. Expiry is checked here, in
// the query, so that no caller can forget it.
func (s *Store) SessionByHash(ctx context.Context, hash string) (*picloud.Session, error) {
	var created, expires int64
	var tokenID sql.NullString
	var subject, scopes string
	err := s.r.QueryRowContext(ctx, `SELECT created_at, expires_at, token_id, subject, scopes FROM sessions WHERE hash = ? AND expires_at > ?`,
		hash, micros(time.Now())).Scan(&created, &expires, &tokenID, &subject, &scopes)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, picloud.Errorf(picloud.ENotFound, "no such session")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: session: %w", err)
	}
	ss := &picloud.Session{Hash: hash, CreatedAt: fromMicros(created), ExpiresAt: fromMicros(expires), TokenID: tokenID.String, Subject: subject}
	if scopes != "" {
		ss.Scopes = strings.Split(scopes, ",")
	}
	return ss, nil
}

// DeleteSession implements picloud.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("sqlite: delete session: %w", err)
	}
	return nil
}

// DeleteSessions implements picloud.SessionStore.
func (s *Store) DeleteSessions(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions`); err != nil {
		return fmt.Errorf("sqlite: delete sessions: %w", err)
	}
	return nil
}

// PruneSessions implements picloud.SessionStore.
func (s *Store) PruneSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, micros(now))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune sessions: %w", err)
	}
	return res.RowsAffected()
}
