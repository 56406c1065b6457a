package manager_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/metrics"
	"github.com/picloud/picloud/internal/sqlite"
)

// adminToken is a token as an operator would set it (≥ 24 characters).
const adminToken = "test-admin-token-0123456789"

// outageStore is a real SQLite store that fails every call while down is set,
// as a database behind a cut network would.
type outageStore struct {
	picloud.Store
	down  atomic.Bool
	reads atomic.Int64 // AdminTokenHash and SessionByHash calls
}

var errDown = errors.New("dial tcp 10.0.0.5:5432: connection refused")

func (s *outageStore) AdminTokenHash(ctx context.Context) (string, error) {
	s.reads.Add(1)
	if s.down.Load() {
		return "", errDown
	}
	return s.Store.AdminTokenHash(ctx)
}

func (s *outageStore) SessionByHash(ctx context.Context, hash string) (*picloud.Session, error) {
	s.reads.Add(1)
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.SessionByHash(ctx, hash)
}

func (s *outageStore) APITokenByHash(ctx context.Context, hash string) (*picloud.APIToken, error) {
	s.reads.Add(1)
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.APITokenByHash(ctx, hash)
}

func (s *outageStore) APIToken(ctx context.Context, id string) (*picloud.APIToken, error) {
	s.reads.Add(1)
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.APIToken(ctx, id)
}

// authEnv is a manager with its session routes and two admin routes (a read
// and a write that touch no store) behind an httptest server.
type authEnv struct {
	t       *testing.T
	store   *outageStore
	metrics *metrics.Metrics
	logs    *syncBuffer
	srv     *httptest.Server
}

func newAuthEnv(t *testing.T, cfg manager.AuthConfig) *authEnv {
	t.Helper()
	ctx := context.Background()
	real, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	if _, err := manager.EnsureAdminToken(ctx, real, adminToken); err != nil {
		t.Fatal(err)
	}
	e := &authEnv{t: t, store: &outageStore{Store: real}, metrics: metrics.New(nil), logs: &syncBuffer{}}
	cfg.OnFailure = func(reason string) { e.metrics.AuthFailures.WithLabelValues(reason).Inc() }
	m := manager.New(manager.Config{Store: e.store, Auth: cfg, Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	ok := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/session", m.HandleCreateSession)
	mux.HandleFunc("GET /api/session", m.HandleGetSession)
	mux.HandleFunc("DELETE /api/session", m.HandleDeleteSession)
	mux.HandleFunc("GET /api/thing", m.Admin(ok))
	mux.HandleFunc("POST /api/thing", m.Admin(ok))
	mux.HandleFunc("GET /api/readable", m.Require(picloud.ScopeRead, ok))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// do sends a request with header pairs and returns the response and body.
func (e *authEnv) do(method, path, body string, hdr ...string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// status is do's status code alone.
func (e *authEnv) status(method, path string, hdr ...string) int {
	e.t.Helper()
	resp, _ := e.do(method, path, "", hdr...)
	return resp.StatusCode
}

// signIn opens a session and returns its cookie.
func (e *authEnv) signIn(hdr ...string) *http.Cookie {
	e.t.Helper()
	resp, body := e.do("POST", "/api/session", `{"token":"`+adminToken+`"}`, hdr...)
	for _, c := range resp.Cookies() {
		if c.Name == manager.SessionCookie && c.MaxAge > 0 {
			if resp.StatusCode != 200 {
				break
			}
			return c
		}
	}
	e.t.Fatalf("sign-in = %d %s %v", resp.StatusCode, body, resp.Cookies())
	return nil
}

func cookieHdr(v string) []string { return []string{"Cookie", manager.SessionCookie + "=" + v} }

// failures reads picloud_auth_failures_total{reason} from the registry, as a
// scrape of /metrics would.
func (e *authEnv) failures(reason string) float64 {
	e.t.Helper()
	mfs, err := e.metrics.Registry.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "picloud_auth_failures_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestSessionLifecycle(t *testing.T) {
	e := newAuthEnv(t, manager.AuthConfig{})
	c := e.signIn()
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/api" || c.Secure {
		t.Fatalf("cookie = %+v: want HttpOnly, SameSite=Strict, Path=/api, not Secure over http", c)
	}
	if !strings.HasPrefix(c.Value, "pcs_") || len(c.Value) != 4+64 {
		t.Fatalf("session id = %q, want pcs_ and 64 hex digits", c.Value)
	}
	if life := time.Duration(c.MaxAge) * time.Second; life > 12*time.Hour || life < 11*time.Hour {
		t.Fatalf("max-age = %v, want 12 h", life)
	}
	// The store holds the hash, never the id.
	if s, err := e.store.Store.SessionByHash(context.Background(), manager.HashToken(c.Value)); err != nil ||
		s.ExpiresAt.Sub(s.CreatedAt) != 12*time.Hour {
		t.Fatalf("stored session = %+v, %v", s, err)
	}
	if _, err := e.store.Store.SessionByHash(context.Background(), c.Value); picloud.ErrorCode(err) != picloud.ENotFound {
		t.Fatalf("the id itself is stored: %v", err)
	}

	if code := e.status("GET", "/api/thing", cookieHdr(c.Value)...); code != 204 {
		t.Fatalf("admin GET with the cookie = %d", code)
	}
	if _, body := e.do("GET", "/api/session", "", cookieHdr(c.Value)...); body != `{"authenticated":true,"method":"session","token":{"id":"admin","name":"admin","scopes":["admin"]}}`+"\n" {
		t.Fatalf("GET /api/session = %s", body)
	}
	if code := e.status("POST", "/api/thing", cookieHdr(c.Value)...); code != 401 {
		t.Fatalf("cookie write without the CSRF header = %d", code)
	}
	if code := e.status("POST", "/api/thing", append(cookieHdr(c.Value), "X-PiCloud-CSRF", "1")...); code != 204 {
		t.Fatalf("cookie write with the CSRF header = %d", code)
	}
	// Bearer writes need no CSRF header: a browser cannot send one cross-site.
	if code := e.status("POST", "/api/thing", "Authorization", "Bearer "+adminToken); code != 204 {
		t.Fatalf("bearer write = %d", code)
	}

	resp, _ := e.do("DELETE", "/api/session", "", append(cookieHdr(c.Value), "X-PiCloud-CSRF", "1")...)
	cleared := false
	for _, rc := range resp.Cookies() {
		cleared = cleared || rc.Name == manager.SessionCookie && rc.Path == "/api" && rc.MaxAge < 0
	}
	if resp.StatusCode != 204 || !cleared {
		t.Fatalf("sign-out = %d %v", resp.StatusCode, resp.Cookies())
	}
	// The old cookie, replayed after sign-out, is refused: the session is
	// gone from the store, not only from the browser.
	if code := e.status("GET", "/api/thing", cookieHdr(c.Value)...); code != 401 {
		t.Fatalf("cookie after sign-out = %d", code)
	}
	if _, err := e.store.Store.SessionByHash(context.Background(), manager.HashToken(c.Value)); picloud.ErrorCode(err) != picloud.ENotFound {
		t.Fatalf("session still stored after sign-out: %v", err)
	}
	if _, body := e.do("GET", "/api/session", "", cookieHdr(c.Value)...); body != `{"authenticated":false}`+"\n" {
		t.Fatalf("GET /api/session after sign-out = %s", body)
	}
}

func TestSessionCookieSecureBehindHTTPS(t *testing.T) {
	e := newAuthEnv(t, manager.AuthConfig{})
	if c := e.signIn("X-Forwarded-Proto", "https"); !c.Secure {
		t.Fatalf("cookie over https = %+v, want Secure", c)
	}
}

func TestStaleSessions(t *testing.T) {
	// SessionRefresh of 1 ns: every request asks the store, as one would
	// after the cache's few seconds.
	e := newAuthEnv(t, manager.AuthConfig{SessionRefresh: time.Nanosecond})
	ctx := context.Background()
	const expired = "pcs_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	now := time.Now()
	if err := e.store.CreateSession(ctx, &picloud.Session{Hash: manager.HashToken(expired),
		CreatedAt: now.Add(-13 * time.Hour), ExpiresAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.do("GET", "/api/thing", "", cookieHdr(expired)...)
	if resp.StatusCode != 401 || !strings.Contains(body, `"unauthorized"`) {
		t.Fatalf("expired session = %d %s", resp.StatusCode, body)
	}
	// The refusal tells the browser to drop the cookie.
	if cs := resp.Cookies(); len(cs) == 0 || cs[len(cs)-1].MaxAge >= 0 {
		t.Fatalf("expired session: cookie not cleared: %v", cs)
	}

	// A session deleted by another process (or expired since it was
	// cached) stops working once the store is asked again.
	c := e.signIn()
	if code := e.status("GET", "/api/thing", cookieHdr(c.Value)...); code != 204 {
		t.Fatalf("fresh session = %d", code)
	}
	if err := e.store.DeleteSession(ctx, manager.HashToken(c.Value)); err != nil {
		t.Fatal(err)
	}
	if code := e.status("GET", "/api/thing", cookieHdr(c.Value)...); code != 401 {
		t.Fatalf("session deleted elsewhere = %d", code)
	}

	// A cookie of the old format (expiry.mac), validly signed with the
	// stored token hash as the key, means nothing any more.
	if code := e.status("GET", "/api/thing", cookieHdr("9999999999.deadbeef")...); code != 401 {
		t.Fatalf("old-format cookie = %d", code)
	}
	if got := e.failures(manager.ReasonUnknownSession); got != 3 {
		t.Fatalf("unknown_session failures = %v, want 3", got)
	}
}

func TestSessionFromDatabaseContents(t *testing.T) {
	// Everything a reader of the database or a backup sees, tried as a
	// cookie and as a bearer token: none is a credential.
	e := newAuthEnv(t, manager.AuthConfig{MaxFailures: 100})
	c := e.signIn()
	ctx := context.Background()
	sessionHash := manager.HashToken(c.Value)
	tokenHash, err := e.store.Store.AdminTokenHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hexOf := func(h string) string { return strings.TrimPrefix(h, "sha256:") }
	for _, v := range []string{sessionHash, hexOf(sessionHash), "pcs_" + hexOf(sessionHash),
		tokenHash, hexOf(tokenHash), "pcs_" + hexOf(tokenHash)} {
		if code := e.status("GET", "/api/thing", cookieHdr(v)...); code != 401 {
			t.Errorf("cookie %q = %d, want 401", v, code)
		}
		if code := e.status("GET", "/api/thing", "Authorization", "Bearer "+v); code != 401 {
			t.Errorf("bearer %q = %d, want 401", v, code)
		}
	}
	if code := e.status("GET", "/api/thing", cookieHdr(c.Value)...); code != 204 {
		t.Fatalf("the real cookie = %d", code)
	}
}

func TestRotationSignsEveryoneOut(t *testing.T) {
	e := newAuthEnv(t, manager.AuthConfig{})
	c1, c2 := e.signIn(), e.signIn()
	for _, c := range []*http.Cookie{c1, c2} {
		if code := e.status("GET", "/api/thing", cookieHdr(c.Value)...); code != 204 {
			t.Fatalf("session before rotation = %d", code)
		}
	}
	rotated, err := manager.RotateToken(context.Background(), e.store)
	if err != nil {
		t.Fatal(err)
	}
	// Cached sessions and the cached token hash are dropped at once.
	for _, c := range []*http.Cookie{c1, c2} {
		if code := e.status("GET", "/api/thing", cookieHdr(c.Value)...); code != 401 {
			t.Fatalf("session after rotation = %d", code)
		}
	}
	if code := e.status("GET", "/api/thing", "Authorization", "Bearer "+adminToken); code != 401 {
		t.Fatalf("old token after rotation = %d", code)
	}
	if code := e.status("GET", "/api/thing", "Authorization", "Bearer "+rotated); code != 204 {
		t.Fatalf("new token = %d", code)
	}
}

func TestBearerScheme(t *testing.T) {
	e := newAuthEnv(t, manager.AuthConfig{MaxFailures: 100})
	for _, v := range []string{"Bearer " + adminToken, "bearer " + adminToken, "BEARER " + adminToken,
		"bEaReR   " + adminToken + "  "} {
		if code := e.status("GET", "/api/thing", "Authorization", v); code != 204 {
			t.Errorf("Authorization %q = %d", v, code)
		}
	}
	for _, v := range []string{"Basic " + adminToken, adminToken, "Bearer", "Bearer ", "Bearertoken " + adminToken} {
		if code := e.status("GET", "/api/thing", "Authorization", v); code != 401 {
			t.Errorf("Authorization %q = %d, want 401", v, code)
		}
	}
	if got := e.failures(manager.ReasonBadScheme); got != 5 {
		t.Fatalf("bad_scheme failures = %v, want 5", got)
	}
	// No credential at all is not a failed authentication.
	if code := e.status("GET", "/api/thing"); code != 401 {
		t.Fatalf("no credential = %d", code)
	}
	if got := e.failures(manager.ReasonBadScheme) + e.failures(manager.ReasonWrongToken); got != 5 {
		t.Fatalf("a request without credentials was counted: %v", got)
	}
}

func TestFailureLimit(t *testing.T) {
	trusted, err := httpapi.ParseTrustedProxies("127.0.0.1/32,::1/128")
	if err != nil {
		t.Fatal(err)
	}
	e := newAuthEnv(t, manager.AuthConfig{TrustedProxies: trusted})
	from := func(client string, hdr ...string) []string { return append(hdr, "X-Forwarded-For", client) }
	const attacker, admin, busy = "198.51.100.7", "203.0.113.9", "192.0.2.44"

	// Successes spend nothing: a busy client signs in and calls freely.
	for range 30 {
		if code := e.status("GET", "/api/thing", from(busy, "Authorization", "Bearer "+adminToken)...); code != 204 {
			t.Fatalf("busy client = %d", code)
		}
	}
	for i := range 10 {
		resp, body := e.do("GET", "/api/thing", "", from(attacker, "Authorization", "Bearer wrong-"+strconv.Itoa(i))...)
		if resp.StatusCode != 401 {
			t.Fatalf("failure %d = %d %s", i+1, resp.StatusCode, body)
		}
	}
	// The 11th: refused unchecked, with Retry-After.
	resp, body := e.do("GET", "/api/thing", "", from(attacker, "Authorization", "Bearer wrong")...)
	retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != 429 || !strings.Contains(body, `"rate_limited"`) || retry < 1 || retry > 60 {
		t.Fatalf("11th failure = %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// Blocked means blocked: the right token from that client, a sign-in and
	// a session check are refused too (or the block would not slow guessing).
	if code := e.status("GET", "/api/thing", from(attacker, "Authorization", "Bearer "+adminToken)...); code != 429 {
		t.Fatalf("right token from the blocked client = %d", code)
	}
	if resp, _ := e.do("POST", "/api/session", `{"token":"x"}`, from(attacker)...); resp.StatusCode != 429 {
		t.Fatalf("sign-in from the blocked client = %d", resp.StatusCode)
	}
	if code := e.status("GET", "/api/session", from(attacker, "Authorization", "Bearer x")...); code != 429 {
		t.Fatalf("session check from the blocked client = %d", code)
	}
	// Other clients are not affected.
	if code := e.status("GET", "/api/thing", from(admin, "Authorization", "Bearer "+adminToken)...); code != 204 {
		t.Fatalf("right token from another client = %d", code)
	}
	e.signIn(from(admin)...)
	// A forged X-Forwarded-For does not escape: the proxy appends the real
	// address, and the right-most untrusted one is the client.
	if code := e.status("GET", "/api/thing", "X-Forwarded-For", "10.1.1.1, "+attacker, "Authorization", "Bearer y"); code != 429 {
		t.Fatalf("forged X-Forwarded-For = %d", code)
	}

	if got := e.failures(manager.ReasonWrongToken); got != 10 {
		t.Fatalf("wrong_token failures = %v, want 10", got)
	}
	if got := e.failures(manager.ReasonRateLimited); got != 5 {
		t.Fatalf("rate_limited = %v, want 5", got)
	}
	// Logged, but not once per failure: one line per client per window.
	if n := strings.Count(e.logs.String(), "authentication failed"); n != 1 {
		t.Fatalf("%d log lines about failures, want 1:\n%s", n, e.logs.String())
	}
	if !strings.Contains(e.logs.String(), "client="+attacker) {
		t.Fatalf("the log does not name the client:\n%s", e.logs.String())
	}
}

func TestFailureLimitWithoutTrustedProxies(t *testing.T) {
	// Nobody trusted: X-Forwarded-For is the client's word and is ignored,
	// so rotating it does not buy new budgets.
	e := newAuthEnv(t, manager.AuthConfig{MaxFailures: 3})
	for i := range 3 {
		if code := e.status("GET", "/api/thing", "X-Forwarded-For", "192.0.2."+strconv.Itoa(i), "Authorization", "Bearer no"); code != 401 {
			t.Fatalf("failure %d = %d", i, code)
		}
	}
	if code := e.status("GET", "/api/thing", "X-Forwarded-For", "192.0.2.99", "Authorization", "Bearer no"); code != 429 {
		t.Fatalf("4th failure with a new X-Forwarded-For = %d", code)
	}
	// Wrong sign-in tokens count the same.
	e2 := newAuthEnv(t, manager.AuthConfig{MaxFailures: 2})
	for _, want := range []int{401, 401, 429} {
		if resp, _ := e2.do("POST", "/api/session", `{"token":"nope-nope-nope-nope-nope"}`); resp.StatusCode != want {
			t.Fatalf("sign-in with a wrong token = %d, want %d", resp.StatusCode, want)
		}
	}
}

func TestAuthDuringStoreOutage(t *testing.T) {
	e := newAuthEnv(t, manager.AuthConfig{})
	c := e.signIn()
	if code := e.status("GET", "/api/thing", "Authorization", "Bearer "+adminToken); code != 204 {
		t.Fatalf("bearer = %d", code)
	}
	if code := e.status("GET", "/api/thing", cookieHdr(c.Value)...); code != 204 {
		t.Fatalf("cookie = %d", code)
	}
	reads := e.store.reads.Load()
	// Repeated requests are answered from memory, not the database.
	for range 20 {
		e.status("GET", "/api/thing", "Authorization", "Bearer "+adminToken)
		e.status("GET", "/api/thing", cookieHdr(c.Value)...)
	}
	if n := e.store.reads.Load() - reads; n > 2 {
		t.Fatalf("40 authenticated requests read the store %d times", n)
	}

	e.store.down.Store(true)
	if code := e.status("GET", "/api/thing", "Authorization", "Bearer "+adminToken); code != 204 {
		t.Fatalf("bearer during the outage = %d", code)
	}
	if code := e.status("GET", "/api/thing", "Authorization", "Bearer wrong"); code != 401 {
		t.Fatalf("wrong token during the outage = %d", code)
	}
	if code := e.status("GET", "/api/thing", cookieHdr(c.Value)...); code != 204 {
		t.Fatalf("a known session during the outage = %d", code)
	}
	// A session this process never saw cannot be checked: 503, not 401 (the
	// client did nothing wrong) and not 500.
	const unknown = "pcs_00000000000000000000000000000000000000000000000000000000000000ff"
	resp, body := e.do("GET", "/api/thing", "", cookieHdr(unknown)...)
	if resp.StatusCode != 503 || !strings.Contains(body, `"unavailable"`) || strings.Contains(body, "10.0.0.5") {
		t.Fatalf("unknown session during the outage = %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(e.logs.String(), "connection refused") {
		t.Fatalf("the store error was not logged:\n%s", e.logs.String())
	}
	e.store.down.Store(false)
	if code := e.status("GET", "/api/thing", cookieHdr(unknown)...); code != 401 {
		t.Fatalf("unknown session after the outage = %d", code)
	}
}

func TestEnsureAdminToken(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, bad := range []string{"short", strings.Repeat("x", 23), "has a space in it, 24+ chars", "tab\tinside-the-token-0123456"} {
		if _, err := manager.EnsureAdminToken(ctx, s, bad); err == nil {
			t.Errorf("token %q accepted", bad)
		} else if !strings.Contains(err.Error(), "PICLOUD_ADMIN_TOKEN") {
			t.Errorf("token %q: unclear message %q", bad, err)
		}
	}
	if h, _ := s.AdminTokenHash(ctx); h != "" {
		t.Fatal("a refused token was stored")
	}
	if _, err := manager.EnsureAdminToken(ctx, s, strings.Repeat("x", 24)); err != nil {
		t.Fatalf("a 24-character token: %v", err)
	}
	// Starting again with the same token keeps the sessions; a new one
	// signs everyone out.
	sess := &picloud.Session{Hash: "sha256:s", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if _, err := manager.EnsureAdminToken(ctx, s, strings.Repeat("x", 24)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, "sha256:s"); err != nil {
		t.Fatalf("restart with the same token dropped the sessions: %v", err)
	}
	if _, err := manager.EnsureAdminToken(ctx, s, strings.Repeat("y", 24)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, "sha256:s"); picloud.ErrorCode(err) != picloud.ENotFound {
		t.Fatalf("a new token kept the sessions: %v", err)
	}
	// Generated tokens pass the rule themselves.
	if err := manager.CheckToken(manager.NewToken()); err != nil {
		t.Fatal(err)
	}
}

// namedToken stores a named API token the way POST /api/tokens does and
// returns it and its id.
func (e *authEnv) namedToken(name string, scopes ...string) (string, string) {
	e.t.Helper()
	tok := manager.NewToken()
	t := &picloud.APIToken{Name: name, Scopes: scopes, Prefix: tok[:12], Hash: manager.HashToken(tok)}
	if err := e.store.Store.CreateAPIToken(context.Background(), t); err != nil {
		e.t.Fatal(err)
	}
	return tok, t.ID
}

// TestNamedTokenCache: a named token is read from the store once per
// TokenRefresh, works from memory through an outage, and a revocation by
// another process (straight in the store) takes effect here within
// TokenRefresh, for the bearer token and for its sessions alike.
func TestNamedTokenCache(t *testing.T) {
	e := newAuthEnv(t, manager.AuthConfig{TokenRefresh: 300 * time.Millisecond, SessionRefresh: 300 * time.Millisecond})
	tok, id := e.namedToken("reader", "read")
	hdr := []string{"Authorization", "Bearer " + tok}
	if code := e.status("GET", "/api/readable", hdr...); code != 204 {
		t.Fatalf("read token on a read route = %d", code)
	}
	if resp, body := e.do("GET", "/api/thing", "", hdr...); resp.StatusCode != 403 || !strings.Contains(body, "do not include admin") {
		t.Fatalf("read token on an admin route = %d %s", resp.StatusCode, body)
	}
	if e.failures(manager.ReasonForbidden) != 1 {
		t.Fatalf("forbidden not counted")
	}
	reads := e.store.reads.Load()
	for range 20 {
		e.status("GET", "/api/readable", hdr...)
	}
	if n := e.store.reads.Load() - reads; n > 1 {
		t.Fatalf("20 requests with a named token read the store %d times", n)
	}
	resp, body := e.do("POST", "/api/session", `{"token":"`+tok+`"}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"name":"reader","scopes":["read"]`) {
		t.Fatalf("sign in with the named token = %d %s", resp.StatusCode, body)
	}
	var cookie string
	for _, c := range resp.Cookies() {
		cookie = c.Value
	}
	if code := e.status("GET", "/api/readable", cookieHdr(cookie)...); code != 204 {
		t.Fatalf("its session = %d", code)
	}

	// Through an outage, both keep working from memory.
	e.store.down.Store(true)
	time.Sleep(350 * time.Millisecond)
	if code := e.status("GET", "/api/readable", hdr...); code != 204 {
		t.Fatalf("named token during the outage = %d", code)
	}
	if code := e.status("GET", "/api/readable", cookieHdr(cookie)...); code != 204 {
		t.Fatalf("its session during the outage = %d", code)
	}
	e.store.down.Store(false)

	// Revoked elsewhere: refused here within TokenRefresh.
	if err := e.store.Store.DeleteAPIToken(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for e.status("GET", "/api/readable", hdr...) != 401 || e.status("GET", "/api/readable", cookieHdr(cookie)...) != 401 {
		if time.Now().After(deadline) {
			t.Fatalf("a token revoked in the store still works after 2 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if time.Until(deadline) < time.Second {
		t.Fatalf("the revocation took %v to be noticed; TokenRefresh is 300 ms", 2*time.Second-time.Until(deadline))
	}
}
