package picloud

import (
	"context"
	"encoding/json"
	"path"
	"strings"
	"time"
)

// The scopes a named API token may hold. Admin holds deploy, deploy holds
// read; "invoke:<name>" (or "invoke:*") lets a token only invoke scripts.
const (
	ScopeAdmin        = "admin"
	ScopeDeploy       = "deploy"
	ScopeRead         = "read"
	ScopeInvokePrefix = "invoke:"
)

// ValidateScopes checks a token's scopes: each is admin, deploy, read or
// invoke:<script name or *>; at least one; no duplicates. A violation is an
// invalid_request *Error naming the field "scopes".
func ValidateScopes(scopes []string) error {
	if len(scopes) == 0 {
		return fieldError("scopes", "a token needs at least one scope (admin, deploy, read or invoke:<script>)")
	}
	seen := make(map[string]bool, len(scopes))
	for _, s := range scopes {
		if seen[s] {
			return fieldError("scopes", "scope %q is listed twice", s)
		}
		seen[s] = true
		switch s {
		case ScopeAdmin, ScopeDeploy, ScopeRead:
			continue
		}
		if name, ok := strings.CutPrefix(s, ScopeInvokePrefix); ok && (name == "*" || ValidName(name)) {
			continue
		}
		return fieldError("scopes", "scope %q is not admin, deploy, read or invoke:<script name or *>", s)
	}
	return nil
}

// ScopesAllow reports whether scopes grant need ("read", "deploy", "admin" or
// "invoke:<name>"): admin grants everything; deploy grants read, deploy and
// every invoke:<name>; invoke:<name> grants only itself, invoke:* every
// invoke:<name>.
func ScopesAllow(scopes []string, need string) bool {
	invoke := strings.HasPrefix(need, ScopeInvokePrefix)
	for _, s := range scopes {
		switch {
		case s == ScopeAdmin:
			return true
		case s == ScopeDeploy:
			if need == ScopeDeploy || need == ScopeRead || invoke {
				return true
			}
		case s == ScopeRead:
			if need == ScopeRead {
				return true
			}
		case invoke && (s == need || s == ScopeInvokePrefix+"*"):
			return true
		}
	}
	return false
}

// ScriptPatternMatch reports whether a token's script pattern admits name:
// "" admits every name, anything else is a path.Match pattern ("orders-*").
func ScriptPatternMatch(pattern, name string) bool {
	if pattern == "" {
		return true
	}
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// ValidateScriptPattern checks a token's script pattern: "" or a well-formed
// path.Match pattern of at most 128 bytes. A violation is an invalid_request
// *Error naming the field "scripts".
func ValidateScriptPattern(pattern string) error {
	if len(pattern) > 128 {
		return fieldError("scripts", "scripts pattern is longer than 128 bytes")
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return fieldError("scripts", "scripts pattern %q is not valid: %v", pattern, err)
	}
	return nil
}

// AdminTokenID is the id the API lists the admin token under (a pseudo-row:
// name "admin", scopes [admin]); no APIToken row ever has it.
const AdminTokenID = "admin"

// APIToken is a named API token; the store keeps only Hash. ID "admin" is
// reserved for the admin token (listed by the API as a pseudo-row, name
// "admin", scopes [admin]; never in this table).
type APIToken struct {
	ID         string   `json:"id"`                // UUID
	Name       string   `json:"name"`              // unique; a slug like script names
	Prefix     string   `json:"prefix"`            // the token's first 12 characters ("pct_1a2b3c4d")
	Scopes     []string `json:"scopes"`            // see ValidateScopes
	Scripts    string   `json:"scripts,omitempty"` // a name pattern restricting the token; "" all
	CreatedAt  Time     `json:"created_at"`
	LastUsedAt *Time    `json:"last_used_at"` // null until used
	ExpiresAt  *Time    `json:"expires_at"`   // null: never
	Hash       string   `json:"-"`
}

// Expired reports whether the token has an expiry at or before now.
func (t *APIToken) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt.Time)
}

// APITokenStore keeps the named API tokens by hash.
type APITokenStore interface {
	// CreateAPIToken stores t, filling ID and CreatedAt; a taken name is an
	// ENameTaken *Error.
	CreateAPIToken(ctx context.Context, t *APIToken) error
	// APITokens lists every token by name.
	APITokens(ctx context.Context) ([]*APIToken, error)
	// APIToken returns one token or an ENotFound *Error.
	APIToken(ctx context.Context, id string) (*APIToken, error)
	// APITokenByHash returns the token with this hash or an ENotFound *Error.
	// Expired tokens are returned: the caller checks Expired.
	APITokenByHash(ctx context.Context, hash string) (*APIToken, error)
	// RotateAPIToken sets a new hash and prefix and deletes the token's
	// sessions in the same transaction. ENotFound.
	RotateAPIToken(ctx context.Context, id, hash, prefix string) (*APIToken, error)
	// DeleteAPIToken revokes: deletes the row and its sessions in the same
	// transaction. ENotFound.
	DeleteAPIToken(ctx context.Context, id string) error
	// TouchAPIToken sets last_used_at (callers do it at most once a minute
	// per token). A missing token is not an error.
	TouchAPIToken(ctx context.Context, id string, at time.Time) error
}

// MaxInvokeKeyName bounds an invoke key's optional label.
const MaxInvokeKeyName = 64

// InvokeKey lets callers invoke one script whose access is "key"
// ("pck_" + 64 hex digits; only Hash is stored). Deleting a script deletes
// its keys.
type InvokeKey struct {
	ID         string `json:"id"`
	ScriptID   string `json:"script_id"`
	Name       string `json:"name"`   // an optional label ("" allowed), at most 64 bytes
	Prefix     string `json:"prefix"` // the key's first 12 characters
	CreatedAt  Time   `json:"created_at"`
	LastUsedAt *Time  `json:"last_used_at"`
	Hash       string `json:"-"`
}

// InvokeKeyStore keeps the scripts' invoke keys by hash.
type InvokeKeyStore interface {
	// CreateInvokeKey stores k, filling ID and CreatedAt; an unknown script
	// is an ENotFound *Error.
	CreateInvokeKey(ctx context.Context, k *InvokeKey) error
	// InvokeKeys lists a script's keys by creation time.
	InvokeKeys(ctx context.Context, scriptID string) ([]*InvokeKey, error)
	// InvokeKeyByHash returns the key with this hash or an ENotFound *Error.
	InvokeKeyByHash(ctx context.Context, hash string) (*InvokeKey, error)
	// DeleteInvokeKey deletes one of the script's keys; a key that is not
	// that script's is an ENotFound *Error.
	DeleteInvokeKey(ctx context.Context, scriptID, id string) error
	// TouchInvokeKey sets last_used_at. A missing key is not an error.
	TouchInvokeKey(ctx context.Context, id string, at time.Time) error
}

// AuditEvent is one administrative action (the audit trail; not the
// execution log).
type AuditEvent struct {
	ID       string          `json:"id"`                  // UUIDv7 (filled by the store when empty)
	At       Time            `json:"at"`                  // filled when zero
	Actor    string          `json:"actor"`               // the token's name ("admin" for the admin token); "" for a failed sign-in
	TokenID  string          `json:"token_id,omitempty"`  // the named token's id
	Via      string          `json:"via"`                 // "bearer" | "session" | ""
	IP       string          `json:"ip"`                  // the client's address
	Action   string          `json:"action"`              // "script.update", "token.create", "session.failed", ...
	Target   string          `json:"target"`              // what it acted on, human-readable
	TargetID string          `json:"target_id,omitempty"` // its id where it has one
	Detail   json.RawMessage `json:"detail,omitempty"`    // a JSON object
}

// AuditQuery narrows AuditEvents.
type AuditQuery struct {
	Since, Until time.Time // zero: unbounded (Since inclusive, Until exclusive)
	Action       string    // exact, or a prefix ending in "." ("script.")
	Actor        string
	Target       string
	Before       string // an event id: only older events (the pagination cursor; ids are UUIDv7)
	Limit        int    // 1..MaxAuditLimit, DefaultAuditLimit when 0
}

// The audit query's page sizes.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 500
)

// AuditLimit returns the page size q asks for, within 1..MaxAuditLimit.
func (q AuditQuery) AuditLimit() int {
	switch {
	case q.Limit <= 0:
		return DefaultAuditLimit
	case q.Limit > MaxAuditLimit:
		return MaxAuditLimit
	}
	return q.Limit
}

// AuditStore keeps the audit trail.
type AuditStore interface {
	// RecordAudit stores e, filling ID (UUIDv7) and At when empty.
	RecordAudit(ctx context.Context, e *AuditEvent) error
	// AuditEvents returns the events q selects, newest first.
	AuditEvents(ctx context.Context, q AuditQuery) ([]*AuditEvent, error)
	// PruneAudit deletes the events older than before and returns how many.
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
}
