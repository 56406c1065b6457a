package app_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/orchestrator"
)

// A browser's CORS preflight (OPTIONS with Origin and
// Access-Control-Request-Method, never a credential) to a key or token
// script is answered by PiCloud (204, the method and headers asked for, no
// credentials allowed) without an execution, a credential check or a rate
// limit spent; the request that follows is still checked, and the script's
// own Access-Control-Allow-Origin decides whether the page reads it. A
// library script still answers 404 like a missing one, a public script
// still answers its preflight itself, and an OPTIONS with a credential is
// an ordinary request.
func TestPreflightProtectedScripts(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		e := newEnv(t, store, app.Config{})
		src := `#{status: 200, headers: #{"access-control-allow-origin": "https://app.example"}, body: #{method: request.method}}`
		keyed := e.create("keyed", src, "access", "key", "rate_limit_rps", 1, "rate_limit_burst", 1)
		tokened := e.create("tokened", src, "access", "token")
		e.create("lib", `1`, "access", "library")
		e.create("open", `#{status: 200, headers: #{"x-ran": "yes"}, body: "ran"}`)
		key, _ := e.invokeKey(keyed)
		caller := e.invokeToken("caller", "invoke:tokened")

		preflight := func(path string, extra ...string) (*http.Response, []byte) {
			t.Helper()
			hdr := append([]string{"Origin", "https://app.example", "Access-Control-Request-Method", "POST",
				"Access-Control-Request-Headers", "x-picloud-key,content-type"}, extra...)
			return e.request("OPTIONS", path, nil, hdr...)
		}
		for _, path := range []string{"/fn/keyed", "/fn/keyed/sub/path", "/api/execute/" + keyed, "/fn/tokened", "/api/execute/" + tokened} {
			resp, b := preflight(path)
			h := resp.Header
			if resp.StatusCode != 204 || len(b) != 0 {
				t.Fatalf("%s: preflight %d %s", path, resp.StatusCode, b)
			}
			if h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Methods") != "POST" ||
				h.Get("Access-Control-Allow-Headers") != "x-picloud-key, content-type" ||
				h.Get("Access-Control-Max-Age") != strconv.Itoa(orchestrator.PreflightMaxAge) {
				t.Errorf("%s: preflight headers %v", path, h)
			}
			if v := h.Get("Access-Control-Allow-Credentials"); v != "" {
				t.Errorf("%s: credentials allowed: %q", path, v)
			}
		}
		// Preflights ran nothing and spent nothing: the rate limit (burst
		// 1 per client) still admits the real request, and only it.
		if n := executions(t, store, keyed) + executions(t, store, tokened); n != 0 {
			t.Fatalf("preflights wrote %d execution rows", n)
		}
		resp, b := e.request("POST", "/fn/keyed", nil, "Origin", "https://app.example")
		if resp.StatusCode != 401 || errCode(b) != "unauthorized" || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("the real request without a key: %d %v %s", resp.StatusCode, resp.Header, b)
		}
		resp, b = e.request("POST", "/fn/tokened", nil, "Origin", "https://app.example", "Authorization", "Bearer "+caller)
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || !contains(string(b), "POST") {
			t.Errorf("the real request with a token: %d %v %s", resp.StatusCode, resp.Header, b)
		}
		resp, b = e.request("POST", "/fn/tokened", nil, "Origin", "https://app.example", "X-PiCloud-Key", key)
		if resp.StatusCode != 403 {
			t.Errorf("a key on a token script after a preflight: %d %s", resp.StatusCode, b)
		}

		// An OPTIONS request with a credential is checked and runs the
		// script; without Origin or Access-Control-Request-Method it is not
		// a preflight and is refused as any call without a credential.
		resp, b = e.request("OPTIONS", "/fn/tokened", nil, "Origin", "https://app.example",
			"Access-Control-Request-Method", "POST", "Authorization", "Bearer "+caller)
		if resp.StatusCode != 200 || !contains(string(b), "OPTIONS") {
			t.Errorf("OPTIONS with a token: %d %s", resp.StatusCode, b)
		}
		resp, b = e.request("OPTIONS", "/fn/tokened", nil, "Origin", "https://app.example",
			"Access-Control-Request-Method", "POST", "Authorization", "Bearer pct_0000")
		if resp.StatusCode != 401 {
			t.Errorf("OPTIONS with an unknown token: %d %s", resp.StatusCode, b)
		}
		for _, hdr := range [][]string{
			{"Access-Control-Request-Method", "POST"},
			{"Origin", "https://app.example"},
			{"Origin", "https://app.example", "Access-Control-Request-Method", "PO ST"},
		} {
			if resp, b := e.request("OPTIONS", "/fn/tokened", nil, hdr...); resp.StatusCode != 401 || errCode(b) != "unauthorized" {
				t.Errorf("OPTIONS %v: %d %s", hdr, resp.StatusCode, b)
			}
		}
		if n := executions(t, store, keyed); n != 0 {
			t.Errorf("keyed: %d rows, want none", n)
		}

		// A library script answers its preflight as a missing script does:
		// nothing tells the two apart.
		lib, libBody := preflight("/fn/lib")
		missing, missingBody := preflight("/fn/nothing")
		if lib.StatusCode != 404 || lib.Header.Get("Access-Control-Allow-Origin") != "" ||
			strings.Replace(string(libBody), "lib", "nothing", 1) != string(missingBody) {
			t.Errorf("library %d %s, missing %d %s", lib.StatusCode, libBody, missing.StatusCode, missingBody)
		}
		// A public script answers its own preflight (it runs).
		resp, b = preflight("/fn/open")
		if resp.StatusCode != 200 || resp.Header.Get("X-Ran") != "yes" || string(b) != "ran" {
			t.Errorf("a public script's preflight: %d %v %s", resp.StatusCode, resp.Header, b)
		}
		// Refused real requests are still counted; preflights are not
		// refusals.
		if v := e.metric(`picloud_invoke_denied_total{reason="missing"}`); v != "4" {
			t.Errorf("denied missing = %q, want 4 (the real requests without a credential only)", v)
		}
	})
}

// A cluster node answers the preflight of a key script as `serve` does,
// without asking its manager anything about credentials, and checks the
// call that follows with the manager.
func TestPreflightOnNode(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		m := startManager(t, store, "")
		n := startNode(t, "node-a", m.srv.URL, clusterToken)
		id := m.create("keyed", `#{status: 200, headers: #{"access-control-allow-origin": "*"}, body: "ok"}`, "access", "key")
		key, _ := m.invokeKey(id)
		var resp *http.Response
		var b []byte
		until(t, converge, "the node answers the preflight", func() bool {
			resp, b = n.request("OPTIONS", "/fn/keyed", nil, "Origin", "https://app.example",
				"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "x-picloud-key")
			return resp.StatusCode == 204
		})
		if resp.Header.Get("Access-Control-Allow-Headers") != "x-picloud-key" || resp.Header.Get("Access-Control-Allow-Methods") != "GET" {
			t.Errorf("the node's preflight: %v %s", resp.Header, b)
		}
		if resp, b := n.request("GET", "/fn/keyed", nil, "Origin", "https://app.example"); resp.StatusCode != 401 {
			t.Errorf("without the key on the node: %d %s", resp.StatusCode, b)
		}
		if resp, b := n.request("GET", "/fn/keyed", nil, "Origin", "https://app.example", "X-PiCloud-Key", key); resp.StatusCode != 200 || string(b) != "ok" {
			t.Errorf("with the key on the node: %d %s", resp.StatusCode, b)
		}
		rows(t, store, id, 1)
	})
}
