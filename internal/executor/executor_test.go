package executor

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
)

func newTestExecutor(t *testing.T, cfg Config) *Executor {
	t.Helper()
	return New(cfg, nil)
}

// run compiles src and executes it on a GET / request.
func run(t *testing.T, x *Executor, src string, lim Limits, opts Options) *Result {
	t.Helper()
	p := x.Compile("test", src)
	if err := p.Err(); err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	return x.Execute(context.Background(), p, lim, &Request{Method: "GET", Path: "/", Header: http.Header{}}, opts)
}

func wantStatus(t *testing.T, res *Result, status picloud.ExecutionStatus, code, kind string) {
	t.Helper()
	if res.Status != status || res.Code != code || (kind != "" && (res.Err == nil || res.Err.Kind != kind)) {
		t.Fatalf("got status %s code %q err %+v, want %s %q kind %q", res.Status, res.Code, res.Err, status, code, kind)
	}
}

func TestDefaultsApplied(t *testing.T) {
	c := New(Config{}, nil).Config()
	if c.DefaultTimeout != DefaultTimeout || c.DefaultMaxOperations != DefaultMaxOperations ||
		c.DefaultMaxMemoryBytes != DefaultMaxMemoryBytes || c.DefaultMaxResponseBytes != DefaultMaxResponseBytes ||
		c.MaxStringSize != DefaultMaxStringSize || c.MaxLogLines != DefaultMaxLogLines {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if c := New(Config{DefaultMaxResponseBytes: 7}, nil).Config(); c.DefaultMaxResponseBytes != 7 {
		t.Fatalf("a set value was replaced: %+v", c)
	}
}

func TestCompileErrorProgram(t *testing.T) {
	x := newTestExecutor(t, Config{})
	p := x.Compile("broken", "let x = 1;\nlet = ;")
	if p == nil || p.Name() != "broken" {
		t.Fatalf("Compile returned %v", p)
	}
	var pe *picloud.Error
	if err := p.Err(); !errors.As(err, &pe) || pe.Code != picloud.EInvalidSource || pe.Details["line"] != 2 || pe.Details["column"] == 0 {
		t.Fatalf("Err() = %#v", p.Err())
	}
	res := x.Execute(context.Background(), p, Limits{}, &Request{Method: "GET", Header: http.Header{}}, Options{})
	wantStatus(t, res, picloud.StatusError, picloud.EScriptError, "")
	if !strings.HasPrefix(res.Err.Kind, "ErrorParsing/") || res.Err.Line != 2 || res.Err.Column == 0 || res.Err.Message == "" {
		t.Fatalf("compile failure error %+v", res.Err)
	}
	if res.Response != nil || res.Logs == nil {
		t.Fatalf("compile failure: response %v, logs %v", res.Response, res.Logs)
	}
	if ok := x.Compile("ok", "40 + 2"); ok.Err() != nil {
		t.Fatalf("Err() of a good program = %v", ok.Err())
	}
}

func TestNilProgramIsInternal(t *testing.T) {
	x := newTestExecutor(t, Config{})
	res := x.Execute(context.Background(), nil, Limits{}, &Request{Header: http.Header{}}, Options{})
	wantStatus(t, res, picloud.StatusError, picloud.EInternal, rhai.ErrSystem)
}

func TestResolverPerEvaluation(t *testing.T) {
	x := newTestExecutor(t, Config{})
	lib := x.Compile("lib", `export const greeting = "hi"; fn twice(n) { n * 2 }`)
	broken := x.Compile("broken", "fn (")
	resolve := func(_ context.Context, name string) (*Program, *picloud.Script, error) {
		switch name {
		case "lib":
			return lib, nil, nil
		case "broken":
			return broken, nil, nil
		case "down":
			return nil, nil, errors.New("store: connection refused")
		}
		return nil, nil, picloud.Errorf(picloud.ENotFound, "script %q not found", name)
	}
	res := run(t, x, `import "lib" as l; l::greeting + " " + l::twice(21)`, Limits{}, Options{Resolver: resolve})
	wantStatus(t, res, picloud.StatusSuccess, "", "")
	if got := string(res.Response.Body); got != "hi 42" {
		t.Fatalf("body %q", got)
	}

	// Each execution has its own resolver: the same program without one
	// cannot import.
	res = run(t, x, `import "lib" as l; l::greeting`, Limits{}, Options{})
	wantStatus(t, res, picloud.StatusError, picloud.EScriptError, rhai.ErrModuleNotFound)

	res = run(t, x, `import "missing" as m; 1`, Limits{}, Options{Resolver: resolve})
	wantStatus(t, res, picloud.StatusError, picloud.EScriptError, rhai.ErrModuleNotFound)

	res = run(t, x, `import "broken" as b; 1`, Limits{}, Options{Resolver: resolve})
	wantStatus(t, res, picloud.StatusError, picloud.EScriptError, "")
	if !strings.Contains(res.Err.Kind, "Parsing") {
		t.Fatalf("import of a program that does not compile: %+v", res.Err)
	}

	// A store failure is the platform's, not the script's.
	res = run(t, x, `import "down" as d; 1`, Limits{}, Options{Resolver: resolve})
	wantStatus(t, res, picloud.StatusError, picloud.EInternal, rhai.ErrSystem)
	if strings.Contains(res.Err.Message, "refused") {
		t.Fatalf("internal error text leaked: %+v", res.Err)
	}
}

func TestPanicRecovery(t *testing.T) {
	x := newTestExecutor(t, Config{})
	x.eng.RegisterFn("boom", nil, func(*rhai.Context, []rhai.Value) (rhai.Value, error) { panic("native exploded") })
	res := run(t, x, `let a = 1; boom(); a`, Limits{}, Options{})
	wantStatus(t, res, picloud.StatusError, picloud.EInternal, rhai.ErrSystem)
	if strings.Contains(res.Err.Message, "exploded") {
		t.Fatalf("panic text leaked: %+v", res.Err)
	}

	panicky := func(context.Context, string) (*Program, *picloud.Script, error) { panic("resolver exploded") }
	res = run(t, x, `import "x" as x; 1`, Limits{}, Options{Resolver: panicky})
	wantStatus(t, res, picloud.StatusError, picloud.EInternal, rhai.ErrSystem)

	// The executor still works afterwards.
	res = run(t, x, `1 + 1`, Limits{}, Options{})
	wantStatus(t, res, picloud.StatusSuccess, "", "")
}

func TestMemoryBudget(t *testing.T) {
	x := newTestExecutor(t, Config{})
	// 100 kB strings kept alive in an array: 11 of them cross a 1 MiB budget
	// long before the operation budget (~1,600 operations a string, as
	// string work is charged by the byte) would stop the script.
	src := `let a = []; let s = "x"; s.pad(100000, "y"); loop { a.push(s + a.len()); }`
	res := run(t, x, src, Limits{MaxMemoryBytes: 1 << 20, MaxOperations: 200_000}, Options{})
	wantStatus(t, res, picloud.StatusBudgetExceeded, picloud.EBudgetExceeded, rhai.ErrDataTooLarge)
	if res.MemoryPeak <= 0 || res.MemoryPeak > 2<<20 {
		t.Fatalf("memory peak %d, want in (0, 2 MiB]", res.MemoryPeak)
	}
}

func TestClientCancelledMidRun(t *testing.T) {
	x := newTestExecutor(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The script cancels its own client half way, as a client disconnecting
	// would: deterministic, no sleeping.
	x.eng.RegisterFn("client_goes_away", nil, func(*rhai.Context, []rhai.Value) (rhai.Value, error) {
		cancel()
		return rhai.Unit, nil
	})
	p := x.Compile("t", `client_goes_away(); loop {}`)
	res := x.Execute(ctx, p, Limits{Timeout: time.Hour}, &Request{Header: http.Header{}}, Options{})
	wantStatus(t, res, picloud.StatusError, picloud.EScriptError, rhai.ErrTerminated)
}

func TestTimeout(t *testing.T) {
	x := newTestExecutor(t, Config{})
	res := run(t, x, `loop {}`, Limits{Timeout: 20 * time.Millisecond, MaxOperations: 1 << 62}, Options{})
	wantStatus(t, res, picloud.StatusTimeout, picloud.ETimeout, rhai.ErrTerminated)
}

func TestOperationsBudget(t *testing.T) {
	x := newTestExecutor(t, Config{})
	res := run(t, x, `loop {}`, Limits{MaxOperations: 10_000}, Options{})
	wantStatus(t, res, picloud.StatusBudgetExceeded, picloud.EBudgetExceeded, rhai.ErrTooManyOperations)
}

func TestRequestHeadersWithoutCredentials(t *testing.T) {
	x := newTestExecutor(t, Config{})
	p := x.Compile("t", `request.headers`)
	req := &Request{Method: "GET", Path: "/", Header: http.Header{
		"Authorization": {"Bearer pct_0123456789abcdef"},
		"X-Picloud-Key": {"pck_secret"},
		"Cookie":        {"picloud_session=pcs_abc; theme=dark"},
		"Accept":        {"text/html"},
	}}
	res := x.Execute(context.Background(), p, Limits{}, req, Options{})
	wantStatus(t, res, picloud.StatusSuccess, "", "")
	got := string(res.Response.Body)
	if want := `{"accept":"text/html","cookie":"theme=dark"}`; got != want {
		t.Fatalf("request.headers = %s, want %s", got, want)
	}
	if req.Header.Get("Authorization") == "" {
		t.Fatal("the caller's request was modified")
	}
}

func TestExecuteAppliesFinalHeaders(t *testing.T) {
	x := newTestExecutor(t, Config{})
	src := `#{status: 200, headers: #{"content-security-policy": "default-src 'self'",
		"set-cookie": ["picloud_session=stolen; Path=/", "mine=1"], "access-control-allow-credentials": "true",
		"access-control-allow-origin": "https://example.com"}, body: "hi"}`
	res := run(t, x, src, Limits{}, Options{})
	wantStatus(t, res, picloud.StatusSuccess, "", "")
	h := res.Response.Header
	if got := h["Content-Security-Policy"]; len(got) != 2 || got[0] != "sandbox" || got[1] != "default-src 'self'" {
		t.Fatalf("CSP %q", got)
	}
	if got := h["Set-Cookie"]; len(got) != 1 || got[0] != "mine=1" {
		t.Fatalf("Set-Cookie %q", got)
	}
	if h.Get("Access-Control-Allow-Credentials") != "" || h.Get("Access-Control-Allow-Origin") != "https://example.com" ||
		h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers %v", h)
	}

	res = run(t, x, src, Limits{}, Options{Unsandboxed: true})
	if got := res.Response.Header["Content-Security-Policy"]; len(got) != 1 || got[0] != "default-src 'self'" {
		t.Fatalf("unsandboxed CSP %q", got)
	}
}

func TestLogDataBounded(t *testing.T) {
	x := newTestExecutor(t, Config{MaxLogBytes: 1000})
	res := run(t, x, `log::info("small", #{a: 1}); let b = "x"; b.pad(100000, "y"); log::info("big", b); log::info("after")`, Limits{}, Options{})
	wantStatus(t, res, picloud.StatusSuccess, "", "")
	if len(res.Logs) != 3 || res.Logs[0].Message != "small" || res.Logs[1].Message != "after" ||
		!strings.HasPrefix(res.Logs[2].Message, "truncated: 1 more") {
		t.Fatalf("logs %+v", res.Logs)
	}
}

func TestWriteResponse(t *testing.T) {
	w := &recorder{h: http.Header{}}
	WriteResponse(w, &Response{Status: 201, Header: http.Header{"X-A": {"b"}}, Body: []byte("body")})
	if w.status != 201 || w.h.Get("X-A") != "b" || w.body.String() != "body" {
		t.Fatalf("wrote %d %v %q", w.status, w.h, w.body.String())
	}
	w = &recorder{h: http.Header{}}
	WriteResponse(w, &Response{Status: 204, Header: http.Header{}, Body: []byte("dropped")})
	if w.status != 204 || w.body.Len() != 0 {
		t.Fatalf("204 wrote a body: %q", w.body.String())
	}
}

type recorder struct {
	h      http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(s int)           { r.status = s }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// TestImportConfined: an import loads a library only when the executing
// script and the library admit each other (picloud.MutuallyAdmitted).
func TestImportConfined(t *testing.T) {
	x := newTestExecutor(t, Config{})
	libs := map[string]*picloud.Script{
		"orders-lib": {Name: "orders-lib", ConfinedTo: "orders-*"},
		"shared-lib": {Name: "shared-lib"},
		"free-lib":   {Name: "free-lib", ConfinedTo: "*"},
	}
	var looked []string
	resolve := func(_ context.Context, name string) (*Program, *picloud.Script, error) {
		looked = append(looked, name)
		sc, ok := libs[name]
		if !ok {
			return nil, nil, picloud.Errorf(picloud.ENotFound, "script %q not found", name)
		}
		return x.Compile(name, `fn f() { "`+name+`" }`), sc, nil
	}
	imp := func(importer *picloud.Script, lib string) *Result {
		return run(t, x, `import "`+lib+`" as l; l::f()`, Limits{}, Options{Resolver: resolve, Script: importer})
	}
	confined := &picloud.Script{Name: "orders-api", ConfinedTo: "orders-*"}
	plain := &picloud.Script{Name: "billing"}
	for _, c := range []struct {
		importer *picloud.Script
		lib      string
		ok       bool
		msg      string
	}{
		{confined, "orders-lib", true, ""},
		{confined, "shared-lib", false, `this script is confined to "orders-*", which shared-lib does not match`},
		{plain, "shared-lib", true, ""},
		{plain, "orders-lib", false, `the library is confined to "orders-*", which this script does not match`},
		{plain, "free-lib", false, `the library is confined to "*" and its code would run as this script`},
		{confined, "free-lib", false, "which free-lib does not match"},
		// The library's code would run as the importer: a script its
		// pattern admits but not confined to that pattern does not run it
		// (unconfined, it would read the global secrets).
		{&picloud.Script{Name: "orders-main"}, "orders-lib", false, `the library is confined to "orders-*" and its code would run as this script, which is not confined to it`},
		{&picloud.Script{Name: "orders-wide", ConfinedTo: "*"}, "orders-lib", false, "which is not confined to it"},
		{nil, "orders-lib", false, "Module not imported: orders-lib"},
	} {
		res := imp(c.importer, c.lib)
		if c.ok {
			if res.Status != picloud.StatusSuccess || string(res.Response.Body) != c.lib {
				t.Errorf("%s imports %s: %+v", nameOf(c.importer), c.lib, res.Err)
			}
			continue
		}
		wantStatus(t, res, picloud.StatusError, picloud.EScriptError, rhai.ErrModuleNotFound)
		if !strings.Contains(res.Err.Message, c.msg) {
			t.Errorf("%s imports %s: %q, want %q", nameOf(c.importer), c.lib, res.Err.Message, c.msg)
		}
	}
	// A name outside the importer's pattern is refused before any lookup
	// (the script learns nothing of scripts outside its pattern).
	looked = nil
	imp(confined, "shared-lib")
	if len(looked) != 0 {
		t.Fatalf("looked up %v", looked)
	}
}
