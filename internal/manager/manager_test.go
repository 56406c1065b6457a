package manager_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/sqlite"
)

// secret is the text of injected store errors: it must reach the log and
// never a response body.
const secret = "dial tcp 10.9.8.7:5432: password authentication failed for user hunter2"

// fakeStore is a real SQLite store whose methods a test can replace one by
// one to inject failures.
type fakeStore struct {
	picloud.Store
	createScript func(ctx context.Context, s *picloud.Script) error
	script       func(ctx context.Context, id string) (*picloud.Script, error)
	listScripts  func(ctx context.Context, f picloud.ScriptFilter) ([]*picloud.Script, error)
	updateScript func(ctx context.Context, id string, u picloud.ScriptUpdate) (*picloud.Script, error)
	versions     func(ctx context.Context, id string) ([]*picloud.Version, error)
	queryExecs   func(ctx context.Context, q picloud.ExecutionQuery) ([]*picloud.ExecutionLog, error)
	ping         func(ctx context.Context) error
}

func (f *fakeStore) CreateScript(ctx context.Context, s *picloud.Script) error {
	if f.createScript != nil {
		return f.createScript(ctx, s)
	}
	return f.Store.CreateScript(ctx, s)
}

func (f *fakeStore) Script(ctx context.Context, id string) (*picloud.Script, error) {
	if f.script != nil {
		return f.script(ctx, id)
	}
	return f.Store.Script(ctx, id)
}

func (f *fakeStore) ListScripts(ctx context.Context, flt picloud.ScriptFilter) ([]*picloud.Script, error) {
	if f.listScripts != nil {
		return f.listScripts(ctx, flt)
	}
	return f.Store.ListScripts(ctx, flt)
}

func (f *fakeStore) UpdateScript(ctx context.Context, id string, u picloud.ScriptUpdate) (*picloud.Script, error) {
	if f.updateScript != nil {
		return f.updateScript(ctx, id, u)
	}
	return f.Store.UpdateScript(ctx, id, u)
}

func (f *fakeStore) Versions(ctx context.Context, id string) ([]*picloud.Version, error) {
	if f.versions != nil {
		return f.versions(ctx, id)
	}
	return f.Store.Versions(ctx, id)
}

func (f *fakeStore) QueryExecutions(ctx context.Context, q picloud.ExecutionQuery) ([]*picloud.ExecutionLog, error) {
	if f.queryExecs != nil {
		return f.queryExecs(ctx, q)
	}
	return f.Store.QueryExecutions(ctx, q)
}

func (f *fakeStore) Ping(ctx context.Context) error {
	if f.ping != nil {
		return f.ping(ctx)
	}
	return f.Store.Ping(ctx)
}

// fakeInvoker answers every test run with a fixed result.
type fakeInvoker struct{ invalidated atomic.Int32 }

func (*fakeInvoker) Invoke(_ context.Context, id string, req *executor.Request) (*executor.Result, *picloud.ExecutionLog, error) {
	res := &executor.Result{Status: picloud.StatusSuccess, Operations: 7, Logs: []picloud.LogLine{},
		Response: &executor.Response{Status: 200, Header: http.Header{}, Body: []byte(req.Method + " " + req.Path)}}
	l := &picloud.ExecutionLog{ID: "exec-1", ScriptID: id, DurationMS: 1.5,
		Response: &picloud.ResponseRecord{Status: 200, Headers: map[string]string{}, Body: "cut", BodyTruncated: true}}
	return res, l, nil
}

func (f *fakeInvoker) Invalidate(string) { f.invalidated.Add(1) }

// syncBuffer is a log destination the handlers and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is a manager on a fake store behind an httptest server, with the
// admin routes mounted without authentication (auth has its own tests).
type harness struct {
	t     *testing.T
	store *fakeStore
	srv   *httptest.Server
	logs  *syncBuffer
}

func newHarness(t *testing.T, cfg manager.Config) *harness {
	t.Helper()
	real, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	h := &harness{t: t, store: &fakeStore{Store: real}, logs: &syncBuffer{}}
	cfg.Store = h.store
	cfg.Executor = executor.New(executor.Config{}, nil)
	cfg.Invoker = &fakeInvoker{}
	cfg.Logger = slog.New(slog.NewTextHandler(h.logs, nil))
	m := manager.New(cfg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/health", m.HandleHealth)
	mux.HandleFunc("GET /api/scripts", m.HandleListScripts)
	mux.HandleFunc("POST /api/scripts", m.HandleCreateScript)
	mux.HandleFunc("GET /api/scripts/{id}", m.HandleGetScript)
	mux.HandleFunc("PUT /api/scripts/{id}", m.HandleUpdateScript)
	mux.HandleFunc("GET /api/scripts/{id}/versions", m.HandleVersions)
	mux.HandleFunc("POST /api/scripts/{id}/rollback", m.HandleRollback)
	mux.HandleFunc("POST /api/scripts/{id}/invoke", m.HandleInvoke)
	mux.HandleFunc("GET /api/scripts/{id}/logs", m.HandleLogs)
	mux.HandleFunc("GET /api/logs", m.HandleAllLogs)
	mux.HandleFunc("POST /api/validate", m.HandleValidate)
	mux.HandleFunc("DELETE /api/scripts/{id}", m.HandleDeleteScript)
	mountTriggers(mux, m)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

// do sends a request with a raw body and returns the status and body.
func (h *harness) do(method, path, body string) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// create makes a script through the API and returns it.
func (h *harness) create(name, source string) picloud.Script {
	h.t.Helper()
	code, body := h.do("POST", "/api/scripts", `{"name":"`+name+`","source":`+quote(source)+`}`)
	var sc picloud.Script
	if code != 201 || json.Unmarshal([]byte(body), &sc) != nil {
		h.t.Fatalf("create %s: %d %s", name, code, body)
	}
	return sc
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
		Line    int    `json:"line"`
		Column  int    `json:"column"`
	} `json:"error"`
}

func parseError(t *testing.T, body string) errorBody {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal([]byte(body), &eb); err != nil || eb.Error.Code == "" {
		t.Fatalf("not an error body: %s", body)
	}
	return eb
}

func TestStoreErrorIsInternal(t *testing.T) {
	h := newHarness(t, manager.Config{})
	sc := h.create("hello", "1")
	fail := errors.New(secret)
	h.store.createScript = func(context.Context, *picloud.Script) error { return fail }
	h.store.listScripts = func(context.Context, picloud.ScriptFilter) ([]*picloud.Script, error) { return nil, fail }
	h.store.script = func(context.Context, string) (*picloud.Script, error) { return nil, fail }
	h.store.updateScript = func(context.Context, string, picloud.ScriptUpdate) (*picloud.Script, error) { return nil, fail }
	h.store.versions = func(context.Context, string) ([]*picloud.Version, error) { return nil, fail }
	h.store.queryExecs = func(context.Context, picloud.ExecutionQuery) ([]*picloud.ExecutionLog, error) { return nil, fail }

	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/scripts", `{"name":"other","source":"2"}`},
		{"GET", "/api/scripts", ""},
		{"GET", "/api/scripts/" + sc.ID, ""},
		{"PUT", "/api/scripts/" + sc.ID, `{"timeout_ms": 10}`},
		{"GET", "/api/scripts/" + sc.ID + "/versions", ""},
		{"GET", "/api/scripts/" + sc.ID + "/logs", ""},
	} {
		if c.path == "/api/scripts/"+sc.ID+"/logs" {
			h.store.script = nil // reach QueryExecutions
		}
		code, body := h.do(c.method, c.path, c.body)
		eb := parseError(t, body)
		if code != 500 || eb.Error.Code != "internal" || eb.Error.Message != "internal error" {
			t.Errorf("%s %s: %d %s", c.method, c.path, code, body)
		}
		for _, leak := range []string{"hunter2", "10.9.8.7", "password", "dial tcp"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s %s: the body leaks %q: %s", c.method, c.path, leak, body)
			}
		}
	}
	// The operator still learns what happened, from the log.
	if logs := h.logs.String(); !strings.Contains(logs, "hunter2") || !strings.Contains(logs, "internal error") {
		t.Errorf("the store error was not logged: %s", logs)
	}
}

func TestHealth(t *testing.T) {
	h := newHarness(t, manager.Config{})
	health := func() (int, picloud.Health) {
		t.Helper()
		code, body := h.do("GET", "/api/health", "")
		var out picloud.Health
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("health: %d %s", code, body)
		}
		if out.Service != "picloud" || out.Version == "" {
			t.Fatalf("health: %s", body)
		}
		if strings.Contains(body, "hunter2") {
			t.Fatalf("health leaks the store error: %s", body)
		}
		return code, out
	}
	code, out := health()
	if code != 200 || out.Status != "ok" || out.Components["store"] != (picloud.HealthComponent{Status: "ok", Kind: "sqlite"}) {
		t.Fatalf("healthy: %d %+v", code, out)
	}

	// A store outage is degraded, not down: scripts still run from the cache.
	h.store.ping = func(context.Context) error { return errors.New(secret) }
	code, out = health()
	if code != 200 || out.Status != "degraded" || out.Components["store"] != (picloud.HealthComponent{Status: "down", Kind: "sqlite", Message: "unreachable"}) {
		t.Fatalf("store down: %d %+v", code, out)
	}
	if logs := h.logs.String(); strings.Count(logs, "component down") != 1 || !strings.Contains(logs, "hunter2") {
		t.Fatalf("the outage is logged once: %s", logs)
	}
	health() // still down: not logged again
	if logs := h.logs.String(); strings.Count(logs, "component down") != 1 {
		t.Fatalf("a persisting outage is logged on every poll: %s", logs)
	}
	h.store.ping = nil
	if code, out = health(); code != 200 || out.Status != "ok" || !strings.Contains(h.logs.String(), "component back") {
		t.Fatalf("store back: %d %+v", code, out)
	}
}

func TestHealthHangingStore(t *testing.T) {
	h := newHarness(t, manager.Config{HealthTimeout: 20 * time.Millisecond})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var called atomic.Bool
	// A ping that ignores its context, as a wedged driver might.
	h.store.ping = func(context.Context) error { called.Store(true); <-release; return nil }
	code, body := h.do("GET", "/api/health", "")
	var out picloud.Health
	json.Unmarshal([]byte(body), &out)
	if code != 200 || out.Status != "degraded" || out.Components["store"].Status != "down" || !called.Load() {
		t.Fatalf("hanging store: %d %s", code, body)
	}
}

func TestHealthChecks(t *testing.T) {
	journalErr := errors.New("journal: /data/journal: no space left on device")
	var journalDown, cacheDown atomic.Bool
	h := newHarness(t, manager.Config{HealthChecks: []manager.HealthCheck{
		{Name: "journal", Kind: "file", Critical: true, Check: func(context.Context) error {
			if journalDown.Load() {
				return journalErr
			}
			return nil
		}},
		{Name: "cache", Check: func(context.Context) error {
			if cacheDown.Load() {
				return picloud.Errorf(picloud.EUnavailable, "cache is refilling")
			}
			return nil
		}},
	}})
	get := func() (int, picloud.Health) {
		code, body := h.do("GET", "/api/health", "")
		var out picloud.Health
		json.Unmarshal([]byte(body), &out)
		if strings.Contains(body, "no space") {
			t.Fatalf("health leaks a check's error: %s", body)
		}
		return code, out
	}
	code, out := get()
	if code != 200 || out.Status != "ok" || len(out.Components) != 3 || out.Components["journal"] != (picloud.HealthComponent{Status: "ok", Kind: "file"}) {
		t.Fatalf("all ok: %d %+v", code, out)
	}
	cacheDown.Store(true)
	code, out = get()
	if code != 200 || out.Status != "degraded" || out.Components["cache"] != (picloud.HealthComponent{Status: "down", Message: "cache is refilling"}) {
		t.Fatalf("non-critical down: %d %+v", code, out)
	}
	journalDown.Store(true)
	code, out = get()
	if code != 503 || out.Status != "down" || out.Components["journal"].Status != "down" {
		t.Fatalf("critical down: %d %+v", code, out)
	}
}

func TestDecodeErrors(t *testing.T) {
	h := newHarness(t, manager.Config{MaxBodyBytes: 64 << 10})
	sc := h.create("hello", "1")
	deep := `{"name":"deep","source":` + strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001) + `}`
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		code, says               string
	}{
		{"malformed", "POST", "/api/scripts", `{"name": "x", "source": `, 400, "invalid_request", "malformed JSON"},
		{"not an object", "POST", "/api/scripts", `[1, 2]`, 400, "invalid_request", "malformed JSON"},
		{"empty", "POST", "/api/scripts", ``, 400, "invalid_request", "empty"},
		{"trailing data", "POST", "/api/scripts", `{"name":"x","source":"1"} {"name":"y"}`, 400, "invalid_request", "trailing data"},
		{"trailing garbage", "PUT", "/api/scripts/" + sc.ID, `{"timeout_ms": 5}x`, 400, "invalid_request", "trailing data"},
		{"unknown field", "POST", "/api/scripts", `{"name":"x","source":"1","timeout":5}`, 400, "invalid_request", `unknown field "timeout"`},
		{"unknown field on update", "PUT", "/api/scripts/" + sc.ID, `{"new_version": true}`, 400, "invalid_request", "unknown field"},
		{"wrong type", "PUT", "/api/scripts/" + sc.ID, `{"max_concurrency": "lots"}`, 400, "invalid_request", "max_concurrency"},
		{"too deep", "POST", "/api/scripts", deep, 400, "invalid_request", "depth"},
		{"too large", "POST", "/api/scripts", `{"name":"big","source":"` + strings.Repeat("a", 65<<10) + `"}`, 413, "payload_too_large", "over 65536 bytes"},
		{"too large validate", "POST", "/api/validate", `{"source":"` + strings.Repeat("a", 65<<10) + `"}`, 413, "payload_too_large", ""},
		{"rollback without version", "POST", "/api/scripts/" + sc.ID + "/rollback", `{}`, 400, "invalid_request", "version is required"},
		{"rollback to version 0", "POST", "/api/scripts/" + sc.ID + "/rollback", `{"version": 0}`, 400, "invalid_request", "at least 1"},
		{"validate without source", "POST", "/api/validate", `{}`, 400, "invalid_request", "source is required"},
		{"invoke with a bad method", "POST", "/api/scripts/" + sc.ID + "/invoke", `{"method": "GET /x"}`, 400, "invalid_request", "method"},
		{"invoke with a relative path", "POST", "/api/scripts/" + sc.ID + "/invoke", `{"path": "x"}`, 400, "invalid_request", "path"},
		{"invoke with a bad header", "POST", "/api/scripts/" + sc.ID + "/invoke", `{"headers": {"X-A": "1\r\nX-B: 2"}}`, 400, "invalid_request", "X-A"},
	} {
		code, body := h.do(c.method, c.path, c.body)
		eb := parseError(t, body)
		if code != c.status || eb.Error.Code != c.code || !strings.Contains(eb.Error.Message, c.says) {
			t.Errorf("%s: %d %.300s", c.name, code, body)
		}
	}
	// None of the refused requests created or changed anything.
	code, body := h.do("GET", "/api/scripts", "")
	var list picloud.ScriptList
	if json.Unmarshal([]byte(body), &list) != nil || code != 200 || len(list.Items) != 1 || list.Items[0].Version != 1 || list.Items[0].TimeoutMS != 0 {
		t.Fatalf("after refused requests: %d %s", code, body)
	}
}

func TestSettingsOutOfRange(t *testing.T) {
	h := newHarness(t, manager.Config{})
	sc := h.create("hello", "1")
	var updates atomic.Int32
	h.store.updateScript = func(ctx context.Context, id string, u picloud.ScriptUpdate) (*picloud.Script, error) {
		updates.Add(1)
		return h.store.Store.UpdateScript(ctx, id, u)
	}
	for _, c := range []struct{ field, value string }{
		{"timeout_ms", "-1"},
		{"timeout_ms", "3600001"},
		{"max_operations", "1000000000001"},
		{"max_concurrency", "2147483648"},
		{"max_concurrency", "-5"},
		{"max_memory_bytes", "68719476737"},
		{"max_response_bytes", "1073741825"},
		{"max_response_bytes", "-1"},
	} {
		for _, req := range []struct{ method, path, body string }{
			{"POST", "/api/scripts", `{"name":"n","source":"1","` + c.field + `":` + c.value + `}`},
			{"PUT", "/api/scripts/" + sc.ID, `{"` + c.field + `":` + c.value + `}`},
		} {
			code, body := h.do(req.method, req.path, req.body)
			eb := parseError(t, body)
			if code != 400 || eb.Error.Code != "invalid_request" || eb.Error.Field != c.field || !strings.Contains(eb.Error.Message, c.field) {
				t.Errorf("%s %s=%s: %d %s", req.method, c.field, c.value, code, body)
			}
		}
	}
	if n := updates.Load(); n != 0 {
		t.Fatalf("the store saw %d out-of-range updates", n)
	}
	// In range: accepted, the store sees it, the cache is told.
	code, body := h.do("PUT", "/api/scripts/"+sc.ID, `{"max_concurrency": 100000, "max_memory_bytes": 68719476736, "unsandboxed": true}`)
	var got picloud.Script
	if json.Unmarshal([]byte(body), &got) != nil || code != 200 || got.MaxConcurrency != 100000 || got.MaxMemoryBytes != 64<<30 || !got.Unsandboxed || got.Version != 1 {
		t.Fatalf("in range: %d %s", code, body)
	}
}

func TestValidate(t *testing.T) {
	h := newHarness(t, manager.Config{})
	code, body := h.do("POST", "/api/validate", `{"source": "let x = 1; x"}`)
	if code != 200 || strings.TrimSpace(body) != `{"ok":true,"errors":[]}` {
		t.Fatalf("valid: %d %s", code, body)
	}
	code, body = h.do("POST", "/api/validate", `{"source": "let x = 1;\nlet = 2;"}`)
	var out picloud.ValidateResponse
	if json.Unmarshal([]byte(body), &out) != nil || code != 200 || out.OK || len(out.Errors) != 1 ||
		out.Errors[0].Line != 2 || out.Errors[0].Column == 0 || out.Errors[0].Kind != "VariableExpected" || out.Errors[0].Message == "" {
		t.Fatalf("invalid: %d %s", code, body)
	}
	// Creating it is refused with the same position.
	code, body = h.do("POST", "/api/scripts", `{"name":"bad","source":"let x = 1;\nlet = 2;"}`)
	if eb := parseError(t, body); code != 400 || eb.Error.Code != "invalid_source" || eb.Error.Line != 2 {
		t.Fatalf("create invalid: %d %s", code, body)
	}
}

func TestTypedAnswers(t *testing.T) {
	h := newHarness(t, manager.Config{})
	// Empty lists are [], not null, so clients can iterate without a check.
	if code, body := h.do("GET", "/api/scripts", ""); code != 200 || strings.TrimSpace(body) != `{"items":[]}` {
		t.Fatalf("empty list: %d %s", code, body)
	}
	sc := h.create("hello", "1")
	if code, body := h.do("GET", "/api/scripts/"+sc.ID+"/logs", ""); code != 200 || strings.TrimSpace(body) != `{"items":[],"limit":50,"offset":0}` {
		t.Fatalf("empty logs: %d %s", code, body)
	}
	if code, body := h.do("GET", "/api/scripts/"+sc.ID+"/logs?limit=500&offset=3", ""); code != 200 || !strings.Contains(body, `"limit":200,"offset":3`) {
		t.Fatalf("clamped logs: %d %s", code, body)
	}
	code, body := h.do("POST", "/api/scripts/"+sc.ID+"/invoke", `{"path": "/fn/hello/x", "headers": {"X-A": "1"}}`)
	var inv picloud.InvokeResponse
	if json.Unmarshal([]byte(body), &inv) != nil || code != 200 || inv.ExecutionID != "exec-1" || inv.Status != "success" ||
		inv.Response == nil || inv.Response.Body != "POST /fn/hello/x" || inv.Response.BodyTruncated || inv.Code != "" || inv.Operations != 7 {
		t.Fatalf("invoke: %d %s", code, body)
	}
	// The list carries the script and its (absent) recent executions.
	_, body = h.do("GET", "/api/scripts", "")
	var list picloud.ScriptList
	if json.Unmarshal([]byte(body), &list) != nil || len(list.Items) != 1 || list.Items[0].ID != sc.ID ||
		list.Items[0].LastExecution != nil || list.Items[0].ErrorRate != nil || !strings.Contains(body, `"last_execution":null`) {
		t.Fatalf("list: %s", body)
	}
	code, body = h.do("GET", "/api/scripts/"+sc.ID+"/versions", "")
	var vs picloud.VersionList
	if json.Unmarshal([]byte(body), &vs) != nil || code != 200 || len(vs.Items) != 1 || vs.Items[0].Version != 1 {
		t.Fatalf("versions: %d %s", code, body)
	}
}
