package picloud

import (
	"context"
	"errors"
	"time"
)

// SealedSecret is one stored secret as picloud export moves it: still sealed
// (the stores never see a plaintext), with its scope (GlobalScope or
// ScriptScope(id)) and time.
type SealedSecret struct {
	Scope     string
	Name      string
	Sealed    []byte
	UpdatedAt time.Time
}

// Exporter reads what the other store interfaces do not list in full, for
// `picloud export`: each method streams every row, in a stable order, to fn
// (which may stop it with an error). Scripts, versions, schedules and the
// admin token's hash come from ScriptStore, ScheduleStore and TokenStore.
type Exporter interface {
	// ExportKV streams every kv row of every namespace by (ns, key), expired
	// rows included (their expiry goes with them).
	ExportKV(ctx context.Context, fn func(ns string, e *KVEntry) error) error
	// ExportSecrets streams every secret of every scope by (scope, name).
	ExportSecrets(ctx context.Context, fn func(*SealedSecret) error) error
	// ExportExecutions streams every execution log by (started_at, id).
	ExportExecutions(ctx context.Context, fn func(*ExecutionLog) error) error
}

// ErrNotEmpty is what Importer.Import answers for a store that already
// holds scripts, schedules, kv keys, secrets, execution logs or API tokens.
var ErrNotEmpty = errors.New("the store is not empty")

// Importer loads an archive into an empty store (`picloud import`).
type Importer interface {
	// Import runs fn in one transaction: everything fn wrote is committed
	// when it returns nil, nothing when it returns an error. It first checks,
	// in that transaction, that the store holds no script, schedule, kv key,
	// secret, execution log or API token, and answers an error wrapping ErrNotEmpty
	// otherwise (an admin token hash alone does not count: a server started
	// once has one, and the archive's replaces it).
	Import(ctx context.Context, fn func(ImportTx) error) error
}

// ImportTx writes objects as they are, keeping their ids, version numbers and
// times (the Create methods would make new ones). Scripts come before their
// versions and schedules.
type ImportTx interface {
	// ImportScript stores sc's row as is (its versions follow separately).
	ImportScript(ctx context.Context, sc *Script) error
	ImportVersion(ctx context.Context, v *Version) error
	ImportSchedule(ctx context.Context, s *Schedule) error
	ImportKV(ctx context.Context, ns string, e *KVEntry) error
	ImportSecret(ctx context.Context, s *SealedSecret) error
	ImportExecutions(ctx context.Context, logs []*ExecutionLog) error
	// ImportAdminTokenHash replaces the admin token's hash and deletes every
	// session.
	ImportAdminTokenHash(ctx context.Context, hash string) error
	// ImportAPIToken and ImportInvokeKey store a named token or an invoke
	// key as it is, hash included (keys after their script).
	ImportAPIToken(ctx context.Context, t *APIToken) error
	ImportInvokeKey(ctx context.Context, k *InvokeKey) error
}
