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
)

// Auth is who may call a route.
type Auth string

const (
	// AuthPublic: anyone.
	AuthPublic Auth = "public"
	// AuthAdmin: the admin token or a dashboard session (manager.Admin,
	// applied by the route table).
	AuthAdmin Auth = "admin"
	// AuthSession: the dashboard's session routes, which check the
	// credentials they are given themselves.
	AuthSession Auth = "session"
	// AuthCluster: the cluster token (cluster.RequireToken).
	AuthCluster Auth = "cluster"
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
	// Scope is the token scope the route requires: empty until Step 12
	// fills it in.
	Scope string
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
// guards; a kind without a guard is checked by the handler itself.
func register(routes []Route, guards map[Auth]func(http.Handler) http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, r := range routes {
		if r.Listed {
			continue
		}
		h := r.Handler
		if g := guards[r.Auth]; g != nil {
			h = g(h)
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
	admin := a.mgr.Admin
	return register(a.table, map[Auth]func(http.Handler) http.Handler{
		AuthAdmin: func(h http.Handler) http.Handler { return admin(h.ServeHTTP) },
	})
}

// routeTable lists every route of a manager.
func (a *App) routeTable() []Route {
	m, o := a.mgr, a.orch
	var t []Route
	add := func(method, pattern string, h http.HandlerFunc, auth Auth) {
		t = append(t, Route{Method: method, Pattern: pattern, Handler: h, Auth: auth})
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
	add("POST", "/api/session", m.HandleCreateSession, AuthSession)
	add("GET", "/api/session", m.HandleGetSession, AuthSession)
	add("DELETE", "/api/session", m.HandleDeleteSession, AuthSession)

	// Admin.
	add("GET", "/api/scripts", m.HandleListScripts, AuthAdmin)
	add("POST", "/api/scripts", m.HandleCreateScript, AuthAdmin)
	add("GET", "/api/scripts/{id}", m.HandleGetScript, AuthAdmin)
	add("PUT", "/api/scripts/{id}", m.HandleUpdateScript, AuthAdmin)
	add("PATCH", "/api/scripts/{id}", m.HandleUpdateScript, AuthAdmin)
	add("DELETE", "/api/scripts/{id}", m.HandleDeleteScript, AuthAdmin)
	add("GET", "/api/scripts/{id}/versions", m.HandleVersions, AuthAdmin)
	add("GET", "/api/scripts/{id}/versions/{n}", m.HandleVersion, AuthAdmin)
	add("POST", "/api/scripts/{id}/rollback", m.HandleRollback, AuthAdmin)
	add("GET", "/api/scripts/{id}/draft", m.HandleGetDraft, AuthAdmin)
	add("PUT", "/api/scripts/{id}/draft", m.HandlePutDraft, AuthAdmin)
	add("DELETE", "/api/scripts/{id}/draft", m.HandleDeleteDraft, AuthAdmin)
	add("POST", "/api/scripts/{id}/draft/promote", m.HandlePromoteDraft, AuthAdmin)
	add("POST", "/api/scripts/{id}/replay", m.HandleReplay, AuthAdmin)
	add("POST", "/api/scripts/{id}/invoke", m.HandleInvoke, AuthAdmin)
	add("GET", "/api/scripts/{id}/logs", m.HandleLogs, AuthAdmin)
	add("GET", "/api/logs", m.HandleAllLogs, AuthAdmin)
	add("GET", "/api/scripts/{id}/tail", m.HandleTail, AuthAdmin)
	add("GET", "/api/tail", m.HandleAllTail, AuthAdmin)
	add("GET", "/api/scripts/{id}/stats", m.HandleStats, AuthAdmin)
	add("GET", "/api/stats", m.HandleAllStats, AuthAdmin)
	add("GET", "/api/executions/{id}", m.HandleExecution, AuthAdmin)
	add("POST", "/api/validate", m.HandleValidate, AuthAdmin)
	add("GET", "/api/scripts/{id}/kv", m.HandleListKV, AuthAdmin)
	add("GET", "/api/scripts/{id}/kv/{key...}", m.HandleGetKV, AuthAdmin)
	add("PUT", "/api/scripts/{id}/kv/{key...}", m.HandlePutKV, AuthAdmin)
	add("DELETE", "/api/scripts/{id}/kv/{key...}", m.HandleDeleteKV, AuthAdmin)
	add("GET", "/api/scripts/{id}/secrets", m.HandleListSecrets, AuthAdmin)
	add("PUT", "/api/scripts/{id}/secrets/{name}", m.HandlePutSecret, AuthAdmin)
	add("DELETE", "/api/scripts/{id}/secrets/{name}", m.HandleDeleteSecret, AuthAdmin)
	add("GET", "/api/secrets", m.HandleListSecrets, AuthAdmin)
	add("PUT", "/api/secrets/{name}", m.HandlePutSecret, AuthAdmin)
	add("DELETE", "/api/secrets/{name}", m.HandleDeleteSecret, AuthAdmin)

	// Triggers: schedules, asynchronous invocations, jobs, dead letters.
	add("POST", "/api/scripts/{id}/schedules", m.HandleCreateSchedule, AuthAdmin)
	add("GET", "/api/scripts/{id}/schedules", m.HandleListSchedules, AuthAdmin)
	add("GET", "/api/schedules", m.HandleListSchedules, AuthAdmin)
	add("POST", "/api/schedules/preview", m.HandlePreviewSchedule, AuthAdmin)
	add("GET", "/api/schedules/{id}", m.HandleGetSchedule, AuthAdmin)
	add("PUT", "/api/schedules/{id}", m.HandleUpdateSchedule, AuthAdmin)
	add("PATCH", "/api/schedules/{id}", m.HandleUpdateSchedule, AuthAdmin)
	add("DELETE", "/api/schedules/{id}", m.HandleDeleteSchedule, AuthAdmin)
	add("POST", "/api/schedules/{id}/pause", m.HandlePauseSchedule, AuthAdmin)
	add("POST", "/api/schedules/{id}/resume", m.HandleResumeSchedule, AuthAdmin)
	add("POST", "/api/schedules/{id}/run", m.HandleRunSchedule, AuthAdmin)
	add("GET", "/api/schedules/{id}/executions", m.HandleScheduleExecutions, AuthAdmin)
	add("POST", "/api/scripts/{id}/async", m.HandleAsync, AuthAdmin)
	add("GET", "/api/jobs/{id}", m.HandleJob, AuthAdmin)
	add("GET", "/api/dead-letters", m.HandleDeadLetters, AuthAdmin)
	add("GET", "/api/dead-letters/{id}", m.HandleDeadLetter, AuthAdmin)
	add("POST", "/api/dead-letters/{id}/requeue", m.HandleRequeue, AuthAdmin)
	add("DELETE", "/api/dead-letters/{id}", m.HandleDiscard, AuthAdmin)

	// Cluster nodes (none on `picloud serve`: the dashboard's page lists
	// none there).
	add("GET", "/api/nodes", m.HandleListNodes, AuthAdmin)
	add("DELETE", "/api/nodes/{name}", m.HandleDeleteNode, AuthAdmin)

	metricsHandler := promhttp.HandlerFor(a.metrics.Registry, promhttp.HandlerOpts{})
	if a.cfg.PublicMetrics {
		add("GET", "/metrics", metricsHandler.ServeHTTP, AuthPublic)
	} else {
		add("GET", "/metrics", metricsHandler.ServeHTTP, AuthAdmin)
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
