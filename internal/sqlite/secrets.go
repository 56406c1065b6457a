package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/picloud/picloud"
)

// SetSecret implements picloud.SecretStore.
func (s *Store) SetSecret(ctx context.Context, scope, name string, sealed []byte) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO secrets (scope, name, value, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (scope, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		scope, name, sealed, micros(time.Now())); err != nil {
		return fmt.Errorf("sqlite: set secret: %w", err)
	}
	return nil
}

// SecretValue implements picloud.SecretStore.
func (s *Store) SecretValue(ctx context.Context, scope, name string) ([]byte, error) {
	var v []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM secrets WHERE scope = ? AND name = ?`, scope, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, picloud.Errorf(picloud.ENotFound, "no secret named %s", name)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: secret: %w", err)
	}
	return v, nil
}

// ListSecrets implements picloud.SecretStore.
func (s *Store) ListSecrets(ctx context.Context, scope string) ([]*picloud.Secret, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, updated_at FROM secrets WHERE scope = ? ORDER BY name`, scope)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list secrets: %w", err)
	}
	defer rows.Close()
	out := []*picloud.Secret{}
	for rows.Next() {
		var sec picloud.Secret
		var updated int64
		if err := rows.Scan(&sec.Name, &updated); err != nil {
			return nil, fmt.Errorf("sqlite: list secrets: %w", err)
		}
		sec.UpdatedAt = picloud.Time{Time: fromMicros(updated)}
		out = append(out, &sec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list secrets: %w", err)
	}
	return out, nil
}

// DeleteSecret implements picloud.SecretStore.
func (s *Store) DeleteSecret(ctx context.Context, scope, name string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM secrets WHERE scope = ? AND name = ?`, scope, name)
	if err != nil {
		return fmt.Errorf("sqlite: delete secret: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return picloud.Errorf(picloud.ENotFound, "no secret named %s", name)
	}
	return nil
}
