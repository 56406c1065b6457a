package manager_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/manager"
)

func mountTriggers(mux *http.ServeMux, m *manager.Manager) {
	mux.HandleFunc("POST /api/scripts/{id}/schedules", m.HandleCreateSchedule)
	mux.HandleFunc("GET /api/scripts/{id}/schedules", m.HandleListSchedules)
	mux.HandleFunc("GET /api/schedules", m.HandleListSchedules)
	mux.HandleFunc("POST /api/schedules/preview", m.HandlePreviewSchedule)
	mux.HandleFunc("GET /api/schedules/{id}", m.HandleGetSchedule)
	mux.HandleFunc("PATCH /api/schedules/{id}", m.HandleUpdateSchedule)
	mux.HandleFunc("DELETE /api/schedules/{id}", m.HandleDeleteSchedule)
	mux.HandleFunc("POST /api/schedules/{id}/pause", m.HandlePauseSchedule)
	mux.HandleFunc("POST /api/schedules/{id}/resume", m.HandleResumeSchedule)
	mux.HandleFunc("POST /api/schedules/{id}/run", m.HandleRunSchedule)
	mux.HandleFunc("GET /api/schedules/{id}/executions", m.HandleScheduleExecutions)
	mux.HandleFunc("POST /api/scripts/{id}/async", m.HandleAsync)
	mux.HandleFunc("GET /api/jobs/{id}", m.HandleJob)
	mux.HandleFunc("GET /api/dead-letters", m.HandleDeadLetters)
	mux.HandleFunc("GET /api/dead-letters/{id}", m.HandleDeadLetter)
	mux.HandleFunc("POST /api/dead-letters/{id}/requeue", m.HandleRequeue)
	mux.HandleFunc("DELETE /api/dead-letters/{id}", m.HandleDiscard)
}

// fakeQueue records what the manager asks of the job queue.
type fakeQueue struct {
	mu       sync.Mutex
	changed  atomic.Int32
	enqueued []enqueued
	jobs     map[string]*picloud.Job
	err      error // Enqueue's answer when set
	fireErr  error // FireSchedule's answer when set
}

type enqueued struct {
	script string
	req    *picloud.JobRequest
	opts   picloud.EnqueueOptions
}

func newFakeQueue() *fakeQueue { return &fakeQueue{jobs: map[string]*picloud.Job{}} }

func (q *fakeQueue) Enqueue(_ context.Context, sc *picloud.Script, req *picloud.JobRequest, opts picloud.EnqueueOptions) (*picloud.Job, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return nil, false, q.err
	}
	for _, e := range q.enqueued {
		if opts.IdempotencyKey != "" && e.opts.IdempotencyKey == opts.IdempotencyKey && e.script == sc.ID {
			return &picloud.Job{ID: "job-1"}, true, nil
		}
	}
	q.enqueued = append(q.enqueued, enqueued{sc.ID, req, opts})
	return &picloud.Job{ID: "job-" + string(rune('0'+len(q.enqueued)))}, false, nil
}

func (q *fakeQueue) Publish(context.Context, *picloud.Script, []picloud.Event) error { return nil }

func (q *fakeQueue) Job(_ context.Context, id string) (*picloud.Job, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if j, ok := q.jobs[id]; ok {
		return j, nil
	}
	return nil, picloud.Errorf(picloud.ENotFound, "job %s not found", id)
}

func (q *fakeQueue) DeadLetters(context.Context, string, int) ([]*picloud.Job, error) {
	return nil, nil
}

// dead is the job id if it is a dead letter; like the real queue
// (internal/jobs), a live or unknown job is not_found. mu is held.
func (q *fakeQueue) dead(id string) (*picloud.Job, error) {
	j := q.jobs[id]
	if j == nil || j.State != picloud.JobDead {
		return nil, picloud.Errorf(picloud.ENotFound, "job %s is not a dead letter", id)
	}
	return j, nil
}

func (q *fakeQueue) Requeue(_ context.Context, id string) (*picloud.Job, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	j, err := q.dead(id)
	if err != nil {
		return nil, err
	}
	j.State = picloud.JobQueued
	return j, nil
}

func (q *fakeQueue) Discard(_ context.Context, id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, err := q.dead(id); err != nil {
		return err
	}
	delete(q.jobs, id)
	return nil
}

func (q *fakeQueue) FireSchedule(_ context.Context, s *picloud.Schedule) (*picloud.Job, error) {
	if q.fireErr != nil {
		return nil, q.fireErr
	}
	return &picloud.Job{ID: "fired-" + s.ID}, nil
}

func (q *fakeQueue) SchedulesChanged() { q.changed.Add(1) }

// cronErrorBody is an invalid cron's error.
type cronErrorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Field     string `json:"field"`
		Position  int    `json:"position"`
		FieldName string `json:"field_name"`
	} `json:"error"`
}

func TestScheduleValidation(t *testing.T) {
	q := newFakeQueue()
	h := newHarness(t, manager.Config{Queue: q})
	sc := h.create("ticker", `"tick"`)

	code, body := h.do("POST", "/api/scripts/nope/schedules", `{"cron":"* * * * *"}`)
	if code != 404 || parseError(t, body).Error.Code != "not_found" {
		t.Errorf("schedule of a missing script = %d %s", code, body)
	}
	for _, tc := range []struct {
		in                string
		status            int
		code, field, name string
		position          int
	}{
		{`{}`, 400, "invalid_request", "cron", "", 0},
		{`{"cron":"61 * * * *"}`, 400, "invalid_request", "cron", "minute", 1},
		{`{"cron":"* * * 13 *"}`, 400, "invalid_request", "cron", "month", 4},
		{`{"cron":"* * * * * * *"}`, 400, "invalid_request", "cron", "", 0},
		{`{"cron":"* * * * *","timezone":"Mars/Olympus"}`, 400, "invalid_request", "timezone", "", 0},
		{`{"cron":"` + strings.Repeat("*", picloud.MaxCronBytes+1) + `"}`, 400, "invalid_request", "cron", "", 0},
		{`{"cron":"* * * * *","body":"` + strings.Repeat("x", picloud.MaxScheduleBodyBytes+1) + `"}`, 413, "payload_too_large", "body", "", 0},
		{`{"cron":"* * * * *","sauce":1}`, 400, "invalid_request", "", "", 0},
	} {
		code, body := h.do("POST", "/api/scripts/"+sc.ID+"/schedules", tc.in)
		var eb cronErrorBody
		json.Unmarshal([]byte(body), &eb)
		if code != tc.status || eb.Error.Code != tc.code || eb.Error.Field != tc.field ||
			eb.Error.Position != tc.position || eb.Error.FieldName != tc.name || eb.Error.Message == "" {
			t.Errorf("%.60s: %d %s", tc.in, code, body)
		}
	}
	if n := q.changed.Load(); n != 0 {
		t.Errorf("refused schedules told the planner %d times", n)
	}
	if list, _ := h.store.ListSchedules(context.Background(), sc.ID); len(list) != 0 {
		t.Errorf("refused schedules were stored: %v", list)
	}

	// Preview answers the same errors, and the next five times.
	code, body = h.do("POST", "/api/schedules/preview", `{"cron":"61 * * * *"}`)
	if eb := parseError(t, body); code != 400 || eb.Error.Field != "cron" {
		t.Errorf("preview of a bad cron = %d %s", code, body)
	}
	code, body = h.do("POST", "/api/schedules/preview", `{"cron":"0 9 * * *","timezone":"Europe/Paris"}`)
	var pv struct {
		NextRuns []time.Time `json:"next_runs"`
	}
	if json.Unmarshal([]byte(body), &pv); code != 200 || len(pv.NextRuns) != 5 {
		t.Fatalf("preview = %d %s", code, body)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	for i, at := range pv.NextRuns {
		if l := at.In(paris); l.Hour() != 9 || l.Minute() != 0 || (i > 0 && !at.After(pv.NextRuns[i-1])) {
			t.Errorf("preview run %d = %v", i, at)
		}
	}
}

func TestScheduleLifecycle(t *testing.T) {
	q := newFakeQueue()
	h := newHarness(t, manager.Config{Queue: q})
	sc := h.create("ticker", `"tick"`)

	code, body := h.do("POST", "/api/scripts/"+sc.ID+"/schedules", `{"cron":"*/5 * * * * *","body":"{\"n\":1}"}`)
	var s picloud.Schedule
	if json.Unmarshal([]byte(body), &s); code != 201 || s.ID == "" || !s.Enabled || s.ScriptID != sc.ID ||
		s.Body != `{"n":1}` || len(s.NextRuns) != 5 || s.NextRuns[1].Sub(s.NextRuns[0].Time) != 5*time.Second {
		t.Fatalf("create = %d %s", code, body)
	}
	if q.changed.Load() != 1 {
		t.Errorf("creating a schedule told the planner %d times, want 1", q.changed.Load())
	}
	for _, path := range []string{"/api/scripts/" + sc.ID + "/schedules", "/api/schedules"} {
		code, body = h.do("GET", path, "")
		var list struct{ Items []picloud.Schedule }
		if json.Unmarshal([]byte(body), &list); code != 200 || len(list.Items) != 1 || len(list.Items[0].NextRuns) != 5 {
			t.Errorf("GET %s = %d %s", path, code, body)
		}
	}
	code, body = h.do("PATCH", "/api/schedules/"+s.ID, `{"timezone":"Nowhere/Land"}`)
	if eb := parseError(t, body); code != 400 || eb.Error.Field != "timezone" {
		t.Errorf("patch with a bad timezone = %d %s", code, body)
	}
	code, body = h.do("POST", "/api/schedules/"+s.ID+"/pause", "")
	if json.Unmarshal([]byte(body), &s); code != 200 || s.Enabled {
		t.Errorf("pause = %d %s", code, body)
	}
	code, body = h.do("PATCH", "/api/schedules/"+s.ID, `{"cron":"@hourly"}`)
	if json.Unmarshal([]byte(body), &s); code != 200 || s.Cron != "@hourly" || s.Enabled || len(s.NextRuns) != 5 {
		t.Errorf("patch = %d %s", code, body)
	}
	code, body = h.do("POST", "/api/schedules/"+s.ID+"/resume", "")
	if json.Unmarshal([]byte(body), &s); code != 200 || !s.Enabled {
		t.Errorf("resume = %d %s", code, body)
	}
	if q.changed.Load() != 4 {
		t.Errorf("the planner was told %d times, want 4", q.changed.Load())
	}
	code, body = h.do("POST", "/api/schedules/"+s.ID+"/run", "")
	if code != 202 || !strings.Contains(body, `"job_id":"fired-`+s.ID+`"`) {
		t.Errorf("run = %d %s", code, body)
	}
	code, body = h.do("GET", "/api/schedules/"+s.ID+"/executions?limit=5", "")
	if code != 200 || !strings.Contains(body, `"items":[]`) {
		t.Errorf("executions = %d %s", code, body)
	}

	// Disabling the script tells the planner; its schedule cannot be run.
	if code, body = h.do("PUT", "/api/scripts/"+sc.ID, `{"enabled":false}`); code != 200 || !strings.Contains(body, `"enabled":false`) {
		t.Fatalf("disable = %d %s", code, body)
	}
	if q.changed.Load() != 5 {
		t.Errorf("disabling the script told the planner %d times in all, want 5", q.changed.Load())
	}
	// The queue refuses a disabled script's firing (internal/jobs checks
	// that); the manager answers with its error.
	q.fireErr = picloud.ErrDisabled(&sc)
	if code, body = h.do("POST", "/api/schedules/"+s.ID+"/run", ""); code != 503 || parseError(t, body).Error.Code != "unavailable" {
		t.Errorf("run of a disabled script's schedule = %d %s", code, body)
	}

	// Deleting the script deletes its schedules.
	if code, body = h.do("DELETE", "/api/scripts/"+sc.ID, ""); code != 204 {
		t.Fatalf("delete script = %d %s", code, body)
	}
	if code, body = h.do("GET", "/api/schedules/"+s.ID, ""); code != 404 {
		t.Errorf("schedule of a deleted script = %d %s", code, body)
	}
	for _, path := range []string{"/api/schedules/" + s.ID + "/run", "/api/schedules/" + s.ID + "/pause"} {
		if code, body = h.do("POST", path, ""); code != 404 {
			t.Errorf("POST %s = %d %s", path, code, body)
		}
	}
	if code, body = h.do("DELETE", "/api/schedules/"+s.ID, ""); code != 404 {
		t.Errorf("delete of a deleted schedule = %d %s", code, body)
	}
}

// TestNoQueue: without a job queue the schedules are still managed, and the
// routes that queue or read jobs answer 503 unavailable.
func TestNoQueue(t *testing.T) {
	h := newHarness(t, manager.Config{})
	sc := h.create("ticker", `"tick"`)
	code, body := h.do("POST", "/api/scripts/"+sc.ID+"/schedules", `{"cron":"@daily"}`)
	if code != 201 {
		t.Fatalf("create = %d %s", code, body)
	}
	var s picloud.Schedule
	json.Unmarshal([]byte(body), &s)
	for _, r := range [][2]string{
		{"POST", "/api/schedules/" + s.ID + "/run"},
		{"POST", "/api/scripts/" + sc.ID + "/async"},
		{"GET", "/api/jobs/1"},
		{"GET", "/api/dead-letters"},
		{"GET", "/api/dead-letters/1"},
		{"POST", "/api/dead-letters/1/requeue"},
		{"DELETE", "/api/dead-letters/1"},
	} {
		if code, body := h.do(r[0], r[1], ""); code != 503 || parseError(t, body).Error.Code != "unavailable" {
			t.Errorf("%s %s = %d %s", r[0], r[1], code, body)
		}
	}
}

func TestAsync(t *testing.T) {
	q := newFakeQueue()
	h := newHarness(t, manager.Config{Queue: q, MaxBodyBytes: 1024})
	sc := h.create("worker", `request.body`)

	send := func(path, body string, hdr ...string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", h.srv.URL+path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Add(hdr[i], hdr[i+1])
		}
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp, b.String()
	}
	resp, body := send("/api/scripts/"+sc.ID+"/async?x=1", `{"a":1}`, "Content-Type", "application/json",
		"Authorization", "Bearer pct_0123456789abcdef", "X-Trace", "t1", "Idempotency-Key", "k1")
	if resp.StatusCode != 202 || resp.Header.Get("Location") != "/api/jobs/job-1" || !strings.Contains(body, `"job_id":"job-1"`) || strings.Contains(body, "existing") {
		t.Fatalf("async = %d %v %s", resp.StatusCode, resp.Header, body)
	}
	e := q.enqueued[0]
	if e.script != sc.ID || e.opts.Trigger != picloud.TriggerAsync || e.opts.IdempotencyKey != "k1" ||
		e.req.Method != "POST" || e.req.Path != "/fn/worker" || string(e.req.Body) != `{"a":1}` ||
		e.req.Query["x"][0] != "1" || e.req.Header["Content-Type"][0] != "application/json" ||
		e.req.Header["X-Trace"][0] != "t1" || e.req.Header["Authorization"] != nil {
		t.Errorf("enqueued %+v %+v", e, e.req)
	}
	// The same key: the first job, existing.
	resp, body = send("/api/scripts/"+sc.ID+"/async", `{}`, "Idempotency-Key", "k1")
	if resp.StatusCode != 202 || !strings.Contains(body, `"existing":true`) || len(q.enqueued) != 1 {
		t.Errorf("repeated key = %d %s", resp.StatusCode, body)
	}
	for _, tc := range []struct {
		path, body, key string
		status          int
		code            string
	}{
		{"/api/scripts/nope/async", "", "", 404, "not_found"},
		{"/api/scripts/" + sc.ID + "/async", strings.Repeat("x", 1025), "", 413, "payload_too_large"},
		{"/api/scripts/" + sc.ID + "/async", "", strings.Repeat("k", 256), 400, "invalid_request"},
		{"/api/scripts/" + sc.ID + "/async", "", "bad\tkey", 400, "invalid_request"},
	} {
		var hdr []string
		if tc.key != "" {
			hdr = []string{"Idempotency-Key", tc.key}
		}
		resp, body := send(tc.path, tc.body, hdr...)
		if resp.StatusCode != tc.status || parseError(t, body).Error.Code != tc.code {
			t.Errorf("%s (%d bytes, key %q) = %d %s", tc.path, len(tc.body), tc.key, resp.StatusCode, body)
		}
	}
	// A full queue's error passes through: 429 with Retry-After.
	q.err = &picloud.Error{Code: picloud.EQueueFull, Message: "the queue is full", Details: map[string]any{"retry_after": 3}}
	resp, body = send("/api/scripts/"+sc.ID+"/async", "")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" || parseError(t, body).Error.Code != "queue_full" {
		t.Errorf("full queue = %d %v %s", resp.StatusCode, resp.Header, body)
	}
}

func TestDeadLetterRoutes(t *testing.T) {
	q := newFakeQueue()
	q.jobs["7"] = &picloud.Job{ID: "7", State: picloud.JobRunning}
	q.jobs["8"] = &picloud.Job{ID: "8", State: picloud.JobDead}
	h := newHarness(t, manager.Config{Queue: q})

	if code, body := h.do("GET", "/api/jobs/7", ""); code != 200 || !strings.Contains(body, `"state":"running"`) {
		t.Errorf("job = %d %s", code, body)
	}
	if code, body := h.do("GET", "/api/jobs/9", ""); code != 404 {
		t.Errorf("unknown job = %d %s", code, body)
	}
	// A live job is no dead letter: it cannot be shown, requeued or
	// discarded as one.
	for _, r := range [][2]string{{"GET", "/api/dead-letters/7"}, {"POST", "/api/dead-letters/7/requeue"}, {"DELETE", "/api/dead-letters/7"}} {
		if code, body := h.do(r[0], r[1], ""); code != 404 || parseError(t, body).Error.Code != "not_found" {
			t.Errorf("%s %s = %d %s", r[0], r[1], code, body)
		}
	}
	if code, body := h.do("GET", "/api/dead-letters?limit=0", ""); code != 400 {
		t.Errorf("limit=0 = %d %s", code, body)
	}
	if code, body := h.do("GET", "/api/dead-letters?script=nope", ""); code != 404 {
		t.Errorf("dead letters of a missing script = %d %s", code, body)
	}
	if code, body := h.do("GET", "/api/dead-letters", ""); code != 200 || body != "{\"items\":[]}\n" {
		t.Errorf("dead letters = %d %q", code, body)
	}
	if code, body := h.do("POST", "/api/dead-letters/8/requeue", ""); code != 200 || !strings.Contains(body, `"state":"queued"`) {
		t.Errorf("requeue = %d %s", code, body)
	}
	q.jobs["8"].State = picloud.JobDead
	if code, body := h.do("DELETE", "/api/dead-letters/8", ""); code != 204 {
		t.Errorf("discard = %d %s", code, body)
	}
	if _, ok := q.jobs["8"]; ok {
		t.Error("the discarded job is still there")
	}
}
