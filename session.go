package picloud

import (
	"context"
	"time"
)

// MaxSessionLifetime is the longest a dashboard session may live: the store
// refuses nothing longer, and the manager issues sessions of this length.
const MaxSessionLifetime = 12 * time.Hour

// Session is a dashboard sign-in. The browser holds a random id (`pcs_...`);
// the store keeps only its hash, so that nothing a backup or a database reader
// sees can be turned back into a cookie.
type Session struct {
	Hash      string // the id's hash ("sha256:<hex>"), never the id
	CreatedAt time.Time
	ExpiresAt time.Time
	// TokenID is the named API token the session was opened with; "" for the
	// admin token. Revoking or rotating that token deletes the session.
	TokenID string
	// Subject and Scopes are a single sign-on (OIDC) session's: who the
	// identity provider signed in (the email, else its subject) and the
	// scopes the operator's grants gave them. A session with Scopes acts
	// with exactly those (TokenID is then ""); nil for a token's session.
	Subject string
	Scopes  []string
}

// SessionStore keeps the dashboard's sessions by hash. Rotating the admin token
// (TokenStore.SetAdminTokenHash) deletes them all in the same transaction.
type SessionStore interface {
	// CreateSession stores s; an existing hash is an error.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByHash returns the session with this hash, or an ENotFound *Error
	// when there is none or it has expired.
	SessionByHash(ctx context.Context, hash string) (*Session, error)
	// DeleteSession deletes one session; deleting a missing one is not an error.
	DeleteSession(ctx context.Context, hash string) error
	// DeleteSessions deletes every session (everyone is signed out).
	DeleteSessions(ctx context.Context) error
	// PruneSessions deletes the sessions that expired before now and returns
	// how many.
	PruneSessions(ctx context.Context, now time.Time) (int64, error)
}
