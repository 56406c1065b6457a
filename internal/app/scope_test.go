package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// caller is one credential the scope matrix tries every admin route with.
type caller struct {
	name   string
	token  string // "" for none
	script string // the script {id} names on /api/scripts/{id} routes
	// allowed says whether route r must pass the guard (any status but 401
	// and 403) rather than be refused.
	allowed func(r app.Route) bool
	status  int // the refusal's status
}

// scriptWide are the admin routes about no stored data, which a token
// restricted to some scripts may call.
var scriptWide = map[string]bool{"POST /api/validate": true, "POST /api/schedules/preview": true}

// newToken makes a named API token through the API and returns it.
func (e *env) newToken(name string, scopes []string, scripts string) string {
	e.t.Helper()
	in := map[string]any{"name": name, "scopes": scopes}
	if scripts != "" {
		in["scripts"] = scripts
	}
	code, out := e.admin("POST", "/api/tokens", in)
	tok, _ := out["token"].(string)
	if code != http.StatusCreated || !strings.HasPrefix(tok, "pct_") || len(tok) != 68 {
		e.t.Fatalf("create token %s: %d %v", name, code, out)
	}
	return tok
}

// routePath is a request path for route r: script ids are script, other
// path values an id that names nothing.
func routePath(r app.Route, script string) string {
	const nothing = "00000000-0000-4000-8000-000000000000"
	path := r.Pattern
	if strings.HasPrefix(path, "/api/scripts/{id}") {
		path = strings.Replace(path, "{id}", script, 1)
	}
	for _, v := range []string{"{id}", "{name}", "{key}"} {
		path = strings.ReplaceAll(path, v, nothing)
	}
	path = strings.ReplaceAll(path, "{n}", "1")
	path = strings.ReplaceAll(path, "{key...}", "k")
	return path
}

// TestScopeMatrix walks every admin route of the table with the admin
// token, a read, a deploy and an invoke:x token, a deploy token restricted
// to "other-*" (on script x and on its own script other-1) and no
// credential, and checks each is let through or refused (401/403) as the
// route's Scope says: admin holds deploy, deploy holds read.
func TestScopeMatrix(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		e.create("x", `"x"`)
		e.create("other-1", `"o"`)
		read := e.newToken("reader", []string{"read"}, "")
		deploy := e.newToken("deployer", []string{"deploy"}, "")
		invoke := e.newToken("invoker", []string{"invoke:x"}, "")
		restricted := e.newToken("others", []string{"deploy"}, "other-*")

		upTo := func(scopes ...string) func(app.Route) bool {
			return func(r app.Route) bool {
				for _, s := range scopes {
					if r.Scope == s {
						return true
					}
				}
				return false
			}
		}
		scriptRoute := func(r app.Route) bool { return strings.HasPrefix(r.Pattern, "/api/scripts/{id}") }
		wide := func(r app.Route) bool {
			return scriptWide[r.String()] || r.Pattern == "/api/scripts" // the list is filtered, a new name checked, by the handlers
		}
		callers := []caller{
			{name: "none", script: "x", allowed: func(app.Route) bool { return false }, status: 401},
			{name: "admin", token: testToken, script: "x", allowed: func(app.Route) bool { return true }},
			{name: "read", token: read, script: "x", allowed: upTo("read"), status: 403},
			{name: "deploy", token: deploy, script: "x", allowed: upTo("read", "deploy"), status: 403},
			{name: "invoke:x", token: invoke, script: "x", allowed: func(app.Route) bool { return false }, status: 403},
			{name: "other-* on x", token: restricted, script: "x", status: 403,
				allowed: func(r app.Route) bool { return upTo("read", "deploy")(r) && wide(r) }},
			{name: "other-* on other-1", token: restricted, script: "other-1", status: 403,
				allowed: func(r app.Route) bool { return upTo("read", "deploy")(r) && (wide(r) || scriptRoute(r)) }},
		}

		// The restricted token sees only its scripts in the list.
		_, b := e.request("GET", "/api/scripts", nil, "Authorization", "Bearer "+restricted)
		var list struct{ Items []struct{ Name string } }
		if err := json.Unmarshal(b, &list); err != nil || len(list.Items) != 1 || list.Items[0].Name != "other-1" {
			t.Errorf("restricted GET /api/scripts = %s", b)
		}
		routes := 0
		for _, r := range e.app.Routes() {
			if r.Auth != app.AuthAdmin {
				continue
			}
			routes++
			if r.Scope != "read" && r.Scope != "deploy" && r.Scope != "admin" {
				t.Errorf("route %s: scope %q", r, r.Scope)
				continue
			}
			method := r.Method
			if method == "" {
				method = "GET"
			}
			for _, c := range callers {
				got := statusOf(t, e, method, routePath(r, c.script), c.token)
				want := c.allowed(r)
				switch {
				case want && (got == 401 || got == 403):
					t.Errorf("%s: %s %s = %d, want it let through (scope %s)", c.name, method, routePath(r, c.script), got, r.Scope)
				case !want && got != c.status:
					t.Errorf("%s: %s %s = %d, want %d (scope %s)", c.name, method, routePath(r, c.script), got, c.status, r.Scope)
				}
			}
		}
		if routes < 50 {
			t.Fatalf("only %d admin routes walked", routes)
		}

		// It creates and renames scripts only within its pattern.
		if resp, b := e.request("POST", "/api/scripts", []byte(`{"name":"mine","source":"1"}`), bearer(restricted)...); resp.StatusCode != 403 {
			t.Errorf("restricted create outside its pattern = %d %s", resp.StatusCode, b)
		}
		if resp, b := e.request("POST", "/api/scripts", []byte(`{"name":"other-2","source":"1"}`), bearer(restricted)...); resp.StatusCode != 201 {
			t.Errorf("restricted create within its pattern = %d %s", resp.StatusCode, b)
		}
		if resp, b := e.request("PATCH", "/api/scripts/other-2", []byte(`{"name":"mine"}`), bearer(restricted)...); resp.StatusCode != 403 {
			t.Errorf("restricted rename out of its pattern = %d %s", resp.StatusCode, b)
		}
		if resp, b := e.request("PATCH", "/api/scripts/other-2", []byte(`{"name":"other-3"}`), bearer(restricted)...); resp.StatusCode != 200 {
			t.Errorf("restricted rename within its pattern = %d %s", resp.StatusCode, b)
		}
		// A refusal says why.
		if _, b := e.request("POST", "/api/scripts", []byte(`{}`), "Authorization", "Bearer "+read); !contains(string(b), `"code":"forbidden"`) ||
			!contains(string(b), "this token's scopes (read) do not include deploy") {
			t.Errorf("read POST /api/scripts = %s", b)
		}
		if _, b := e.request("GET", "/api/scripts/x", nil, "Authorization", "Bearer "+restricted); !contains(string(b), `restricted to the scripts matching \"other-*\"`) {
			t.Errorf("restricted GET /api/scripts/x = %s", b)
		}
		if _, b := e.request("GET", "/metrics", nil, "Authorization", "Bearer "+testToken); !contains(string(b), `picloud_auth_failures_total{reason="forbidden"}`) {
			t.Errorf("metrics do not count forbidden requests")
		}
	})
}

// statusOf sends an admin request with an empty JSON object as its body and
// returns the status. A route that streams (the live tail) answers its
// headers and is then cut off.
func statusOf(t *testing.T, e *env, method, path, token string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var body *strings.Reader
	if method == "GET" || method == "DELETE" {
		body = strings.NewReader("")
	} else {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestOpenAPIScopes: every admin operation in openapi.json names the scope
// the route table gives it (x-picloud-scope).
func TestOpenAPIScopes(t *testing.T) {
	doc := loadOpenAPI(t)
	for _, r := range routeTables(t)["serve"] {
		if r.Auth != app.AuthAdmin || r.Internal {
			continue
		}
		item := doc.Paths.Find(describedPath(r.Pattern))
		if item == nil {
			continue // TestOpenAPIMatchesRoutes reports it
		}
		op := item.GetOperation(r.Method)
		if op == nil {
			continue
		}
		if got, _ := op.Extensions["x-picloud-scope"].(string); got != r.Scope {
			t.Errorf("%s: x-picloud-scope %q, route table %q", r, got, r.Scope)
		}
	}
}
