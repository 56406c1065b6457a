package manager

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// Single sign-on: the dashboard may sign in through an OpenID Connect
// identity provider (authorization code flow with PKCE). The operator maps
// the provider's groups or email addresses to scopes (OIDCGrant); a user no
// grant matches is refused. The session so opened acts with exactly the
// granted scopes, remembered in the store with the user's name (Session's
// Subject and Scopes): changing the grants affects the next sign-in, not
// the sessions already open (sign them out by rotating the admin token).

// The single sign-on routes' paths and the cookie that carries a sign-in's
// state, nonce and PKCE verifier from the login redirect to the callback.
const (
	OIDCLoginPath    = "/api/session/oidc/login"
	OIDCCallbackPath = "/api/session/oidc/callback"
	oidcCookie       = "picloud_oidc"
	oidcCookiePath   = "/api/session/oidc"
	// oidcFlowLifetime bounds the time between the login redirect and the
	// callback.
	oidcFlowLifetime = 10 * time.Minute
)

// The reasons a single sign-on is refused, counted beside the other
// authentication failures (AuthConfig.OnFailure).
const (
	ReasonOIDCState      = "oidc_state"       // no sign-in cookie, or a state that does not match it
	ReasonOIDCRefused    = "oidc_refused"     // the provider answered an error, or its code or ID token did not verify
	ReasonOIDCNotGranted = "oidc_not_granted" // a user no --oidc-grant matches (or granted less than read)
)

// ActionSignInVia is the audit trail's via of a single sign-on.
const ActionSignInVia = "oidc"

// OIDCConfig configures single sign-on. Issuer empty: none.
type OIDCConfig struct {
	Issuer       string // the provider's issuer URL (its discovery document is Issuer + /.well-known/openid-configuration)
	ClientID     string
	ClientSecret string // empty for a public client (PKCE alone)
	// RedirectURL is the callback the provider sends the browser back to:
	// PiCloud's own address + /api/session/oidc/callback.
	RedirectURL string
	// Grants map the provider's groups and email addresses to scopes; a
	// user gets the union of every grant that matches.
	Grants []OIDCGrant
	// Scopes are the OAuth scopes asked for beside openid (email, profile,
	// groups when empty).
	Scopes []string
	// GroupsClaim is the claim listing the user's groups ("groups").
	GroupsClaim string
	// HTTPClient talks to the provider (nil: one with a 10 s timeout).
	HTTPClient *http.Client
}

// OIDCGrant gives Scopes to the users of a group, or whose email matches a
// pattern.
type OIDCGrant struct {
	Kind    string   // "group" or "email"
	Pattern string   // the group's name (exact), or an email pattern (path.Match, case-insensitive: "*@example.com")
	Scopes  []string // picloud.ValidateScopes
}

// ParseOIDCGrant reads a grant as --oidc-grant gives it:
// "group:NAME=SCOPE" or "email:PATTERN=SCOPE", several scopes joined by "+"
// ("group:ops=deploy+invoke:*").
func ParseOIDCGrant(s string) (OIDCGrant, error) {
	kind, rest, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || (kind != "group" && kind != "email") {
		return OIDCGrant{}, fmt.Errorf("grant %q: want group:NAME=SCOPE or email:PATTERN=SCOPE", s)
	}
	i := strings.LastIndex(rest, "=")
	if i <= 0 || i == len(rest)-1 {
		return OIDCGrant{}, fmt.Errorf("grant %q: want %s:%s=SCOPE", s, kind, map[string]string{"group": "NAME", "email": "PATTERN"}[kind])
	}
	g := OIDCGrant{Kind: kind, Pattern: rest[:i], Scopes: strings.Split(rest[i+1:], "+")}
	if kind == "email" {
		g.Pattern = strings.ToLower(g.Pattern)
		if _, err := path.Match(g.Pattern, ""); err != nil {
			return OIDCGrant{}, fmt.Errorf("grant %q: the email pattern is malformed", s)
		}
	}
	if err := picloud.ValidateScopes(g.Scopes); err != nil {
		return OIDCGrant{}, fmt.Errorf("grant %q: %w", s, err)
	}
	return g, nil
}

// String is the grant as ParseOIDCGrant reads it.
func (g OIDCGrant) String() string {
	return g.Kind + ":" + g.Pattern + "=" + strings.Join(g.Scopes, "+")
}

// Check refuses a configuration single sign-on cannot work with. An empty
// Issuer is no single sign-on, and valid.
func (c OIDCConfig) Check() error {
	if c.Issuer == "" {
		if c.ClientID != "" || c.RedirectURL != "" || len(c.Grants) > 0 {
			return errors.New("--oidc-client-id, --oidc-redirect-url and --oidc-grant need --oidc-issuer")
		}
		return nil
	}
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("--oidc-issuer %q: want the provider's https:// URL", c.Issuer)
	}
	if c.ClientID == "" {
		return errors.New("--oidc-issuer needs --oidc-client-id")
	}
	u, err := url.Parse(c.RedirectURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != OIDCCallbackPath {
		return fmt.Errorf("--oidc-redirect-url %q: want PiCloud's own address and %s (https://picloud.example.com%s)", c.RedirectURL, OIDCCallbackPath, OIDCCallbackPath)
	}
	if len(c.Grants) == 0 {
		return errors.New("--oidc-issuer needs at least one --oidc-grant (group:NAME=SCOPE or email:PATTERN=SCOPE): with none, nobody could sign in")
	}
	return nil
}

// oidcState is the manager's single sign-on: its configuration, and the
// provider, discovered on the first sign-in (so that a provider down at
// start delays nothing) and kept.
type oidcState struct {
	cfg    OIDCConfig
	client *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newOIDCState(cfg OIDCConfig) *oidcState {
	if cfg.Issuer == "" {
		return nil
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"email", "profile", "groups"}
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &oidcState{cfg: cfg, client: client}
}

// ctx is a context whose HTTP client is the provider's: go-oidc and oauth2
// take it from there.
func (o *oidcState) ctx(parent context.Context) context.Context {
	return oidc.ClientContext(parent, o.client)
}

// discover returns the provider, reading its discovery document on first
// use: 503 unavailable while it cannot be read.
func (o *oidcState) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, *oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.oauth, o.verifier, o.provider, nil
	}
	// Not the request's context: the provider keeps it to fetch its keys.
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(o.ctx(dctx), o.cfg.Issuer)
	if err != nil {
		return nil, nil, nil, picloud.Errorf(picloud.EUnavailable, "the identity provider %s cannot be reached: %v", o.cfg.Issuer, err)
	}
	o.provider = p
	o.oauth = &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, o.cfg.Scopes...)}
	o.verifier = p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID})
	return o.oauth, o.verifier, p, nil
}

// grant returns the scopes the grants give a user (nil: none). An email
// grant needs an email the provider marked verified (email_verified).
func (o *oidcState) grant(email string, emailVerified bool, groups []string) []string {
	var scopes []string
	email = strings.ToLower(email)
	for _, g := range o.cfg.Grants {
		var match bool
		switch g.Kind {
		case "group":
			match = slices.Contains(groups, g.Pattern)
		case "email":
			match = email != "" && emailVerified && matchEmail(g.Pattern, email)
		}
		if match {
			for _, s := range g.Scopes {
				if !slices.Contains(scopes, s) {
					scopes = append(scopes, s)
				}
			}
		}
	}
	return scopes
}

func matchEmail(pattern, email string) bool {
	ok, _ := path.Match(pattern, email)
	return ok
}

// OIDCEnabled reports whether single sign-on is configured.
func (m *Manager) OIDCEnabled() bool { return m.oidc != nil }

// HandleOIDCLogin is GET /api/session/oidc/login: it redirects the browser
// to the identity provider, with a fresh state, nonce and PKCE challenge
// whose secrets travel in a short-lived HttpOnly cookie to the callback.
// 404 not_found when single sign-on is not configured, 503 unavailable
// while the provider cannot be reached.
func (m *Manager) HandleOIDCLogin(w http.ResponseWriter, r *http.Request) {
	if m.oidc == nil {
		m.ssoFail(w, r, picloud.Errorf(picloud.ENotFound, "single sign-on is not configured (picloud serve --oidc-issuer)"))
		return
	}
	oauth, _, _, err := m.oidc.discover(context.WithoutCancel(r.Context()))
	if err != nil {
		m.ssoFail(w, r, err)
		return
	}
	state, nonce, verifier := randomHex(), randomHex(), oauth2.GenerateVerifier()
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: state + "." + nonce + "." + verifier, Path: oidcCookiePath,
		MaxAge: int(oidcFlowLifetime / time.Second), HttpOnly: true, Secure: isHTTPS(r),
		// Lax: the provider's redirect back is a cross-site navigation.
		SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// ssoRefusal is a refused single sign-on: the error the browser is shown
// and the reason counted.
type ssoRefusal struct {
	err     error
	reason  string
	subject string // who the provider signed in, when it got that far
}

// HandleOIDCCallback is GET /api/session/oidc/callback, where the provider
// sends the browser back: it checks the state against the sign-in's cookie,
// exchanges the code (with the PKCE verifier), verifies the ID token and its
// nonce, maps the user's groups and email to scopes, opens a session with
// them and redirects to the dashboard (303 to /). Refusals: 401 unauthorized
// (a missing or mismatched state, an error from the provider, a code or ID
// token that does not verify), 403 forbidden (no grant matches the user, or
// the grants give less than read), 503 unavailable (the provider cannot be
// reached); a browser is shown a page saying why. A sign-in is recorded in
// the audit trail (session.create, via oidc, actor the user), a refusal as
// session.failed (at most one per client a minute).
func (m *Manager) HandleOIDCCallback(w http.ResponseWriter, r *http.Request) {
	if m.oidc == nil {
		m.ssoFail(w, r, picloud.Errorf(picloud.ENotFound, "single sign-on is not configured (picloud serve --oidc-issuer)"))
		return
	}
	client := m.auth.client(r)
	if !m.auth.admit(w, r, client) {
		return
	}
	// The sign-in's cookie is spent whatever happens.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: oidcCookiePath, MaxAge: -1, HttpOnly: true,
		Secure: isHTTPS(r), SameSite: http.SameSiteLaxMode})
	p, refusal := m.oidcSignIn(r)
	if refusal != nil {
		if refusal.reason == "" {
			m.auth.succeeded(client) // the provider or the store is down: not the client's fault
		} else {
			m.auth.failed(r, client, refusal.reason)
			if m.sampleFailedSignIn(client, time.Now()) {
				m.recordAudit(r, ActionSignInFailed, &auditNote{target: refusal.subject, noted: refusal.subject != ""})
			}
		}
		m.ssoFail(w, r, refusal.err)
		return
	}
	m.auth.succeeded(client)
	if !m.admitSignIn(w, r, p, m.ssoFail) {
		return
	}
	id, now := newSessionID(), time.Now().UTC().Truncate(time.Millisecond)
	s := &picloud.Session{Hash: HashToken(id), CreatedAt: now, ExpiresAt: now.Add(m.auth.cfg.SessionLifetime),
		Subject: p.Name, Scopes: p.Scopes}
	if err := m.auth.openSession(r.Context(), s); err != nil {
		m.ssoFail(w, r, err)
		return
	}
	m.log.Info("dashboard session opened", "client", client.String(), "sso", p.Name, "scopes", strings.Join(p.Scopes, ","),
		"expires_at", s.ExpiresAt.Format(picloud.TimeFormat))
	signedIn := p
	signedIn.Via = ActionSignInVia
	m.recordAudit(r, ActionSignIn, &auditNote{signedIn: &signedIn, detail: map[string]any{"scopes": p.Scopes}})
	clearLegacyCookie(w, r)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: sessionPath, Expires: s.ExpiresAt,
		MaxAge: int(time.Until(s.ExpiresAt).Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// oidcSignIn checks the callback r and returns who signed in, with the
// granted scopes.
func (m *Manager) oidcSignIn(r *http.Request) (Principal, *ssoRefusal) {
	q := r.URL.Query()
	c, err := r.Cookie(oidcCookie)
	if err != nil {
		return Principal{}, &ssoRefusal{reason: ReasonOIDCState, err: picloud.Errorf(picloud.EUnauthorized,
			"this sign-in was not started here, or took longer than %s; sign in again", oidcFlowLifetime)}
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 || q.Get("state") == "" || subtle.ConstantTimeCompare([]byte(parts[0]), []byte(q.Get("state"))) != 1 {
		return Principal{}, &ssoRefusal{reason: ReasonOIDCState, err: picloud.Errorf(picloud.EUnauthorized,
			"the sign-in's state does not match the one this browser started; sign in again")}
	}
	nonce, verifier := parts[1], parts[2]
	if e := q.Get("error"); e != "" {
		msg := "the identity provider refused the sign-in: " + e
		if d := q.Get("error_description"); d != "" {
			msg += " (" + d + ")"
		}
		return Principal{}, &ssoRefusal{reason: ReasonOIDCRefused, err: picloud.Errorf(picloud.EUnauthorized, "%s", msg)}
	}
	ctx := context.WithoutCancel(r.Context())
	oauth, idVerifier, provider, err := m.oidc.discover(ctx)
	if err != nil {
		return Principal{}, &ssoRefusal{err: err}
	}
	xctx, cancel := context.WithTimeout(m.oidc.ctx(r.Context()), 15*time.Second)
	defer cancel()
	tok, err := oauth.Exchange(xctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return Principal{}, &ssoRefusal{reason: ReasonOIDCRefused, err: picloud.Errorf(picloud.EUnauthorized,
				"the identity provider did not accept the sign-in's code: %s", strings.TrimSpace(re.ErrorCode+" "+re.ErrorDescription))}
		}
		return Principal{}, &ssoRefusal{err: picloud.Errorf(picloud.EUnavailable, "the identity provider %s cannot be reached: %v", m.oidc.cfg.Issuer, err)}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Principal{}, &ssoRefusal{reason: ReasonOIDCRefused, err: picloud.Errorf(picloud.EUnauthorized, "the identity provider answered no ID token")}
	}
	idt, err := idVerifier.Verify(xctx, raw)
	if err != nil {
		return Principal{}, &ssoRefusal{reason: ReasonOIDCRefused, err: picloud.Errorf(picloud.EUnauthorized, "the ID token does not verify: %v", err)}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return Principal{}, &ssoRefusal{reason: ReasonOIDCRefused, err: picloud.Errorf(picloud.EUnauthorized, "the ID token's nonce is not this sign-in's")}
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return Principal{}, &ssoRefusal{reason: ReasonOIDCRefused, err: picloud.Errorf(picloud.EUnauthorized, "the ID token's claims do not decode: %v", err)}
	}
	// Some providers put the groups or the email only in the userinfo.
	if _, ok := claims[m.oidc.cfg.GroupsClaim]; (!ok || claims["email"] == nil) && provider.UserInfoEndpoint() != "" {
		if ui, err := provider.UserInfo(xctx, oauth2.StaticTokenSource(tok)); err == nil {
			extra := map[string]any{}
			if ui.Claims(&extra) == nil && extra["sub"] == idt.Subject {
				for k, v := range extra {
					if _, have := claims[k]; !have {
						claims[k] = v
					}
				}
			}
		}
	}
	email, _ := claims["email"].(string)
	// Only an email the provider says it verified is believed.
	verified, _ := claims["email_verified"].(bool)
	groups := stringList(claims[m.oidc.cfg.GroupsClaim])
	name := idt.Subject
	if email != "" && verified {
		name = email
	}
	scopes := m.oidc.grant(email, verified, groups)
	if len(scopes) == 0 {
		return Principal{}, &ssoRefusal{reason: ReasonOIDCNotGranted, subject: name, err: picloud.Errorf(picloud.EForbidden,
			"%s signed in at the identity provider, but no grant of this PiCloud matches (groups: %s); ask its operator for one (--oidc-grant)",
			name, orNone(groups))}
	}
	if !picloud.ScopesAllow(scopes, picloud.ScopeRead) {
		return Principal{}, &ssoRefusal{reason: ReasonOIDCNotGranted, subject: name, err: picloud.Errorf(picloud.EForbidden,
			"the grants give %s the scopes %s, which do not include read, which the dashboard needs", name, strings.Join(scopes, ", "))}
	}
	return oidcPrincipal(name, scopes, "session"), nil
}

// stringList reads a claim that is a list of strings, or one string.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// ssoFail answers a refused single sign-on: the standard error body, or for
// a browser (Accept: text/html) a page saying why, with a way back.
func (m *Manager) ssoFail(w http.ResponseWriter, r *http.Request, err error) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		m.fail(w, r, err)
		return
	}
	status, msg := http.StatusInternalServerError, "the sign-in failed"
	var pe *picloud.Error
	if errors.As(err, &pe) {
		status, msg = httpapi.Status(pe.Code), pe.Message
	} else {
		m.log.Error("single sign-on failed", "err", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html><meta charset="utf-8"><title>PiCloud: sign-in refused</title>
<style>body{font:16px system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}</style>
<h1>Sign-in refused</h1><p>%s</p><p><a href="/">Back to PiCloud</a></p>
`, html.EscapeString(msg))
}
