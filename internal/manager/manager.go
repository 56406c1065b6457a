// Package manager is the control plane's HTTP API: scripts and their versions,
// validation, test invocations, the execution logs, schedules, asynchronous
// invocations, jobs and dead letters, health, the admin token and the
// dashboard's sessions. Its routes are listed in internal/app.
package manager

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/httpapi"
	"github.com/picloud/picloud/internal/tail"
)

// Invoker runs a script as a test; the orchestrator implements it.
type Invoker interface {
	Invoke(ctx context.Context, scriptID string, req *executor.Request) (*executor.Result, *picloud.ExecutionLog, error)
	Invalidate(scriptID string)
}

// Config configures a Manager. Store, Executor and Invoker are required;
// zero values of the rest take their defaults. Fields are added here (never
// as constructor parameters) so that the parts of the manager can grow
// independently.
type Config struct {
	Store    picloud.Store
	Executor *executor.Executor
	Invoker  Invoker
	Logger   *slog.Logger

	// MaxBodyBytes bounds the JSON bodies the admin API reads (1 MiB).
	MaxBodyBytes int64

	// ReplayDeadline bounds a replay request as a whole
	// (DefaultReplayDeadline): the captured requests not run by then are
	// reported not replayable (replay.go).
	ReplayDeadline time.Duration

	// HealthChecks are the components /api/health reports beside the store,
	// which is always checked first under the name "store".
	HealthChecks []HealthCheck
	// HealthTimeout bounds each check, so that health answers quickly while a
	// dependency hangs (1 s).
	HealthTimeout time.Duration

	// Auth configures admin authentication (auth.go).
	Auth AuthConfig
	// OIDC configures the dashboard's single sign-on (oidc.go); its zero
	// value is none. The caller checks it (OIDCConfig.Check).
	OIDC OIDCConfig

	// Flush, when set, waits until the execution rows recorded so far are in
	// the store (the sink's Flush). The log routes call it, bounded by
	// FlushTimeout, so that a log read right after an invocation shows it.
	Flush func(ctx context.Context) error

	// Secrets seals the values the secret routes store; nil: setting a
	// secret answers unavailable.
	Secrets Sealer

	// Queue is the job queue of the trigger routes (triggers.go); nil: the
	// routes that queue or read jobs answer unavailable.
	Queue picloud.JobQueue

	// Tail serves the live tail routes (tail.go); nil: they answer
	// unavailable.
	Tail *tail.Server

	// Live gives GET /api/overview this process's figures: its role and
	// its gate's and sink's (overview.go); nil: zeros.
	Live func() picloud.Overview

	// OnAuditFailure counts an audit event the store could not record
	// (audit.go); nil: not counted (it is logged either way).
	OnAuditFailure func()
}

// FlushTimeout bounds how long a log read waits for rows still on their way
// to the store (a store outage must not hang the log routes).
const FlushTimeout = 500 * time.Millisecond

// Manager serves the admin API.
type Manager struct {
	store   picloud.Store
	exec    *executor.Executor
	invoker Invoker
	log     *slog.Logger
	maxBody int64
	// replayDeadline bounds a replay request (Config.ReplayDeadline).
	replayDeadline time.Duration

	health  *health
	auth    *authState
	flush   func(ctx context.Context) error
	secrets Sealer
	queue   picloud.JobQueue
	tail    *tail.Server
	live    func() picloud.Overview
	audit   auditTrail
	oidc    *oidcState // nil: no single sign-on
}

// New makes a manager from cfg.
func New(cfg Config) *Manager {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{store: cfg.Store, exec: cfg.Executor, invoker: cfg.Invoker, log: logger,
		maxBody: cmp.Or(max(cfg.MaxBodyBytes, 0), 1<<20), flush: cfg.Flush, secrets: cfg.Secrets, queue: cmp.Or[picloud.JobQueue](cfg.Queue, noQueue{}), tail: cfg.Tail, live: cfg.Live,
		replayDeadline: cmp.Or(max(cfg.ReplayDeadline, 0), DefaultReplayDeadline)}
	m.health = newHealth(append([]HealthCheck{StoreCheck(cfg.Store)}, cfg.HealthChecks...),
		cmp.Or(max(cfg.HealthTimeout, 0), time.Second), logger)
	m.auth = newAuthState(cfg.Store, cfg.Auth, logger)
	m.audit.onFailure = cfg.OnAuditFailure
	m.oidc = newOIDCState(cfg.OIDC)
	return m
}

func (m *Manager) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.WriteError(w, r, m.log, err)
}

// decode reads the JSON body into v (a request type of the root package) and
// validates it.
func (m *Manager) decode(w http.ResponseWriter, r *http.Request, limit int64, v interface{ Validate() error }) error {
	if err := httpapi.Decode(w, r, limit, v); err != nil {
		return err
	}
	return v.Validate()
}

// compile checks that source compiles, as an invalid_source error with the
// position when it does not.
func (m *Manager) compile(name, source string) error {
	return m.exec.Compile(name, source).Err()
}

// HandleCreateScript is POST /api/scripts.
func (m *Manager) HandleCreateScript(w http.ResponseWriter, r *http.Request) {
	var in picloud.ScriptUpdate
	if err := httpapi.Decode(w, r, m.maxBody, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	if err := in.ValidateCreate(); err != nil {
		m.fail(w, r, err)
		return
	}
	if !m.ScriptNameAllowed(w, r, *in.Name) || !m.KVNamespacesAllowed(w, r, nil, in.KVNamespaces) || !m.confine(w, r, &in) {
		return
	}
	if err := m.compile(*in.Name, *in.Source); err != nil {
		m.fail(w, r, err)
		return
	}
	sc := in.NewScript()
	if err := m.store.CreateScript(r.Context(), sc); err != nil {
		m.fail(w, r, err)
		return
	}
	d := map[string]any{"version": sc.Version}
	if sc.ConfinedTo != "" {
		d["confined_to"] = sc.ConfinedTo
	}
	AuditNote(r.Context(), sc.Name, sc.ID, d)
	m.log.Info("script created", "script", sc.Name, "id", sc.ID)
	httpapi.WriteJSON(w, http.StatusCreated, sc)
}

// HandleListScripts is GET /api/scripts[?name=NAME].
func (m *Manager) HandleListScripts(w http.ResponseWriter, r *http.Request) {
	list, err := m.store.ListScripts(r.Context(), picloud.ScriptFilter{Name: r.URL.Query().Get("name")})
	if err != nil {
		m.fail(w, r, err)
		return
	}
	list = VisibleScripts(r.Context(), list) // a token restricted to some scripts sees only those
	ids := make([]string, len(list))
	for i, sc := range list {
		ids[i] = sc.ID
	}
	stats, err := m.store.ExecutionStats(r.Context(), ids)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	out := picloud.ScriptList{Items: make([]picloud.ScriptSummary, len(list))}
	for i, sc := range list {
		it := &out.Items[i]
		it.Script = *sc
		if st, ok := stats[sc.ID]; ok && st.Recent > 0 {
			rate := float64(st.RecentErrors) / float64(st.Recent)
			it.ErrorRate = &rate
			it.LastExecution = &picloud.LastExecution{Status: st.LastStatus, StartedAt: picloud.Time{Time: st.LastAt}}
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// HandleGetScript is GET /api/scripts/{id}.
func (m *Manager) HandleGetScript(w http.ResponseWriter, r *http.Request) {
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	out, err := m.withDraft(r.Context(), sc) // drafts.go
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// HandleUpdateScript is PUT (or PATCH) /api/scripts/{id}: a partial update.
func (m *Manager) HandleUpdateScript(w http.ResponseWriter, r *http.Request) {
	var in picloud.ScriptUpdate
	if err := m.decode(w, r, m.maxBody, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	cur, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if in.Name != nil && !m.ScriptNameAllowed(w, r, *in.Name) || !m.KVNamespacesAllowed(w, r, cur, in.KVNamespaces) || !m.confine(w, r, &in) {
		return
	}
	id := cur.ID
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
	sc, err := m.store.UpdateScript(r.Context(), id, in)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	m.invoker.Invalidate(id)
	if in.Enabled != nil {
		m.schedulesChanged() // a disabled script's schedules stop firing
	}
	AuditNote(r.Context(), sc.Name, sc.ID, scriptChanges(cur, sc))
	m.log.Info("script updated", "script", sc.Name, "id", sc.ID, "version", sc.Version)
	httpapi.WriteJSON(w, http.StatusOK, sc)
}

// HandleDeleteScript is DELETE /api/scripts/{id}.
func (m *Manager) HandleDeleteScript(w http.ResponseWriter, r *http.Request) {
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	id := sc.ID
	if err := m.store.DeleteScript(r.Context(), id); err != nil {
		m.fail(w, r, err)
		return
	}
	m.invoker.Invalidate(id)
	m.schedulesChanged() // its schedules went with it
	AuditNote(r.Context(), sc.Name, id, map[string]any{"version": sc.Version})
	m.log.Info("script deleted", "id", id)
	w.WriteHeader(http.StatusNoContent)
}

// HandleVersions is GET /api/scripts/{id}/versions.
func (m *Manager) HandleVersions(w http.ResponseWriter, r *http.Request) {
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	vs, err := m.store.Versions(r.Context(), sc.ID)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if vs == nil {
		vs = []*picloud.Version{}
	}
	httpapi.WriteJSON(w, http.StatusOK, picloud.VersionList{Items: vs})
}

// HandleVersion is GET /api/scripts/{id}/versions/{n}.
func (m *Manager) HandleVersion(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		m.fail(w, r, picloud.Errorf(picloud.ENotFound, "version %q not found", r.PathValue("n")))
		return
	}
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	v, err := m.store.ScriptVersion(r.Context(), sc.ID, n)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
}

// HandleRollback is POST /api/scripts/{id}/rollback {"version": n}: a new
// version with version n's source. Settings are not versioned, so they stay.
func (m *Manager) HandleRollback(w http.ResponseWriter, r *http.Request) {
	var in picloud.RollbackRequest
	if err := m.decode(w, r, m.maxBody, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	cur, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	id := cur.ID
	v, err := m.store.ScriptVersion(r.Context(), id, *in.Version)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	u := picloud.ScriptUpdate{Source: &v.Source, NewVersion: true}
	if !m.confine(w, r, &u) {
		return
	}
	sc, err := m.store.UpdateScript(r.Context(), id, u)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	m.invoker.Invalidate(id)
	d := versionChange(cur.Version, sc.Version)
	d["source_of"] = v.Version
	AuditNote(r.Context(), sc.Name, sc.ID, d)
	m.log.Info("script rolled back", "script", sc.Name, "id", sc.ID, "to", v.Version, "version", sc.Version)
	httpapi.WriteJSON(w, http.StatusOK, sc)
}

// HandleValidate is POST /api/validate {source}.
func (m *Manager) HandleValidate(w http.ResponseWriter, r *http.Request) {
	var in picloud.ValidateRequest
	if err := m.decode(w, r, m.maxBody, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	out := picloud.ValidateResponse{OK: true, Errors: []picloud.SourceError{}}
	if err := m.compile("", *in.Source); err != nil {
		se, ok := sourceError(err)
		if !ok {
			m.fail(w, r, err)
			return
		}
		out = picloud.ValidateResponse{Errors: []picloud.SourceError{se}}
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// sourceError turns the executor's invalid_source error into the entry
// /api/validate lists; ok is false for any other error.
func sourceError(err error) (se picloud.SourceError, ok bool) {
	var e *picloud.Error
	if !errors.As(err, &e) || e.Code != picloud.EInvalidSource {
		return se, false
	}
	se.Message = e.Message
	se.Kind, _ = e.Details["kind"].(string)
	se.Line, _ = e.Details["line"].(int)
	se.Column, _ = e.Details["column"].(int)
	if se.Kind == "" {
		se.Kind = "ErrorParsing"
	}
	return se, true
}

// HandleInvoke is POST /api/scripts/{id}/invoke {method, path, headers, body}:
// a test run that answers with everything: the response, the logs, the error.
func (m *Manager) HandleInvoke(w http.ResponseWriter, r *http.Request) {
	var in picloud.InvokeRequest
	// The body carries the script's request body: allow it the full limit
	// plus room for the envelope.
	if err := m.decode(w, r, m.maxBody+64<<10, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	req := &executor.Request{Method: cmp.Or(in.Method, http.MethodPost), Path: in.Path,
		Query: map[string][]string{}, Header: http.Header{}}
	for k, v := range in.Query {
		req.Query[k] = []string{v}
	}
	for k, v := range in.Headers {
		req.Header.Set(k, v)
	}
	if in.Body != nil {
		req.Body = []byte(*in.Body)
	}
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	res, l, err := m.invoker.Invoke(r.Context(), sc.ID, req)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	out := picloud.InvokeResponse{ExecutionID: l.ID, Status: res.Status, DurationMS: l.DurationMS,
		Operations: res.Operations, Logs: res.Logs, Error: res.Err}
	if res.Response != nil && l.Response != nil {
		resp := *l.Response // headers as a map; a body that is not UTF-8 stays base64
		if resp.BodyEncoding == "" {
			// The test caller gets the whole body, not the log's cut.
			resp.Body, resp.BodyTruncated = string(res.Response.Body), false
		}
		out.Response = &resp
	} else {
		out.Code = res.Code
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// awaitRows lets the rows recorded so far reach the store, for at most
// FlushTimeout: the sink writes in batches, a few milliseconds behind the
// responses. Past the timeout (a store outage) the log answers with what is
// stored.
func (m *Manager) awaitRows(ctx context.Context) {
	if m.flush == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, FlushTimeout)
	defer cancel()
	m.flush(ctx)
}

// HandleExecution is GET /api/executions/{id}: one execution log.
func (m *Manager) HandleExecution(w http.ResponseWriter, r *http.Request) {
	m.awaitRows(r.Context())
	l, err := m.store.Execution(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, l)
}
