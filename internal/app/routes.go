package app

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/cluster"
	"github.com/picloud/picloud/internal/httpapi"
	"github.com/picloud/picloud/internal/manager"
)

// Auth is who may call a route.
type Auth string

const (
	// AuthPublic: anyone.
	AuthPublic Auth = "public"
	// AuthAdmin: an API token (the admin token or a named one) or a
	// dashboard session holding the route's Scope (applied by the route
	// table).
	AuthAdmin Auth = "admin"
	// AuthSession: the dashboard's session routes, which check the
	// credentials they are given themselves.
	AuthSession Auth = "session"
	// AuthCluster: the cluster token (cluster.RequireToken).
	AuthCluster Auth = "cluster"
)

// The scopes of the admin API (Step 12): admin holds deploy, which holds
// read. A token's invoke:<script> scopes are checked by the invocation
// routes, not by the table.
const (
	ScopeRead   = "read"
	ScopeDeploy = "deploy"
	ScopeAdmin  = "admin"
)

// Route is one entry of a route table: the one place that says which routes
// a manager or a node serves and who may call them. Registering the table is
// the only way routes reach the mux, so the table cannot drift from what is
// served; the OpenAPI document is checked against it.
type Route struct {
	// Method is the HTTP method, or "" for any method (the handler answers
	// the methods it does not take).
	Method string
	// Pattern is the http.ServeMux path pattern ("/api/scripts/{id}").
	Pattern string
	// Handler serves the route, before the table applies Auth's check.
	// Nil for a Listed route.
	Handler http.Handler
	Auth    Auth
	// Scope is the token scope an AuthAdmin route requires (ScopeRead,
	// ScopeDeploy or ScopeAdmin; Step 12): the guard refuses a credential
	// without it with 403 forbidden. Empty for the other kinds.
	Scope string
	// Audit names the administrative action an AuthAdmin write route
	// performs ("script.update"): a request it answers with a 2xx is
	// recorded in the audit trail (Step 12; manager.Audit), and so are the
	// sign-in route's (session.create, and session.failed for a 401).
	// Empty for reads.
	Audit string
	// Internal routes are not part of the public HTTP API and are not in
	// the OpenAPI document: the fallbacks and the cluster protocol.
	Internal bool
	// Listed routes are served by another route's handler (the cluster
	// API's routes, by its subtree): listed for completeness, not
	// registered.
	Listed bool
}

// String is the route as ServeMux reads it ("GET /api/scripts").
func (r Route) String() string {
	if r.Method == "" {
		return r.Pattern
	}
	return r.Method + " " + r.Pattern
}

// register puts routes on a new mux, each behind the check its Auth names in
// guards; a kind without a guard is checked by the handler itself. A guard
// gets the whole route (its Scope, its Audit action) and returns the handler
// to serve.
func register(routes []Route, guards map[Auth]func(Route) http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, r := range routes {
		if r.Listed {
			continue
		}
		h := r.Handler
		if g := guards[r.Auth]; g != nil {
			h = g(r)
		}
		mux.Handle(r.String(), h)
	}
	return mux
}

// Routes is the manager's route table (a `picloud serve` server or a
// cluster manager), in the order they were added.
func (a *App) Routes() []Route { return a.table }

// routes builds the route table and the handler that serves it.
func (a *App) routes() http.Handler {
	a.table = a.routeTable()
	return register(a.table, map[Auth]func(Route) http.Handler{
		AuthAdmin: func(r Route) http.Handler { return a.mgr.Require(r.Scope, a.mgr.Audit(r.Audit, r.Handler).ServeHTTP) },
		// The sign-in route records session.create and session.failed.
		AuthSession: func(r Route) http.Handler { return a.mgr.Audit(r.Audit, r.Handler) },
	})
}

// routeTable lists every route of a manager.
func (a *App) routeTable() []Route {
	m, o := a.mgr, a.orch
	var t []Route
	add := func(method, pattern string, h http.HandlerFunc, auth Auth) {
		t = append(t, Route{Method: method, Pattern: pattern, Handler: h, Auth: auth})
	}
	// api adds an admin API route: the scope it needs, and for a write the
	// action the audit trail records.
	api := func(method, pattern string, h http.HandlerFunc, scope, audit string) {
		t = append(t, Route{Method: method, Pattern: pattern, Handler: h, Auth: AuthAdmin, Scope: scope, Audit: audit})
	}
	internal := func(method, pattern string, h http.Handler, auth Auth) {
		t = append(t, Route{Method: method, Pattern: pattern, Handler: h, Auth: auth, Internal: true})
	}

	// Public.
	add("GET", "/api/health", m.HandleHealth, AuthPublic)
	add("GET", "/api/openapi.json", handleOpenAPI, AuthPublic)
	if a.cluster == nil {
		add("", "/api/execute/{id}", o.HandleExecute, AuthPublic)
		add("", "/fn/{name}", o.HandleFn, AuthPublic)
		add("", "/fn/{name}/{rest...}", o.HandleFn, AuthPublic)
	} else {
		// A manager: the nodes serve invocations, and reach it under
		// /cluster/v1/ with the cluster token.
		internal("", "/api/execute/", http.HandlerFunc(a.notInvoked), AuthPublic)
		internal("", "/fn/", http.HandlerFunc(a.notInvoked), AuthPublic)
		// The cluster server checks the token itself (and counts failures).
		internal("", cluster.Prefix, a.cluster.server.Handler(), AuthCluster)
		for _, r := range cluster.ServerRoutes() {
			t = append(t, Route{Method: r.Method, Pattern: r.Path, Auth: AuthCluster, Internal: true, Listed: true})
		}
	}

	// Dashboard sessions.
	t = append(t, Route{Method: "POST", Pattern: "/api/session", Handler: http.HandlerFunc(m.HandleCreateSession), Auth: AuthSession, Audit: "session.create"})
	add("GET", "/api/session", m.HandleGetSession, AuthSession)
	add("DELETE", "/api/session", m.HandleDeleteSession, AuthSession)
	// Single sign-on (OIDC): the callback records its sign-ins and sampled
	// refusals itself (a sign-in answers 303, not 2xx).
	add("GET", manager.OIDCLoginPath, m.HandleOIDCLogin, AuthSession)
	add("GET", manager.OIDCCallbackPath, m.HandleOIDCCallback, AuthSession)

	// Admin.
	api("GET", "/api/scripts", m.HandleListScripts, ScopeRead, "")
	api("POST", "/api/scripts", m.HandleCreateScript, ScopeDeploy, "script.create")
	api("GET", "/api/scripts/{id}", m.HandleGetScript, ScopeRead, "")
	api("PUT", "/api/scripts/{id}", m.HandleUpdateScript, ScopeDeploy, "script.update")
	api("PATCH", "/api/scripts/{id}", m.HandleUpdateScript, ScopeDeploy, "script.update")
	api("DELETE", "/api/scripts/{id}", m.HandleDeleteScript, ScopeDeploy, "script.delete")
	api("GET", "/api/scripts/{id}/versions", m.HandleVersions, ScopeRead, "")
	api("GET", "/api/scripts/{id}/versions/{n}", m.HandleVersion, ScopeRead, "")
	api("POST", "/api/scripts/{id}/rollback", m.HandleRollback, ScopeDeploy, "script.rollback")
	api("GET", "/api/scripts/{id}/draft", m.HandleGetDraft, ScopeRead, "")
	api("PUT", "/api/scripts/{id}/draft", m.HandlePutDraft, ScopeDeploy, "draft.save")
	api("DELETE", "/api/scripts/{id}/draft", m.HandleDeleteDraft, ScopeDeploy, "draft.delete")
	api("POST", "/api/scripts/{id}/draft/promote", m.HandlePromoteDraft, ScopeDeploy, "draft.promote")
	api("POST", "/api/scripts/{id}/replay", m.HandleReplay, ScopeDeploy, "")
	api("POST", "/api/scripts/{id}/invoke", m.HandleInvoke, ScopeDeploy, "")
	api("GET", "/api/scripts/{id}/logs", m.HandleLogs, ScopeRead, "")
	api("GET", "/api/logs", m.HandleAllLogs, ScopeRead, "")
	api("GET", "/api/scripts/{id}/tail", m.HandleTail, ScopeRead, "")
	api("GET", "/api/tail", m.HandleAllTail, ScopeRead, "")
	api("GET", "/api/scripts/{id}/stats", m.HandleStats, ScopeRead, "")
	api("GET", "/api/stats", m.HandleAllStats, ScopeRead, "")
	api("GET", "/api/stats/scripts", m.HandleScriptsStats, ScopeRead, "")
	api("GET", "/api/overview", m.HandleOverview, ScopeRead, "")
	api("GET", "/api/executions/{id}", m.HandleExecution, ScopeRead, "")
	api("POST", "/api/validate", m.HandleValidate, ScopeRead, "")
	api("GET", "/api/scripts/{id}/kv", m.HandleListKV, ScopeRead, "")
	api("GET", "/api/scripts/{id}/kv/{key...}", m.HandleGetKV, ScopeRead, "")
	api("PUT", "/api/scripts/{id}/kv/{key...}", m.HandlePutKV, ScopeDeploy, "kv.put")
	api("DELETE", "/api/scripts/{id}/kv/{key...}", m.HandleDeleteKV, ScopeDeploy, "kv.delete")
	api("GET", "/api/scripts/{id}/secrets", m.HandleListSecrets, ScopeRead, "")
	api("PUT", "/api/scripts/{id}/secrets/{name}", m.HandlePutSecret, ScopeDeploy, "secret.set")
	api("DELETE", "/api/scripts/{id}/secrets/{name}", m.HandleDeleteSecret, ScopeDeploy, "secret.delete")
	api("GET", "/api/scripts/{id}/keys", m.HandleListKeys, ScopeRead, "")
	api("POST", "/api/scripts/{id}/keys", m.HandleCreateKey, ScopeDeploy, "key.create")
	api("DELETE", "/api/scripts/{id}/keys/{key}", m.HandleDeleteKey, ScopeDeploy, "key.revoke")
	api("GET", "/api/secrets", m.HandleListSecrets, ScopeRead, "")
	api("PUT", "/api/secrets/{name}", m.HandlePutSecret, ScopeDeploy, "secret.set")
	api("DELETE", "/api/secrets/{name}", m.HandleDeleteSecret, ScopeDeploy, "secret.delete")

	// Triggers: schedules, asynchronous invocations, jobs, dead letters.
	api("POST", "/api/scripts/{id}/schedules", m.HandleCreateSchedule, ScopeDeploy, "schedule.create")
	api("GET", "/api/scripts/{id}/schedules", m.HandleListSchedules, ScopeRead, "")
	api("GET", "/api/schedules", m.HandleListSchedules, ScopeRead, "")
	api("POST", "/api/schedules/preview", m.HandlePreviewSchedule, ScopeRead, "")
	api("GET", "/api/schedules/{id}", m.HandleGetSchedule, ScopeRead, "")
	api("PUT", "/api/schedules/{id}", m.HandleUpdateSchedule, ScopeDeploy, "schedule.update")
	api("PATCH", "/api/schedules/{id}", m.HandleUpdateSchedule, ScopeDeploy, "schedule.update")
	api("DELETE", "/api/schedules/{id}", m.HandleDeleteSchedule, ScopeDeploy, "schedule.delete")
	api("POST", "/api/schedules/{id}/pause", m.HandlePauseSchedule, ScopeDeploy, "schedule.pause")
	api("POST", "/api/schedules/{id}/resume", m.HandleResumeSchedule, ScopeDeploy, "schedule.resume")
	api("POST", "/api/schedules/{id}/run", m.HandleRunSchedule, ScopeDeploy, "schedule.run")
	api("GET", "/api/schedules/{id}/executions", m.HandleScheduleExecutions, ScopeRead, "")
	api("POST", "/api/scripts/{id}/async", m.HandleAsync, ScopeDeploy, "")
	api("GET", "/api/jobs/{id}", m.HandleJob, ScopeRead, "")
	api("GET", "/api/dead-letters", m.HandleDeadLetters, ScopeRead, "")
	api("GET", "/api/dead-letters/{id}", m.HandleDeadLetter, ScopeRead, "")
	api("POST", "/api/dead-letters/{id}/requeue", m.HandleRequeue, ScopeDeploy, "dead_letter.requeue")
	api("DELETE", "/api/dead-letters/{id}", m.HandleDiscard, ScopeDeploy, "dead_letter.discard")

	// API tokens (the admin token is listed and rotated as id "admin").
	api("GET", "/api/tokens", m.HandleListTokens, ScopeAdmin, "")
	api("POST", "/api/tokens", m.HandleCreateToken, ScopeAdmin, "token.create")
	api("DELETE", "/api/tokens/{id}", m.HandleDeleteToken, ScopeAdmin, "token.revoke")
	api("POST", "/api/tokens/{id}/rotate", m.HandleRotateToken, ScopeAdmin, "token.rotate")

	// Cluster nodes (none on `picloud serve`: the dashboard's page lists
	// none there).
	api("GET", "/api/nodes", m.HandleListNodes, ScopeAdmin, "")
	api("DELETE", "/api/nodes/{name}", m.HandleDeleteNode, ScopeAdmin, "node.forget")

	// The audit trail of the administrative actions above.
	api("GET", "/api/audit", m.HandleAudit, ScopeAdmin, "")

	metricsHandler := promhttp.HandlerFor(a.metrics.Registry, promhttp.HandlerOpts{})
	if a.cfg.PublicMetrics {
		add("GET", "/metrics", metricsHandler.ServeHTTP, AuthPublic)
	} else {
		api("GET", "/metrics", metricsHandler.ServeHTTP, ScopeRead, "")
	}

	internal("", "/api/", http.HandlerFunc(httpapi.NotFound), AuthPublic)
	internal("", "/", a.dashboard(), AuthPublic)
	return t
}

// dashboard serves the dashboard's files, and index.html for any other GET so
// that the single-page app's own routes work on reload.
func (a *App) dashboard() http.Handler {
	if a.cfg.Dashboard == nil {
		return http.HandlerFunc(httpapi.NotFound)
	}
	files := http.FileServerFS(a.cfg.Dashboard)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			httpapi.WriteError(w, r, nil, picloud.Errorf(picloud.EMethodNotAllowed, "%s is not allowed here", r.Method))
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if st, err := fs.Stat(a.cfg.Dashboard, name); err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "_app/immutable/") {
					// SvelteKit puts a content hash in these names: a new build
					// has new names, so a browser may keep these forever.
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				files.ServeHTTP(w, r)
				return
			}
		}
		// index.html names the current build's files: revalidate it every time.
		w.Header().Set("Cache-Control", "no-cache")
		serveIndex(w, r, a.cfg.Dashboard)
	})
}

// serveIndex serves index.html itself (http.FileServer would redirect
// /index.html to /, and ServeFileFS does the same for a path ending in
// /index.html).
func serveIndex(w http.ResponseWriter, r *http.Request, fsys fs.FS) {
	f, err := fsys.Open("index.html")
	if err != nil {
		httpapi.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		httpapi.NotFound(w, r)
		return
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(f)
		if err != nil {
			httpapi.NotFound(w, r)
			return
		}
		rs = bytes.NewReader(b)
	}
	http.ServeContent(w, r, "index.html", st.ModTime(), rs)
}
