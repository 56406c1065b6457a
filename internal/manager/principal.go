package manager

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/picloud/picloud"
)

// Principal is who an authenticated admin request acts as: the admin token
// or a named API token, presented as a bearer token or through a dashboard
// session opened with it.
type Principal struct {
	TokenID string   // the named token's id; picloud.AdminTokenID for the admin token
	Name    string   // the token's name; "admin" for the admin token
	Scopes  []string // what it may do (picloud.ScopesAllow)
	Scripts string   // the name pattern restricting it to some scripts; "" all
	Via     string   // "bearer" or "session"
	// SSO is set for a single sign-on (OIDC) session: Name is then who the
	// identity provider signed in (the email, else its subject), TokenID
	// is "", and Scopes are what the operator's grants gave them.
	SSO bool
}

// oidcPrincipal is a single sign-on session's principal.
func oidcPrincipal(subject string, scopes []string, via string) Principal {
	return Principal{Name: subject, Scopes: scopes, Via: via, SSO: true}
}

// adminScopes are the admin token's scopes, shared by its principals (read
// only).
var adminScopes = []string{picloud.ScopeAdmin}

// adminPrincipal is the admin token's principal.
func adminPrincipal(via string) Principal {
	return Principal{TokenID: picloud.AdminTokenID, Name: picloud.AdminTokenID, Scopes: adminScopes, Via: via}
}

// tokenPrincipal is a named token's principal.
func tokenPrincipal(t *picloud.APIToken, via string) Principal {
	return Principal{TokenID: t.ID, Name: t.Name, Scopes: t.Scopes, Scripts: t.Scripts, Via: via}
}

// Allows reports whether p's scopes grant need (picloud.ScopesAllow).
func (p Principal) Allows(need string) bool { return picloud.ScopesAllow(p.Scopes, need) }

// AllowsScript reports whether p's script pattern admits the script name.
func (p Principal) AllowsScript(name string) bool { return picloud.ScriptPatternMatch(p.Scripts, name) }

type principalKey struct{}

// WithPrincipal returns ctx carrying p; Require puts the request's principal
// there before calling the route's handler.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal Require put in ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// The reasons a valid credential is refused, counted beside the
// authentication failures (AuthConfig.OnFailure).
const (
	ReasonForbidden = "forbidden" // a valid credential without the route's scope, or restricted to other scripts
	ReasonExpired   = "expired"   // a named token past its expiry, or a session opened with one
)

// Require wraps an admin route that needs scope (read, deploy or admin):
// the credential is authenticated as Admin describes (the admin token, a
// named API token, or a session opened with either); a token without the
// scope is refused with 403 forbidden, and so is a token restricted to some
// scripts on a route about another script or about no script. The handler
// finds the Principal in the request's context (PrincipalFrom).
func (m *Manager) Require(scope string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := m.authenticate(w, r)
		if !ok {
			return
		}
		if s.p.Via == "session" && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Header.Get(CSRFHeader) != "1" {
			m.auth.count(ReasonCSRF)
			m.fail(w, r, picloud.Errorf(picloud.EUnauthorized, "cookie-authenticated writes need the header %s: 1", CSRFHeader))
			return
		}
		if !s.p.Allows(scope) {
			m.auth.count(ReasonForbidden)
			m.fail(w, r, picloud.Errorf(picloud.EForbidden, "this token's scopes (%s) do not include %s", strings.Join(s.p.Scopes, ", "), scope))
			return
		}
		if s.p.Scripts != "" {
			if err := m.checkScriptPattern(r, s.p); err != nil {
				if picloud.ErrorCode(err) == picloud.EForbidden {
					m.auth.count(ReasonForbidden)
				}
				m.fail(w, r, err)
				return
			}
		}
		h(w, r.WithContext(WithPrincipal(r.Context(), s.p)))
	}
}

// Admin wraps a route only the admin scope may call (Require(admin, h)).
func (m *Manager) Admin(h http.HandlerFunc) http.HandlerFunc { return m.Require(picloud.ScopeAdmin, h) }

// scriptWide are the routes about no stored data at all, which a token
// restricted to some scripts may still call: the editor's checks.
var scriptWide = map[string]bool{
	"/api/validate":          true,
	"/api/schedules/preview": true,
}

// checkScriptPattern applies p's script pattern to r: a route under
// /api/scripts/{id} must name a script the pattern admits (an unknown id is
// left to the handler's 404), the script list is filtered by its handler
// (VisibleScripts), a script created or renamed must get a name the pattern
// admits (ScriptNameAllowed), and any other route needs an unrestricted
// token.
func (m *Manager) checkScriptPattern(r *http.Request, p Principal) error {
	pattern := r.Pattern
	if _, path, ok := strings.Cut(pattern, " "); ok {
		pattern = path
	}
	switch {
	case pattern == "/api/scripts", scriptWide[pattern]:
		return nil // the list is filtered, and a new script's name checked (ScriptNameAllowed), by the handlers
	case strings.HasPrefix(pattern, "/api/scripts/{id}"):
		ref := r.PathValue("id")
		name := ref
		if picloud.LooksLikeUUID(ref) {
			sc, err := m.store.Script(r.Context(), ref)
			if picloud.ErrorCode(err) == picloud.ENotFound {
				return nil // the handler answers 404, as to anyone
			} else if err != nil {
				return err
			}
			name = sc.Name
		}
		if !p.AllowsScript(name) {
			return picloud.Errorf(picloud.EForbidden, "this token is restricted to the scripts matching %q; %q does not match", p.Scripts, name)
		}
		return nil
	}
	return picloud.Errorf(picloud.EForbidden, "this token is restricted to the scripts matching %q; %s needs a token for every script", p.Scripts, r.URL.Path)
}

// ScriptNameAllowed reports whether the request's principal may give a
// script this name (create or rename), and answers 403 forbidden when not.
func (m *Manager) ScriptNameAllowed(w http.ResponseWriter, r *http.Request, name string) bool {
	p, ok := PrincipalFrom(r.Context())
	if !ok || p.AllowsScript(name) {
		return true
	}
	m.auth.count(ReasonForbidden)
	m.fail(w, r, picloud.Errorf(picloud.EForbidden, "this token is restricted to the scripts matching %q; %q does not match", p.Scripts, name))
	return false
}

// KVNamespacesAllowed reports whether the request's principal may give a
// script (cur; nil for a new one) the kv_namespaces setting in: a token
// restricted to some scripts may keep or drop the shared namespaces a
// script already lists, but not add one (a shared namespace is other
// scripts' data, reached through the script's kv routes and its code). It
// answers 403 forbidden when not.
func (m *Manager) KVNamespacesAllowed(w http.ResponseWriter, r *http.Request, cur *picloud.Script, in *string) bool {
	p, ok := PrincipalFrom(r.Context())
	if !ok || p.Scripts == "" || in == nil {
		return true
	}
	var had []string
	if cur != nil {
		had = picloud.KVNamespaces(cur.KVNamespaces)
	}
	for _, ns := range picloud.KVNamespaces(*in) {
		if !slices.Contains(had, ns) {
			m.auth.count(ReasonForbidden)
			m.fail(w, r, picloud.Errorf(picloud.EForbidden, "this token is restricted to the scripts matching %q; adding the shared kv namespace %q needs a token for every script", p.Scripts, ns))
			return false
		}
	}
	return true
}

// VisibleScripts keeps the scripts the request's principal may see: all of
// them unless its token is restricted to some names.
func VisibleScripts(ctx context.Context, list []*picloud.Script) []*picloud.Script {
	p, ok := PrincipalFrom(ctx)
	if !ok || p.Scripts == "" {
		return list
	}
	out := list[:0:0]
	for _, sc := range list {
		if p.AllowsScript(sc.Name) {
			out = append(out, sc)
		}
	}
	return out
}
