package manager

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/picloud/picloud"
)

// The credential kinds an invocation presents (orchestrator.CredentialKey
// and CredentialToken).
const (
	InvokeKindKey   = "key"
	InvokeKindToken = "token"
)

// DefaultInvokeAuthTTL is how long InvokeAuth believes what the store said
// about a credential: a key or token revoked by another process stops
// working within it.
const DefaultInvokeAuthTTL = 5 * time.Second

// invokeTouchEvery spaces the writes of a key's or token's last use.
const invokeTouchEvery = time.Minute

// maxInvokeAuthEntries bounds the credentials InvokeAuth remembers.
const maxInvokeAuthEntries = 10_000

// InvokeAuthStore is what InvokeAuth reads (picloud.Store has it all).
type InvokeAuthStore interface {
	AdminTokenHash(ctx context.Context) (string, error)
	APITokenByHash(ctx context.Context, hash string) (*picloud.APIToken, error)
	InvokeKeyByHash(ctx context.Context, hash string) (*picloud.InvokeKey, error)
	TouchAPIToken(ctx context.Context, id string, at time.Time) error
	TouchInvokeKey(ctx context.Context, id string, at time.Time) error
}

// InvokeAuth decides whether an invocation's credential may invoke a
// script whose access is "key" or "token" (the orchestrator's Authorizer on
// `picloud serve`, through orchestrator.HashAuthorizer, and the answer of
// the manager's POST /cluster/v1/authorize for nodes). It sees hashes only,
// and remembers the store's answers for its TTL; a revocation in this
// process (invokeKeyGeneration, apiTokenGeneration, tokenGeneration) makes
// it forget them at once.
type InvokeAuth struct {
	store InvokeAuthStore
	ttl   time.Duration // <= 0: ask the store every time
	log   *slog.Logger

	mu      sync.Mutex
	entries map[string]invokeEntry // by kind and hash
	admin   invokeAdmin
	touched map[string]time.Time // when each key's or token's last use was last written
}

type invokeEntry struct {
	key     *picloud.InvokeKey // one of these, or neither: unknown
	token   *picloud.APIToken
	checked time.Time
	gen     uint64
}

// invokeAdmin is the admin token's hash as last read.
type invokeAdmin struct {
	hash    string
	checked time.Time
	gen     uint64
}

// NewInvokeAuth makes an InvokeAuth on store believing its answers for ttl
// (0: DefaultInvokeAuthTTL; negative: not at all). logger may be nil.
func NewInvokeAuth(store InvokeAuthStore, ttl time.Duration, logger *slog.Logger) *InvokeAuth {
	if ttl == 0 {
		ttl = DefaultInvokeAuthTTL
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &InvokeAuth{store: store, ttl: ttl, log: logger, entries: map[string]invokeEntry{}, touched: map[string]time.Time{}}
}

// generation is what cached answers must have been read under to be
// believed: it changes when this process revokes an invoke key, revokes or
// rotates an API token, or rotates the admin token, so that the credential
// stops working here at once.
func generation() uint64 {
	return invokeKeyGeneration.Load() + apiTokenGeneration.Load() + tokenGeneration.Load()
}

// Authorize answers whether the credential of kind (InvokeKindKey or
// InvokeKindToken) whose hash (HashToken) is hash may invoke sc: nil (and
// the key's id for a key) when it may; an unauthorized *picloud.Error with
// Details["reason"] "unknown" (never issued, or revoked) or "expired"; a
// forbidden one for a key of another script, or a token whose scopes
// (invoke:<name>, invoke:*, deploy, admin) or script pattern do not admit
// sc; unavailable when the store cannot answer. The admin token may invoke
// every script.
func (a *InvokeAuth) Authorize(ctx context.Context, sc *picloud.Script, kind, hash string) (keyID string, err error) {
	switch kind {
	case InvokeKindKey:
		e, err := a.lookup(ctx, kind, hash)
		switch {
		case err != nil:
			return "", err
		case e.key == nil:
			return "", unknownCredential("the invoke key is not known (revoked, or never issued)")
		case e.key.ScriptID != sc.ID:
			return "", picloud.Errorf(picloud.EForbidden, "this invoke key belongs to another script, not %q", sc.Name)
		}
		a.touch(InvokeKindKey, e.key.ID)
		return e.key.ID, nil
	case InvokeKindToken:
		admin, err := a.isAdmin(ctx, hash)
		if err != nil {
			return "", err
		}
		if admin {
			return "", nil
		}
		e, err := a.lookup(ctx, kind, hash)
		if err != nil {
			return "", err
		}
		t := e.token
		switch {
		case t == nil:
			return "", unknownCredential("the token is not known (revoked, rotated, or never issued)")
		case t.Expired(time.Now()):
			return "", &picloud.Error{Code: picloud.EUnauthorized,
				Message: "the token " + t.Name + " expired at " + t.ExpiresAt.UTC().Format(time.RFC3339),
				Details: map[string]any{"reason": "expired"}}
		case !picloud.ScopesAllow(t.Scopes, picloud.ScopeInvokePrefix+sc.Name):
			return "", picloud.Errorf(picloud.EForbidden, "this token's scopes (%s) do not include invoke:%s",
				strings.Join(t.Scopes, ", "), sc.Name)
		case !picloud.ScriptPatternMatch(t.Scripts, sc.Name):
			return "", picloud.Errorf(picloud.EForbidden, "this token is restricted to scripts matching %q", t.Scripts)
		}
		a.touch(InvokeKindToken, t.ID)
		return "", nil
	}
	return "", picloud.Errorf(picloud.EInvalidRequest, "credential kind %q is not %s or %s", kind, InvokeKindKey, InvokeKindToken)
}

func unknownCredential(msg string) error {
	return &picloud.Error{Code: picloud.EUnauthorized, Message: msg, Details: map[string]any{"reason": "unknown"}}
}

func (a *InvokeAuth) fresh(checked time.Time, gen uint64, now time.Time) bool {
	return a.ttl > 0 && gen == generation() && now.Sub(checked) < a.ttl
}

// isAdmin reports whether hash is the admin token's. While the store cannot
// be read, the hash last read is used.
func (a *InvokeAuth) isAdmin(ctx context.Context, hash string) (bool, error) {
	now := time.Now()
	a.mu.Lock()
	cached := a.admin
	a.mu.Unlock()
	if cached.hash != "" && a.fresh(cached.checked, cached.gen, now) {
		return constantTimeEqual(hash, cached.hash), nil
	}
	gen := generation()
	h, err := a.store.AdminTokenHash(ctx)
	if err != nil {
		if cached.hash != "" && cached.gen == gen {
			return constantTimeEqual(hash, cached.hash), nil
		}
		return false, a.unavailable(err)
	}
	a.mu.Lock()
	a.admin = invokeAdmin{hash: h, checked: now, gen: gen}
	a.mu.Unlock()
	return h != "" && constantTimeEqual(hash, h), nil
}

// lookup is what the store says about the credential, believed for the TTL.
func (a *InvokeAuth) lookup(ctx context.Context, kind, hash string) (invokeEntry, error) {
	now, id := time.Now(), kind+" "+hash
	a.mu.Lock()
	e, ok := a.entries[id]
	a.mu.Unlock()
	if ok && a.fresh(e.checked, e.gen, now) {
		return e, nil
	}
	e = invokeEntry{checked: now, gen: generation()}
	var err error
	if kind == InvokeKindKey {
		e.key, err = a.store.InvokeKeyByHash(ctx, hash)
	} else {
		e.token, err = a.store.APITokenByHash(ctx, hash)
	}
	if err != nil && picloud.ErrorCode(err) != picloud.ENotFound {
		return invokeEntry{}, a.unavailable(err)
	}
	if a.ttl > 0 {
		a.mu.Lock()
		if len(a.entries) >= maxInvokeAuthEntries {
			a.sweep(now)
		}
		a.entries[id] = e
		a.mu.Unlock()
	}
	return e, nil
}

// sweep forgets the stale entries, and every entry when that is not enough
// (a flood of made-up credentials costs store reads, not memory).
func (a *InvokeAuth) sweep(now time.Time) {
	for k, e := range a.entries {
		if !a.fresh(e.checked, e.gen, now) {
			delete(a.entries, k)
		}
	}
	if len(a.entries) >= maxInvokeAuthEntries {
		clear(a.entries)
	}
}

func (a *InvokeAuth) unavailable(err error) error {
	if picloud.ErrorCode(err) == picloud.EUnavailable {
		return err
	}
	a.log.Warn("manager: invoke credentials cannot be checked", "err", err)
	return picloud.Errorf(picloud.EUnavailable, "invoke credentials cannot be checked now; try again later")
}

// touch writes a key's or token's last use, at most once a minute each, in
// the background: the invocation does not wait for it.
func (a *InvokeAuth) touch(kind, id string) {
	now := time.Now()
	a.mu.Lock()
	if last, ok := a.touched[kind+id]; ok && now.Sub(last) < invokeTouchEvery {
		a.mu.Unlock()
		return
	}
	if len(a.touched) >= maxInvokeAuthEntries {
		clear(a.touched)
	}
	a.touched[kind+id] = now
	a.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		if kind == InvokeKindKey {
			err = a.store.TouchInvokeKey(ctx, id, now)
		} else {
			err = a.store.TouchAPIToken(ctx, id, now)
		}
		if err != nil {
			a.log.Debug("manager: last use not written", "kind", kind, "id", id, "err", err)
		}
	}()
}
