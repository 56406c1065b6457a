package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/jobs"
	"github.com/picloud/picloud/internal/postgres"
)

// jobsConfig is a job queue tuned for tests: short polls, retries and
// replanning, so that nothing waits for long.
func jobsConfig() jobs.Config {
	return jobs.Config{PollInterval: 100 * time.Millisecond, RetryBase: 50 * time.Millisecond,
		RetryMax: 200 * time.Millisecond, PlanRefresh: 300 * time.Millisecond}
}

// triggerSource answers with what the run saw of its trigger.
const triggerSource = `#{trigger: request.trigger, job_id: request.job_id, attempt: request.attempt,
	schedule: request.schedule, event: request.event, body: request.body, method: request.method,
	path: request.path, headers: request.headers}`

// seen is triggerSource's answer.
type seen struct {
	Trigger  string                  `json:"trigger"`
	JobID    string                  `json:"job_id"`
	Attempt  int                     `json:"attempt"`
	Schedule *picloud.ScheduleFiring `json:"schedule"`
	Event    *struct {
		Topic     string         `json:"topic"`
		ID        string         `json:"id"`
		EmittedBy string         `json:"emitted_by"`
		Payload   map[string]any `json:"payload"`
	} `json:"event"`
	Body    any               `json:"body"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
}

func seenBy(t *testing.T, l *picloud.ExecutionLog) seen {
	t.Helper()
	var s seen
	if l.Response == nil || json.Unmarshal([]byte(l.Response.Body), &s) != nil {
		t.Fatalf("execution %s: no answer of triggerSource: %+v %+v", l.ID, l.Response, l.Error)
	}
	return s
}

// do is admin with a typed answer; it fails the test on another status.
func (e *env) do(method, path string, in any, want int, out any) {
	e.t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	resp, b := e.request(method, path, body, "Authorization", "Bearer "+testToken, "Content-Type", "application/json")
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %s: %v", method, path, b, err)
		}
	}
}

func (e *env) addSchedule(scriptID string, in map[string]any) picloud.Schedule {
	e.t.Helper()
	var s picloud.Schedule
	e.do("POST", "/api/scripts/"+scriptID+"/schedules", in, 201, &s)
	return s
}

// until polls f every 20 ms until it reports true, for at most d.
func until(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scheduleRuns waits until schedule id has at least n execution rows and
// returns them, newest first.
func (e *env) scheduleRuns(id string, n int, d time.Duration) []*picloud.ExecutionLog {
	e.t.Helper()
	var list picloud.ExecutionList
	until(e.t, d, fmt.Sprintf("schedule %s: fewer than %d runs", id, n), func() bool {
		e.do("GET", "/api/schedules/"+id+"/executions?limit=200", nil, 200, &list)
		return len(list.Items) >= n
	})
	return list.Items
}

// firedAfter returns the runs of schedule id whose scheduled time is after t.
func (e *env) firedAfter(id string, t time.Time) []*picloud.ExecutionLog {
	e.t.Helper()
	var out []*picloud.ExecutionLog
	for _, l := range e.scheduleRuns(id, 0, time.Second) {
		if sb := seenBy(e.t, l); sb.Schedule != nil && sb.Schedule.ScheduledAt.After(t) {
			out = append(out, l)
		}
	}
	return out
}

// job waits until job id is in state want and returns it.
func (e *env) job(id string, want picloud.JobState) *picloud.Job {
	e.t.Helper()
	var j picloud.Job
	until(e.t, 10*time.Second, fmt.Sprintf("job %s not %s (last %s, %d attempts)", id, want, j.State, len(j.Attempts)), func() bool {
		j = picloud.Job{}
		e.do("GET", "/api/jobs/"+id, nil, 200, &j)
		return j.State == want
	})
	return &j
}

// execution reads one execution log through the API.
func (e *env) execution(id string) *picloud.ExecutionLog {
	e.t.Helper()
	var l picloud.ExecutionLog
	e.do("GET", "/api/executions/"+id, nil, 200, &l)
	return &l
}

// TestScheduleFires: a per-second schedule fires, the script sees the
// firing, /run fires it at once, a paused schedule and a disabled script's
// schedule do not fire, and deleting the script deletes its schedules.
func TestScheduleFires(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{Jobs: jobsConfig()})
		id := e.create("ticker", triggerSource)
		s := e.addSchedule(id, map[string]any{"cron": "* * * * * *", "body": `{"n":1}`})

		runs := e.scheduleRuns(s.ID, 2, 5*time.Second)
		at := map[string]bool{}
		for _, l := range runs {
			sb := seenBy(t, l)
			if l.Trigger != picloud.TriggerCron || l.ScheduleID != s.ID || l.JobID == "" || l.Attempt != 1 ||
				sb.Trigger != "cron" || sb.JobID != l.JobID || sb.Attempt != 1 || sb.Schedule == nil ||
				sb.Schedule.ID != s.ID || sb.Schedule.Cron != "* * * * * *" || sb.Schedule.ScheduledAt.IsZero() ||
				sb.Method != "POST" || sb.Path != "/fn/ticker" {
				t.Errorf("cron run: %+v saw %+v", l, sb)
			}
			if b, ok := sb.Body.(map[string]any); !ok || b["n"] != 1.0 {
				t.Errorf("cron run's body = %#v, want the schedule's", sb.Body)
			}
			if sb.Schedule != nil {
				key := sb.Schedule.ScheduledAt.Format(time.RFC3339Nano)
				if at[key] {
					t.Errorf("scheduled time %s ran twice", key)
				}
				at[key] = true
				if sb.Schedule.ScheduledAt.Nanosecond() != 0 {
					t.Errorf("scheduled_at %s is not on a second", key)
				}
			}
		}

		// Paused: no more firings; /run fires it anyway. Firings are told
		// apart by their scheduled time: one planned before the pause may
		// still be running after it.
		var paused picloud.Schedule
		e.do("POST", "/api/schedules/"+s.ID+"/pause", nil, 200, &paused)
		if paused.Enabled {
			t.Fatalf("pause: %+v", paused)
		}
		pausedAt := time.Now()
		resp, b := e.request("POST", "/api/schedules/"+s.ID+"/run", nil, "Authorization", "Bearer "+testToken)
		var acc picloud.JobAccepted
		json.Unmarshal(b, &acc)
		if resp.StatusCode != 202 || acc.JobID == "" || resp.Header.Get("Location") != "/api/jobs/"+acc.JobID {
			t.Fatalf("run = %d %v %s", resp.StatusCode, resp.Header, b)
		}
		j := e.job(acc.JobID, picloud.JobSucceeded)
		if j.Trigger != picloud.TriggerCron || j.ScriptID != id || len(j.Attempts) != 1 || j.Schedule == nil || j.Schedule.ID != s.ID {
			t.Errorf("fired job = %+v", j)
		}
		time.Sleep(1200 * time.Millisecond) // more than a period of the schedule
		// The run fired by hand is told apart by its job: its scheduled
		// time (the second it was fired) may equal a planned firing's.
		byHand := 0
		for _, l := range e.scheduleRuns(s.ID, 0, time.Second) {
			if l.JobID == acc.JobID {
				byHand++
			}
		}
		var planned []*picloud.ExecutionLog
		for _, l := range e.firedAfter(s.ID, pausedAt) {
			if l.JobID != acc.JobID {
				planned = append(planned, l)
			}
		}
		if byHand != 1 || len(planned) != 0 {
			t.Errorf("paused schedule: %d runs fired by hand (want 1), firings planned after the pause: %v", byHand, planned)
		}

		// Resumed but the script disabled: /fn answers 503 and nothing fires.
		e.do("PUT", "/api/scripts/"+id, map[string]any{"enabled": false}, 200, nil)
		disabledAt := time.Now()
		e.do("POST", "/api/schedules/"+s.ID+"/resume", nil, 200, nil)
		if resp, b := e.request("GET", "/fn/ticker", nil); resp.StatusCode != 503 || errCode(b) != "unavailable" {
			t.Errorf("/fn of a disabled script = %d %s", resp.StatusCode, b)
		}
		time.Sleep(1200 * time.Millisecond)
		if after := e.firedAfter(s.ID, disabledAt); len(after) != 0 {
			t.Errorf("disabled script's schedule ran: %v", after)
		}

		// Enabled again it fires again.
		e.do("PUT", "/api/scripts/"+id, map[string]any{"enabled": true}, 200, nil)
		enabledAt := time.Now()
		until(t, 5*time.Second, "no firing after the script was enabled again", func() bool {
			return len(e.firedAfter(s.ID, enabledAt)) > 0
		})

		// Deleting the script deletes its schedules.
		e.do("DELETE", "/api/scripts/"+id, nil, 204, nil)
		e.do("GET", "/api/schedules/"+s.ID, nil, 404, nil)
		var all struct{ Items []picloud.Schedule }
		e.do("GET", "/api/schedules", nil, 200, &all)
		if len(all.Items) != 0 {
			t.Errorf("schedules after the script's deletion: %+v", all.Items)
		}
	})
}

// TestScheduleValidationAPI: the cron errors through the whole stack.
func TestScheduleValidationAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{Jobs: jobsConfig()})
		id := e.create("ticker", `1`)
		code, out := e.admin("POST", "/api/scripts/"+id+"/schedules", map[string]any{"cron": "0 25 * * *"})
		if eb := errBody(t, out); code != 400 || eb["code"] != "invalid_request" || eb["field"] != "cron" ||
			eb["position"] != 2.0 || eb["field_name"] != "hour" {
			t.Errorf("bad hour = %d %v", code, out)
		}
		code, out = e.admin("POST", "/api/scripts/nope/schedules", map[string]any{"cron": "@daily"})
		if code != 404 {
			t.Errorf("missing script = %d %v", code, out)
		}
		code, out = e.admin("POST", "/api/schedules/preview", map[string]any{"cron": "@every 90s"})
		if runs, _ := out["next_runs"].([]any); code != 200 || len(runs) != 5 {
			t.Errorf("preview = %d %v", code, out)
		}
	})
}

// TestTwoProcessesOnePostgres: two applications on one PostgreSQL database,
// each planning the same per-second schedule: every scheduled time runs
// exactly once.
func TestTwoProcessesOnePostgres(t *testing.T) {
	dbURL := os.Getenv("PICLOUD_TEST_DATABASE_URL")
	if dbURL == "" {
		t.Skip("PICLOUD_TEST_DATABASE_URL is not set")
	}
	t.Parallel()
	url := sharedSchema(t, dbURL)
	var envs []*env
	for range 2 {
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		envs = append(envs, newEnv(t, s, app.Config{Jobs: jobsConfig()}))
	}
	a, b := envs[0], envs[1]
	id := a.create("ticker", triggerSource)
	s1 := a.addSchedule(id, map[string]any{"cron": "* * * * * *"})
	s2 := b.addSchedule(id, map[string]any{"cron": "*/1 * * * * *"}) // the other process's own
	a.scheduleRuns(s1.ID, 4, 10*time.Second)
	b.scheduleRuns(s2.ID, 4, 10*time.Second)
	a.do("POST", "/api/schedules/"+s1.ID+"/pause", nil, 200, nil)
	b.do("POST", "/api/schedules/"+s2.ID+"/pause", nil, 200, nil)
	// Let the firings already queued finish, and both processes record them.
	time.Sleep(500 * time.Millisecond)
	for _, e := range envs {
		e.app.Stop(context.Background())
	}
	ctx := context.Background()
	for _, s := range []picloud.Schedule{s1, s2} {
		rows, err := a.store.QueryExecutions(ctx, picloud.ExecutionQuery{ScheduleID: s.ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		count := map[time.Time]int{}
		for _, l := range rows {
			count[seenBy(t, l).Schedule.ScheduledAt.Time]++
		}
		if len(count) < 4 {
			t.Errorf("schedule %s: %d scheduled times ran, want at least 4", s.ID, len(count))
		}
		for at, n := range count {
			if n != 1 {
				t.Errorf("schedule %s: %s ran %d times", s.ID, at.Format(time.RFC3339), n)
			}
		}
		t.Logf("schedule %s: %d rows for %d scheduled times", s.ID, len(rows), len(count))
	}
}

// sharedSchema makes a schema of its own in the database at dbURL (dropped
// when the test ends) and returns the URL that selects it, for several
// stores to share.
func sharedSchema(t *testing.T, dbURL string) string {
	t.Helper()
	ctx := context.Background()
	schema := "test_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(ctx, dbURL); err == nil {
			c.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`)
			c.Close(ctx)
		}
	})
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestAsync: Prefer: respond-async and /api/scripts/{id}/async answer 202
// with the job, which succeeds; its attempt is an execution readable at
// /api/executions/{id}; an Idempotency-Key returns the first job.
func TestAsync(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{Jobs: jobsConfig()})
		id := e.create("worker", triggerSource)

		check := func(how string, resp2 int, b []byte, loc, pref string, wantMethod, wantPath string) string {
			t.Helper()
			var acc picloud.JobAccepted
			json.Unmarshal(b, &acc)
			if resp2 != 202 || acc.JobID == "" || acc.Existing || loc != "/api/jobs/"+acc.JobID {
				t.Fatalf("%s = %d %s (Location %q)", how, resp2, b, loc)
			}
			j := e.job(acc.JobID, picloud.JobSucceeded)
			if j.Trigger != picloud.TriggerAsync || j.ScriptID != id || j.ScriptName != "worker" || j.Attempt != 1 ||
				len(j.Attempts) != 1 || j.Attempts[0].ExecutionID == "" || j.Attempts[0].Status != picloud.StatusSuccess {
				t.Fatalf("%s: job %+v", how, j)
			}
			l := e.execution(j.Attempts[0].ExecutionID)
			sb := seenBy(t, l)
			if l.Trigger != picloud.TriggerAsync || l.JobID != j.ID || l.Attempt != 1 || sb.Trigger != "async" ||
				sb.JobID != j.ID || sb.Attempt != 1 || sb.Method != wantMethod || sb.Path != wantPath {
				t.Errorf("%s: execution %+v saw %+v", how, l, sb)
			}
			if b, ok := sb.Body.(map[string]any); !ok || b["order"] != 7.0 {
				t.Errorf("%s: body %#v", how, sb.Body)
			}
			if _, ok := sb.Headers["authorization"]; ok {
				t.Errorf("%s: the admin token reached the script: %v", how, sb.Headers)
			}
			if sb.Headers["x-trace"] != "t-1" {
				t.Errorf("%s: headers %v", how, sb.Headers)
			}
			return j.ID
		}

		resp, b := e.request("PUT", "/fn/worker/sub?x=1", []byte(`{"order":7}`), "Prefer", "respond-async",
			"Content-Type", "application/json", "X-Trace", "t-1")
		if resp.Header.Get("Preference-Applied") != "respond-async" {
			t.Errorf("Preference-Applied = %q", resp.Header.Get("Preference-Applied"))
		}
		check("Prefer: respond-async", resp.StatusCode, b, resp.Header.Get("Location"), "", "PUT", "/fn/worker/sub")

		resp, b = e.request("POST", "/api/scripts/"+id+"/async", []byte(`{"order":7}`), "Authorization", "Bearer "+testToken,
			"Content-Type", "application/json", "X-Trace", "t-1")
		check("/api/scripts/{id}/async", resp.StatusCode, b, resp.Header.Get("Location"), "", "POST", "/fn/worker")

		// Idempotency-Key: the same job, also through the other route.
		var first, again, other picloud.JobAccepted
		resp, b = e.request("POST", "/api/scripts/"+id+"/async", []byte(`{}`), "Authorization", "Bearer "+testToken, "Idempotency-Key", "order-7")
		json.Unmarshal(b, &first)
		resp2, b2 := e.request("POST", "/fn/worker", []byte(`{}`), "Prefer", "respond-async", "Idempotency-Key", "order-7")
		json.Unmarshal(b2, &again)
		resp3, b3 := e.request("POST", "/api/scripts/"+id+"/async", []byte(`{}`), "Authorization", "Bearer "+testToken, "Idempotency-Key", "order-8")
		json.Unmarshal(b3, &other)
		if resp.StatusCode != 202 || resp2.StatusCode != 202 || resp3.StatusCode != 202 || first.JobID == "" ||
			again.JobID != first.JobID || !again.Existing || first.Existing || other.JobID == first.JobID {
			t.Errorf("idempotency: %d %s / %d %s / %d %s", resp.StatusCode, b, resp2.StatusCode, b2, resp3.StatusCode, b3)
		}
		if loc := resp2.Header.Get("Location"); loc != "/api/jobs/"+first.JobID {
			t.Errorf("repeated key's Location = %q", loc)
		}
		e.job(first.JobID, picloud.JobSucceeded)
		e.job(other.JobID, picloud.JobSucceeded)
		e.do("GET", "/api/jobs/999999999", nil, 404, nil)

		// A disabled script takes no asynchronous invocation.
		e.do("PUT", "/api/scripts/"+id, map[string]any{"enabled": false}, 200, nil)
		for _, r := range []struct{ path, hdr string }{{"/fn/worker", "Prefer"}, {"/api/scripts/" + id + "/async", "Authorization"}} {
			val := "respond-async"
			if r.hdr == "Authorization" {
				val = "Bearer " + testToken
			}
			if resp, b := e.request("POST", r.path, nil, r.hdr, val); resp.StatusCode != 503 || errCode(b) != "unavailable" {
				t.Errorf("async of a disabled script via %s = %d %s", r.path, resp.StatusCode, b)
			}
		}
	})
}

// TestRetryDeadLetter: a failing script is retried up to max_attempts, then
// is a dead letter; requeued it runs again; discarded it is gone.
func TestRetryDeadLetter(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{Jobs: jobsConfig()})
		id := e.create("flaky", `throw "boom " + request.attempt;`, "max_attempts", 2)
		var acc picloud.JobAccepted
		e.do("POST", "/api/scripts/"+id+"/async", map[string]any{"n": 1}, 202, &acc)
		j := e.job(acc.JobID, picloud.JobDead)
		if j.Attempt != 2 || j.MaxAttempts != 2 || len(j.Attempts) != 2 || len(j.Errors) != 2 {
			t.Fatalf("dead job = %+v", j)
		}
		for i, at := range j.Attempts {
			l := e.execution(at.ExecutionID)
			if at.Attempt != i+1 && at.Attempt != 2-i {
				t.Errorf("attempt %d: %+v", i, at)
			}
			if l.Status != picloud.StatusError || l.JobID != j.ID || l.Attempt != at.Attempt || l.Error == nil ||
				!strings.Contains(l.Error.Message, fmt.Sprintf("boom %d", at.Attempt)) {
				t.Errorf("attempt %d's execution: %+v %+v", at.Attempt, l, l.Error)
			}
		}
		if j.Request == nil || string(j.Request.Body) != `{"n":1}` {
			t.Errorf("dead letter's request = %+v", j.Request)
		}

		var dl struct{ Items []picloud.Job }
		e.do("GET", "/api/dead-letters", nil, 200, &dl)
		if len(dl.Items) != 1 || dl.Items[0].ID != j.ID {
			t.Fatalf("dead letters = %+v", dl.Items)
		}
		e.do("GET", "/api/dead-letters?script="+id, nil, 200, &dl)
		if len(dl.Items) != 1 {
			t.Errorf("dead letters of the script = %+v", dl.Items)
		}
		e.do("GET", "/api/dead-letters/"+j.ID, nil, 200, nil)

		// Fixed, then requeued: it runs again and succeeds.
		e.do("PUT", "/api/scripts/"+id, map[string]any{"source": `"fixed"`}, 200, nil)
		var rq picloud.Job
		e.do("POST", "/api/dead-letters/"+j.ID+"/requeue", nil, 200, &rq)
		if rq.State == picloud.JobDead {
			t.Errorf("requeued job = %+v", rq)
		}
		j = e.job(j.ID, picloud.JobSucceeded)
		if len(j.Attempts) != 3 || j.Attempts[len(j.Attempts)-1].Status != picloud.StatusSuccess &&
			j.Attempts[0].Status != picloud.StatusSuccess {
			t.Errorf("requeued job's attempts = %+v", j.Attempts)
		}
		e.do("GET", "/api/dead-letters", nil, 200, &dl)
		if len(dl.Items) != 0 {
			t.Errorf("dead letters after the requeue = %+v", dl.Items)
		}
		e.do("POST", "/api/dead-letters/"+j.ID+"/requeue", nil, 404, nil) // no longer dead

		// Another dead letter, discarded.
		e.do("PUT", "/api/scripts/"+id, map[string]any{"source": `throw "again"`, "max_attempts": 1}, 200, nil)
		e.do("POST", "/api/scripts/"+id+"/async", nil, 202, &acc)
		e.job(acc.JobID, picloud.JobDead)
		e.do("DELETE", "/api/dead-letters/"+acc.JobID, nil, 204, nil)
		e.do("GET", "/api/jobs/"+acc.JobID, nil, 404, nil)
		e.do("DELETE", "/api/dead-letters/"+acc.JobID, nil, 404, nil)
	})
}

// TestEventChain: a script's event reaches its subscribers only when it
// succeeded; a loop stops at the depth limit.
func TestEventChain(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		cfg := app.Config{Jobs: jobsConfig(), Executor: executor.Config{MaxEventDepth: 3}}
		e := newEnv(t, open(t), cfg)
		e.create("shop", `events::emit("order.created", #{id: 7, total: 12.5});
			if request.query.fail == "1" { throw "refused" }
			"ok"`)
		sub := e.create("mailer", triggerSource, "subscriptions", []string{"order.created"})
		other := e.create("bystander", triggerSource, "subscriptions", []string{"order.paid"})

		if resp, b := e.request("POST", "/fn/shop", nil); resp.StatusCode != 200 || string(b) != "ok" {
			t.Fatalf("shop = %d %s", resp.StatusCode, b)
		}
		l := e.logs(sub, 1)[0]
		sb := seenBy(t, e.execution(l["id"].(string)))
		if l["trigger"] != "event" || sb.Trigger != "event" || sb.Event == nil || sb.Event.Topic != "order.created" ||
			sb.Event.EmittedBy != "shop" || sb.Event.ID == "" || sb.Event.Payload["id"] != 7.0 || sb.Event.Payload["total"] != 12.5 ||
			sb.JobID == "" || sb.Attempt != 1 {
			t.Errorf("subscriber's run: %v saw %+v %+v", l, sb, sb.Event)
		}
		if b, ok := sb.Body.(map[string]any); !ok || b["id"] != 7.0 {
			t.Errorf("subscriber's body = %#v, want the payload", sb.Body)
		}

		// A failed execution's events are dropped.
		if resp, b := e.request("POST", "/fn/shop?fail=1", nil); resp.StatusCode != 500 {
			t.Fatalf("failing shop = %d %s", resp.StatusCode, b)
		}
		time.Sleep(500 * time.Millisecond)
		if n := len(e.logs(sub, 1)); n != 1 {
			t.Errorf("a failed execution's event was delivered: %d runs of the subscriber", n)
		}
		if n, _ := e.store.CountExecutions(context.Background(), other); n != 0 {
			t.Errorf("a script subscribed to another topic ran %d times", n)
		}

		// A loop: each run emits the event that triggers the next. With the
		// depth limit 3 the http run emits depth 1, the event runs of
		// depths 1 and 2 emit, and the run of depth 3 fails emitting.
		loop := e.create("looper", `events::emit("loop", #{}); "again"`, "subscriptions", []string{"loop"}, "max_attempts", 1)
		if resp, b := e.request("POST", "/fn/looper", nil); resp.StatusCode != 200 {
			t.Fatalf("looper = %d %s", resp.StatusCode, b)
		}
		rows := e.logs(loop, 4)
		time.Sleep(700 * time.Millisecond) // would a fifth run come?
		rows = e.logs(loop, 4)
		if len(rows) != 4 {
			t.Fatalf("the loop ran %d times, want 4", len(rows))
		}
		last := rows[0] // newest first
		errm, _ := last["error"].(map[string]any)
		if last["status"] != "error" || last["trigger"] != "event" || errm == nil ||
			!strings.Contains(fmt.Sprint(errm["message"]), "event chain depth limit (3)") {
			t.Errorf("the loop's last run = %v", last)
		}
		for _, r := range rows[1:] {
			if r["status"] != "success" {
				t.Errorf("a run before the limit: %v", r)
			}
		}
	})
}

// TestBackpressure: beyond --max-queued-per-script unfinished jobs an
// asynchronous invocation gets 429 queue_full with Retry-After.
func TestBackpressure(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		jc := jobsConfig()
		jc.MaxQueuedPerScript = 2
		e := newEnv(t, open(t), app.Config{Jobs: jc})
		// The consumer is slow: each run spins until its timeout.
		id := e.create("slow", `loop {}`, "timeout_ms", 1500, "max_operations", picloud.MaxOperationsLimit, "max_attempts", 1)
		fast := e.create("fast", `1`)
		for i := range 2 {
			if resp, b := e.request("POST", "/fn/slow", nil, "Prefer", "respond-async"); resp.StatusCode != 202 {
				t.Fatalf("async %d = %d %s", i, resp.StatusCode, b)
			}
		}
		resp, b := e.request("POST", "/fn/slow", nil, "Prefer", "respond-async")
		if resp.StatusCode != 429 || errCode(b) != "queue_full" || resp.Header.Get("Retry-After") == "" {
			t.Errorf("over the bound = %d %v %s", resp.StatusCode, resp.Header, b)
		}
		resp, b = e.request("POST", "/api/scripts/"+id+"/async", nil, "Authorization", "Bearer "+testToken)
		if resp.StatusCode != 429 || errCode(b) != "queue_full" {
			t.Errorf("over the bound via the API = %d %s", resp.StatusCode, b)
		}
		// The bound is per script.
		if resp, b := e.request("POST", "/api/scripts/"+fast+"/async", nil, "Authorization", "Bearer "+testToken); resp.StatusCode != 202 {
			t.Errorf("another script = %d %s", resp.StatusCode, b)
		}
		// Synchronous calls are not refused by it.
		if resp, b := e.request("GET", "/fn/fast", nil); resp.StatusCode != 200 {
			t.Errorf("sync call = %d %s", resp.StatusCode, b)
		}
	})
}

// TestStopRecordsRunningAttempts: Stop stops the job queue before the sink,
// so that an attempt running at shutdown finishes and its row reaches the
// store.
func TestStopRecordsRunningAttempts(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{Jobs: jobsConfig()})
		e.create("spin", `loop {}`, "timeout_ms", 400, "max_operations", picloud.MaxOperationsLimit, "max_attempts", 1)
		resp, b := e.request("POST", "/fn/spin", nil, "Prefer", "respond-async")
		var acc picloud.JobAccepted
		if json.Unmarshal(b, &acc); resp.StatusCode != 202 {
			t.Fatalf("async = %d %s", resp.StatusCode, b)
		}
		e.job(acc.JobID, picloud.JobRunning)
		if err := e.app.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		rows, err := e.store.QueryExecutions(context.Background(), picloud.ExecutionQuery{JobID: acc.JobID})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Status != picloud.StatusTimeout || rows[0].Attempt != 1 {
			t.Fatalf("rows of the attempt running at Stop: %+v", rows)
		}
	})
}
