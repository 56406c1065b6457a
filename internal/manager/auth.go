package manager

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// The dashboard's session cookie, the CSRF header its writes must carry, and
// the shortest admin token PiCloud accepts.
const (
	SessionCookie  = "picloud_session"
	CSRFHeader     = "X-PiCloud-CSRF"
	MinTokenLength = 24

	// sessionPath scopes the cookie to the admin API: a script's page under
	// /fn/ is never sent it.
	sessionPath   = "/api"
	sessionPrefix = "pcs_"
)

// The reasons a request is refused, as counted by AuthConfig.OnFailure.
const (
	ReasonWrongToken     = "wrong_token"     // a bearer token or a sign-in token that is neither the admin token nor a named one
	ReasonBadScheme      = "bad_scheme"      // an Authorization header that is not "Bearer <token>"
	ReasonUnknownSession = "unknown_session" // a session cookie that is malformed, expired, deleted or never issued
	ReasonCSRF           = "csrf"            // a cookie-authenticated write without the CSRF header
	ReasonRateLimited    = "rate_limited"    // refused unchecked: the client failed too often
)

// NewToken returns a fresh admin token: 32 random bytes, hex, with a prefix
// that makes it easy to spot in a leaked file.
func NewToken() string {
	return "pct_" + randomHex()
}

func randomHex() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return hex.EncodeToString(b)
}

// HashToken is what the store keeps instead of a token or a session id. Both
// are at least 24 characters the operator chose or 256 random bits, so one
// SHA-256 is enough: there is nothing to brute-force, and a hash cannot be
// turned back into the credential.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// CheckToken refuses an admin token an operator chose that is too short to
// resist guessing, or that cannot travel in an Authorization header.
func CheckToken(token string) error {
	if n := len(token); n < MinTokenLength {
		return fmt.Errorf("manager: the admin token (PICLOUD_ADMIN_TOKEN) is %d characters long; it must be at least %d "+
			"(make one with 'openssl rand -hex 32', or leave PICLOUD_ADMIN_TOKEN unset and PiCloud makes one)", n, MinTokenLength)
	}
	if i := strings.IndexFunc(token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		return fmt.Errorf("manager: the admin token (PICLOUD_ADMIN_TOKEN) contains a space or a control character at byte %d", i)
	}
	return nil
}

// EnsureAdminToken makes sure the store has an admin token. A non-empty token
// (PICLOUD_ADMIN_TOKEN) must pass CheckToken and replaces the stored one when
// it differs (which signs every session out); otherwise, when none is stored,
// a new one is made and returned so that the caller prints it once. It
// returns "" when nothing new was made.
func EnsureAdminToken(ctx context.Context, store picloud.TokenStore, token string) (string, error) {
	if token != "" {
		if err := CheckToken(token); err != nil {
			return "", err
		}
	}
	h, err := store.AdminTokenHash(ctx)
	if err != nil {
		return "", err
	}
	switch {
	case token != "" && h == HashToken(token):
		return "", nil // the same token again: keep the sessions
	case token != "":
		return "", setTokenHash(ctx, store, HashToken(token))
	case h != "":
		return "", nil
	}
	token = NewToken()
	return token, setTokenHash(ctx, store, HashToken(token))
}

// RotateToken replaces the admin token with a new one and returns it. The
// store deletes every session with the old token, in the same transaction.
func RotateToken(ctx context.Context, store picloud.TokenStore) (string, error) {
	token := NewToken()
	return token, setTokenHash(ctx, store, HashToken(token))
}

// setTokenHash stores a new token hash and tells every manager in this
// process to forget its cached token and sessions at once (one in another
// process notices within AuthConfig.TokenRefresh).
func setTokenHash(ctx context.Context, store picloud.TokenStore, hash string) error {
	err := store.SetAdminTokenHash(ctx, hash)
	tokenGeneration.Add(1) // also after a failure: the store's state is then unknown
	return err
}

// newSessionID returns a fresh session id, the cookie's value.
func newSessionID() string { return sessionPrefix + randomHex() }

// validSessionID reports whether v has the shape of an id newSessionID makes,
// so that junk cookies are refused without asking the store.
func validSessionID(v string) bool {
	hexPart, ok := strings.CutPrefix(v, sessionPrefix)
	if !ok || len(hexPart) != 64 {
		return false
	}
	for i := 0; i < len(hexPart); i++ {
		if c := hexPart[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// credential is what a request presents: a bearer token, a session id, or
// nothing.
type credential struct {
	kind  string // "bearer", "session", "" for none
	value string
	bad   string // a failure reason found while reading it (bad_scheme, unknown_session)
}

// readCredential reads the Authorization header, else the session cookie.
// The scheme is case-insensitive (RFC 9110, section 11.1).
func readCredential(r *http.Request) credential {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, tok, _ := strings.Cut(strings.TrimSpace(auth), " ")
		tok = strings.TrimSpace(tok)
		if !strings.EqualFold(scheme, "bearer") || tok == "" {
			return credential{kind: "bearer", bad: ReasonBadScheme}
		}
		return credential{kind: "bearer", value: tok}
	}
	cookies := r.CookiesNamed(SessionCookie)
	if len(cookies) == 0 {
		return credential{}
	}
	// A browser may hold the cookie at two paths (one from an older release
	// at "/"): use the one that can be a session.
	for _, c := range cookies {
		if validSessionID(c.Value) {
			return credential{kind: "session", value: c.Value}
		}
	}
	return credential{kind: "session", bad: ReasonUnknownSession}
}

// session is an authenticated request's identity.
type session struct {
	p    Principal
	hash string // the session's hash, for sign-out; "" for a bearer token
}

// apiTokenShape reports whether v can be a named API token ("pct_" and 64
// hex digits, as NewToken makes them), so that other strings are refused
// without asking the store.
func apiTokenShape(v string) bool {
	hexPart, ok := strings.CutPrefix(v, "pct_")
	return ok && isLowerHex(hexPart, 64)
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// check authenticates cred: the admin token, a named API token, or a
// session opened with either. A refusal is an unauthorized *picloud.Error
// and its reason; a store that cannot answer is an unavailable error with no
// reason (the client did nothing wrong).
func (m *Manager) check(ctx context.Context, cred credential) (session, string, error) {
	if cred.bad != "" {
		return session{}, cred.bad, picloud.Errorf(picloud.EUnauthorized, "an admin token is required (Authorization: Bearer <token>)")
	}
	switch cred.kind {
	case "bearer":
		p, reason, err := m.checkToken(ctx, cred.value, "bearer")
		return session{p: p}, reason, err
	case "session":
		hash := HashToken(cred.value)
		info, ok, err := m.auth.sessionValid(ctx, hash)
		if err != nil {
			return session{}, "", err
		} else if !ok {
			return session{}, ReasonUnknownSession, picloud.Errorf(picloud.EUnauthorized, "the session has expired or was signed out; sign in again")
		}
		tokenID := info.tokenID
		if info.scopes != nil { // single sign-on: exactly the granted scopes
			return session{p: oidcPrincipal(info.subject, info.scopes, "session"), hash: hash}, "", nil
		}
		if tokenID == "" {
			return session{p: adminPrincipal("session"), hash: hash}, "", nil
		}
		t, err := m.auth.apiTokenByID(ctx, tokenID)
		if err != nil {
			return session{}, "", err
		} else if t == nil { // revoked: its sessions are gone too
			m.auth.forget(hash)
			return session{}, ReasonUnknownSession, picloud.Errorf(picloud.EUnauthorized, "the session's token was revoked; sign in again")
		} else if now := time.Now(); t.Expired(now) {
			return session{}, ReasonExpired, expiredError(t)
		}
		m.auth.touch(t.ID)
		return session{p: tokenPrincipal(t, "session"), hash: hash}, "", nil
	}
	return session{}, "", picloud.Errorf(picloud.EUnauthorized, "an admin token is required (Authorization: Bearer <token>)")
}

// checkToken authenticates a token presented as a bearer token or to sign
// in: the admin token, else a named API token that has not expired.
func (m *Manager) checkToken(ctx context.Context, token, via string) (Principal, string, error) {
	ok, err := m.auth.tokenMatches(ctx, token)
	if err != nil {
		return Principal{}, "", err
	} else if ok {
		return adminPrincipal(via), "", nil
	}
	if apiTokenShape(token) {
		t, err := m.auth.apiTokenByHash(ctx, HashToken(token))
		if err != nil {
			return Principal{}, "", err
		} else if t != nil && t.Expired(time.Now()) {
			return Principal{}, ReasonExpired, expiredError(t)
		} else if t != nil {
			m.auth.touch(t.ID)
			return tokenPrincipal(t, via), "", nil
		}
	}
	return Principal{}, ReasonWrongToken, picloud.Errorf(picloud.EUnauthorized, "wrong token")
}

func expiredError(t *picloud.APIToken) error {
	return picloud.Errorf(picloud.EUnauthorized, "the token %q expired at %s", t.Name, t.ExpiresAt.UTC().Format(picloud.TimeFormat))
}

// authenticate checks r's credential under the failure limit. It answers the
// request itself (429, 401, 503) and returns false when r is refused.
func (m *Manager) authenticate(w http.ResponseWriter, r *http.Request) (session, bool) {
	cred := readCredential(r)
	if cred.kind == "" {
		// No credential is not a guess: nothing to count or limit.
		m.fail(w, r, picloud.Errorf(picloud.EUnauthorized, "an admin token is required (Authorization: Bearer <token>)"))
		return session{}, false
	}
	client := m.auth.client(r)
	if !m.auth.admit(w, r, client) {
		return session{}, false
	}
	s, reason, err := m.check(r.Context(), cred)
	if reason == "" {
		m.auth.succeeded(client)
	}
	if err != nil {
		if reason != "" {
			m.auth.failed(r, client, reason)
			if cred.kind == "session" {
				clearLegacyCookie(w, r)
				clearSessionCookie(w, r)
			}
		}
		m.fail(w, r, err)
		return session{}, false
	}
	return s, true
}

// HandleCreateSession is POST /api/session {"token": "..."}: it opens a
// session (a random id of which the store keeps the hash) and sets the cookie.
// The token is the admin token or a named API token holding at least read;
// the session remembers which, acts with its scopes, ends when it is revoked
// or rotated, and lasts no longer than it.
func (m *Manager) HandleCreateSession(w http.ResponseWriter, r *http.Request) {
	// A browser names where the request comes from: a page of another
	// origin (a text/plain form whose body is JSON needs no preflight) must
	// not sign the visitor in with a token of its choosing. curl and the
	// CLI send no Sec-Fetch-Site.
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		m.auth.count(ReasonCSRF)
		m.fail(w, r, picloud.Errorf(picloud.EForbidden, "a sign-in from another site (Sec-Fetch-Site: %s) is refused; sign in on PiCloud's own page", site))
		return
	}
	var in picloud.SessionRequest
	if err := httpapi.Decode(w, r, 64<<10, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	client := m.auth.client(r)
	if !m.auth.admit(w, r, client) {
		return
	}
	p, reason, err := m.checkToken(r.Context(), in.Token, "session")
	if reason == "" {
		m.auth.succeeded(client)
	} else {
		m.auth.failed(r, client, reason)
	}
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if !p.Allows(picloud.ScopeRead) {
		m.auth.count(ReasonForbidden)
		m.fail(w, r, picloud.Errorf(picloud.EForbidden, "this token's scopes (%s) do not include read, which the dashboard needs", strings.Join(p.Scopes, ", ")))
		return
	}
	if !m.admitSignIn(w, r, p, m.fail) {
		return
	}
	id, now := newSessionID(), time.Now().UTC().Truncate(time.Millisecond)
	s := &picloud.Session{Hash: HashToken(id), CreatedAt: now, ExpiresAt: now.Add(m.auth.cfg.SessionLifetime)}
	if p.TokenID != picloud.AdminTokenID {
		s.TokenID = p.TokenID
		if t, err := m.auth.apiTokenByID(r.Context(), p.TokenID); err == nil && t != nil && t.ExpiresAt != nil && t.ExpiresAt.Before(s.ExpiresAt) {
			s.ExpiresAt = t.ExpiresAt.UTC()
		}
	}
	if err := m.auth.openSession(r.Context(), s); err != nil {
		m.fail(w, r, err)
		return
	}
	m.log.Info("dashboard session opened", "client", client.String(), "token", p.Name, "expires_at", s.ExpiresAt.Format(picloud.TimeFormat))
	auditSignedIn(r.Context(), p) // the audit trail's session.create names the token
	clearLegacyCookie(w, r)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: sessionPath, Expires: s.ExpiresAt,
		MaxAge: int(time.Until(s.ExpiresAt).Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
	httpapi.WriteJSON(w, http.StatusOK, picloud.SessionResponse{Authenticated: true, ExpiresAt: &picloud.Time{Time: s.ExpiresAt},
		Token: sessionToken(p)})
}

// sessionToken is what /api/session says about p.
func sessionToken(p Principal) *picloud.SessionToken {
	return &picloud.SessionToken{ID: p.TokenID, Name: p.Name, Scopes: p.Scopes, Scripts: p.Scripts, SSO: p.SSO}
}

// HandleDeleteSession is DELETE /api/session: it deletes the session the
// cookie names from the store (so the cookie stops working everywhere, even
// if a copy of it was kept) and clears the cookie. Without a session it only
// clears the cookie.
func (m *Manager) HandleDeleteSession(w http.ResponseWriter, r *http.Request) {
	if cred := readCredential(r); cred.kind == "session" && cred.bad == "" {
		if err := m.auth.closeSession(r.Context(), HashToken(cred.value)); err != nil {
			m.fail(w, r, err)
			return
		}
		m.log.Info("dashboard session closed", "client", m.auth.client(r).String())
	}
	clearLegacyCookie(w, r)
	clearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

// HandleGetSession is GET /api/session: 200 {"authenticated": true, "method",
// "token": {"id", "name", "scopes", "scripts", "sso"}} when signed in (cookie or
// bearer), and 200 {"authenticated": false} when
// not (no credentials, a wrong token, an expired cookie). Asking whether one
// is signed in is not an error, so the dashboard's first load does not log a
// refused request in the browser's console; a wrong credential still counts
// against the client's failure limit. With single sign-on configured, every
// answer also says "oidc": {"enabled": true}, so that the dashboard offers
// it.
func (m *Manager) HandleGetSession(w http.ResponseWriter, r *http.Request) {
	var sso *picloud.SessionOIDC
	if m.oidc != nil {
		sso = &picloud.SessionOIDC{Enabled: true}
	}
	cred := readCredential(r)
	if cred.kind == "" {
		httpapi.WriteJSON(w, http.StatusOK, picloud.SessionResponse{OIDC: sso})
		return
	}
	client := m.auth.client(r)
	if !m.auth.admit(w, r, client) {
		return
	}
	s, reason, err := m.check(r.Context(), cred)
	if reason == "" {
		m.auth.succeeded(client)
	}
	if reason != "" {
		m.auth.failed(r, client, reason)
		if cred.kind == "session" {
			clearLegacyCookie(w, r)
			clearSessionCookie(w, r)
		}
		httpapi.WriteJSON(w, http.StatusOK, picloud.SessionResponse{OIDC: sso})
		return
	} else if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, picloud.SessionResponse{Authenticated: true, Method: s.p.Via, Token: sessionToken(s.p), OIDC: sso})
}

// clearSessionCookie tells the browser to drop the session cookie.
func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: sessionPath, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
}

// clearLegacyCookie drops a session cookie an older release set at "/"
// (signed with a MAC, no longer accepted), so that it stops being sent to
// every path, scripts' included.
func clearLegacyCookie(w http.ResponseWriter, r *http.Request) {
	for _, c := range r.CookiesNamed(SessionCookie) {
		if !validSessionID(c.Value) {
			http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
				HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
			return
		}
	}
}

// isHTTPS reports whether the browser reached us over HTTPS, directly or
// through a proxy that says so. Believing the header from anyone is safe
// here: it only adds Secure to a cookie.
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// retryAfter is d as a Retry-After value: whole seconds, rounded up, at
// least 1.
func retryAfter(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// constantTimeEqual compares two hashes without leaking where they differ.
func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
