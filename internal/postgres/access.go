package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/picloud/picloud"
)

// errAccessTODO is returned until migration 010 lands (Step 12, in progress).
var errAccessTODO = errors.New("postgres: not implemented yet")

func (s *Store) CreateAPIToken(ctx context.Context, t *picloud.APIToken) error { return errAccessTODO }
func (s *Store) APITokens(ctx context.Context) ([]*picloud.APIToken, error) {
	return nil, errAccessTODO
}
func (s *Store) APIToken(ctx context.Context, id string) (*picloud.APIToken, error) {
	return nil, picloud.Errorf(picloud.ENotFound, "no such token")
}
func (s *Store) APITokenByHash(ctx context.Context, hash string) (*picloud.APIToken, error) {
	return nil, picloud.Errorf(picloud.ENotFound, "no such token")
}
func (s *Store) RotateAPIToken(ctx context.Context, id, hash, prefix string) (*picloud.APIToken, error) {
	return nil, errAccessTODO
}
func (s *Store) DeleteAPIToken(ctx context.Context, id string) error              { return errAccessTODO }
func (s *Store) TouchAPIToken(ctx context.Context, id string, at time.Time) error { return nil }
func (s *Store) CreateInvokeKey(ctx context.Context, k *picloud.InvokeKey) error {
	return errAccessTODO
}
func (s *Store) InvokeKeys(ctx context.Context, scriptID string) ([]*picloud.InvokeKey, error) {
	return nil, errAccessTODO
}
func (s *Store) InvokeKeyByHash(ctx context.Context, hash string) (*picloud.InvokeKey, error) {
	return nil, picloud.Errorf(picloud.ENotFound, "no such key")
}
func (s *Store) DeleteInvokeKey(ctx context.Context, scriptID, id string) error    { return errAccessTODO }
func (s *Store) TouchInvokeKey(ctx context.Context, id string, at time.Time) error { return nil }
func (s *Store) RecordAudit(ctx context.Context, e *picloud.AuditEvent) error      { return errAccessTODO }
func (s *Store) AuditEvents(ctx context.Context, q picloud.AuditQuery) ([]*picloud.AuditEvent, error) {
	return nil, errAccessTODO
}
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int64, error) { return 0, nil }
