package manager

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/cron"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/httpapi"
)

// The trigger routes: a script's schedules, asynchronous invocations, jobs
// and dead letters. Schedules live in the store, so their CRUD works without
// a job queue; what queues or reads jobs needs one (Config.Queue) and answers
// 503 unavailable without it.

// NextRunsShown is how many upcoming firing times a schedule shows.
const NextRunsShown = 5

// maxListLimit bounds the list routes' ?limit.
const maxListLimit = 200

// errNoQueue answers the job routes of a manager built without a queue.
var errNoQueue = picloud.Errorf(picloud.EUnavailable, "the job queue is not running")

// noQueue is the queue of a manager built without one: every route that
// queues or reads jobs answers 503 unavailable, and nothing is replanned.
type noQueue struct{}

func (noQueue) Enqueue(context.Context, *picloud.Script, *picloud.JobRequest, picloud.EnqueueOptions) (*picloud.Job, bool, error) {
	return nil, false, errNoQueue
}
func (noQueue) Publish(context.Context, *picloud.Script, []picloud.Event) error { return errNoQueue }
func (noQueue) Job(context.Context, string) (*picloud.Job, error)               { return nil, errNoQueue }
func (noQueue) DeadLetters(context.Context, string, int) ([]*picloud.Job, error) {
	return nil, errNoQueue
}
func (noQueue) Requeue(context.Context, string) (*picloud.Job, error) { return nil, errNoQueue }
func (noQueue) Discard(context.Context, string) error                 { return errNoQueue }
func (noQueue) FireSchedule(context.Context, *picloud.Schedule) (*picloud.Job, error) {
	return nil, errNoQueue
}
func (noQueue) SchedulesChanged() {}

// schedulesChanged tells the planner to replan.
func (m *Manager) schedulesChanged() { m.queue.SchedulesChanged() }

// checkSchedule validates s (cron, timezone, body) and fills its NextRuns
// from now. A bad expression is invalid_request naming the field (cron or
// timezone) and, for cron, the 1-based position and name of the bad field
// of the expression.
func checkSchedule(s *picloud.Schedule, now time.Time) error {
	if len(s.Body) > picloud.MaxScheduleBodyBytes {
		return &picloud.Error{Code: picloud.EPayloadTooLarge, Details: map[string]any{"field": "body"},
			Message: "body is over " + strconv.Itoa(picloud.MaxScheduleBodyBytes) + " bytes"}
	}
	runs, err := nextRuns(s.Cron, s.Timezone, now)
	if err != nil {
		return err
	}
	s.NextRuns = runs
	return nil
}

// nextRuns parses a cron expression in timezone tz and returns its next
// NextRunsShown firing times after now.
func nextRuns(expr, tz string, now time.Time) ([]picloud.Time, error) {
	if expr == "" {
		return nil, fieldErr("cron", "cron is required")
	}
	if len(expr) > picloud.MaxCronBytes {
		return nil, fieldErr("cron", "cron is over "+strconv.Itoa(picloud.MaxCronBytes)+" bytes")
	}
	if len(tz) > 64 || !utf8.ValidString(tz) {
		return nil, fieldErr("timezone", "timezone is not an IANA time zone name")
	}
	sched, err := cron.Parse(expr, tz)
	if err != nil {
		return nil, cronError(err)
	}
	out := []picloud.Time{} // an expression may never fire again: none, not null
	for _, t := range sched.NextN(now, NextRunsShown) {
		out = append(out, picloud.Time{Time: t.UTC()})
	}
	return out, nil
}

// cronError is a parse error of internal/cron as the API's invalid_request:
// details name the field of the request (cron or timezone) and, for a bad
// field of the expression, its 1-based position and name.
func cronError(err error) error {
	var ce *cron.Error
	if !errors.As(err, &ce) {
		return fieldErr("cron", err.Error())
	}
	e := fieldErr("cron", ce.Error())
	if ce.Name == cron.NameTimezone {
		e.Details["field"] = "timezone"
	}
	if ce.Field > 0 {
		e.Details["position"] = ce.Field
		e.Details["field_name"] = ce.Name
	}
	return e
}

func fieldErr(field, msg string) *picloud.Error {
	return &picloud.Error{Code: picloud.EInvalidRequest, Message: msg, Details: map[string]any{"field": field}}
}

// showSchedule fills s's next runs (a stored schedule's expression was
// valid when stored; should it no longer parse, it shows none).
func showSchedule(s *picloud.Schedule, now time.Time) *picloud.Schedule {
	s.NextRuns, _ = nextRuns(s.Cron, s.Timezone, now)
	return s
}

// scheduleBodyLimit bounds a schedule's JSON: the body it carries (JSON
// escaping can make it up to six times longer) plus room for the rest.
const scheduleBodyLimit = 6*picloud.MaxScheduleBodyBytes + 64<<10

// HandleCreateSchedule is POST /api/scripts/{id}/schedules {cron, timezone,
// body, enabled}: 201 with the schedule and its next runs.
func (m *Manager) HandleCreateSchedule(w http.ResponseWriter, r *http.Request) {
	var in picloud.ScheduleUpdate
	if err := httpapi.Decode(w, r, scheduleBodyLimit, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	s := &picloud.Schedule{ScriptID: sc.ID, Enabled: true}
	in.Apply(s)
	if err := checkSchedule(s, time.Now()); err != nil {
		m.fail(w, r, err)
		return
	}
	runs := s.NextRuns
	s.NextRuns = nil
	if err := m.store.CreateSchedule(r.Context(), s); err != nil {
		m.fail(w, r, err)
		return
	}
	s.NextRuns = runs
	m.schedulesChanged()
	AuditNote(r.Context(), s.ID, s.ID, map[string]any{"script": sc.Name, "cron": s.Cron, "timezone": s.Timezone, "enabled": s.Enabled})
	m.log.Info("schedule created", "script", sc.Name, "schedule", s.ID, "cron", s.Cron, "timezone", s.Timezone)
	httpapi.WriteJSON(w, http.StatusCreated, s)
}

// HandleListSchedules is GET /api/scripts/{id}/schedules and (without an id)
// GET /api/schedules: every schedule, oldest first.
func (m *Manager) HandleListSchedules(w http.ResponseWriter, r *http.Request) {
	id := ""
	if ref := r.PathValue("id"); ref != "" {
		sc, err := m.ResolveScript(r.Context(), ref)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		id = sc.ID
	}
	list, err := m.store.ListSchedules(r.Context(), id)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	now := time.Now()
	out := picloud.ScheduleList{Items: make([]*picloud.Schedule, len(list))}
	for i, s := range list {
		out.Items[i] = showSchedule(s, now)
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// HandleGetSchedule is GET /api/schedules/{id}.
func (m *Manager) HandleGetSchedule(w http.ResponseWriter, r *http.Request) {
	s, err := m.store.Schedule(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, showSchedule(s, time.Now()))
}

// HandleUpdateSchedule is PUT or PATCH /api/schedules/{id}: a partial update.
func (m *Manager) HandleUpdateSchedule(w http.ResponseWriter, r *http.Request) {
	var in picloud.ScheduleUpdate
	if err := httpapi.Decode(w, r, scheduleBodyLimit, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	m.updateSchedule(w, r, in)
}

// HandlePauseSchedule is POST /api/schedules/{id}/pause.
func (m *Manager) HandlePauseSchedule(w http.ResponseWriter, r *http.Request) {
	off := false
	m.updateSchedule(w, r, picloud.ScheduleUpdate{Enabled: &off})
}

// HandleResumeSchedule is POST /api/schedules/{id}/resume.
func (m *Manager) HandleResumeSchedule(w http.ResponseWriter, r *http.Request) {
	on := true
	m.updateSchedule(w, r, picloud.ScheduleUpdate{Enabled: &on})
}

func (m *Manager) updateSchedule(w http.ResponseWriter, r *http.Request, in picloud.ScheduleUpdate) {
	id := r.PathValue("id")
	cur, err := m.store.Schedule(r.Context(), id)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	before := *cur
	// Validate the schedule as it will be, so that a timezone change is
	// checked against the stored expression and the other way round.
	in.Apply(cur)
	if err := checkSchedule(cur, time.Now()); err != nil {
		m.fail(w, r, err)
		return
	}
	s, err := m.store.UpdateSchedule(r.Context(), id, in)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	m.schedulesChanged()
	AuditNote(r.Context(), s.ID, s.ID, fieldChanges(&before, s, "next_runs", "created_at", "updated_at", "last_scheduled_at"))
	m.log.Info("schedule updated", "schedule", s.ID, "cron", s.Cron, "timezone", s.Timezone, "enabled", s.Enabled)
	httpapi.WriteJSON(w, http.StatusOK, showSchedule(s, time.Now()))
}

// HandleDeleteSchedule is DELETE /api/schedules/{id}.
func (m *Manager) HandleDeleteSchedule(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := m.store.DeleteSchedule(r.Context(), id); err != nil {
		m.fail(w, r, err)
		return
	}
	m.schedulesChanged()
	m.log.Info("schedule deleted", "schedule", id)
	w.WriteHeader(http.StatusNoContent)
}

// HandleRunSchedule is POST /api/schedules/{id}/run: a firing now, paused or
// not. 202 with the job.
func (m *Manager) HandleRunSchedule(w http.ResponseWriter, r *http.Request) {
	s, err := m.store.Schedule(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	// FireSchedule refuses a disabled script's firing (503), which would
	// be skipped.
	job, err := m.queue.FireSchedule(r.Context(), s)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	AuditNote(r.Context(), s.ID, s.ID, map[string]any{"job": job.ID})
	m.log.Info("schedule fired by hand", "schedule", s.ID, "job", job.ID)
	httpapi.WriteAccepted(w, job.ID, false)
}

// HandleScheduleExecutions is GET /api/schedules/{id}/executions?limit=N:
// the schedule's last runs, newest first.
func (m *Manager) HandleScheduleExecutions(w http.ResponseWriter, r *http.Request) {
	limit, err := listLimit(r, 20)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	s, err := m.store.Schedule(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	m.awaitRows(r.Context())
	items, err := m.store.QueryExecutions(r.Context(), picloud.ExecutionQuery{ScheduleID: s.ID, Limit: limit})
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if items == nil {
		items = []*picloud.ExecutionLog{}
	}
	httpapi.WriteJSON(w, http.StatusOK, picloud.ExecutionList{Items: items, Limit: limit})
}

// HandlePreviewSchedule is POST /api/schedules/preview {cron, timezone}: the
// next firing times, or the 400 creating the schedule would answer.
func (m *Manager) HandlePreviewSchedule(w http.ResponseWriter, r *http.Request) {
	var in picloud.PreviewRequest
	if err := httpapi.Decode(w, r, m.maxBody, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	runs, err := nextRuns(in.Cron, in.Timezone, time.Now())
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, picloud.PreviewResponse{NextRuns: runs})
}

// HandleAsync is POST /api/scripts/{id}/async: queues a run of the script
// with this request's body (and Content-Type, query and other headers,
// PiCloud's credentials stripped) and answers 202 with the job. An
// Idempotency-Key header that the script's runs used within the last 24 h
// answers that job instead.
func (m *Manager) HandleAsync(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	err := picloud.ValidIdempotencyKey(key)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		err = httpapi.ReadWithin(w, httpapi.DefaultBodyReadTimeout, func() error {
			body, err = httpapi.ReadBody(w, r, m.maxBody)
			return err
		})
		if err != nil {
			m.fail(w, r, err)
			return
		}
	}
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	req := &picloud.JobRequest{Method: http.MethodPost, Path: "/fn/" + sc.Name,
		Query: r.URL.Query(), Header: asyncHeader(r.Header), Body: body}
	if len(req.Query) == 0 {
		req.Query = nil
	}
	job, existing, err := m.queue.Enqueue(r.Context(), sc, req, picloud.EnqueueOptions{Trigger: picloud.TriggerAsync, IdempotencyKey: key})
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteAccepted(w, job.ID, existing)
}

// asyncHeader is what an admin call's headers keep for the script: no
// PiCloud credential (executor.StripCredentials), and none of the admin API's
// own headers, whatever they hold: the Authorization that authenticated this
// call (an admin token need not carry PiCloud's prefix) and X-PiCloud-*.
func asyncHeader(h http.Header) http.Header {
	out := executor.StripCredentials(h)
	for k := range out {
		if strings.EqualFold(k, "Authorization") ||
			len(k) >= len("X-PiCloud-") && strings.EqualFold(k[:len("X-PiCloud-")], "X-PiCloud-") {
			delete(out, k)
		}
	}
	return out
}

// HandleJob is GET /api/jobs/{id}: the job and its attempts.
func (m *Manager) HandleJob(w http.ResponseWriter, r *http.Request) {
	job, err := m.queue.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, job)
}

// HandleDeadLetters is GET /api/dead-letters?script=ID&limit=N: the dead
// jobs, newest first.
func (m *Manager) HandleDeadLetters(w http.ResponseWriter, r *http.Request) {
	limit, err := listLimit(r, 50)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	script := r.URL.Query().Get("script")
	if script != "" {
		if _, err := m.store.Script(r.Context(), script); err != nil {
			m.fail(w, r, err)
			return
		}
	}
	list, err := m.queue.DeadLetters(r.Context(), script, limit)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if list == nil {
		list = []*picloud.Job{}
	}
	httpapi.WriteJSON(w, http.StatusOK, picloud.JobList{Items: list})
}

// deadLetter is the dead job the route names: not_found for a job that is
// not (or no longer) dead, so that requeue and discard never touch a live
// job.
func (m *Manager) deadLetter(r *http.Request) (*picloud.Job, error) {
	job, err := m.queue.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if job.State != picloud.JobDead {
		return nil, picloud.Errorf(picloud.ENotFound, "job %s is not a dead letter (it is %s)", job.ID, job.State)
	}
	return job, nil
}

// HandleDeadLetter is GET /api/dead-letters/{id}: the dead job with its
// request and each attempt's error.
func (m *Manager) HandleDeadLetter(w http.ResponseWriter, r *http.Request) {
	job, err := m.deadLetter(r)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, job)
}

// HandleRequeue is POST /api/dead-letters/{id}/requeue: the job is queued
// again and gets at least one more attempt.
// The queue refuses a job that is not dead (404, like the dead letter's GET).
func (m *Manager) HandleRequeue(w http.ResponseWriter, r *http.Request) {
	job, err := m.queue.Requeue(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	AuditNote(r.Context(), job.ID, job.ID, map[string]any{"script": job.ScriptName})
	m.log.Info("dead letter requeued", "job", job.ID, "script", job.ScriptName)
	httpapi.WriteJSON(w, http.StatusOK, job)
}

// HandleDiscard is DELETE /api/dead-letters/{id}; the queue refuses a job
// that is not dead (404).
func (m *Manager) HandleDiscard(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := m.queue.Discard(r.Context(), id); err != nil {
		m.fail(w, r, err)
		return
	}
	m.log.Info("dead letter discarded", "job", id)
	w.WriteHeader(http.StatusNoContent)
}

// listLimit reads ?limit (def when absent), at most maxListLimit.
func listLimit(r *http.Request, def int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fieldErr("limit", "limit must be a positive integer")
	}
	return cmp.Or(min(n, maxListLimit), def), nil
}
