package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/sqlite"
)

// oidcEnv is a PiCloud server configured for single sign-on against a real
// OIDC provider (mockoidc) listening on loopback.
type oidcEnv struct {
	*env
	idp *mockoidc.MockOIDC
}

func newOIDCEnv(t *testing.T, store picloud.Store, grants ...string) *oidcEnv {
	t.Helper()
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Shutdown() })

	// PiCloud's address must be known before it starts: it is the redirect URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := manager.OIDCConfig{Issuer: idp.Issuer(), ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
		RedirectURL: base + manager.OIDCCallbackPath}
	for _, g := range grants {
		x, err := manager.ParseOIDCGrant(g)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Grants = append(cfg.Grants, x)
	}
	ctx := context.Background()
	if _, err := manager.EnsureAdminToken(ctx, store, testToken); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Config{OIDC: cfg}, store)
	if err != nil {
		t.Fatal(err)
	}
	a.Start(ctx)
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	srv.Client().CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	t.Cleanup(func() {
		srv.Close()
		a.Stop(context.Background())
	})
	return &oidcEnv{env: &env{t: t, app: a, store: store, srv: srv}, idp: idp}
}

// browser is an HTTP client with a cookie jar that follows redirects, as a
// browser does.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn runs the whole redirect dance for user in browser c and returns
// the last response (the dashboard's / when it worked).
func (e *oidcEnv) signIn(c *http.Client, user *mockoidc.MockUser) (*http.Response, string) {
	e.t.Helper()
	e.idp.QueueUser(user)
	return get(e.t, c, e.srv.URL+manager.OIDCLoginPath)
}

// session is GET /api/session with browser c's cookies.
func (e *oidcEnv) session(c *http.Client) picloud.SessionResponse {
	e.t.Helper()
	resp, body := get(e.t, c, e.srv.URL+"/api/session")
	var out picloud.SessionResponse
	if err := json.Unmarshal([]byte(body), &out); resp.StatusCode != 200 || err != nil {
		e.t.Fatalf("GET /api/session: %d %s %v", resp.StatusCode, body, err)
	}
	return out
}

// call sends a cookie-authenticated request, with the CSRF header.
func (e *oidcEnv) call(c *http.Client, method, path, body string) int {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set(manager.CSRFHeader, "1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (e *oidcEnv) audit(action string) []*picloud.AuditEvent {
	e.t.Helper()
	evs, err := e.store.AuditEvents(context.Background(), picloud.AuditQuery{Action: action, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// TestOIDCSignIn runs single sign-on against a real OIDC provider on
// loopback (authorization code with PKCE), in a client with a cookie jar
// that follows the redirects: a user granted read by email pattern gets a
// session with exactly read (a deploy route answers 403), a user granted
// deploy by group can deploy but not administer, a user no grant matches is
// refused (403, no session), a wrong state and a callback without the
// sign-in's cookie are refused (401); the sign-ins and the sampled refusal
// are in the audit trail; on both stores.
func TestOIDCSignIn(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newOIDCEnv(t, open(t), "email:*@example.com=read", "group:ops=deploy")

		// Before signing in: SSO is offered.
		anon := browser(t)
		if s := e.session(anon); s.Authenticated || s.OIDC == nil || !s.OIDC.Enabled {
			t.Fatalf("session before sign-in = %+v; want oidc enabled, not signed in", s)
		}

		// A reader by email pattern.
		reader := browser(t)
		resp, body := e.signIn(reader, &mockoidc.MockUser{Subject: "u-reader", Email: "Reader@Example.com", EmailVerified: true})
		if resp.Request.URL.Path != "/" {
			t.Fatalf("sign-in ended at %s (%d %s); want /", resp.Request.URL, resp.StatusCode, body)
		}
		s := e.session(reader)
		if !s.Authenticated || s.Method != "session" || s.Token == nil || !s.Token.SSO || s.Token.Name != "Reader@Example.com" ||
			len(s.Token.Scopes) != 1 || s.Token.Scopes[0] != picloud.ScopeRead {
			t.Fatalf("reader's session = %+v %+v", s, s.Token)
		}
		if code := e.call(reader, "GET", "/api/scripts", ""); code != 200 {
			t.Fatalf("reader GET /api/scripts = %d", code)
		}
		if code := e.call(reader, "POST", "/api/scripts", `{"name":"nope","source":"1"}`); code != 403 {
			t.Fatalf("reader POST /api/scripts = %d, want 403", code)
		}
		// The session cookie is scoped as a token's: HttpOnly, under /api.
		for _, ck := range reader.Jar.Cookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(e.srv.URL, "http://"), Path: "/api/"}) {
			if ck.Name == "picloud_oidc" {
				t.Fatalf("the sign-in's cookie survived the callback")
			}
		}

		// A deployer by group (and no email grant: another domain).
		deployer := browser(t)
		resp, body = e.signIn(deployer, &mockoidc.MockUser{Subject: "u-ops", Email: "ops@corp.test", EmailVerified: true, Groups: []string{"staff", "ops"}})
		if resp.Request.URL.Path != "/" {
			t.Fatalf("deployer's sign-in ended at %s (%d %s)", resp.Request.URL, resp.StatusCode, body)
		}
		if s := e.session(deployer); !s.Authenticated || s.Token.Name != "ops@corp.test" || strings.Join(s.Token.Scopes, ",") != "deploy" {
			t.Fatalf("deployer's session = %+v %+v", s, s.Token)
		}
		if code := e.call(deployer, "POST", "/api/scripts", `{"name":"sso-made","source":"1"}`); code != 201 {
			t.Fatalf("deployer POST /api/scripts = %d, want 201", code)
		}
		if code := e.call(deployer, "GET", "/api/tokens", ""); code != 403 {
			t.Fatalf("deployer GET /api/tokens = %d, want 403", code)
		}

		// An email the provider did not verify matches no email grant.
		unverified := browser(t)
		if resp, _ := e.signIn(unverified, &mockoidc.MockUser{Subject: "u-unv", Email: "sneaky@example.com", EmailVerified: false}); resp.StatusCode != 403 {
			t.Fatalf("unverified email: %d at %s, want 403", resp.StatusCode, resp.Request.URL)
		}

		// Nobody grants this user anything: refused, with a page for a browser.
		stranger := browser(t)
		e.idp.QueueUser(&mockoidc.MockUser{Subject: "u-x", Email: "x@elsewhere.test", EmailVerified: true, Groups: []string{"staff"}})
		req, _ := http.NewRequest("GET", e.srv.URL+manager.OIDCLoginPath, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := stranger.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(page), "x@elsewhere.test signed in at the identity provider, but no grant") {
			t.Fatalf("stranger: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
		}
		if s := e.session(stranger); s.Authenticated {
			t.Fatalf("stranger got a session: %+v", s)
		}

		// A wrong state: stop before the callback and change it.
		mallory := browser(t)
		mallory.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		e.idp.QueueUser(&mockoidc.MockUser{Subject: "u-reader", Email: "reader@example.com", EmailVerified: true})
		resp, _ = get(t, mallory, e.srv.URL+manager.OIDCLoginPath)
		if resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), e.idp.AuthorizationEndpoint()) {
			t.Fatalf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		authz, _ := url.Parse(resp.Header.Get("Location"))
		if q := authz.Query(); q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
			t.Fatalf("the authorization request lacks PKCE, nonce or state: %s", authz.RawQuery)
		}
		resp, _ = get(t, mallory, authz.String())
		back, _ := url.Parse(resp.Header.Get("Location"))
		good := back.Query()
		bad := url.Values{"code": {good.Get("code")}, "state": {"not-" + good.Get("state")}}
		if resp, body := get(t, mallory, e.srv.URL+manager.OIDCCallbackPath+"?"+bad.Encode()); resp.StatusCode != 401 ||
			!strings.Contains(body, "state does not match") {
			t.Fatalf("bad state: %d %s", resp.StatusCode, body)
		}
		// The right state from another browser (no sign-in cookie) is refused too.
		if resp, body := get(t, browser(t), e.srv.URL+manager.OIDCCallbackPath+"?"+good.Encode()); resp.StatusCode != 401 {
			t.Fatalf("callback without the cookie: %d %s", resp.StatusCode, body)
		}
		if s := e.session(mallory); s.Authenticated {
			t.Fatalf("a refused callback opened a session: %+v", s)
		}

		// The audit trail: the two sign-ins (via oidc, the users as actors),
		// and the failures sampled (one per client a minute: the first).
		ins := e.audit(manager.ActionSignIn)
		if len(ins) != 2 || ins[0].Actor != "ops@corp.test" || ins[0].Via != "oidc" || ins[1].Actor != "Reader@Example.com" || ins[1].Via != "oidc" {
			t.Fatalf("sign-ins in the audit trail: %+v", ins)
		}
		fails := e.audit(manager.ActionSignInFailed)
		if len(fails) != 1 || fails[0].Actor != "" || fails[0].Target != "sneaky@example.com" && fails[0].Target != "u-unv" {
			t.Fatalf("failed sign-ins in the audit trail: %+v", fails)
		}

		// Signing out ends the single sign-on session like any other.
		if code := e.call(reader, "DELETE", "/api/session", ""); code != 204 {
			t.Fatalf("sign out: %d", code)
		}
		if s := e.session(reader); s.Authenticated {
			t.Fatalf("signed out, still %+v", s)
		}
	})
}

// TestOIDCNotConfigured: without --oidc-issuer the routes answer 404 and
// GET /api/session does not offer single sign-on.
func TestOIDCNotConfigured(t *testing.T) {
	e := newEnv(t, openSQLite(t), app.Config{})
	for _, p := range []string{manager.OIDCLoginPath, manager.OIDCCallbackPath + "?state=x&code=y"} {
		if resp, body := e.request("GET", p, nil); resp.StatusCode != 404 {
			t.Fatalf("GET %s = %d %s, want 404", p, resp.StatusCode, body)
		}
	}
	if _, body := e.request("GET", "/api/session", nil); strings.Contains(string(body), "oidc") {
		t.Fatalf("GET /api/session = %s; want no oidc", body)
	}
}

// TestOIDCConfigCheck: a configuration single sign-on cannot work with is
// refused at start, and grants parse as documented.
func TestOIDCConfigCheck(t *testing.T) {
	g, err := manager.ParseOIDCGrant("email:*@Example.com=deploy+invoke:orders")
	if err != nil || g.Kind != "email" || g.Pattern != "*@example.com" || strings.Join(g.Scopes, ",") != "deploy,invoke:orders" {
		t.Fatalf("grant = %+v, %v", g, err)
	}
	for _, bad := range []string{"ops=admin", "group:ops", "group:ops=root", "user:x=read", "email:[=read", "group:=read"} {
		if _, err := manager.ParseOIDCGrant(bad); err == nil {
			t.Errorf("grant %q parsed", bad)
		}
	}
	ok := manager.OIDCConfig{Issuer: "https://idp.example.com", ClientID: "picloud",
		RedirectURL: "https://picloud.example.com" + manager.OIDCCallbackPath, Grants: []manager.OIDCGrant{g}}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*manager.OIDCConfig){
		"no client id":    func(c *manager.OIDCConfig) { c.ClientID = "" },
		"no grant":        func(c *manager.OIDCConfig) { c.Grants = nil },
		"wrong redirect":  func(c *manager.OIDCConfig) { c.RedirectURL = "https://picloud.example.com/callback" },
		"issuer not URL":  func(c *manager.OIDCConfig) { c.Issuer = "idp.example.com" },
		"grant no issuer": func(c *manager.OIDCConfig) { c.Issuer = "" },
	} {
		c := ok
		mut(&c)
		if _, err := app.New(app.Config{OIDC: c}, openSQLite(t)); err == nil {
			t.Errorf("%s: app.New accepted %+v", name, c)
		}
	}
}

func openSQLite(t *testing.T) picloud.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
