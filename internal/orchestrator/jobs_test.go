package orchestrator

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
)

// fakeQueue records what the orchestrator asks of the job queue. enqueue
// and publish, when set, answer instead of the default (a new job; nil).
type fakeQueue struct {
	picloud.JobQueue // the other methods are not the orchestrator's
	enqueue          func(sc *picloud.Script, req *picloud.JobRequest, opts picloud.EnqueueOptions) (*picloud.Job, bool, error)
	publish          func(from *picloud.Script, events []picloud.Event) error

	mu        sync.Mutex
	enqueued  []enqueueCall
	published []publishCall
}

type enqueueCall struct {
	script  *picloud.Script
	req     *picloud.JobRequest
	opts    picloud.EnqueueOptions
	bounded bool // the context had a deadline within QueueTimeout
}

type publishCall struct {
	from    *picloud.Script
	events  []picloud.Event
	ctxDone bool // the context Publish got had ended
	bounded bool // it had a deadline within QueueTimeout
}

// bounded reports whether ctx ends within QueueTimeout from now.
func bounded(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && time.Until(d) <= QueueTimeout
}

func (q *fakeQueue) Enqueue(ctx context.Context, sc *picloud.Script, req *picloud.JobRequest, opts picloud.EnqueueOptions) (*picloud.Job, bool, error) {
	q.mu.Lock()
	q.enqueued = append(q.enqueued, enqueueCall{sc, req, opts, bounded(ctx)})
	n := len(q.enqueued)
	q.mu.Unlock()
	if q.enqueue != nil {
		return q.enqueue(sc, req, opts)
	}
	return &picloud.Job{ID: strings.Repeat("7", n), ScriptID: sc.ID}, false, nil
}

func (q *fakeQueue) Publish(ctx context.Context, from *picloud.Script, events []picloud.Event) error {
	q.mu.Lock()
	q.published = append(q.published, publishCall{from, events, ctx.Err() != nil, bounded(ctx)})
	q.mu.Unlock()
	if q.publish != nil {
		return q.publish(from, events)
	}
	return nil
}

func (q *fakeQueue) calls() ([]enqueueCall, []publishCall) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]enqueueCall(nil), q.enqueued...), append([]publishCall(nil), q.published...)
}

func TestDisabledScript(t *testing.T) {
	off := &picloud.Script{Name: "off", Source: `"ran"`, Disabled: true}
	e := newEnv(t, Config{}, newFakeStore(off, &picloud.Script{Name: "on", Source: `"ran"`}))
	q := &fakeQueue{}
	e.o.SetQueue(q)
	async := httptest.NewRequest("POST", "/fn/off", strings.NewReader("x"))
	async.Header.Set("Prefer", "respond-async")
	for _, r := range []*http.Request{
		httptest.NewRequest("GET", "/fn/off", nil),
		httptest.NewRequest("POST", "/fn/off/sub/path", strings.NewReader("x")),
		httptest.NewRequest("GET", "/api/execute/id-off", nil),
		async,
	} {
		w := e.do(r)
		if w.Code != 503 || errorCode(w.Body.Bytes()) != picloud.EUnavailable || !strings.Contains(w.Body.String(), `script \"off\" is disabled`) {
			t.Fatalf("%s %s: %d %s", r.Method, r.URL, w.Code, w.Body)
		}
	}
	if w := e.get("/fn/on"); w.Code != 200 {
		t.Fatalf("an enabled script: %d %s", w.Code, w.Body)
	}
	if enq, _ := q.calls(); len(enq) != 0 {
		t.Fatalf("a disabled script's async request was queued: %+v", enq)
	}
	_, err := e.o.RunJob(context.Background(), &picloud.JobRun{JobID: "1", Attempt: 1, ScriptID: "id-off", Trigger: picloud.TriggerAsync})
	if picloud.ErrorCode(err) != picloud.EUnavailable {
		t.Fatalf("RunJob of a disabled script: %v", err)
	}
	if rows := e.sink.waitRows(t, 1); len(rows) != 1 || rows[0].ScriptID != "id-on" {
		t.Fatalf("rows %+v: want the enabled script's only", rows)
	}
}

// TestQueueCallsBounded: queueing an async invocation and publishing
// events happen before the response, and on a cluster node they are calls
// to the manager: each is bounded by QueueTimeout, so a hung manager cannot
// hold the caller for the cluster client's whole timeout.
func TestQueueCallsBounded(t *testing.T) {
	e := newEnv(t, Config{}, newFakeStore(&picloud.Script{Name: "emit", Source: `events::emit("a.b", 1); "ok"`}))
	q := &fakeQueue{}
	e.o.SetQueue(q)
	if w := e.get("/fn/emit"); w.Code != 200 {
		t.Fatalf("/fn/emit: %d %s", w.Code, w.Body)
	}
	r := httptest.NewRequest("POST", "/fn/emit", nil)
	r.Header.Set("Prefer", "respond-async")
	if w := e.do(r); w.Code != 202 {
		t.Fatalf("async: %d %s", w.Code, w.Body)
	}
	enq, pub := q.calls()
	if len(pub) != 1 || !pub[0].bounded {
		t.Errorf("publish calls %+v: want one, with a deadline within %v", pub, QueueTimeout)
	}
	if len(enq) != 1 || !enq[0].bounded {
		t.Errorf("enqueue calls %+v: want one, with a deadline within %v", enq, QueueTimeout)
	}
}

func TestPreferAsyncParsing(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{"respond-async"}, true},
		{[]string{"Respond-Async"}, true},
		{[]string{" respond-async "}, true},
		{[]string{"wait=10, respond-async"}, true},
		{[]string{"return=minimal", "respond-async; foo=bar"}, true},
		{[]string{"respond-async=1"}, true},
		{[]string{`handling=lenient; note="a, respond-async", wait=5`}, false}, // inside a quoted value
		{[]string{`foo="x\", respond-async"`}, false},                          // an escaped quote keeps the string open
		{[]string{`foo="a,b",respond-async`}, true},
		{[]string{"respond-asynchronous"}, false},
		{[]string{"return=respond-async"}, false},
		{[]string{"wait=10"}, false},
	} {
		if got := preferAsync(http.Header{"Prefer": tc.values}); got != tc.want {
			t.Errorf("Prefer %q: %v, want %v", tc.values, got, tc.want)
		}
	}
}

func TestRespondAsync(t *testing.T) {
	e := newEnv(t, Config{MaxBodyBytes: 100}, newFakeStore(&picloud.Script{Name: "hello", Source: `"ran"`}))
	post := func(path, body string, h http.Header) *httptest.ResponseRecorder {
		r := httptest.NewRequest("PUT", path, strings.NewReader(body))
		for k, vs := range h {
			r.Header[k] = vs
		}
		return e.do(r)
	}
	// No queue: unavailable.
	if w := post("/fn/hello", "x", http.Header{"Prefer": {"respond-async"}}); w.Code != 503 || errorCode(w.Body.Bytes()) != picloud.EUnavailable {
		t.Fatalf("without a queue: %d %s", w.Code, w.Body)
	}

	q := &fakeQueue{}
	e.o.SetQueue(q)
	w := post("/fn/hello/orders/7?a=1&a=2", `{"n":1}`, http.Header{
		"Prefer":          {"wait=5, respond-async"},
		"Idempotency-Key": {"key-1"},
		"Content-Type":    {"application/json"},
		"Authorization":   {"Bearer pct_0123456789abcdef"},
		"X-Picloud-Key":   {"pck_secret"},
		"Cookie":          {"picloud_session=pcs_abc; theme=dark"},
		"X-Custom":        {"kept"},
	})
	if w.Code != 202 || w.Header().Get("Location") != "/api/jobs/7" || w.Header().Get("Preference-Applied") != "respond-async" {
		t.Fatalf("async: %d %v %s", w.Code, w.Header(), w.Body)
	}
	var acc picloud.JobAccepted
	if err := json.Unmarshal(w.Body.Bytes(), &acc); err != nil || acc.JobID != "7" || acc.Existing {
		t.Fatalf("body %s (%v)", w.Body, err)
	}
	enq, _ := q.calls()
	if len(enq) != 1 {
		t.Fatalf("enqueued %d", len(enq))
	}
	c := enq[0]
	if c.script.ID != "id-hello" || c.opts.Trigger != picloud.TriggerAsync || c.opts.IdempotencyKey != "key-1" {
		t.Fatalf("enqueue: script %s opts %+v", c.script.ID, c.opts)
	}
	r := c.req
	if r.Method != "PUT" || r.Path != "/fn/hello/orders/7" || r.Subpath != "/orders/7" || string(r.Body) != `{"n":1}` ||
		strings.Join(r.Query["a"], ",") != "1,2" {
		t.Fatalf("stored request %+v", r)
	}
	h := http.Header(r.Header)
	if h.Get("Authorization") != "" || h.Get("X-Picloud-Key") != "" || h.Get("Cookie") != "theme=dark" ||
		h.Get("X-Custom") != "kept" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("stored headers %v", h)
	}
	// Nothing ran: no row.
	if rows := e.sink.all(); len(rows) != 0 {
		t.Fatalf("rows %+v", rows)
	}

	// /api/execute too; a repeated key is the first job, existing.
	q.enqueue = func(sc *picloud.Script, req *picloud.JobRequest, opts picloud.EnqueueOptions) (*picloud.Job, bool, error) {
		return &picloud.Job{ID: "7"}, true, nil
	}
	w = post("/api/execute/id-hello", "", http.Header{"Prefer": {"respond-async"}, "Idempotency-Key": {"key-1"}})
	if err := json.Unmarshal(w.Body.Bytes(), &acc); w.Code != 202 || err != nil || acc.JobID != "7" || !acc.Existing {
		t.Fatalf("repeated key: %d %s", w.Code, w.Body)
	}
	if enq, _ := q.calls(); len(enq) != 2 || enq[1].req.Path != "/api/execute/id-hello" || len(enq[1].req.Body) != 0 {
		t.Fatalf("second enqueue %+v", enq[1].req)
	}

	// A key the queue would not take is refused before anything is queued,
	// with the rule /api/scripts/{id}/async applies (picloud.ValidIdempotencyKey).
	for _, key := range []string{strings.Repeat("k", picloud.MaxIdempotencyKeyBytes+1), "tab\there"} {
		w = post("/fn/hello", "x", http.Header{"Prefer": {"respond-async"}, "Idempotency-Key": {key}})
		if w.Code != 400 || errorCode(w.Body.Bytes()) != picloud.EInvalidRequest {
			t.Fatalf("bad key %q: %d %s", key, w.Code, w.Body)
		}
	}
	if enq, _ := q.calls(); len(enq) != 2 {
		t.Fatalf("a bad key was queued: %d calls", len(enq))
	}

	// A full queue: 429 with Retry-After.
	q.enqueue = func(*picloud.Script, *picloud.JobRequest, picloud.EnqueueOptions) (*picloud.Job, bool, error) {
		return nil, false, &picloud.Error{Code: picloud.EQueueFull, Message: "full", Details: map[string]any{"retry_after": 3}}
	}
	w = post("/fn/hello", "x", http.Header{"Prefer": {"respond-async"}})
	if w.Code != 429 || w.Header().Get("Retry-After") != "3" || errorCode(w.Body.Bytes()) != picloud.EQueueFull {
		t.Fatalf("queue full: %d %v %s", w.Code, w.Header(), w.Body)
	}

	// The body limit applies before anything is queued.
	n := len(func() []enqueueCall { c, _ := q.calls(); return c }())
	w = post("/fn/hello", strings.Repeat("x", 101), http.Header{"Prefer": {"respond-async"}})
	if w.Code != 413 {
		t.Fatalf("large body: %d %s", w.Code, w.Body)
	}
	if enq, _ := q.calls(); len(enq) != n {
		t.Fatal("a body over the limit was queued")
	}

	// Without the preference, the request runs as before.
	if w := post("/fn/hello", "x", http.Header{"Prefer": {"return=minimal"}}); w.Code != 200 || body(w.Body) != "ran" {
		t.Fatalf("sync: %d %s", w.Code, w.Body)
	}
}

// echoRequest answers with what the script saw of its trigger and request.
const echoRequest = `#{trigger: request.trigger, job_id: request.job_id, attempt: request.attempt,
	schedule: request.schedule, event: request.event, method: request.method, path: request.path,
	subpath: request.subpath, query: request.query, headers: request.headers, body: request.body}`

func TestRunJob(t *testing.T) {
	e := newEnv(t, Config{}, newFakeStore(&picloud.Script{Name: "echo", Source: echoRequest}))
	ctx := context.Background()
	seen := func(l *picloud.ExecutionLog) map[string]any {
		t.Helper()
		var v map[string]any
		if err := json.Unmarshal([]byte(l.Response.Body), &v); err != nil || l.Status != picloud.StatusSuccess {
			t.Fatalf("row %+v body %s (%v)", l, l.Response.Body, err)
		}
		return v
	}

	// An async run keeps its request.
	l, err := e.o.RunJob(ctx, &picloud.JobRun{JobID: "11", Attempt: 2, MaxAttempts: 3, ScriptID: "id-echo", Trigger: picloud.TriggerAsync,
		Request: &picloud.JobRequest{Method: "PUT", Path: "/fn/echo/x", Subpath: "/x", Query: map[string][]string{"q": {"1"}},
			Header: map[string][]string{"Content-Type": {"application/json"}, "X-A": {"b"}}, Body: []byte(`{"n":1}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Trigger != picloud.TriggerAsync || l.JobID != "11" || l.Attempt != 2 || l.ScheduleID != "" || l.ScriptID != "id-echo" {
		t.Fatalf("async row %+v", l)
	}
	v := seen(l)
	if v["trigger"] != "async" || v["job_id"] != "11" || v["attempt"] != 2.0 || v["method"] != "PUT" || v["path"] != "/fn/echo/x" ||
		v["subpath"] != "/x" || v["query"].(map[string]any)["q"] != "1" || v["headers"].(map[string]any)["x-a"] != "b" ||
		v["body"].(map[string]any)["n"] != 1.0 || v["schedule"] != nil || v["event"] != nil {
		t.Fatalf("async run saw %v", v)
	}

	// A cron run: POST /fn/{name}, its firing, its body (JSON read as JSON).
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	l, err = e.o.RunJob(ctx, &picloud.JobRun{JobID: "12", Attempt: 1, ScriptID: "id-echo", Trigger: picloud.TriggerCron,
		Request:  &picloud.JobRequest{Body: []byte(`{"report":"daily"}`)},
		Schedule: &picloud.ScheduleFiring{ID: "s1", Cron: "0 10 * * *", ScheduledAt: picloud.Time{Time: at}}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Trigger != picloud.TriggerCron || l.JobID != "12" || l.Attempt != 1 || l.ScheduleID != "s1" {
		t.Fatalf("cron row %+v", l)
	}
	v = seen(l)
	sched, _ := v["schedule"].(map[string]any)
	if v["trigger"] != "cron" || v["method"] != "POST" || v["path"] != "/fn/echo" || sched["id"] != "s1" ||
		sched["scheduled_at"] != "2026-12-06T10:00:00.000Z" || v["body"].(map[string]any)["report"] != "daily" {
		t.Fatalf("cron run saw %v", v)
	}

	// An event run without a request: the payload is the body.
	ev := &picloud.Event{ID: "e1", Topic: "order.created", Payload: json.RawMessage(`{"id":5}`), EmittedBy: "shop", Depth: 1}
	l, err = e.o.RunJob(ctx, &picloud.JobRun{JobID: "13", Attempt: 1, ScriptID: "id-echo", Trigger: picloud.TriggerEvent, Event: ev})
	if err != nil {
		t.Fatal(err)
	}
	v = seen(l)
	evv, _ := v["event"].(map[string]any)
	if l.Trigger != picloud.TriggerEvent || l.JobID != "13" || v["trigger"] != "event" || v["method"] != "POST" ||
		evv["topic"] != "order.created" || evv["emitted_by"] != "shop" || evv["payload"].(map[string]any)["id"] != 5.0 ||
		v["body"].(map[string]any)["id"] != 5.0 {
		t.Fatalf("event run: row %+v saw %v", l, v)
	}

	rows := e.sink.waitRows(t, 3)
	if rows[0].JobID != "11" || rows[1].ScheduleID != "s1" || rows[2].JobID != "13" {
		t.Fatalf("recorded rows %+v %+v %+v", rows[0], rows[1], rows[2])
	}

	// A failed run is a row, not an error.
	e2 := newEnv(t, Config{}, newFakeStore(&picloud.Script{Name: "boom", Source: `throw "no"`}))
	l, err = e2.o.RunJob(ctx, &picloud.JobRun{JobID: "14", Attempt: 3, ScriptID: "id-boom", Trigger: picloud.TriggerAsync})
	if err != nil || l.Status != picloud.StatusError || l.JobID != "14" || l.Attempt != 3 {
		t.Fatalf("failed run: %+v %v", l, err)
	}

	// A script that is gone: not_found, nothing recorded.
	if _, err := e2.o.RunJob(ctx, &picloud.JobRun{JobID: "15", Attempt: 1, ScriptID: "id-gone"}); picloud.ErrorCode(err) != picloud.ENotFound {
		t.Fatalf("gone: %v", err)
	}
	if n := len(e2.sink.all()); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}

// A run the gate cannot take is an error (overloaded) the queue retries
// later: nothing ran.
func TestRunJobOverloaded(t *testing.T) {
	e := newEnv(t, Config{MaxConcurrency: 1, GateWait: -1},
		newFakeStore(spinScript("spin"), &picloud.Script{Name: "hello", Source: `"hi"`}))
	cancel, held := e.hold("/fn/spin")
	defer func() { cancel(); <-held }()
	e.waitGate(t, 1, 0)
	l, err := e.o.RunJob(context.Background(), &picloud.JobRun{JobID: "1", Attempt: 1, ScriptID: "id-hello", Trigger: picloud.TriggerAsync})
	if picloud.ErrorCode(err) != picloud.EOverloaded || l != nil {
		t.Fatalf("RunJob on a full gate: %v %v", l, err)
	}
}

func TestPublishAfterSuccess(t *testing.T) {
	emit := func(name, tail string) *picloud.Script {
		return &picloud.Script{Name: name, Source: `events::emit("order.created", #{id: 5}); events::emit("order.paid", 1); ` + tail}
	}
	e := newEnv(t, Config{}, newFakeStore(emit("ok", `"done"`), emit("fails", `throw "no"`), &picloud.Script{Name: "quiet", Source: `"q"`}))
	ctx := context.Background()
	// Without a queue the events are dropped; the request succeeds.
	if w := e.get("/fn/ok"); w.Code != 200 {
		t.Fatalf("no queue: %d %s", w.Code, w.Body)
	}
	q := &fakeQueue{}
	e.o.SetQueue(q)
	// The row is recorded before the events are published: each publish
	// finds one more row of its script than the one before.
	rowsOf := func(id string) int {
		n := 0
		for _, l := range e.sink.all() {
			if l.ScriptID == id {
				n++
			}
		}
		return n
	}
	seen := rowsOf("id-ok")
	recorded := func(from *picloud.Script) {
		n := rowsOf(from.ID)
		if n <= seen {
			t.Errorf("published before the row of %s was recorded", from.Name)
		}
		seen = n
	}
	check := func(what string, n int) {
		t.Helper()
		if _, pub := q.calls(); len(pub) != n {
			t.Fatalf("%s: %d publish calls, want %d", what, len(pub), n)
		}
	}

	// A cancelled request's context does not stop the publishing.
	rctx, cancel := context.WithCancel(ctx)
	r := httptest.NewRequestWithContext(rctx, "GET", "/fn/ok", nil)
	q.publish = func(from *picloud.Script, events []picloud.Event) error { recorded(from); cancel(); return nil }
	if w := e.do(r); w.Code != 200 || body(w.Body) != "done" {
		t.Fatalf("http: %d %s", w.Code, w.Body)
	}
	check("http", 1)
	_, pub := q.calls()
	if p := pub[0]; p.from.ID != "id-ok" || len(p.events) != 2 || p.events[0].Topic != "order.created" ||
		string(p.events[0].Payload) != `{"id":5}` || p.events[0].EmittedBy != "ok" || p.events[1].Topic != "order.paid" || p.ctxDone {
		t.Fatalf("published %+v", p)
	}
	q.publish = func(from *picloud.Script, events []picloud.Event) error { recorded(from); return nil }

	// A failed execution's events are not published.
	if w := e.get("/fn/fails"); w.Code != 500 {
		t.Fatalf("fails: %d", w.Code)
	}
	check("failed http", 1)
	// No events, no call.
	e.get("/fn/quiet")
	check("quiet", 1)

	// Test invocations and job runs publish too; failures do not.
	if res, _, err := e.o.Invoke(ctx, "id-ok", &executor.Request{Method: "GET", Header: http.Header{}}); err != nil || res.Status != picloud.StatusSuccess {
		t.Fatalf("invoke: %v", err)
	}
	check("invoke", 2)
	e.o.Invoke(ctx, "id-fails", &executor.Request{Method: "GET", Header: http.Header{}})
	check("failed invoke", 2)
	if _, err := e.o.RunJob(ctx, &picloud.JobRun{JobID: "1", Attempt: 1, ScriptID: "id-ok", Trigger: picloud.TriggerAsync}); err != nil {
		t.Fatal(err)
	}
	check("job", 3)
	e.o.RunJob(ctx, &picloud.JobRun{JobID: "2", Attempt: 1, ScriptID: "id-fails", Trigger: picloud.TriggerAsync})
	check("failed job", 3)

	// An event run's events are one deeper.
	if _, err := e.o.RunJob(ctx, &picloud.JobRun{JobID: "3", Attempt: 1, ScriptID: "id-ok", Trigger: picloud.TriggerEvent,
		Event: &picloud.Event{ID: "e", Topic: "t", Payload: json.RawMessage(`1`), Depth: 4}}); err != nil {
		t.Fatal(err)
	}
	if _, pub := q.calls(); pub[3].events[0].Depth != 5 {
		t.Fatalf("depth %d, want 5", pub[3].events[0].Depth)
	}

	// A queue that fails: the events are lost, the response stands.
	q.publish = func(*picloud.Script, []picloud.Event) error { return picloud.Errorf(picloud.EUnavailable, "down") }
	if w := e.get("/fn/ok"); w.Code != 200 || body(w.Body) != "done" {
		t.Fatalf("publish failing: %d %s", w.Code, w.Body)
	}
}

// Invoke runs with trigger test, which the script sees.
func TestInvokeTrigger(t *testing.T) {
	e := newEnv(t, Config{}, newFakeStore(&picloud.Script{Name: "t", Source: `request.trigger`}))
	req := &executor.Request{Method: "GET", Header: http.Header{}}
	res, l, err := e.o.Invoke(context.Background(), "id-t", req)
	if err != nil || string(res.Response.Body) != "test" || l.Trigger != picloud.TriggerTest || req.Trigger != "" {
		t.Fatalf("invoke: %v %s %+v; caller's trigger %q", err, res.Response.Body, l, req.Trigger)
	}
	if w := e.get("/fn/t"); body(w.Body) != "http" {
		t.Fatalf("http: %s", w.Body)
	}
}
