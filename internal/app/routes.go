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

// routes lists every route in one place.
func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	m, o, admin := a.mgr, a.orch, a.mgr.Admin

	// Public.
	mux.HandleFunc("GET /api/health", m.HandleHealth)
	if a.cluster == nil {
		mux.HandleFunc("/api/execute/{id}", o.HandleExecute)
		mux.HandleFunc("/fn/{name}", o.HandleFn)
		mux.HandleFunc("/fn/{name}/{rest...}", o.HandleFn)
	} else {
		// A manager: the nodes serve invocations, and reach it under
		// /cluster/v1/ with the cluster token.
		mux.HandleFunc("/api/execute/", a.notInvoked)
		mux.HandleFunc("/fn/", a.notInvoked)
		mux.Handle(cluster.Prefix, a.cluster.server.Handler())
	}

	// Dashboard sessions.
	mux.HandleFunc("POST /api/session", m.HandleCreateSession)
	mux.HandleFunc("GET /api/session", m.HandleGetSession)
	mux.HandleFunc("DELETE /api/session", m.HandleDeleteSession)

	// Admin.
	mux.HandleFunc("GET /api/scripts", admin(m.HandleListScripts))
	mux.HandleFunc("POST /api/scripts", admin(m.HandleCreateScript))
	mux.HandleFunc("GET /api/scripts/{id}", admin(m.HandleGetScript))
	mux.HandleFunc("PUT /api/scripts/{id}", admin(m.HandleUpdateScript))
	mux.HandleFunc("PATCH /api/scripts/{id}", admin(m.HandleUpdateScript))
	mux.HandleFunc("DELETE /api/scripts/{id}", admin(m.HandleDeleteScript))
	mux.HandleFunc("GET /api/scripts/{id}/versions", admin(m.HandleVersions))
	mux.HandleFunc("GET /api/scripts/{id}/versions/{n}", admin(m.HandleVersion))
	mux.HandleFunc("POST /api/scripts/{id}/rollback", admin(m.HandleRollback))
	mux.HandleFunc("POST /api/scripts/{id}/invoke", admin(m.HandleInvoke))
	mux.HandleFunc("GET /api/scripts/{id}/logs", admin(m.HandleLogs))
	mux.HandleFunc("GET /api/logs", admin(m.HandleAllLogs))
	mux.HandleFunc("GET /api/scripts/{id}/tail", admin(m.HandleTail))
	mux.HandleFunc("GET /api/tail", admin(m.HandleAllTail))
	mux.HandleFunc("GET /api/executions/{id}", admin(m.HandleExecution))
	mux.HandleFunc("POST /api/validate", admin(m.HandleValidate))
	mux.HandleFunc("GET /api/scripts/{id}/kv", admin(m.HandleListKV))
	mux.HandleFunc("GET /api/scripts/{id}/kv/{key...}", admin(m.HandleGetKV))
	mux.HandleFunc("PUT /api/scripts/{id}/kv/{key...}", admin(m.HandlePutKV))
	mux.HandleFunc("DELETE /api/scripts/{id}/kv/{key...}", admin(m.HandleDeleteKV))
	mux.HandleFunc("GET /api/scripts/{id}/secrets", admin(m.HandleListSecrets))
	mux.HandleFunc("PUT /api/scripts/{id}/secrets/{name}", admin(m.HandlePutSecret))
	mux.HandleFunc("DELETE /api/scripts/{id}/secrets/{name}", admin(m.HandleDeleteSecret))
	mux.HandleFunc("GET /api/secrets", admin(m.HandleListSecrets))
	mux.HandleFunc("PUT /api/secrets/{name}", admin(m.HandlePutSecret))
	mux.HandleFunc("DELETE /api/secrets/{name}", admin(m.HandleDeleteSecret))

	// Triggers: schedules, asynchronous invocations, jobs, dead letters.
	mux.HandleFunc("POST /api/scripts/{id}/schedules", admin(m.HandleCreateSchedule))
	mux.HandleFunc("GET /api/scripts/{id}/schedules", admin(m.HandleListSchedules))
	mux.HandleFunc("GET /api/schedules", admin(m.HandleListSchedules))
	mux.HandleFunc("POST /api/schedules/preview", admin(m.HandlePreviewSchedule))
	mux.HandleFunc("GET /api/schedules/{id}", admin(m.HandleGetSchedule))
	mux.HandleFunc("PUT /api/schedules/{id}", admin(m.HandleUpdateSchedule))
	mux.HandleFunc("PATCH /api/schedules/{id}", admin(m.HandleUpdateSchedule))
	mux.HandleFunc("DELETE /api/schedules/{id}", admin(m.HandleDeleteSchedule))
	mux.HandleFunc("POST /api/schedules/{id}/pause", admin(m.HandlePauseSchedule))
	mux.HandleFunc("POST /api/schedules/{id}/resume", admin(m.HandleResumeSchedule))
	mux.HandleFunc("POST /api/schedules/{id}/run", admin(m.HandleRunSchedule))
	mux.HandleFunc("GET /api/schedules/{id}/executions", admin(m.HandleScheduleExecutions))
	mux.HandleFunc("POST /api/scripts/{id}/async", admin(m.HandleAsync))
	mux.HandleFunc("GET /api/jobs/{id}", admin(m.HandleJob))
	mux.HandleFunc("GET /api/dead-letters", admin(m.HandleDeadLetters))
	mux.HandleFunc("GET /api/dead-letters/{id}", admin(m.HandleDeadLetter))
	mux.HandleFunc("POST /api/dead-letters/{id}/requeue", admin(m.HandleRequeue))
	mux.HandleFunc("DELETE /api/dead-letters/{id}", admin(m.HandleDiscard))

	// Cluster nodes (none on `picloud serve`: the dashboard's page lists
	// none there).
	mux.HandleFunc("GET /api/nodes", admin(m.HandleListNodes))
	mux.HandleFunc("DELETE /api/nodes/{name}", admin(m.HandleDeleteNode))

	metricsHandler := promhttp.HandlerFor(a.metrics.Registry, promhttp.HandlerOpts{})
	if a.cfg.PublicMetrics {
		mux.Handle("GET /metrics", metricsHandler)
	} else {
		mux.HandleFunc("GET /metrics", admin(metricsHandler.ServeHTTP))
	}

	mux.HandleFunc("/api/", httpapi.NotFound)
	mux.Handle("/", a.dashboard())
	return mux
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
