package manager

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// AuthConfig configures admin authentication. The zero value works: every
// field takes the default named beside it.
type AuthConfig struct {
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// (--trusted-proxies); the failure limit is per client.
	TrustedProxies httpapi.TrustedProxies
	// OnFailure is called once for each refused authentication with its
	// reason (Reason...), for metrics.
	OnFailure func(reason string)

	// MaxFailures failed authentications are allowed to one client within
	// FailureWindow (10 a minute); beyond them its credentials are refused
	// unchecked with 429 rate_limited until its budget refills (a token
	// bucket refilling MaxFailures per window). The same window spaces the
	// log lines about one client.
	MaxFailures   int
	FailureWindow time.Duration
	// MaxClients bounds the clients whose failures are remembered (10,000),
	// so that an attacker with many addresses cannot grow memory.
	MaxClients int

	// MaxSignIns sessions may be opened with one token (or by one single
	// sign-on user) within SignInWindow (10 a minute); beyond them a
	// sign-in is refused with 429 rate_limited until its budget refills (a
	// token bucket refilling MaxSignIns per window). MaxSignInKeys bounds
	// the tokens and users remembered (10,000).
	MaxSignIns    int
	SignInWindow  time.Duration
	MaxSignInKeys int

	// TokenRefresh is how long the admin token's hash is used from memory
	// before it is read again (5 s): a token rotated by another process
	// takes effect here within it. While the store is down the last hash
	// read keeps working.
	TokenRefresh time.Duration
	// SessionRefresh is how long a validated session is believed without
	// asking the store (5 s). A session signed out or a token rotated in
	// this process stops working at once whatever it is.
	SessionRefresh time.Duration
	// SessionLifetime is how long a session lasts (picloud.MaxSessionLifetime,
	// which is also its ceiling).
	SessionLifetime time.Duration
}

// maxCachedSessions bounds the sessions kept in memory; only the admin can
// open sessions, so this is far above any real use.
const maxCachedSessions = 4096

// tokenGeneration changes whenever this process stores a new admin token
// hash: every manager then drops its cached hash and sessions before the next
// request.
var tokenGeneration atomic.Uint64

// apiTokenGeneration changes whenever this process revokes or rotates a named
// API token: every manager then asks the store again about the named tokens
// and their sessions it holds in memory, instead of believing them for up to
// TokenRefresh / SessionRefresh.
var apiTokenGeneration atomic.Uint64

// maxCachedTokens bounds the named API tokens kept in memory.
const maxCachedTokens = 4096

// touchEvery spaces the writes of a named token's last use.
const touchEvery = time.Minute

// authState is what authentication keeps in memory so that the admin API does
// not read the database on every request, and keeps working from it through a
// store outage.
type authState struct {
	store   picloud.Store
	cfg     AuthConfig
	log     *slog.Logger
	limiter *failureLimiter
	signIns *signInLimiter

	mu          sync.Mutex
	hash        string // the admin token's hash, "" before the first read
	hashGen     uint64 // tokenGeneration when hash was read
	hashNext    time.Time
	refreshing  bool
	sessions    map[string]cachedSession // by hash
	closed      uint64                   // counts sign-outs, so a lookup racing one caches nothing
	lastStoreLg time.Time                // the last log line about a store error

	tokens  map[string]cachedToken // named API tokens by id
	byHash  map[string]string      // their ids by hash
	touched map[string]time.Time   // when each token's last use was last written
}

type cachedSession struct {
	expires time.Time // the session's own expiry
	checked time.Time // when the store last confirmed it
	gen     uint64
	tokenID string // the named token it was opened with; "" for the admin token
	apiGen  uint64 // apiTokenGeneration when checked
	// subject and scopes are a single sign-on session's (scopes nil for a
	// token's session).
	subject string
	scopes  []string
}

// sessionInfo is what a valid session says about who it acts as.
type sessionInfo struct {
	tokenID string   // the named token; "" for the admin token or single sign-on
	subject string   // single sign-on: who signed in
	scopes  []string // single sign-on: the granted scopes; nil for a token's session
}

type cachedToken struct {
	t       *picloud.APIToken
	checked time.Time // when the store last returned it
	apiGen  uint64    // apiTokenGeneration then
}

func newAuthState(store picloud.Store, cfg AuthConfig, log *slog.Logger) *authState {
	cfg.MaxFailures = cmp.Or(max(cfg.MaxFailures, 0), 10)
	cfg.FailureWindow = cmp.Or(max(cfg.FailureWindow, 0), time.Minute)
	cfg.MaxClients = cmp.Or(max(cfg.MaxClients, 0), 10_000)
	cfg.MaxSignIns = cmp.Or(max(cfg.MaxSignIns, 0), 10)
	cfg.SignInWindow = cmp.Or(max(cfg.SignInWindow, 0), time.Minute)
	cfg.MaxSignInKeys = cmp.Or(max(cfg.MaxSignInKeys, 0), 10_000)
	cfg.TokenRefresh = cmp.Or(max(cfg.TokenRefresh, 0), 5*time.Second)
	cfg.SessionRefresh = cmp.Or(max(cfg.SessionRefresh, 0), 5*time.Second)
	cfg.SessionLifetime = min(cmp.Or(max(cfg.SessionLifetime, 0), picloud.MaxSessionLifetime), picloud.MaxSessionLifetime)
	a := &authState{store: store, cfg: cfg, log: log, sessions: map[string]cachedSession{},
		tokens: map[string]cachedToken{}, byHash: map[string]string{}, touched: map[string]time.Time{},
		limiter: newFailureLimiter(cfg.MaxFailures, cfg.FailureWindow, cfg.MaxClients),
		signIns: newSignInLimiter(cfg.MaxSignIns, cfg.SignInWindow, cfg.MaxSignInKeys)}
	if store != nil {
		// Read the hash now, in the background: a database outage before
		// the first admin request must not leave the token unusable.
		a.refreshing = true
		go a.refreshToken(tokenGeneration.Load())
	}
	return a
}

// client is the address r's failures are counted against.
func (a *authState) client(r *http.Request) netip.Addr {
	return httpapi.ClientAddr(r, a.cfg.TrustedProxies)
}

func (a *authState) count(reason string) {
	if a.cfg.OnFailure != nil {
		a.cfg.OnFailure(reason)
	}
}

// admit reserves one of client's failures before its credentials are
// checked; it answers 429 rate_limited with Retry-After, and returns false,
// when client has used them up. After an admitted check, call failed (the
// reservation is spent) or succeeded (it is given back).
func (a *authState) admit(w http.ResponseWriter, r *http.Request, client netip.Addr) bool {
	wait := a.limiter.reserve(client, time.Now())
	if wait <= 0 {
		return true
	}
	a.count(ReasonRateLimited)
	secs := retryAfter(wait)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	httpapi.WriteError(w, r, a.log, &picloud.Error{Code: picloud.ERateLimited,
		Message: "too many failed authentications from this address; retry in " + strconv.Itoa(secs) + " s",
		Details: map[string]any{"retry_after_s": secs}})
	return false
}

// succeeded gives back the failure admit reserved: the credentials were
// right, or could not be checked (the store is down).
func (a *authState) succeeded(client netip.Addr) { a.limiter.refund(client, time.Now()) }

// failed counts a refused authentication against client (spending what
// admit reserved), and logs it unless this client was logged within the
// window.
func (a *authState) failed(r *http.Request, client netip.Addr, reason string) {
	a.count(reason)
	if log, suppressed := a.limiter.fail(client, time.Now()); log {
		a.log.Warn("authentication failed", "client", client.String(), "reason", reason,
			"method", r.Method, "path", r.URL.Path, "suppressed", suppressed)
	}
}

// storeError turns a store failure during authentication into 503
// unavailable, logging it at most every 10 s.
func (a *authState) storeError(err error) error {
	a.mu.Lock()
	now := time.Now()
	logIt := now.Sub(a.lastStoreLg) >= 10*time.Second
	if logIt {
		a.lastStoreLg = now
	}
	a.mu.Unlock()
	if logIt {
		a.log.Warn("auth: the store is unreachable", "err", err)
	}
	return picloud.Errorf(picloud.EUnavailable, "the database is unreachable; try again shortly")
}

// tokenHash returns the admin token's hash from memory. A hash older than
// TokenRefresh is still used while one request reads it again in the
// background (so a slow or dead store delays nobody); only the first read,
// and the first after this process changed the token, wait for the store.
func (a *authState) tokenHash(ctx context.Context) (string, error) {
	gen := tokenGeneration.Load()
	a.mu.Lock()
	if a.hash != "" && a.hashGen == gen {
		h := a.hash
		if time.Now().After(a.hashNext) && !a.refreshing {
			a.refreshing = true
			go a.refreshToken(gen)
		}
		a.mu.Unlock()
		return h, nil
	}
	a.mu.Unlock()
	h, err := a.store.AdminTokenHash(ctx)
	if err != nil {
		return "", a.storeError(err)
	}
	a.setHash(h, gen)
	return h, nil
}

func (a *authState) refreshToken(gen uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := a.store.AdminTokenHash(ctx)
	a.mu.Lock()
	a.refreshing = false
	a.mu.Unlock()
	if err != nil {
		a.storeError(err)
		a.mu.Lock()
		a.hashNext = time.Now().Add(a.cfg.TokenRefresh) // keep the last hash; try again later
		a.mu.Unlock()
		return
	}
	a.setHash(h, gen)
}

// setHash stores a hash read when tokenGeneration was gen. A changed hash
// (another process rotated the token) drops every cached session.
func (a *authState) setHash(h string, gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hash != "" && a.hash != h {
		clear(a.sessions)
	}
	a.hash, a.hashGen, a.hashNext = h, gen, time.Now().Add(a.cfg.TokenRefresh)
}

// tokenMatches reports whether token is the admin token.
func (a *authState) tokenMatches(ctx context.Context, token string) (bool, error) {
	h, err := a.tokenHash(ctx)
	if err != nil {
		return false, err
	}
	return h != "" && token != "" && constantTimeEqual(HashToken(token), h), nil
}

// sessionValid reports whether the session with this hash exists and has not
// expired, and which named token it was opened with ("" for the admin
// token). A session the store confirmed within SessionRefresh is believed
// from memory; one it confirmed earlier is still believed while the store
// cannot answer, until the session's own expiry. A session of a named token
// is asked about again as soon as this process revoked or rotated any named
// token, and is not believed through an outage then.
func (a *authState) sessionValid(ctx context.Context, hash string) (sessionInfo, bool, error) {
	now, gen, apiGen := time.Now(), tokenGeneration.Load(), apiTokenGeneration.Load()
	a.mu.Lock()
	c, ok := a.sessions[hash]
	closed := a.closed
	a.mu.Unlock()
	ok = ok && c.gen == gen && now.Before(c.expires) && (c.tokenID == "" || c.apiGen == apiGen)
	cached := sessionInfo{tokenID: c.tokenID, subject: c.subject, scopes: c.scopes}
	if ok && now.Sub(c.checked) < a.cfg.SessionRefresh {
		return cached, true, nil
	}
	s, err := a.store.SessionByHash(ctx, hash)
	if picloud.ErrorCode(err) == picloud.ENotFound {
		a.forget(hash)
		return sessionInfo{}, false, nil
	} else if err != nil {
		if ok {
			return cached, true, nil
		}
		return sessionInfo{}, false, a.storeError(err)
	}
	a.remember(s, gen, apiGen, closed)
	return sessionInfo{tokenID: s.TokenID, subject: s.Subject, scopes: s.Scopes}, now.Before(s.ExpiresAt), nil
}

// remember caches s, read when tokenGeneration was gen, apiTokenGeneration
// apiGen and a.closed was closed, unless the token changed or a session was
// closed meanwhile.
func (a *authState) remember(s *picloud.Session, gen, apiGen, closed uint64) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if gen != tokenGeneration.Load() || apiGen != apiTokenGeneration.Load() || closed != a.closed {
		return
	}
	if len(a.sessions) >= maxCachedSessions {
		for h, c := range a.sessions {
			if !now.Before(c.expires) || c.gen != gen || now.Sub(c.checked) >= a.cfg.SessionRefresh {
				delete(a.sessions, h)
			}
		}
		for h := range a.sessions { // still full: forget any; the store has them
			if len(a.sessions) < maxCachedSessions {
				break
			}
			delete(a.sessions, h)
		}
	}
	a.sessions[s.Hash] = cachedSession{expires: s.ExpiresAt, checked: now, gen: gen, tokenID: s.TokenID, apiGen: apiGen,
		subject: s.Subject, scopes: s.Scopes}
}

// openSession stores a new session, and deletes expired ones while at it (so
// the table cannot grow without a background job).
func (a *authState) openSession(ctx context.Context, s *picloud.Session) error {
	gen, apiGen := tokenGeneration.Load(), apiTokenGeneration.Load()
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if err := a.store.CreateSession(ctx, s); err != nil {
		return a.storeError(err)
	}
	if _, err := a.store.PruneSessions(ctx, time.Now()); err != nil {
		a.log.Warn("auth: pruning expired sessions failed", "err", err)
	}
	a.remember(s, gen, apiGen, closed)
	return nil
}

// closeSession deletes a session from the store and from memory.
func (a *authState) closeSession(ctx context.Context, hash string) error {
	a.forget(hash) // first: even if the store fails, this process stops believing it
	err := a.store.DeleteSession(ctx, hash)
	a.forget(hash) // a lookup that read the store before the delete caches nothing now
	if err != nil {
		return a.storeError(err)
	}
	return nil
}

// forget drops a session from memory and makes lookups in flight cache
// nothing.
func (a *authState) forget(hash string) {
	a.mu.Lock()
	delete(a.sessions, hash)
	a.closed++
	a.mu.Unlock()
}

// apiTokenByHash returns the named API token with this hash, or nil when
// there is none. A token the store returned within TokenRefresh is believed
// from memory (so a token revoked by another process stops working there
// within it); an older one is still believed while the store cannot answer,
// unless this process revoked or rotated a named token since.
func (a *authState) apiTokenByHash(ctx context.Context, hash string) (*picloud.APIToken, error) {
	a.mu.Lock()
	c, ok := a.tokens[a.byHash[hash]]
	a.mu.Unlock()
	ok = ok && c.t.Hash == hash
	return a.apiToken(ctx, c, ok, func() (*picloud.APIToken, error) { return a.store.APITokenByHash(ctx, hash) })
}

// apiTokenByID is apiTokenByHash for a session's token, by its id.
func (a *authState) apiTokenByID(ctx context.Context, id string) (*picloud.APIToken, error) {
	a.mu.Lock()
	c, ok := a.tokens[id]
	a.mu.Unlock()
	return a.apiToken(ctx, c, ok, func() (*picloud.APIToken, error) { return a.store.APIToken(ctx, id) })
}

func (a *authState) apiToken(ctx context.Context, c cachedToken, ok bool, read func() (*picloud.APIToken, error)) (*picloud.APIToken, error) {
	now, apiGen := time.Now(), apiTokenGeneration.Load()
	ok = ok && c.apiGen == apiGen
	if ok && now.Sub(c.checked) < a.cfg.TokenRefresh {
		return c.t, nil
	}
	t, err := read()
	if picloud.ErrorCode(err) == picloud.ENotFound {
		if ok {
			a.forgetToken(c.t.ID, false)
		}
		return nil, nil
	} else if err != nil {
		if ok {
			return c.t, nil
		}
		return nil, a.storeError(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if apiGen != apiTokenGeneration.Load() {
		return t, nil // a token changed while we read: use the answer, cache nothing
	}
	if len(a.tokens) >= maxCachedTokens {
		clear(a.tokens)
		clear(a.byHash)
	}
	if old, had := a.tokens[t.ID]; had {
		delete(a.byHash, old.t.Hash)
	}
	a.tokens[t.ID] = cachedToken{t: t, checked: now, apiGen: apiGen}
	a.byHash[t.Hash] = t.ID
	return t, nil
}

// touch records a named token's use, at most once every touchEvery, in the
// background: a slow store delays no request.
func (a *authState) touch(id string) {
	now := time.Now()
	a.mu.Lock()
	if now.Sub(a.touched[id]) < touchEvery {
		a.mu.Unlock()
		return
	}
	if len(a.touched) >= maxCachedTokens {
		clear(a.touched)
	}
	a.touched[id] = now
	a.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.store.TouchAPIToken(ctx, id, now.UTC()); err != nil {
			a.log.Warn("auth: recording a token's last use failed", "token_id", id, "err", err)
		}
	}()
}

// forgetToken drops a named token, and with sessions also every session
// opened with it, from memory; with sessions it also tells every manager in
// this process to ask the store again about every named token and its
// sessions (the token was revoked or rotated here).
func (a *authState) forgetToken(id string, sessions bool) {
	if sessions {
		apiTokenGeneration.Add(1)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.tokens[id]; ok {
		delete(a.byHash, c.t.Hash)
		delete(a.tokens, id)
	}
	if sessions {
		for h, c := range a.sessions {
			if c.tokenID == id {
				delete(a.sessions, h)
			}
		}
		a.closed++
	}
}
