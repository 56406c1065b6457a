package picloud

import "context"

// Script is a stored Rhai script. Source is the current version's source.
// Zero limits mean the server's defaults (MaxConcurrency 0: only the server-wide
// gate applies).
type Script struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Source         string `json:"source"`
	Version        int    `json:"version"`
	TimeoutMS      int64  `json:"timeout_ms"`
	MaxOperations  int64  `json:"max_operations"`
	MaxConcurrency int    `json:"max_concurrency"`
	CreatedAt      Time   `json:"created_at"`
	UpdatedAt      Time   `json:"updated_at"`
}

// Version is one append-only version of a script's source.
type Version struct {
	ScriptID  string `json:"script_id"`
	Version   int    `json:"version"`
	Source    string `json:"source"`
	CreatedAt Time   `json:"created_at"`
}

// ScriptUpdate is a partial update: nil fields are left alone. A Source that
// differs from the current one makes a new version; NewVersion forces one
// (rollback to the current source still appends a version).
type ScriptUpdate struct {
	Name           *string `json:"name"`
	Source         *string `json:"source"`
	TimeoutMS      *int64  `json:"timeout_ms"`
	MaxOperations  *int64  `json:"max_operations"`
	MaxConcurrency *int    `json:"max_concurrency"`
	NewVersion     bool    `json:"-"`
}

// Apply changes sc as the update says and reports whether that makes a new
// version (a changed source, or NewVersion for a rollback). Both stores use it,
// so the rule lives in one place.
func (u ScriptUpdate) Apply(sc *Script) (newVersion bool) {
	if u.Name != nil {
		sc.Name = *u.Name
	}
	if u.TimeoutMS != nil {
		sc.TimeoutMS = *u.TimeoutMS
	}
	if u.MaxOperations != nil {
		sc.MaxOperations = *u.MaxOperations
	}
	if u.MaxConcurrency != nil {
		sc.MaxConcurrency = *u.MaxConcurrency
	}
	if (u.Source != nil && *u.Source != sc.Source) || u.NewVersion {
		if u.Source != nil {
			sc.Source = *u.Source
		}
		sc.Version++
		return true
	}
	return false
}

// ScriptFilter narrows ListScripts. The zero value lists every script by name.
type ScriptFilter struct {
	Name string // exact name, "" for all
}

// ScriptStore keeps scripts and their versions. Methods return an *Error with
// ENotFound or ENameTaken where those apply.
type ScriptStore interface {
	// CreateScript stores s as version 1, filling ID, Version and the times.
	CreateScript(ctx context.Context, s *Script) error
	Script(ctx context.Context, id string) (*Script, error)
	ScriptByName(ctx context.Context, name string) (*Script, error)
	ListScripts(ctx context.Context, f ScriptFilter) ([]*Script, error)
	UpdateScript(ctx context.Context, id string, u ScriptUpdate) (*Script, error)
	// DeleteScript removes the script, its versions and its execution logs.
	DeleteScript(ctx context.Context, id string) error
	Versions(ctx context.Context, scriptID string) ([]*Version, error)
	ScriptVersion(ctx context.Context, scriptID string, version int) (*Version, error)
}

// TokenStore keeps the admin token's hash (never the token).
type TokenStore interface {
	// AdminTokenHash returns "" when no token was set yet.
	AdminTokenHash(ctx context.Context) (string, error)
	SetAdminTokenHash(ctx context.Context, hash string) error
}

// Store is everything the all-in-one server needs from its database.
type Store interface {
	ScriptStore
	ExecutionStore
	TokenStore
	// Kind names the database for /api/health: "sqlite" or "postgres".
	Kind() string
	Ping(ctx context.Context) error
	Close() error
}
