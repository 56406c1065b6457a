package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/picloud/picloud"
)

// SetSecret implements picloud.SecretStore.
func (s *Store) SetSecret(ctx context.Context, scope, name string, sealed []byte) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO secrets (scope, name, value, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (scope, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		scope, name, sealed, time.Now().UTC()); err != nil {
		return fmt.Errorf("postgres: set secret: %w", err)
	}
	return nil
}

// SecretValue implements picloud.SecretStore.
func (s *Store) SecretValue(ctx context.Context, scope, name string) ([]byte, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE scope = $1 AND name = $2`, scope, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, picloud.Errorf(picloud.ENotFound, "no secret named %s", name)
	} else if err != nil {
		return nil, fmt.Errorf("postgres: secret: %w", err)
	}
	return v, nil
}

// ListSecrets implements picloud.SecretStore.
func (s *Store) ListSecrets(ctx context.Context, scope string) ([]*picloud.Secret, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, updated_at FROM secrets WHERE scope = $1 ORDER BY name`, scope)
	if err != nil {
		return nil, fmt.Errorf("postgres: list secrets: %w", err)
	}
	defer rows.Close()
	out := []*picloud.Secret{}
	for rows.Next() {
		var sec picloud.Secret
		var updated time.Time
		if err := rows.Scan(&sec.Name, &updated); err != nil {
			return nil, fmt.Errorf("postgres: list secrets: %w", err)
		}
		sec.UpdatedAt = picloud.Time{Time: updated.UTC()}
		out = append(out, &sec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list secrets: %w", err)
	}
	return out, nil
}

// DeleteSecret implements picloud.SecretStore.
func (s *Store) DeleteSecret(ctx context.Context, scope, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM secrets WHERE scope = $1 AND name = $2`, scope, name)
	if err != nil {
		return fmt.Errorf("postgres: delete secret: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return picloud.Errorf(picloud.ENotFound, "no secret named %s", name)
	}
	return nil
}
