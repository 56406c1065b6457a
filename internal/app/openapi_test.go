package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/audit"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/sqlite"
)

// loadOpenAPI parses and validates the embedded document as OpenAPI 3.1.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(app.OpenAPI)
	if err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// describedPath is a route table pattern as OpenAPI writes it: a wildcard
// {rest...} is {rest}.
func describedPath(pattern string) string { return strings.ReplaceAll(pattern, "...}", "}") }

// routeTables are the tables of a `picloud serve` server, a cluster manager
// and a node.
func routeTables(t *testing.T) map[string][]app.Route {
	t.Helper()
	ctx := context.Background()
	open := func() picloud.Store {
		s, err := sqlite.Open(ctx, t.TempDir()+"/picloud.db")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := manager.EnsureAdminToken(ctx, s, testToken); err != nil {
			t.Fatal(err)
		}
		return s
	}
	serve, err := app.New(app.Config{}, open())
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := app.NewManager(app.Config{Jobs: jobsConfig(), SecretBox: testBox(t)}, open(), app.ClusterConfig{Token: clusterToken})
	if err != nil {
		t.Fatal(err)
	}
	node, err := app.NewNode(app.NodeConfig{ManagerURL: "http://127.0.0.1:1", Token: clusterToken, Name: "n1",
		Advertise: "http://127.0.0.1:2", Sink: audit.Config{Dir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]app.Route{"serve": serve.Routes(), "manager": mgr.Routes(), "node": node.Routes()}
}

// TestOpenAPIMatchesRoutes: every public route of every table is described
// with its method, and every described operation is a route `picloud serve`
// serves (the reference server: it has every public route).
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	tables := routeTables(t)
	described := func(method, path string) bool {
		item := doc.Paths.Find(path)
		if item == nil {
			return false
		}
		if method == "" {
			return len(item.Operations()) > 0
		}
		return item.GetOperation(method) != nil
	}
	for name, table := range tables {
		if len(table) < 5 {
			t.Fatalf("%s: route table has %d routes", name, len(table))
		}
		for _, r := range table {
			if r.Auth == "" || (r.Handler == nil) != r.Listed {
				t.Errorf("%s: route %s: auth %q, handler %v, listed %v", name, r, r.Auth, r.Handler != nil, r.Listed)
			}
			if r.Internal {
				continue
			}
			if !described(r.Method, describedPath(r.Pattern)) {
				t.Errorf("%s: route %s is not described in openapi.json", name, r)
			}
		}
	}
	serve := map[string]bool{}
	for _, r := range tables["serve"] {
		if !r.Internal {
			serve[r.Method+" "+describedPath(r.Pattern)] = true
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !serve[method+" "+path] && !serve[" "+path] {
				t.Errorf("openapi.json describes %s %s, which is not a route", method, path)
			}
			if op.Responses == nil || op.Responses.Len() == 0 {
				t.Errorf("%s %s has no responses", method, path)
			}
			// x-picloud-auth is the table's auth kind, so a reader of the
			// document knows who may call it.
			for _, r := range tables["serve"] {
				if describedPath(r.Pattern) == path && (r.Method == method || r.Method == "") && r.Pattern != "/metrics" {
					if got, _ := op.Extensions["x-picloud-auth"].(string); got != string(r.Auth) {
						t.Errorf("%s %s: x-picloud-auth %q, route table %q", method, path, got, r.Auth)
					}
				}
			}
		}
	}
}

// openAPIClient sends requests to a server and validates each request and
// its response against the document.
type openAPIClient struct {
	t      *testing.T
	url    string
	router routers.Router
	seen   map[string]bool // operations exercised
}

func newOpenAPIClient(t *testing.T, url string) *openAPIClient {
	doc := loadOpenAPI(t)
	doc.Servers = openapi3.Servers{{URL: url}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &openAPIClient{t: t, url: url, router: router, seen: map[string]bool{}}
}

// do sends method path with body (JSON when not nil) as the admin and
// returns the status and the decoded JSON answer (nil when none), failing
// the test when the request or the response does not match the document.
func (c *openAPIClient) do(method, path string, body any, wantStatus int) map[string]any {
	c.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Fatalf("%s %s: not in openapi.json: %v", method, path, err)
	}
	c.seen[method+" "+route.Path] = true
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		c.t.Fatalf("%s %s: the request does not match openapi.json: %v", method, path, err)
	}
	req.Body = io.NopCloser(bytes.NewReader(b)) // validation read it
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != wantStatus {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, out, wantStatus)
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
	rin.SetBodyBytes(out)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		c.t.Fatalf("%s %s: the response (%d %s) does not match openapi.json: %v", method, path, resp.StatusCode, out, err)
	}
	var m map[string]any
	json.Unmarshal(out, &m)
	return m
}

// TestOpenAPISamples validates real requests and responses, including
// errors, of most of the API against the document, on both stores.
func TestOpenAPISamples(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{Jobs: jobsConfig(), SecretBox: testBox(t)})
		c := newOpenAPIClient(t, e.srv.URL)

		c.do("GET", "/api/health", nil, 200)
		c.do("GET", "/api/openapi.json", nil, 200)
		c.do("GET", "/api/session", nil, 200)
		c.do("POST", "/api/validate", map[string]any{"source": "let x = ;"}, 200)
		c.do("POST", "/api/validate", map[string]any{"source": `"ok"`}, 200)
		sc := c.do("POST", "/api/scripts", map[string]any{"name": "hello", "source": `log::info("hi"); "hello"`}, 201)
		id := sc["id"].(string)
		c.do("POST", "/api/scripts", map[string]any{"name": "hello", "source": `1`}, 409)
		c.do("POST", "/api/scripts", map[string]any{"name": "bad", "source": `let x = ;`}, 400)
		c.do("GET", "/api/scripts", nil, 200)
		c.do("GET", "/api/scripts/hello", nil, 200)
		c.do("GET", "/api/scripts/nope", nil, 404)
		c.do("PUT", "/api/scripts/"+id, map[string]any{"source": `log::info("hi"); "v2"`}, 200)
		c.do("PATCH", "/api/scripts/hello", map[string]any{"timeout_ms": 2000}, 200)
		c.do("GET", "/api/scripts/hello/versions", nil, 200)
		c.do("GET", "/api/scripts/hello/versions/1", nil, 200)
		c.do("POST", "/api/scripts/hello/rollback", map[string]any{"version": 1}, 200)
		c.do("POST", "/api/scripts/hello/invoke", map[string]any{"method": "GET", "path": "/x"}, 200)
		c.do("GET", "/fn/hello", nil, 200)
		c.do("POST", "/fn/hello/sub", map[string]any{"x": 1}, 200)
		c.do("GET", "/api/execute/"+id, nil, 200)
		e.logs(id, 4) // the invocations above, once stored
		logs := c.do("GET", "/api/scripts/hello/logs?status=success&trigger=http,test&since=1h&limit=5", nil, 200)
		items, _ := logs["items"].([]any)
		if len(items) == 0 {
			t.Fatalf("no logs: %v", logs)
		}
		c.do("GET", "/api/logs?script=hello&q=hi", nil, 200)
		c.do("GET", "/api/executions/"+items[0].(map[string]any)["id"].(string), nil, 200)
		c.do("GET", "/api/scripts/hello/stats?since=1h&step=1m", nil, 200)
		c.do("GET", "/api/stats", nil, 200)
		c.do("GET", "/api/stats?since=168h&step=1m", nil, 400)
		c.do("GET", "/api/stats/scripts?since=1h&step=2m", nil, 200)
		c.do("GET", "/api/stats/scripts?step=soon", nil, 400)
		c.do("GET", "/api/overview", nil, 200)

		c.do("PUT", "/api/scripts/hello/draft", map[string]any{"source": `"draft"`}, 200)
		c.do("PUT", "/api/scripts/hello/draft", map[string]any{"source": `let x = ;`}, 400)
		c.do("GET", "/api/scripts/hello/draft", nil, 200)
		c.do("GET", "/api/scripts/hello", nil, 200) // with its "draft"
		c.do("POST", "/api/scripts/hello/replay", map[string]any{"draft": true, "last": 5}, 200)
		c.do("POST", "/api/scripts/hello/replay", map[string]any{"source": `"x"`, "filter": map[string]any{"status": "success", "since": "1h"}}, 200)
		c.do("POST", "/api/scripts/hello/draft/promote", nil, 200)
		c.do("GET", "/api/scripts/hello/draft", nil, 404)
		c.do("PUT", "/api/scripts/hello/draft", map[string]any{"source": `"again"`}, 200)
		c.do("DELETE", "/api/scripts/hello/draft", nil, 204)
		c.do("PUT", "/api/scripts/hello/kv/greeting", map[string]any{"value": map[string]any{"a": 1}, "ttl_seconds": 60}, 200)
		c.do("GET", "/api/scripts/hello/kv/greeting", nil, 200)
		c.do("GET", "/api/scripts/hello/kv", nil, 200)
		c.do("DELETE", "/api/scripts/hello/kv/greeting", nil, 204)
		c.do("PUT", "/api/scripts/hello/secrets/API_KEY", map[string]any{"value": "s3cret"}, 204)
		c.do("GET", "/api/scripts/hello/secrets", nil, 200)
		c.do("DELETE", "/api/scripts/hello/secrets/API_KEY", nil, 204)
		c.do("PUT", "/api/secrets/GLOBAL", map[string]any{"value": "g"}, 204)
		c.do("GET", "/api/secrets", nil, 200)
		c.do("DELETE", "/api/secrets/GLOBAL", nil, 204)

		c.do("POST", "/api/schedules/preview", map[string]any{"cron": "*/5 * * * *", "timezone": "UTC"}, 200)
		s := c.do("POST", "/api/scripts/hello/schedules", map[string]any{"cron": "0 3 * * *", "timezone": "UTC"}, 201)
		sid := s["id"].(string)
		c.do("GET", "/api/scripts/hello/schedules", nil, 200)
		c.do("GET", "/api/schedules", nil, 200)
		c.do("GET", "/api/schedules/"+sid, nil, 200)
		c.do("PATCH", "/api/schedules/"+sid, map[string]any{"cron": "0 4 * * *"}, 200)
		c.do("PUT", "/api/schedules/"+sid, map[string]any{"cron": "0 5 * * *", "timezone": "UTC"}, 200)
		c.do("POST", "/api/schedules/"+sid+"/pause", nil, 200)
		c.do("POST", "/api/schedules/"+sid+"/resume", nil, 200)
		c.do("POST", "/api/schedules/"+sid+"/run", nil, 202)
		c.do("GET", "/api/schedules/"+sid+"/executions", nil, 200)
		c.do("DELETE", "/api/schedules/"+sid, nil, 204)
		job := c.do("POST", "/api/scripts/hello/async", map[string]any{"n": 1}, 202)
		c.do("GET", "/api/jobs/"+job["job_id"].(string), nil, 200)
		c.do("GET", "/api/jobs/nope", nil, 404)
		c.do("GET", "/api/dead-letters", nil, 200)
		c.do("GET", "/api/nodes", nil, 200)
		c.do("DELETE", "/api/scripts/hello", nil, 204)
		c.do("GET", "/api/audit?since=1h&limit=50", nil, 200) // the writes above, with their details
		c.do("GET", "/api/audit?action=script.&limit=0", nil, 400)

		for _, op := range []string{"GET /api/scripts/{id}", "POST /api/scripts", "GET /api/scripts/{id}/logs",
			"PUT /api/scripts/{id}/kv/{key}", "POST /api/scripts/{id}/async", "GET /fn/{name}"} {
			if !c.seen[op] {
				t.Errorf("%s was not exercised (seen %v)", op, c.seen)
			}
		}
	})
}

// TestOpenAPIServed: the document is public, and is what is embedded.
func TestOpenAPIServed(t *testing.T) {
	s, err := sqlite.Open(context.Background(), t.TempDir()+"/picloud.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := newEnv(t, s, app.Config{})
	resp, body := e.request("GET", "/api/openapi.json", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || !bytes.Equal(body, app.OpenAPI) {
		t.Fatalf("GET /api/openapi.json = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil || doc["openapi"] != "3.1.0" {
		t.Fatalf("document: %v %v", err, doc["openapi"])
	}
}

// TestRouteTableAuth: the table's auth kinds are what is enforced: every
// admin route refuses a request without credentials, and the public API
// routes do not ask for any.
func TestRouteTableAuth(t *testing.T) {
	s, err := sqlite.Open(context.Background(), t.TempDir()+"/picloud.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := newEnv(t, s, app.Config{})
	wildcard := regexp.MustCompile(`\{[a-z_]+(\.\.\.)?\}`)
	admin := 0
	for _, r := range e.app.Routes() {
		if r.Internal || r.Listed {
			continue
		}
		method := cmpOr(r.Method, "GET")
		path := wildcard.ReplaceAllString(r.Pattern, "x")
		resp, body := e.request(method, path, nil)
		switch r.Auth {
		case app.AuthAdmin:
			admin++
			if resp.StatusCode != http.StatusUnauthorized || errCode(body) != "unauthorized" {
				t.Errorf("%s %s without a token = %d %s, want 401", method, path, resp.StatusCode, body)
			}
		case app.AuthPublic, app.AuthSession:
			if resp.StatusCode == http.StatusUnauthorized && !(r.Auth == app.AuthSession && method == "POST") {
				t.Errorf("%s %s (%s) without a token = 401 %s", method, path, r.Auth, body)
			}
		}
	}
	if admin < 40 {
		t.Fatalf("only %d admin routes", admin)
	}
}
