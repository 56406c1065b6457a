package orchestrator

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/httpapi"
	"github.com/picloud/picloud/internal/metrics"
)

// testAuthorizer stands in for the manager's: it knows credentials by hash,
// as the store does, and counts the questions it was asked.
type testAuthorizer struct {
	mu     sync.Mutex
	keys   map[string]string // hash -> script id
	tokens map[string]string // hash -> "ok" (any script), "expired", or a script name it may invoke
	asked  int
	fail   error // answered to every question when set
}

func (a *testAuthorizer) authorize(_ context.Context, sc *picloud.Script, kind, hash string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked++
	if a.fail != nil {
		return "", a.fail
	}
	if kind == CredentialKey {
		id, ok := a.keys[hash]
		switch {
		case !ok:
			return "", &picloud.Error{Code: picloud.EUnauthorized, Message: "unknown key", Details: map[string]any{"reason": "unknown"}}
		case id != sc.ID:
			return "", picloud.Errorf(picloud.EForbidden, "a key of another script")
		}
		return "key-" + hash[len(hash)-6:], nil
	}
	switch t, ok := a.tokens[hash]; {
	case !ok:
		return "", &picloud.Error{Code: picloud.EUnauthorized, Message: "unknown token", Details: map[string]any{"reason": "unknown"}}
	case t == "expired":
		return "", &picloud.Error{Code: picloud.EUnauthorized, Message: "the token expired", Details: map[string]any{"reason": "expired"}}
	case t != "ok" && t != sc.Name:
		return "", picloud.Errorf(picloud.EForbidden, "not this script")
	}
	return "", nil
}

func (a *testAuthorizer) questions() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.asked
}

func denied(m *metrics.Metrics, reason string) float64 {
	return value(m.InvokeDenied.WithLabelValues(reason))
}

func request(method, path string, header ...string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

// A library script answers 404 at both invocation routes, exactly as a
// missing one, and is still importable; nothing is recorded for the refused
// calls.
func TestAccessLibrary(t *testing.T) {
	store := newFakeStore(
		&picloud.Script{Name: "lib", Source: `fn double(x) { x * 2 } 1`, Access: picloud.AccessLibrary},
		&picloud.Script{Name: "main", Source: `import "lib" as lib; lib::double(21)`})
	e := newEnv(t, Config{}, store)
	for _, path := range []string{"/fn/lib", "/fn/lib/sub", "/api/execute/id-lib"} {
		w := e.get(path)
		if w.Code != 404 || errorCode(w.Body.Bytes()) != picloud.ENotFound {
			t.Errorf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	missing := e.get("/fn/nothing")
	if lib := e.get("/fn/lib"); strings.Replace(lib.Body.String(), "lib", "nothing", 1) != missing.Body.String() {
		t.Errorf("library %q differs from missing %q", lib.Body, missing.Body)
	}
	if w := e.get("/fn/main"); w.Code != 200 || body(w.Body) != "42" {
		t.Fatalf("import of a library: %d %s", w.Code, w.Body)
	}
	if rows := e.sink.waitRows(t, 1); len(rows) != 1 || rows[0].ScriptID != "id-main" {
		t.Errorf("rows %d, want only main's", len(rows))
	}
	// The manager's test run still runs it (the admin API is authenticated).
	if res, _, err := e.o.Invoke(context.Background(), "id-lib", &executor.Request{Method: "POST", Path: "/"}); err != nil || res.Status != picloud.StatusSuccess {
		t.Errorf("test run of a library: %v %v", res, err)
	}
}

// Access "key": the script's keys open it (X-PiCloud-Key or a bearer),
// tokens that may invoke it too; the rest get 401/403, are counted by
// reason, and write no row.
func TestAccessKey(t *testing.T) {
	store := newFakeStore(
		&picloud.Script{Name: "orders", Source: `"ok"`, Access: picloud.AccessKey},
		&picloud.Script{Name: "other", Source: `"ok"`, Access: picloud.AccessKey})
	e := newEnv(t, Config{}, store)
	auth := &testAuthorizer{
		keys:   map[string]string{HashCredential("pck_orders"): "id-orders", HashCredential("pck_other"): "id-other"},
		tokens: map[string]string{HashCredential("pct_admin"): "ok", HashCredential("pct_old"): "expired", HashCredential("pct_x"): "x"}}
	e.o.SetAuthorizer(HashAuthorizer(auth.authorize))
	for _, tc := range []struct {
		name   string
		header []string
		status int
		reason string
	}{
		{"none", nil, 401, DeniedMissing},
		{"basic is not a credential", []string{"Authorization", "Basic dTpw"}, 401, DeniedMissing},
		{"x-picloud-key", []string{"X-PiCloud-Key", "pck_orders"}, 200, ""},
		{"bearer key", []string{"Authorization", "Bearer pck_orders"}, 200, ""},
		{"bearer scheme in any case", []string{"Authorization", "bearer pck_orders"}, 200, ""},
		{"unknown key", []string{"X-PiCloud-Key", "pck_nope"}, 401, DeniedUnknown},
		{"another script's key", []string{"X-PiCloud-Key", "pck_other"}, 403, DeniedForbidden},
		{"admin token", []string{"Authorization", "Bearer pct_admin"}, 200, ""},
		{"expired token", []string{"Authorization", "Bearer pct_old"}, 401, DeniedExpired},
		{"token for another script", []string{"Authorization", "Bearer pct_x"}, 403, DeniedForbidden},
	} {
		before := 0.0
		if tc.reason != "" {
			before = denied(e.metrics, tc.reason)
		}
		w := e.do(request("POST", "/fn/orders", tc.header...))
		if w.Code != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, w.Code, w.Body, tc.status)
			continue
		}
		if tc.reason == "" {
			continue
		}
		if want := map[int]string{401: picloud.EUnauthorized, 403: picloud.EForbidden}[tc.status]; errorCode(w.Body.Bytes()) != want {
			t.Errorf("%s: body %s, want code %s", tc.name, w.Body, want)
		}
		if got := denied(e.metrics, tc.reason) - before; got != 1 {
			t.Errorf("%s: picloud_invoke_denied_total{reason=%q} rose by %g", tc.name, tc.reason, got)
		}
	}
	// Only the 4 allowed calls ran: refused ones write no row.
	e.sink.waitRows(t, 4)
	time.Sleep(20 * time.Millisecond)
	if n := len(e.sink.all()); n != 4 {
		t.Errorf("%d rows, want 4", n)
	}
	// /api/execute/{id} is guarded the same way, and async calls too.
	if w := e.get("/api/execute/id-orders"); w.Code != 401 {
		t.Errorf("execute without a key: %d", w.Code)
	}
	if w := e.do(request("POST", "/fn/orders", "Prefer", "respond-async")); w.Code != 401 {
		t.Errorf("async without a key: %d", w.Code)
	}
}

// Access "token" refuses invoke keys without asking the authorizer.
func TestAccessToken(t *testing.T) {
	e := newEnv(t, Config{}, newFakeStore(&picloud.Script{Name: "t", Source: `"ok"`, Access: picloud.AccessToken}))
	auth := &testAuthorizer{keys: map[string]string{HashCredential("pck_t"): "id-t"},
		tokens: map[string]string{HashCredential("pct_t"): "t"}}
	e.o.SetAuthorizer(HashAuthorizer(auth.authorize))
	if w := e.do(request("GET", "/fn/t", "X-PiCloud-Key", "pck_t")); w.Code != 403 || auth.questions() != 0 {
		t.Errorf("a key on a token script: %d %s, %d questions", w.Code, w.Body, auth.questions())
	}
	w := e.get("/fn/t")
	if w.Code != 401 || !strings.Contains(w.Body.String(), "invoke:t") {
		t.Errorf("no token: %d %s", w.Code, w.Body)
	}
	if w := e.do(request("GET", "/fn/t", "Authorization", "Bearer pct_t")); w.Code != 200 {
		t.Errorf("a token with invoke:t: %d %s", w.Code, w.Body)
	}
}

// Without an authorizer, or when it cannot answer, protected scripts
// answer 503: never run unchecked.
func TestAccessUnchecked(t *testing.T) {
	e := newEnv(t, Config{}, newFakeStore(&picloud.Script{Name: "k", Source: `"ok"`, Access: picloud.AccessKey}))
	if w := e.do(request("GET", "/fn/k", "X-PiCloud-Key", "pck_k")); w.Code != 503 {
		t.Errorf("no authorizer: %d %s", w.Code, w.Body)
	}
	auth := &testAuthorizer{fail: errors.New("database is down")}
	e.o.SetAuthorizer(HashAuthorizer(auth.authorize))
	if w := e.do(request("GET", "/fn/k", "X-PiCloud-Key", "pck_k")); w.Code != 503 || strings.Contains(w.Body.String(), "database") {
		t.Errorf("store down: %d %s", w.Code, w.Body)
	}
	auth.fail = picloud.Errorf(picloud.EUnavailable, "manager unreachable")
	if w := e.do(request("GET", "/fn/k", "X-PiCloud-Key", "pck_k")); w.Code != 503 {
		t.Errorf("manager unreachable: %d %s", w.Code, w.Body)
	}
	if len(e.sink.all()) != 0 {
		t.Error("an unchecked call ran")
	}
}

// A rate limit answers 429 rate_limited with Retry-After once a client's
// burst is spent, per client address, and lets it through again once the
// bucket has refilled.
func TestRateLimitPerClient(t *testing.T) {
	e := newEnv(t, Config{}, newFakeStore(&picloud.Script{Name: "r", Source: `"ok"`, RateLimitRPS: 20, RateLimitBurst: 2}))
	from := func(addr string) int {
		r := request("GET", "/fn/r")
		r.RemoteAddr = addr
		w := e.do(r)
		if w.Code == 429 {
			if w.Header().Get("Retry-After") != "1" || errorCode(w.Body.Bytes()) != picloud.ERateLimited {
				t.Errorf("429 without Retry-After 1 or rate_limited: %q %s", w.Header().Get("Retry-After"), w.Body)
			}
		}
		return w.Code
	}
	if a, b, c := from("10.0.0.1:1"), from("10.0.0.1:2"), from("10.0.0.1:3"); a != 200 || b != 200 || c != 429 {
		t.Fatalf("burst of 2: %d %d %d", a, b, c)
	}
	if got := from("10.0.0.2:1"); got != 200 {
		t.Errorf("another client: %d", got)
	}
	// An IPv6 client is counted by its /64.
	if a, b, c := from("[2001:db8::1]:1"), from("[2001:db8::2]:1"), from("[2001:db8::3]:1"); a != 200 || b != 200 || c != 429 {
		t.Errorf("one /64: %d %d %d", a, b, c)
	}
	if got := denied(e.metrics, DeniedRateLimited); got != 2 {
		t.Errorf("rate_limited counted %g, want 2", got)
	}
	time.Sleep(120 * time.Millisecond) // 20/s: 2 back
	if got := from("10.0.0.1:4"); got != 200 {
		t.Errorf("after refilling: %d", got)
	}
}

// X-Forwarded-For names the client only behind a trusted proxy.
func TestRateLimitTrustedProxies(t *testing.T) {
	proxies, err := httpapi.ParseTrustedProxies("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Config{TrustedProxies: proxies}, newFakeStore(&picloud.Script{Name: "r", Source: `"ok"`, RateLimitRPS: 0.01}))
	call := func(peer, xff string) int {
		r := request("GET", "/fn/r", "X-Forwarded-For", xff)
		r.RemoteAddr = peer
		return e.do(r).Code
	}
	if a, b := call("127.0.0.1:1", "192.0.2.1"), call("127.0.0.1:1", "192.0.2.2"); a != 200 || b != 200 {
		t.Errorf("two clients behind the proxy: %d %d", a, b)
	}
	if a, b := call("10.9.9.9:1", "192.0.2.3"), call("10.9.9.9:1", "192.0.2.4"); a != 200 || b != 429 {
		t.Errorf("an untrusted peer's X-Forwarded-For is ignored: %d %d", a, b)
	}
}

// rate_limit_by "key" counts each invoke key on its own, whatever the
// address; callers without a key are counted by address. A limit counted by
// address applies before the credential is checked.
func TestRateLimitPerKey(t *testing.T) {
	store := newFakeStore(
		&picloud.Script{Name: "k", Source: `"ok"`, Access: picloud.AccessKey, RateLimitRPS: 0.01, RateLimitBy: picloud.RateLimitByKey},
		&picloud.Script{Name: "a", Source: `"ok"`, Access: picloud.AccessKey, RateLimitRPS: 0.01})
	e := newEnv(t, Config{}, store)
	auth := &testAuthorizer{keys: map[string]string{HashCredential("pck_1"): "id-k", HashCredential("pck_2"): "id-k", HashCredential("pck_a"): "id-a"},
		tokens: map[string]string{HashCredential("pct_admin"): "ok"}}
	e.o.SetAuthorizer(HashAuthorizer(auth.authorize))
	codes := func(path string, header ...string) (c []int) {
		for range 2 {
			c = append(c, e.do(request("GET", path, header...)).Code)
		}
		return c
	}
	if c := codes("/fn/k", "X-PiCloud-Key", "pck_1"); c[0] != 200 || c[1] != 429 {
		t.Errorf("key 1: %v", c)
	}
	if c := codes("/fn/k", "X-PiCloud-Key", "pck_2"); c[0] != 200 || c[1] != 429 {
		t.Errorf("key 2 from the same address has its own bucket: %v", c)
	}
	if c := codes("/fn/k", "Authorization", "Bearer pct_admin"); c[0] != 200 || c[1] != 429 {
		t.Errorf("a token, counted by address: %v", c)
	}
	before := auth.questions()
	if c := codes("/fn/a", "X-PiCloud-Key", "pck_nope"); c[0] != 401 || c[1] != 429 || auth.questions() != before+1 {
		t.Errorf("by address, before the check: %v, %d questions", c, auth.questions()-before)
	}
}

// A script's limiter remembers at most its bound of callers, forgetting
// idle ones first; a new rate or burst starts afresh.
func TestRateLimiterBounded(t *testing.T) {
	l := &rateLimits{max: 100}
	sc := &picloud.Script{ID: "s", RateLimitRPS: 1000, RateLimitBurst: 5}
	s := l.limiter(sc)
	now := clock()
	busy := bucketKey{key: "busy"}
	for range 5 {
		s.take(busy, now, l.max)
	}
	for i := range 1000 {
		s.take(bucketKey{addr: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})}, now, l.max)
	}
	if n := s.size(); n > 100 {
		t.Fatalf("%d buckets, bound 100", n)
	}
	// Later, every bucket has refilled: a sweep forgets them all but keeps
	// working.
	later := now + time.Second
	for i := range 200 {
		if wait := s.take(bucketKey{key: string(rune('a' + i))}, later, l.max); wait != 0 {
			t.Fatalf("a new caller waits %v", wait)
		}
	}
	if n := s.size(); n > 100 {
		t.Fatalf("%d buckets, bound 100", n)
	}
	if l.limiter(sc) != s {
		t.Error("the same settings made a new limiter")
	}
	sc.RateLimitBurst = 6
	if l.limiter(sc) == s {
		t.Error("a new burst kept the old limiter")
	}
	if got := scriptBurst(&picloud.Script{RateLimitRPS: 2.5}); got != 3 {
		t.Errorf("default burst of 2.5/s: %g", got)
	}
	if got := scriptBurst(&picloud.Script{RateLimitRPS: 0.1}); got != 1 {
		t.Errorf("default burst of 0.1/s: %g", got)
	}
}

// Refused calls are logged at most once per script per DenyLogEvery, with
// the number not logged since.
func TestDenialsSampled(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	m := metrics.New(nil)
	store := newFakeStore(&picloud.Script{Name: "k", Source: `"ok"`, Access: picloud.AccessKey},
		&picloud.Script{Name: "j", Source: `"ok"`, Access: picloud.AccessKey})
	o := New(Config{}, executor.New(executor.Config{}, nil), store, newFakeSink(), m, logger)
	o.SetAuthorizer(HashAuthorizer((&testAuthorizer{}).authorize))
	e := &env{o: o, metrics: m}
	for range 50 {
		e.get("/fn/k")
	}
	e.get("/fn/j")
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if n := strings.Count(out, "invocation refused"); n != 2 {
		t.Errorf("%d log lines for 51 refusals over two scripts:\n%s", n, out)
	}
	if got := denied(m, DeniedMissing); got != 51 {
		t.Errorf("missing counted %g, want 51", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestReadCredential(t *testing.T) {
	for _, tc := range []struct {
		header []string
		want   Credential
		ok     bool
	}{
		{nil, Credential{}, false},
		{[]string{"X-PiCloud-Key", " pck_a "}, Credential{CredentialKey, "pck_a"}, true},
		{[]string{"X-PiCloud-Key", "pck_a", "Authorization", "Bearer pct_b"}, Credential{CredentialKey, "pck_a"}, true},
		{[]string{"Authorization", "Bearer pct_b"}, Credential{CredentialToken, "pct_b"}, true},
		{[]string{"Authorization", "Bearer my-own-admin-token-0123456789"}, Credential{CredentialToken, "my-own-admin-token-0123456789"}, true},
		{[]string{"Authorization", "BEARER  pck_c"}, Credential{CredentialKey, "pck_c"}, true},
		{[]string{"Authorization", "Bearer"}, Credential{}, false},
		{[]string{"Authorization", "Token pct_b"}, Credential{}, false},
	} {
		got, ok := readCredential(request("GET", "/", tc.header...))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%v: %+v %v, want %+v %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
	// The store's form (manager.HashToken): "sha256:" and 64 hex digits.
	if h := HashCredential("abc"); h != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("HashCredential = %s", h)
	}

}

// A public script without a rate limit never reaches the limiter: no
// bucket map, no lock.
func TestNoLimitNoState(t *testing.T) {
	e := newEnv(t, Config{}, newFakeStore(&picloud.Script{Name: "p", Source: `"ok"`}))
	for range 3 {
		if w := e.get("/fn/p"); w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	n := 0
	e.o.limits.scripts.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d limiters for a script without a limit", n)
	}
}

// BenchmarkRateLimit is the cost of a set rate limit per call: one bucket
// per client, a client per parallel goroutine.
func BenchmarkRateLimit(b *testing.B) {
	l := &rateLimits{max: MaxRateBuckets}
	sc := &picloud.Script{ID: "s", Name: "s", RateLimitRPS: 1e6, RateLimitBurst: 1e6}
	var next atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		n := next.Add(1)
		k := bucketKey{addr: netip.AddrFrom4([4]byte{10, 0, byte(n >> 8), byte(n)})}
		for pb.Next() {
			l.limiter(sc).take(k, clock(), l.max)
		}
	})
}

// BenchmarkGuardPublic is what access and rate limits add to every call of
// a public script without a limit (the hello benchmark's case).
func BenchmarkGuardPublic(b *testing.B) {
	o := &Orchestrator{}
	sc := &picloud.Script{ID: "s", Name: "hello"}
	r := httptest.NewRequest("GET", "/fn/hello", nil)
	for b.Loop() {
		if !o.guard(nil, r, sc) {
			b.Fatal("refused")
		}
	}
}

// Concurrent callers from one address get exactly the burst, never more.
func TestRateLimitConcurrent(t *testing.T) {
	e := newEnv(t, Config{}, newFakeStore(&picloud.Script{Name: "c", Source: `"ok"`, RateLimitRPS: 0.001, RateLimitBurst: 7}))
	var wg sync.WaitGroup
	var ok, limited atomic.Int32
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch e.get("/fn/c").Code {
			case 200:
				ok.Add(1)
			case 429:
				limited.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 7 || limited.Load() != 33 {
		t.Errorf("%d allowed, %d limited; want 7 and 33", ok.Load(), limited.Load())
	}
}
