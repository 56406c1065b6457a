// Package manager is the control plane's HTTP API: scripts and their versions,
// validation, test invocations, the execution logs, health, the admin token
// and the dashboard's sessions. Its routes are listed in internal/app.
package manager

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/httpapi"
)

// Invoker runs a script as a test; the orchestrator implements it.
type Invoker interface {
	Invoke(ctx context.Context, scriptID string, req *executor.Request) (*executor.Result, *picloud.ExecutionLog, error)
	Invalidate(scriptID string)
}

// Manager serves the admin API.
type Manager struct {
	store   picloud.Store
	exec    *executor.Executor
	invoker Invoker
	log     *slog.Logger
	maxBody int64
}

// New makes a manager. maxBody bounds the JSON bodies it reads.
func New(store picloud.Store, exec *executor.Executor, invoker Invoker, maxBody int64, logger *slog.Logger) *Manager {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if maxBody <= 0 {
		maxBody = 1 << 20
	}
	return &Manager{store: store, exec: exec, invoker: invoker, log: logger, maxBody: maxBody}
}

func (m *Manager) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.WriteError(w, r, m.log, err)
}

// HandleHealth is GET /api/health, public.
func (m *Manager) HandleHealth(w http.ResponseWriter, r *http.Request) {
	status, code := "ok", http.StatusOK
	body := map[string]any{"version": picloud.BuildVersion, "database": m.store.Kind()}
	if err := m.store.Ping(r.Context()); err != nil {
		m.log.Warn("health: database unreachable", "err", err)
		status, code = "degraded", http.StatusServiceUnavailable
		body["database_error"] = "unreachable"
	}
	body["status"] = status
	httpapi.WriteJSON(w, code, body)
}

// scriptInput is the body of POST and PUT /api/scripts.
type scriptInput struct {
	Name           *string `json:"name"`
	Source         *string `json:"source"`
	TimeoutMS      *int64  `json:"timeout_ms"`
	MaxOperations  *int64  `json:"max_operations"`
	MaxConcurrency *int    `json:"max_concurrency"`
}

func (in *scriptInput) check() error {
	if in.Name != nil && !picloud.ValidName(*in.Name) {
		return picloud.Errorf(picloud.EInvalidRequest, "name %q is not a slug ([a-z0-9][a-z0-9-]{0,62})", *in.Name)
	}
	if in.TimeoutMS != nil && (*in.TimeoutMS < 0 || *in.TimeoutMS > 3_600_000) {
		return picloud.Errorf(picloud.EInvalidRequest, "timeout_ms must be between 0 (the default) and 3600000")
	}
	if in.MaxOperations != nil && *in.MaxOperations < 0 {
		return picloud.Errorf(picloud.EInvalidRequest, "max_operations must not be negative")
	}
	if in.MaxConcurrency != nil && *in.MaxConcurrency < 0 {
		return picloud.Errorf(picloud.EInvalidRequest, "max_concurrency must not be negative")
	}
	return nil
}

// compile checks that source compiles, as an invalid_source error with the
// position when it does not.
func (m *Manager) compile(name, source string) error {
	_, err := m.exec.Compile(name, source)
	return err
}

// HandleCreateScript is POST /api/scripts.
func (m *Manager) HandleCreateScript(w http.ResponseWriter, r *http.Request) {
	var in scriptInput
	if err := httpapi.Decode(w, r, m.maxBody, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	if in.Name == nil || in.Source == nil {
		m.fail(w, r, picloud.Errorf(picloud.EInvalidRequest, "name and source are required"))
		return
	}
	if err := in.check(); err != nil {
		m.fail(w, r, err)
		return
	}
	if err := m.compile(*in.Name, *in.Source); err != nil {
		m.fail(w, r, err)
		return
	}
	sc := &picloud.Script{Name: *in.Name, Source: *in.Source}
	if in.TimeoutMS != nil {
		sc.TimeoutMS = *in.TimeoutMS
	}
	if in.MaxOperations != nil {
		sc.MaxOperations = *in.MaxOperations
	}
	if in.MaxConcurrency != nil {
		sc.MaxConcurrency = *in.MaxConcurrency
	}
	if err := m.store.CreateScript(r.Context(), sc); err != nil {
		m.fail(w, r, err)
		return
	}
	m.log.Info("script created", "script", sc.Name, "id", sc.ID)
	httpapi.WriteJSON(w, http.StatusCreated, sc)
}

// scriptSummary is a script in the list, with its recent executions.
type scriptSummary struct {
	*picloud.Script
	LastExecution *lastExecution `json:"last_execution"`
	ErrorRate     *float64       `json:"error_rate"` // over the last 100 executions; null when none
}

type lastExecution struct {
	Status    picloud.ExecutionStatus `json:"status"`
	StartedAt picloud.Time            `json:"started_at"`
}

// HandleListScripts is GET /api/scripts[?name=NAME].
func (m *Manager) HandleListScripts(w http.ResponseWriter, r *http.Request) {
	list, err := m.store.ListScripts(r.Context(), picloud.ScriptFilter{Name: r.URL.Query().Get("name")})
	if err != nil {
		m.fail(w, r, err)
		return
	}
	ids := make([]string, len(list))
	for i, sc := range list {
		ids[i] = sc.ID
	}
	stats, err := m.store.ExecutionStats(r.Context(), ids)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	items := make([]scriptSummary, len(list))
	for i, sc := range list {
		items[i].Script = sc
		if st, ok := stats[sc.ID]; ok {
			rate := float64(st.RecentErrors) / float64(st.Recent)
			items[i].ErrorRate = &rate
			items[i].LastExecution = &lastExecution{Status: st.LastStatus, StartedAt: picloud.Time{Time: st.LastAt}}
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

// HandleGetScript is GET /api/scripts/{id}.
func (m *Manager) HandleGetScript(w http.ResponseWriter, r *http.Request) {
	sc, err := m.store.Script(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sc)
}

// HandleUpdateScript is PUT (or PATCH) /api/scripts/{id}: a partial update.
func (m *Manager) HandleUpdateScript(w http.ResponseWriter, r *http.Request) {
	var in scriptInput
	if err := httpapi.Decode(w, r, m.maxBody, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	if err := in.check(); err != nil {
		m.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if in.Source != nil {
		name := ""
		if in.Name != nil {
			name = *in.Name
		}
		if err := m.compile(name, *in.Source); err != nil {
			m.fail(w, r, err)
			return
		}
	}
	sc, err := m.store.UpdateScript(r.Context(), id, picloud.ScriptUpdate{Name: in.Name, Source: in.Source,
		TimeoutMS: in.TimeoutMS, MaxOperations: in.MaxOperations, MaxConcurrency: in.MaxConcurrency})
	if err != nil {
		m.fail(w, r, err)
		return
	}
	m.invoker.Invalidate(id)
	m.log.Info("script updated", "script", sc.Name, "id", sc.ID, "version", sc.Version)
	httpapi.WriteJSON(w, http.StatusOK, sc)
}

// HandleDeleteScript is DELETE /api/scripts/{id}.
func (m *Manager) HandleDeleteScript(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := m.store.DeleteScript(r.Context(), id); err != nil {
		m.fail(w, r, err)
		return
	}
	m.invoker.Invalidate(id)
	m.log.Info("script deleted", "id", id)
	w.WriteHeader(http.StatusNoContent)
}

// HandleVersions is GET /api/scripts/{id}/versions.
func (m *Manager) HandleVersions(w http.ResponseWriter, r *http.Request) {
	vs, err := m.store.Versions(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": vs})
}

// HandleVersion is GET /api/scripts/{id}/versions/{n}.
func (m *Manager) HandleVersion(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		m.fail(w, r, picloud.Errorf(picloud.ENotFound, "version %q not found", r.PathValue("n")))
		return
	}
	v, err := m.store.ScriptVersion(r.Context(), r.PathValue("id"), n)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
}

// HandleRollback is POST /api/scripts/{id}/rollback {"version": n}: a new
// version with version n's source.
func (m *Manager) HandleRollback(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Version *int `json:"version"`
	}
	if err := httpapi.Decode(w, r, m.maxBody, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	if in.Version == nil {
		m.fail(w, r, picloud.Errorf(picloud.EInvalidRequest, "version is required"))
		return
	}
	id := r.PathValue("id")
	v, err := m.store.ScriptVersion(r.Context(), id, *in.Version)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	sc, err := m.store.UpdateScript(r.Context(), id, picloud.ScriptUpdate{Source: &v.Source, NewVersion: true})
	if err != nil {
		m.fail(w, r, err)
		return
	}
	m.invoker.Invalidate(id)
	m.log.Info("script rolled back", "script", sc.Name, "id", sc.ID, "to", v.Version, "version", sc.Version)
	httpapi.WriteJSON(w, http.StatusOK, sc)
}

// HandleValidate is POST /api/validate {source}.
func (m *Manager) HandleValidate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Source *string `json:"source"`
	}
	if err := httpapi.Decode(w, r, m.maxBody, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	if in.Source == nil {
		m.fail(w, r, picloud.Errorf(picloud.EInvalidRequest, "source is required"))
		return
	}
	errs := m.exec.Validate(*in.Source)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"ok": len(errs) == 0, "errors": errs})
}

// HandleInvoke is POST /api/scripts/{id}/invoke {method, path, headers, body}:
// a test run that answers with everything: the response, the logs, the error.
func (m *Manager) HandleInvoke(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Method  string            `json:"method"`
		Path    string            `json:"path"`
		Query   map[string]string `json:"query"`
		Headers map[string]string `json:"headers"`
		Body    *string           `json:"body"`
	}
	if err := httpapi.Decode(w, r, m.maxBody+64<<10, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	if in.Method == "" {
		in.Method = http.MethodPost
	}
	req := &executor.Request{Method: in.Method, Path: in.Path, Query: map[string][]string{}, Header: http.Header{}}
	for k, v := range in.Query {
		req.Query[k] = []string{v}
	}
	for k, v := range in.Headers {
		req.Header.Set(k, v)
	}
	if in.Body != nil {
		req.Body = []byte(*in.Body)
	}
	res, l, err := m.invoker.Invoke(r.Context(), r.PathValue("id"), req)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	out := map[string]any{
		"execution_id": l.ID, "status": res.Status, "duration_ms": l.DurationMS, "operations": res.Operations,
		"logs": res.Logs, "error": res.Err, "response": nil,
	}
	if res.Response != nil {
		resp := *l.Response // headers as a map; a body that is not UTF-8 stays base64
		if resp.BodyEncoding == "" {
			resp.Body, resp.BodyTruncated = string(res.Response.Body), false
		}
		out["response"] = resp
	} else {
		out["code"] = res.Code
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// HandleLogs is GET /api/scripts/{id}/logs?limit=&offset=, newest first.
func (m *Manager) HandleLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset := 50, 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			m.fail(w, r, picloud.Errorf(picloud.EInvalidRequest, "limit must be a positive integer"))
			return
		}
		limit = min(n, 200)
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			m.fail(w, r, picloud.Errorf(picloud.EInvalidRequest, "offset must be a non-negative integer"))
			return
		}
		offset = n
	}
	id := r.PathValue("id")
	if _, err := m.store.Script(r.Context(), id); err != nil {
		m.fail(w, r, err)
		return
	}
	items, err := m.store.ListExecutions(r.Context(), id, limit, offset)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "limit": limit, "offset": offset})
}

// HandleExecution is GET /api/executions/{id}: one execution log.
func (m *Manager) HandleExecution(w http.ResponseWriter, r *http.Request) {
	l, err := m.store.Execution(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, l)
}
