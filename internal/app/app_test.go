package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/audit"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/httpapi"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/orchestrator"
)

func TestHealth(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		s := open(t)
		e := newEnv(t, s, app.Config{})
		resp, body := e.request("GET", "/api/health", nil)
		var h picloud.Health
		json.Unmarshal(body, &h)
		if resp.StatusCode != 200 || h.Service != "picloud" || h.Status != "ok" || h.Version == "" ||
			h.Components["store"] != (picloud.HealthComponent{Status: "ok", Kind: s.Kind()}) ||
			h.Components["journal"] != (picloud.HealthComponent{Status: "ok", Kind: "memory"}) ||
			h.Components["jobs"] != (picloud.HealthComponent{Status: "ok", Kind: "river"}) {
			t.Fatalf("health = %d %s", resp.StatusCode, body)
		}
	})
}

// TestHealthJournalFull: while the journal is over its bound no script can
// run (they wait, then answer 503 unavailable), so health answers 503 with
// the journal down; the store being unreachable alone is only degraded.
func TestHealthJournalFull(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		fs := &failingStore{Store: open(t)}
		e := newEnv(t, fs, app.Config{
			Sink:         audit.Config{Dir: t.TempDir(), MaxJournalBytes: 4096, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond},
			Orchestrator: orchestrator.Config{GateWait: 50 * time.Millisecond},
		})
		e.create("ok", `"fine"`)
		if resp, b := e.request("GET", "/fn/ok", nil); resp.StatusCode != 200 {
			t.Fatalf("first call = %d %s", resp.StatusCode, b)
		}
		// Each answered call adds its row to the journal, which the store
		// never takes, until the journal is over 4 KiB.
		resp, b := e.request("GET", "/fn/ok", nil)
		for i := 0; i < 100 && resp.StatusCode == 200; i++ {
			resp, b = e.request("GET", "/fn/ok", nil)
		}
		var out map[string]any
		json.Unmarshal(b, &out)
		if resp.StatusCode != 503 || errBody(t, out)["code"] != "unavailable" {
			t.Fatalf("call with the journal full = %d %s", resp.StatusCode, b)
		}
		resp, body := e.request("GET", "/api/health", nil)
		var h picloud.Health
		json.Unmarshal(body, &h)
		if resp.StatusCode != 503 || h.Status != "down" || h.Components["journal"].Status != "down" ||
			h.Components["journal"].Kind != "file" || h.Components["journal"].Message == "" {
			t.Fatalf("health with the journal full = %d %s", resp.StatusCode, body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		e.app.Stop(ctx) // the store never comes back: the rows stay in the journal
	})
}

func TestScriptLifecycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		code, sc := e.admin("POST", "/api/scripts", map[string]any{"name": "hello", "source": "1", "timeout_ms": 250})
		if code != 201 || sc["version"] != 1.0 || sc["name"] != "hello" || sc["timeout_ms"] != 250.0 {
			t.Fatalf("create = %d %v", code, sc)
		}
		for _, k := range []string{"id", "name", "source", "version", "timeout_ms", "max_operations", "max_concurrency", "created_at", "updated_at"} {
			if _, ok := sc[k]; !ok {
				t.Errorf("script has no %q", k)
			}
		}
		id := sc["id"].(string)
		if ts := sc["created_at"].(string); !strings.HasSuffix(ts, "Z") || len(ts) != len("2006-01-02T15:04:05.000Z") {
			t.Errorf("created_at = %q, want RFC 3339 UTC with milliseconds", ts)
		}

		code, out := e.admin("POST", "/api/scripts", map[string]any{"name": "hello", "source": "2"})
		if code != 409 || errBody(t, out)["code"] != "name_taken" {
			t.Fatalf("duplicate = %d %v", code, out)
		}
		code, out = e.admin("POST", "/api/scripts", map[string]any{"name": "Bad Name", "source": "2"})
		if code != 400 || errBody(t, out)["code"] != "invalid_request" {
			t.Fatalf("bad name = %d %v", code, out)
		}
		code, out = e.admin("POST", "/api/scripts", map[string]any{"name": "broken", "source": "let x = 1;\nlet y = ;"})
		if eb := errBody(t, out); code != 400 || eb["code"] != "invalid_source" || eb["line"] != 2.0 || eb["column"] == 0.0 || eb["message"] == "" {
			t.Fatalf("invalid source on create = %d %v", code, out)
		}

		code, got := e.admin("GET", "/api/scripts/"+id, nil)
		if code != 200 || got["source"] != "1" {
			t.Fatalf("get = %d %v", code, got)
		}
		code, out = e.admin("PUT", "/api/scripts/"+id, map[string]any{"max_operations": 5000})
		if code != 200 || out["version"] != 1.0 || out["max_operations"] != 5000.0 || out["timeout_ms"] != 250.0 {
			t.Fatalf("update limits = %d %v", code, out)
		}
		code, out = e.admin("PUT", "/api/scripts/"+id, map[string]any{"source": "2"})
		if code != 200 || out["version"] != 2.0 {
			t.Fatalf("update source = %d %v", code, out)
		}
		code, out = e.admin("PUT", "/api/scripts/"+id, map[string]any{"source": "if {"})
		if eb := errBody(t, out); code != 400 || eb["code"] != "invalid_source" || eb["line"] != 1.0 {
			t.Fatalf("invalid source on update = %d %v", code, out)
		}
		code, out = e.admin("PUT", "/api/scripts/"+id, map[string]any{"sauce": "3"})
		if code != 400 || errBody(t, out)["code"] != "invalid_request" {
			t.Fatalf("unknown field = %d %v", code, out)
		}
		if resp, body := e.request("GET", "/fn/hello", nil); resp.StatusCode != 200 || string(body) != "2" {
			t.Fatalf("after update: %d %s", resp.StatusCode, body)
		}

		code, out = e.admin("GET", "/api/scripts/"+id+"/versions", nil)
		if items := out["items"].([]any); code != 200 || len(items) != 2 {
			t.Fatalf("versions = %d %v", code, out)
		}
		code, out = e.admin("GET", "/api/scripts/"+id+"/versions/1", nil)
		if code != 200 || out["source"] != "1" {
			t.Fatalf("version 1 = %d %v", code, out)
		}
		code, _ = e.admin("GET", "/api/scripts/"+id+"/versions/7", nil)
		if code != 404 {
			t.Fatalf("version 7 = %d", code)
		}
		code, out = e.admin("POST", "/api/scripts/"+id+"/rollback", map[string]any{"version": 1})
		if code != 200 || out["version"] != 3.0 || out["source"] != "1" {
			t.Fatalf("rollback = %d %v", code, out)
		}
		if resp, body := e.request("POST", "/fn/hello", nil); resp.StatusCode != 200 || string(body) != "1" {
			t.Fatalf("after rollback: %d %s", resp.StatusCode, body)
		}

		e.create("other", "0")
		code, out = e.admin("GET", "/api/scripts", nil)
		if items := out["items"].([]any); code != 200 || len(items) != 2 {
			t.Fatalf("list = %d %v", code, out)
		}
		code, out = e.admin("GET", "/api/scripts?name=hello", nil)
		items := out["items"].([]any)
		if code != 200 || len(items) != 1 {
			t.Fatalf("list by name = %d %v", code, out)
		}
		e.logs(id, 2)
		code, out = e.admin("GET", "/api/scripts?name=hello", nil)
		if code != 200 {
			t.Fatalf("list by name = %d %v", code, out)
		}
		first := out["items"].([]any)[0].(map[string]any)
		if last, _ := first["last_execution"].(map[string]any); last["status"] != "success" || first["error_rate"] != 0.0 {
			t.Fatalf("list stats = %v", first)
		}

		code, out = e.admin("POST", "/api/validate", map[string]any{"source": "let a = 1; a +"})
		errs, _ := out["errors"].([]any)
		if code != 200 || out["ok"] != false || len(errs) != 1 {
			t.Fatalf("validate bad = %d %v", code, out)
		}
		if e0 := errs[0].(map[string]any); e0["line"] != 1.0 || e0["kind"] == "" || e0["message"] == "" {
			t.Fatalf("validate error = %v", e0)
		}
		code, out = e.admin("POST", "/api/validate", map[string]any{"source": "40 + 2"})
		if code != 200 || out["ok"] != true || len(out["errors"].([]any)) != 0 {
			t.Fatalf("validate good = %d %v", code, out)
		}

		if code, _ = e.admin("DELETE", "/api/scripts/"+id, nil); code != 204 {
			t.Fatalf("delete = %d", code)
		}
		if code, _ = e.admin("GET", "/api/scripts/"+id, nil); code != 404 {
			t.Fatalf("get deleted = %d", code)
		}
		if resp, body := e.request("GET", "/fn/hello", nil); resp.StatusCode != 404 || errCode(body) != "not_found" {
			t.Fatalf("fn deleted = %d %s", resp.StatusCode, body)
		}
	})
}

func TestRequestMap(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		id := e.create("echo", `#{
			method: request.method, path: request.path, subpath: request.subpath, query: request.query,
			h: request.headers["x-multi"], ct: request.headers["content-type"],
			body: request.body, body_type: type_of(request.body), raw: request.raw_body, raw_type: type_of(request.raw_body)
		}`)
		check := func(method, path string, body string, hdr []string, want map[string]any) {
			t.Helper()
			resp, b := e.request(method, path, []byte(body), hdr...)
			var got map[string]any
			if resp.StatusCode != 200 || json.Unmarshal(b, &got) != nil {
				t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, b)
			}
			for k, v := range want {
				if fmt.Sprint(got[k]) != fmt.Sprint(v) {
					t.Errorf("%s %s: %s = %v, want %v (all: %s)", method, path, k, got[k], v, b)
				}
			}
		}
		check("POST", "/fn/echo/a/b?x=1&x=2&y=z", `{"n": 1, "f": 1.5, "big": 12345678901, "o": {"k": [true, null]}}`,
			[]string{"Content-Type", "application/json", "X-Multi", "a", "X-Multi", "b"},
			map[string]any{"method": "POST", "path": "/fn/echo/a/b", "subpath": "/a/b", "query": map[string]any{"x": "1", "y": "z"},
				"h": "a, b", "ct": "application/json", "body_type": "map",
				"body":     map[string]any{"n": 1.0, "f": 1.5, "big": 12345678901.0, "o": map[string]any{"k": []any{true, nil}}},
				"raw_type": "string"})
		check("PUT", "/api/execute/"+id, "plain text", nil,
			map[string]any{"method": "PUT", "path": "/api/execute/" + id, "subpath": "", "body": "plain text", "body_type": "string", "raw": "plain text"})
		check("GET", "/fn/echo", "", nil, map[string]any{"body_type": "()", "raw": "", "subpath": ""})
		check("POST", "/fn/echo", "{broken", []string{"Content-Type", "application/json"}, map[string]any{"body": "{broken", "body_type": "string"})
		check("POST", "/fn/echo", "\xff\xfe", nil, map[string]any{"body_type": "blob", "raw_type": "blob", "body": "//4="})

		// Integers stay i64 when exact.
		e.create("types", `[type_of(request.body.i), type_of(request.body.f), request.body.i + 1]`)
		resp, b := e.request("POST", "/fn/types", []byte(`{"i": 41, "f": 2.0}`), "Content-Type", "application/json")
		if resp.StatusCode != 200 || string(b) != `["i64","f64",42]` {
			t.Fatalf("types = %d %s", resp.StatusCode, b)
		}
	})
}

func TestResponseRules(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		tests := []struct {
			name, source string
			status       int
			ctype, body  string
			header       [2]string
		}{
			{"full", `#{status: 201, headers: #{"x-a": "b"}, body: "made"}`, 201, "text/plain; charset=utf-8", "made", [2]string{"X-A", "b"}},
			{"full-json-body", `#{status: 202, body: #{ok: true}}`, 202, "application/json", `{"ok":true}`, [2]string{}},
			{"full-no-body", `#{status: 302, headers: #{location: "/x"}}`, 302, "", "", [2]string{"Location", "/x"}},
			{"full-own-type", `#{status: 200, headers: #{"content-type": "text/html"}, body: "<b>hi</b>"}`, 200, "text/html", "<b>hi</b>", [2]string{}},
			{"full-own-type-blob", `let b = blob(2, 65); #{status: 200, headers: #{"content-type": "application/octet-stream"}, body: b}`, 200, "application/octet-stream", "AA", [2]string{}},
			{"unit", `()`, 204, "", "", [2]string{}},
			{"string", `"hello"`, 200, "text/plain; charset=utf-8", "hello", [2]string{}},
			{"int", `42`, 200, "application/json", "42", [2]string{}},
			{"float", `2.0`, 200, "application/json", "2.0", [2]string{}},
			{"bool", `true`, 200, "application/json", "true", [2]string{}},
			{"array", `[1, "a", ()]`, 200, "application/json", `[1,"a",null]`, [2]string{}},
			{"map-not-full", `#{status: "ok", extra: 1}`, 200, "application/json", `{"extra":1,"status":"ok"}`, [2]string{}},
			{"char", `#{c: 'x'}`, 200, "application/json", `{"c":"x"}`, [2]string{}},
			{"blob", `#{b: blob(3, 0)}`, 200, "application/json", `{"b":"AAAA"}`, [2]string{}},
			{"nan", `[0.0 / 0.0]`, 200, "application/json", `[null]`, [2]string{}},
		}
		for _, tt := range tests {
			e.create(tt.name, tt.source)
			resp, b := e.request("GET", "/fn/"+tt.name, nil)
			if resp.StatusCode != tt.status || string(b) != tt.body || resp.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("%s: got %d %q %q, want %d %q %q", tt.name, resp.StatusCode, resp.Header.Get("Content-Type"), b, tt.status, tt.ctype, tt.body)
			}
			if tt.header[0] != "" && resp.Header.Get(tt.header[0]) != tt.header[1] {
				t.Errorf("%s: header %s = %q", tt.name, tt.header[0], resp.Header.Get(tt.header[0]))
			}
			if resp.Header.Get("Content-Security-Policy") != "sandbox" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: sandbox headers missing: %v", tt.name, resp.Header)
			}
		}
		for name, src := range map[string]string{
			"bad-status":   `#{status: 700}`,
			"bad-name":     `#{status: 200, headers: #{"bad name": "x"}}`,
			"crlf":         `#{status: 200, headers: #{"x-a": "a\r\nset-cookie: x=1"}}`,
			"hop-by-hop":   `#{status: 200, headers: #{"transfer-encoding": "chunked"}}`,
			"header-value": `#{status: 200, headers: #{"x-a": [#{}]}}`,
		} {
			id := e.create(name, src)
			resp, b := e.request("GET", "/fn/"+name, nil)
			if resp.StatusCode != 500 || errCode(b) != "invalid_response" {
				t.Errorf("%s: %d %s, want 500 invalid_response", name, resp.StatusCode, b)
			}
			l := e.logs(id, 1)[0]
			if l["status"] != "error" || l["error"].(map[string]any)["kind"] != "InvalidResponse" {
				t.Errorf("%s: log = %v", name, l)
			}
		}
	})
}

func TestMissingScript(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		for _, p := range []string{"/fn/nope", "/fn/nope/x", "/api/execute/0b3a3c1e-0000-4000-8000-000000000000", "/fn/NOT_A_SLUG", "/api/nothing-here"} {
			if resp, b := e.request("GET", p, nil); resp.StatusCode != 404 || errCode(b) != "not_found" {
				t.Errorf("%s: %d %s", p, resp.StatusCode, b)
			}
		}
	})
}

func TestLimits(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		// GateWait -1: refused at once rather than queued (the gate's queue
		// has its own tests in internal/orchestrator).
		e := newEnv(t, open(t), app.Config{Orchestrator: orchestrator.Config{MaxBodyBytes: 1000, MaxConcurrency: 2, GateWait: -1}})
		e.create("small", `request.raw_body.len()`)
		if resp, b := e.request("POST", "/fn/small", make([]byte, 1000)); resp.StatusCode != 200 || string(b) != "1000" {
			t.Fatalf("at the limit: %d %s", resp.StatusCode, b)
		}
		if resp, b := e.request("POST", "/fn/small", make([]byte, 1001)); resp.StatusCode != 413 || errCode(b) != "payload_too_large" {
			t.Fatalf("over the limit: %d %s", resp.StatusCode, b)
		}
		code, out := e.admin("POST", "/api/scripts", map[string]any{"name": "x", "source": strings.Repeat("1;", 600)})
		if code != 413 {
			t.Fatalf("admin body over the limit: %d %v", code, out)
		}

		// One slow script with max_concurrency 1: a second call is refused
		// while the first runs; then the server-wide gate (2) fills up.
		e.create("slow", `let n = 0; loop { n += 1; }`, "timeout_ms", 600, "max_concurrency", 1, "max_operations", picloud.MaxOperationsLimit)
		e.create("slow2", `let n = 0; loop { n += 1; }`, "timeout_ms", 600, "max_operations", picloud.MaxOperationsLimit)
		// Created first: the check below must fit in the slow calls' 600 ms,
		// also on a loaded machine.
		e.create("quick", `1`)
		var wg sync.WaitGroup
		statuses := make(chan int, 2)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, b := e.request("GET", "/fn/slow", nil)
				if resp.StatusCode == 429 && errCode(b) != "overloaded" {
					t.Errorf("429 body = %s", b)
				}
				statuses <- resp.StatusCode
			}()
		}
		if first := <-statuses; first != 429 {
			t.Fatalf("two calls of a max_concurrency 1 script: the first to finish got %d, want 429", first)
		}
		wg.Add(1)
		go func() { defer wg.Done(); e.request("GET", "/fn/slow2", nil) }()
		waitFor(t, func() bool {
			resp, b := e.request("GET", "/fn/quick", nil)
			return resp.StatusCode == 429 && errCode(b) == "overloaded"
		})
		if second := <-statuses; second != 504 {
			t.Fatalf("the slow call got %d, want 504", second)
		}
		wg.Wait()
		if resp, _ := e.request("GET", "/fn/quick", nil); resp.StatusCode != 200 {
			t.Fatalf("after the slow ones: %d", resp.StatusCode)
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestExecutionLog(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		ok := e.create("ok", "log::info(\"hello\", #{n: 1, list: [1, 2]});\nlog::warn(\"careful\");\nprint(\"printed\");\ndebug(\"dbg\");\nlog::debug(\"d\");\nlog::error(\"e\", 2);\n#{got: request.body}")
		fail := e.create("fail", "let x = 1;\nthrow \"boom\";")
		slow := e.create("slow", "loop { }", "timeout_ms", 50, "max_operations", picloud.MaxOperationsLimit)
		greedy := e.create("greedy", "let n = 0;\nwhile true { n += 1; }", "max_operations", 1000)

		resp, b := e.request("POST", "/fn/ok?q=1", []byte(`{"a":1}`), "Content-Type", "application/json",
			"Authorization", "Bearer secret", "Cookie", "s=1", "X-Api-Key", "k", "Proxy-Authorization", "p", "X-Plain", "v")
		if resp.StatusCode != 200 || string(b) != `{"got":{"a":1}}` {
			t.Fatalf("ok = %d %s", resp.StatusCode, b)
		}
		for _, c := range []struct {
			id, code string
			status   int
		}{{fail, "script_error", 500}, {slow, "timeout", 504}, {greedy, "budget_exceeded", 503}} {
			resp, b := e.request("GET", "/api/execute/"+c.id, nil)
			var eb struct{ Error map[string]any }
			json.Unmarshal(b, &eb)
			if resp.StatusCode != c.status || eb.Error["code"] != c.code || eb.Error["execution_id"] == nil {
				t.Errorf("%s: %d %s", c.code, resp.StatusCode, b)
			}
			if contains(string(b), "boom") {
				t.Errorf("public error leaks the script's error text: %s", b)
			}
			// The log keeps the response the caller got: status, headers, body.
			lr, _ := e.logs(c.id, 1)[0]["response"].(map[string]any)
			lh, _ := lr["headers"].(map[string]any)
			if lr["status"] != float64(c.status) || lr["body"] != string(b) || lr["body_size"] != float64(len(b)) ||
				lh["content-type"] != resp.Header.Get("Content-Type") {
				t.Errorf("%s: logged response = %v, caller got %d %q %s", c.code, lr, resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
		}

		l := e.logs(ok, 1)[0]
		for _, k := range []string{"id", "script_id", "script_version", "trigger", "status", "started_at", "duration_ms", "operations", "request", "response", "logs", "error"} {
			if _, found := l[k]; !found {
				t.Errorf("log item has no %q", k)
			}
		}
		if l["status"] != "success" || l["trigger"] != "http" || l["script_id"] != ok || l["script_version"] != 1.0 || l["error"] != nil {
			t.Errorf("ok log = %v", l)
		}
		req := l["request"].(map[string]any)
		hs := req["headers"].(map[string]any)
		for _, h := range []string{"authorization", "cookie", "x-api-key", "proxy-authorization"} {
			if hs[h] != "[REDACTED]" {
				t.Errorf("header %s = %v, want redacted", h, hs[h])
			}
		}
		if hs["x-plain"] != "v" || req["body"] != `{"a":1}` || req["method"] != "POST" || req["path"] != "/fn/ok" ||
			req["query"].(map[string]any)["q"] != "1" {
			t.Errorf("request = %v", req)
		}
		if r := l["response"].(map[string]any); r["status"] != 200.0 || r["body"] != `{"got":{"a":1}}` {
			t.Errorf("response = %v", r)
		}
		lines := l["logs"].([]any)
		want := [][2]string{{"info", "hello"}, {"warn", "careful"}, {"info", "printed"}, {"debug", "dbg"}, {"debug", "d"}, {"error", "e"}}
		if len(lines) != len(want) {
			t.Fatalf("logs = %v", lines)
		}
		for i, w := range want {
			ln := lines[i].(map[string]any)
			if ln["level"] != w[0] || !contains(ln["message"].(string), w[1]) || ln["time"] == nil {
				t.Errorf("log line %d = %v, want %v", i, ln, w)
			}
		}
		if d, _ := json.Marshal(lines[0].(map[string]any)["data"]); string(d) != `{"list":[1,2],"n":1}` {
			t.Errorf("structured data = %s", d)
		}
		if d := lines[5].(map[string]any)["data"]; d != 2.0 {
			t.Errorf("scalar data = %v", d)
		}

		for _, c := range []struct{ id, status, kind string }{
			{fail, "error", "ErrorRuntime"}, {slow, "timeout", "ErrorTerminated"}, {greedy, "budget_exceeded", "ErrorTooManyOperations"},
		} {
			l := e.logs(c.id, 1)[0]
			xe, _ := l["error"].(map[string]any)
			if l["status"] != c.status || xe == nil || xe["kind"] != c.kind || xe["message"] == "" {
				t.Errorf("%s log = %v", c.status, l)
			}
			if c.id == fail && (xe["line"] != 2.0 || xe["column"] == 0.0 || !contains(xe["message"].(string), "boom")) {
				t.Errorf("throw error = %v", xe)
			}
			if c.id == greedy && l["operations"].(float64) < 1000 {
				t.Errorf("operations = %v", l["operations"])
			}
		}
	})
}

func TestTruncation(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{Executor: executor.Config{MaxLogLines: 10, MaxLogBytes: 1000}})
		big := e.create("big", `request.raw_body`)
		body := strings.Repeat("x", 100_000)
		if resp, b := e.request("POST", "/fn/big", []byte(body)); resp.StatusCode != 200 || len(b) != 100_000 {
			t.Fatalf("big = %d %d bytes", resp.StatusCode, len(b))
		}
		l := e.logs(big, 1)[0]
		req, resp := l["request"].(map[string]any), l["response"].(map[string]any)
		if len(req["body"].(string)) != 64<<10 || req["body_truncated"] != true || req["body_size"] != 100_000.0 {
			t.Errorf("request body: %d bytes, truncated %v", len(req["body"].(string)), req["body_truncated"])
		}
		if len(resp["body"].(string)) != 64<<10 || resp["body_truncated"] != true {
			t.Errorf("response body: %d bytes, truncated %v", len(resp["body"].(string)), resp["body_truncated"])
		}

		flood := e.create("flood", `for i in 0..1000 { log::info("line " + i); } "done"`)
		if resp, _ := e.request("GET", "/fn/flood", nil); resp.StatusCode != 200 {
			t.Fatalf("flood = %d", resp.StatusCode)
		}
		lines := e.logs(flood, 1)[0]["logs"].([]any)
		last := lines[len(lines)-1].(map[string]any)
		if len(lines) != 11 || last["level"] != "warn" || !contains(last["message"].(string), "truncated") {
			t.Errorf("flood: %d lines, last %v", len(lines), last)
		}
		bytesFlood := e.create("bytes-flood", `for i in 0..5 { log::info("`+strings.Repeat("y", 400)+`"); }`)
		e.request("GET", "/fn/bytes-flood", nil)
		if lines := e.logs(bytesFlood, 1)[0]["logs"].([]any); len(lines) != 3 {
			t.Errorf("byte flood: %d lines, want 2 + truncated", len(lines))
		}
	})
}

func TestLogPagination(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		id := e.create("count", `request.query.i`)
		for i := range 5 {
			e.request("GET", fmt.Sprintf("/fn/count?i=%d", i), nil)
		}
		e.logs(id, 5)
		code, out := e.admin("GET", "/api/scripts/"+id+"/logs?limit=2&offset=1", nil)
		items := out["items"].([]any)
		if code != 200 || out["limit"] != 2.0 || out["offset"] != 1.0 || len(items) != 2 {
			t.Fatalf("page = %d %v", code, out)
		}
		q := items[0].(map[string]any)["request"].(map[string]any)["query"].(map[string]any)
		if q["i"] != "3" {
			t.Errorf("newest first: second newest is i=%v", q["i"])
		}
		code, out = e.admin("GET", "/api/scripts/"+id+"/logs", nil)
		if code != 200 || out["limit"] != 50.0 || out["offset"] != 0.0 {
			t.Errorf("defaults = %v %v", out["limit"], out["offset"])
		}
		code, out = e.admin("GET", "/api/scripts/"+id+"/logs?limit=1000", nil)
		if code != 200 || out["limit"] != 200.0 {
			t.Errorf("cap = %v", out["limit"])
		}
		if code, _ = e.admin("GET", "/api/scripts/"+id+"/logs?limit=-1", nil); code != 400 {
			t.Errorf("limit=-1: %d", code)
		}
		if code, _ = e.admin("GET", "/api/scripts/0b3a3c1e-0000-4000-8000-000000000000/logs", nil); code != 404 {
			t.Errorf("logs of a missing script: %d", code)
		}
	})
}

func TestImports(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		lib := e.create("lib", `fn double(x) { x * 2 } export const NAME = "lib";`)
		e.create("main", `import "lib" as lib; #{v: lib::double(21), name: lib::NAME}`)
		if resp, b := e.request("GET", "/fn/main", nil); resp.StatusCode != 200 || string(b) != `{"name":"lib","v":42}` {
			t.Fatalf("import = %d %s", resp.StatusCode, b)
		}
		e.admin("PUT", "/api/scripts/"+lib, map[string]any{"source": `fn double(x) { x * 3 } export const NAME = "lib2";`})
		if resp, b := e.request("GET", "/fn/main", nil); resp.StatusCode != 200 || string(b) != `{"name":"lib2","v":63}` {
			t.Fatalf("import after update = %d %s", resp.StatusCode, b)
		}
		id := e.create("missing", `import "nowhere" as n; 1`)
		if resp, b := e.request("GET", "/fn/missing", nil); resp.StatusCode != 500 || errCode(b) != "script_error" {
			t.Fatalf("missing import = %d %s", resp.StatusCode, b)
		}
		if xe := e.logs(id, 1)[0]["error"].(map[string]any); xe["kind"] != "ErrorModuleNotFound" {
			t.Errorf("missing import error = %v", xe)
		}
	})
}

func TestInvoke(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		id := e.create("t", "log::info(\"in test\");\nif request.body.fail { throw \"asked to\" }\n#{status: 201, body: request.body}")
		code, out := e.admin("POST", "/api/scripts/"+id+"/invoke", map[string]any{
			"method": "POST", "path": "/fn/t", "headers": map[string]string{"content-type": "application/json"}, "body": `{"fail": false}`})
		resp, _ := out["response"].(map[string]any)
		if code != 200 || out["status"] != "success" || out["execution_id"] == nil || resp["status"] != 201.0 || resp["body"] != `{"fail":false}` {
			t.Fatalf("invoke = %d %v", code, out)
		}
		if lines := out["logs"].([]any); len(lines) != 1 {
			t.Errorf("invoke logs = %v", lines)
		}
		code, out = e.admin("POST", "/api/scripts/"+id+"/invoke", map[string]any{
			"headers": map[string]string{"content-type": "application/json"}, "body": `{"fail": true}`})
		xe, _ := out["error"].(map[string]any)
		if code != 200 || out["status"] != "error" || out["code"] != "script_error" || xe["line"] != 2.0 || !contains(xe["message"].(string), "asked to") {
			t.Fatalf("invoke failing = %d %v", code, out)
		}
		logs := e.logs(id, 2)
		if logs[0]["trigger"] != "test" || logs[1]["trigger"] != "test" {
			t.Errorf("triggers = %v %v", logs[0]["trigger"], logs[1]["trigger"])
		}
	})
}

// failingStore fails every execution-log write.
type failingStore struct {
	picloud.Store
	calls atomic.Int64
}

func (s *failingStore) InsertExecutions(context.Context, []*picloud.ExecutionLog) error {
	s.calls.Add(1)
	return errors.New("disk on fire")
}

func TestFailingSinkDoesNotMaskResponse(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		fs := &failingStore{Store: open(t)}
		e := newEnv(t, fs, app.Config{Sink: audit.Config{RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond}})
		e.create("ok", `"fine"`)
		if resp, b := e.request("GET", "/fn/ok", nil); resp.StatusCode != 200 || string(b) != "fine" {
			t.Fatalf("response = %d %s", resp.StatusCode, b)
		}
		// The row is not given up on: the write is retried for as long as it fails.
		waitFor(t, func() bool { return fs.calls.Load() >= 3 })
		resp, b := e.request("GET", "/metrics", nil, "Authorization", "Bearer "+testToken)
		if resp.StatusCode != 200 || contains(string(b), "picloud_sink_retries_total 0") || !contains(string(b), "picloud_sink_failures_total 0") {
			t.Fatalf("metrics = %d %s", resp.StatusCode, b)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := e.app.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Stop with the store down = %v, want the context's error", err)
		}
	})
}

func TestAuth(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		// The test client stands behind a trusted proxy at 127.0.0.1, so that
		// each route's wrong tokens come from a client of their own and stay
		// under the failure limit (10 a minute per client).
		proxies, err := httpapi.ParseTrustedProxies("127.0.0.1/32,::1/128")
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, open(t), app.Config{TrustedProxies: proxies})
		id := e.create("a", "1")
		routes := [][2]string{
			{"GET", "/api/scripts"}, {"POST", "/api/scripts"}, {"GET", "/api/scripts/" + id}, {"PUT", "/api/scripts/" + id},
			{"PATCH", "/api/scripts/" + id}, {"DELETE", "/api/scripts/" + id}, {"GET", "/api/scripts/" + id + "/versions"},
			{"GET", "/api/scripts/" + id + "/versions/1"}, {"POST", "/api/scripts/" + id + "/rollback"},
			{"POST", "/api/scripts/" + id + "/invoke"}, {"GET", "/api/scripts/" + id + "/logs"},
			{"GET", "/api/executions/" + id}, {"POST", "/api/validate"}, {"GET", "/metrics"},
		}
		for i, r := range routes {
			for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "Basic eDp5"}} {
				hdr = append(hdr, "X-Forwarded-For", fmt.Sprintf("192.0.2.%d", i+1))
				if resp, b := e.request(r[0], r[1], []byte(`{}`), hdr...); resp.StatusCode != 401 || errCode(b) != "unauthorized" {
					t.Errorf("%s %s with %v: %d %s", r[0], r[1], hdr, resp.StatusCode, b)
				}
			}
		}
		if code, _ := e.admin("GET", "/api/scripts/"+id, nil); code != 200 {
			t.Fatal("the right token is refused")
		}
		// Asking whether one is signed in is not refused: the answer is no.
		for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Cookie", "picloud_session=9999999999.deadbeef"}} {
			if resp, b := e.request("GET", "/api/session", nil, hdr...); resp.StatusCode != 200 || string(b) != `{"authenticated":false}`+"\n" {
				t.Errorf("GET /api/session with %v: %d %s", hdr, resp.StatusCode, b)
			}
		}
		if code, b := e.admin("GET", "/api/session", nil); code != 200 || b["authenticated"] != true || b["method"] != "bearer" {
			t.Errorf("GET /api/session with the token: %d %v", code, b)
		}
		if resp, _ := e.request("GET", "/fn/a", nil); resp.StatusCode != 200 {
			t.Fatal("invocations must be public")
		}
		if resp, b := e.request("GET", "/metrics", nil, "Authorization", "Bearer "+testToken); resp.StatusCode != 200 ||
			!contains(string(b), `picloud_invocations_total{script="a",status="success"} 1`) || !contains(string(b), "picloud_sink_queue_depth") {
			t.Fatalf("metrics = %d %s", resp.StatusCode, b)
		}

		// Dashboard sessions: cookie, CSRF header on writes, sign-out.
		resp, b := e.request("POST", "/api/session", []byte(`{"token": "wrong"}`))
		if resp.StatusCode != 401 {
			t.Fatalf("session with a wrong token: %d %s", resp.StatusCode, b)
		}
		resp, b = e.request("POST", "/api/session", []byte(`{"token": "`+testToken+`"}`))
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == manager.SessionCookie {
				cookie = c
			}
		}
		if resp.StatusCode != 200 || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/api" {
			t.Fatalf("session = %d %s %v", resp.StatusCode, b, cookie)
		}
		c := "picloud_session=" + cookie.Value
		if resp, b := e.request("GET", "/api/session", nil, "Cookie", c); resp.StatusCode != 200 || !contains(string(b), `"authenticated":true`) {
			t.Fatalf("whoami = %d %s", resp.StatusCode, b)
		}
		if resp, _ := e.request("GET", "/api/scripts", nil, "Cookie", c); resp.StatusCode != 200 {
			t.Fatalf("cookie read = %d", resp.StatusCode)
		}
		if resp, _ := e.request("POST", "/api/validate", []byte(`{"source":"1"}`), "Cookie", c); resp.StatusCode != 401 {
			t.Fatalf("cookie write without CSRF header = %d", resp.StatusCode)
		}
		if resp, _ := e.request("POST", "/api/validate", []byte(`{"source":"1"}`), "Cookie", c, "X-PiCloud-CSRF", "1"); resp.StatusCode != 200 {
			t.Fatalf("cookie write with CSRF header = %d", resp.StatusCode)
		}
		if resp, _ := e.request("GET", "/api/scripts", nil, "Cookie", "picloud_session=9999999999.deadbeef"); resp.StatusCode != 401 {
			t.Fatalf("forged cookie = %d", resp.StatusCode)
		}
		resp, _ = e.request("DELETE", "/api/session", nil, "Cookie", c)
		if resp.StatusCode != 204 || len(resp.Cookies()) != 1 || resp.Cookies()[0].MaxAge >= 0 {
			t.Fatalf("sign-out = %d %v", resp.StatusCode, resp.Cookies())
		}
		// Sign-out deleted the session: the old cookie, replayed, is refused.
		if resp, _ := e.request("GET", "/api/scripts", nil, "Cookie", c); resp.StatusCode != 401 {
			t.Fatalf("cookie after sign-out = %d", resp.StatusCode)
		}
		if resp, b := e.request("GET", "/metrics", nil, "Authorization", "Bearer "+testToken); !contains(string(b), `picloud_auth_failures_total{reason="wrong_token"}`) {
			t.Fatalf("auth failures not in the metrics: %d %s", resp.StatusCode, b)
		}
	})
}

func TestPublicMetricsAndDashboard(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		dash := fstestFS()
		e := newEnv(t, open(t), app.Config{PublicMetrics: true, Dashboard: dash})
		if resp, _ := e.request("GET", "/metrics", nil); resp.StatusCode != 200 {
			t.Fatalf("public metrics = %d", resp.StatusCode)
		}
		for _, tt := range []struct{ path, want, cache string }{
			{"/", "INDEX", "no-cache"},
			{"/index.html", "INDEX", "no-cache"},
			{"/scripts/abc", "INDEX", "no-cache"},
			{"/app.js", "JS", ""},
			{"/_app/immutable/entry/start.Bx1c2d3e.js", "IMMUTABLE", "public, max-age=31536000, immutable"},
			{"/_app/immutable/missing.js", "INDEX", "no-cache"},
		} {
			resp, b := e.request("GET", tt.path, nil)
			if resp.StatusCode != 200 || !contains(string(b), tt.want) {
				t.Errorf("%s = %d %s", tt.path, resp.StatusCode, b)
			}
			if got := resp.Header.Get("Cache-Control"); got != tt.cache {
				t.Errorf("%s: Cache-Control = %q, want %q", tt.path, got, tt.cache)
			}
		}
		if resp, b := e.request("GET", "/api/unknown", nil); resp.StatusCode != 404 || errCode(b) != "not_found" {
			t.Errorf("unknown API route = %d %s", resp.StatusCode, b)
		}
	})
}

func TestRetention(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		s := open(t)
		e := newEnv(t, s, app.Config{RetentionMaxAge: time.Hour, RetentionMaxRows: 3})
		id := e.create("r", "1")
		for range 5 {
			e.request("GET", "/fn/r", nil)
		}
		// The logs route flushes the sink: the 5 rows are stored, and some
		// already pruned if the background pass (it runs at Start, and may
		// run late) came after some of them.
		if resp, _ := e.request("GET", "/api/scripts/"+id+"/logs", nil, "Authorization", "Bearer "+testToken); resp.StatusCode != 200 {
			t.Fatalf("logs = %d", resp.StatusCode)
		}
		if c, _ := s.CountExecutions(context.Background(), id); c < 3 || c > 5 {
			t.Fatalf("rows before the prune = %d, want 3 to 5", c)
		}
		old := &picloud.ExecutionLog{ID: "old-1", ScriptID: id, ScriptVersion: 1, Trigger: picloud.TriggerHTTP,
			Status: picloud.StatusSuccess, StartedAt: picloud.Time{Time: time.Now().Add(-2 * time.Hour)}}
		if err := s.InsertExecutions(context.Background(), []*picloud.ExecutionLog{old}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.Prune(context.Background()); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.CountExecutions(context.Background(), id); c != 3 {
			t.Fatalf("rows left = %d", c)
		}
		if _, err := s.Execution(context.Background(), "old-1"); picloud.ErrorCode(err) != picloud.ENotFound {
			t.Fatalf("the old row: %v", err)
		}
		// The background pass (it runs at Start, and may run late) and this
		// one together pruned the old row by age and 5 -> 3 by count.
		resp, b := e.request("GET", "/metrics", nil, "Authorization", "Bearer "+testToken)
		if resp.StatusCode != 200 || !contains(string(b), "picloud_executions_pruned_total 3\n") {
			t.Fatalf("metrics = %d, want picloud_executions_pruned_total 3", resp.StatusCode)
		}
	})
}

// slowStore makes every log write slow, so that logs are still queued when
// shutdown begins.
type slowStore struct{ picloud.Store }

func (s slowStore) InsertExecutions(ctx context.Context, logs []*picloud.ExecutionLog) error {
	time.Sleep(20 * time.Millisecond)
	return s.Store.InsertExecutions(ctx, logs)
}

func TestShutdownFlushesSink(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		s := open(t)
		e := newEnv(t, slowStore{s}, app.Config{Sink: audit.Config{BatchSize: 2}})
		id := e.create("s", "1")
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					e.request("GET", "/fn/s", nil)
				}
			}()
		}
		wg.Wait()
		e.srv.Close()
		if err := e.app.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.CountExecutions(context.Background(), id); n != 40 {
			t.Fatalf("rows after shutdown = %d, want 40", n)
		}
		if err := e.app.Stop(context.Background()); err != nil {
			t.Fatalf("second Stop: %v", err)
		}
	})
}

func TestAdminToken(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		tok, err := manager.EnsureAdminToken(ctx, s, "")
		if err != nil || !strings.HasPrefix(tok, "pct_") {
			t.Fatalf("first start: %q %v", tok, err)
		}
		if h, _ := s.AdminTokenHash(ctx); h == "" || contains(h, tok) {
			t.Fatalf("stored %q: must be a hash of the token", h)
		}
		if again, err := manager.EnsureAdminToken(ctx, s, ""); err != nil || again != "" {
			t.Fatalf("second start made a token: %q %v", again, err)
		}
		a, _ := app.New(app.Config{}, s)
		srv := newServer(t, a)
		get := func(token string) int {
			req, _ := http.NewRequest("GET", srv+"/api/scripts", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if get(tok) != 200 {
			t.Fatal("first token refused")
		}
		rotated, err := manager.RotateToken(ctx, s)
		if err != nil || rotated == tok {
			t.Fatalf("rotate: %q %v", rotated, err)
		}
		if get(tok) != 401 || get(rotated) != 200 {
			t.Fatal("rotation did not take effect")
		}
	})
}

// TestLogsReadYourWrites: a log read right after an invocation shows it, on
// the journal on files as `picloud serve` runs it (the sink writes in
// batches, a few milliseconds behind the responses; the log routes wait for
// it).
func TestLogsReadYourWrites(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{Sink: audit.Config{Dir: t.TempDir()}})
		id := e.create("echo", `request.query.k`)
		for i := range 20 {
			k := fmt.Sprint(i)
			if resp, b := e.request("GET", "/fn/echo?k="+k, nil); resp.StatusCode != 200 || string(b) != k {
				t.Fatalf("call %d = %d %s", i, resp.StatusCode, b)
			}
			var list picloud.ExecutionList
			if code, out := e.admin("GET", "/api/scripts/"+id+"/logs?limit=1", nil); code != 200 {
				t.Fatalf("logs = %d %v", code, out)
			} else {
				b, _ := json.Marshal(out)
				json.Unmarshal(b, &list)
			}
			if len(list.Items) != 1 || list.Items[0].Request.Query["k"] != k {
				t.Fatalf("after call %d the newest log is %+v", i, list.Items)
			}
		}
	})
}

// TestHostCallMetrics: calls of the stateless host modules are counted by
// module.
func TestHostCallMetrics(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		e.create("h", `crypto::sha256("a"); crypto::sha256("b"); hex::encode("c"); time::now()`)
		if resp, b := e.request("GET", "/fn/h", nil); resp.StatusCode != 200 {
			t.Fatalf("call = %d %s", resp.StatusCode, b)
		}
		resp, b := e.request("GET", "/metrics", nil, "Authorization", "Bearer "+testToken)
		for _, want := range []string{`picloud_host_calls_total{module="crypto"} 2`, `picloud_host_calls_total{module="hex"} 1`,
			`picloud_host_calls_total{module="time"} 1`} {
			if resp.StatusCode != 200 || !contains(string(b), want) {
				t.Fatalf("metrics lack %s", want)
			}
		}
	})
}
