package orchestrator

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
)

// GateWait > 0: a waiter gets the slot that frees up and runs.
func TestGateWaitGetsFreedSlot(t *testing.T) {
	e := newEnv(t, Config{MaxConcurrency: 1, GateWait: time.Hour},
		newFakeStore(spinScript("spin"), &picloud.Script{Name: "hello", Source: `"hi"`}))
	cancel, held := e.hold("/fn/spin")
	e.waitGate(t, 1, 0)
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- e.get("/fn/hello") }()
	e.waitGate(t, 1, 1)
	cancel()
	<-held
	w := <-done
	if w.Code != 200 || body(w.Body) != "hi" {
		t.Fatalf("the waiter got %d %s", w.Code, w.Body)
	}
}

// GateWait > 0: a waiter whose wait ends first gets 429 overloaded.
func TestGateWaitExpires(t *testing.T) {
	e := newEnv(t, Config{MaxConcurrency: 1, GateWait: 20 * time.Millisecond},
		newFakeStore(spinScript("spin"), &picloud.Script{Name: "hello", Source: `"hi"`}))
	cancel, held := e.hold("/fn/spin")
	defer func() { cancel(); <-held }()
	e.waitGate(t, 1, 0)
	w := e.get("/fn/hello")
	if w.Code != 429 || errorCode(w.Body.Bytes()) != picloud.EOverloaded {
		t.Fatalf("after the wait: %d %s", w.Code, w.Body)
	}
	if n := value(e.metrics.GateRejected.WithLabelValues(reasonServer)); n != 1 {
		t.Errorf("rejections for server = %v, want 1", n)
	}
	if _, waiting, _ := e.o.gate.stats(); waiting != 0 {
		t.Errorf("%d still waiting", waiting)
	}
}

// GateWait > 0: a waiter whose client goes away is released: it leaves the
// queue, nothing runs and no row is recorded.
func TestGateWaiterReleasedOnCancel(t *testing.T) {
	e := newEnv(t, Config{MaxConcurrency: 1, GateWait: time.Hour},
		newFakeStore(spinScript("spin"), &picloud.Script{Name: "hello", Source: `"hi"`}))
	cancelSpin, held := e.hold("/fn/spin")
	e.waitGate(t, 1, 0)
	cancelWaiter, waiter := e.hold("/fn/hello")
	e.waitGate(t, 1, 1)
	cancelWaiter()
	<-waiter
	e.waitGate(t, 1, 0)
	cancelSpin()
	<-held
	rows := e.sink.waitRows(t, 1)
	if len(rows) != 1 || rows[0].ScriptID != "id-spin" {
		t.Fatalf("rows: %d, first of %v; want only spin's", len(rows), rows[0].ScriptID)
	}
}

// The per-script share applies through the orchestrator too: with 2 slots a
// script without max_concurrency holds one, and a second caller of it is
// refused for the script while another script still runs.
func TestScriptShareThroughOrchestrator(t *testing.T) {
	e := newEnv(t, Config{MaxConcurrency: 2, GateWait: -1},
		newFakeStore(spinScript("spin"), &picloud.Script{Name: "hello", Source: `"hi"`}))
	cancel, held := e.hold("/fn/spin")
	defer func() { cancel(); <-held }()
	e.waitGate(t, 1, 0)
	if w := e.get("/fn/spin"); w.Code != 429 || !strings.Contains(w.Body.String(), `already running 1`) {
		t.Fatalf("second spin: %d %s", w.Code, w.Body)
	}
	if w := e.get("/fn/hello"); w.Code != 200 {
		t.Fatalf("hello beside spin: %d %s", w.Code, w.Body)
	}
	if n := value(e.metrics.GateRejected.WithLabelValues(reasonScript)); n != 1 {
		t.Errorf("rejections for script = %v, want 1", n)
	}
}

// A running execution reserves its script's memory budget; with a ceiling
// that fits one budget, a second execution is refused for memory.
func TestMemoryCeiling(t *testing.T) {
	spinBig := spinScript("spin")
	spinBig.MaxMemoryBytes = 1 << 30
	e := newEnv(t, Config{MaxConcurrency: 4, GateWait: -1, MemoryLimit: 3 << 30 / 2},
		newFakeStore(spinBig, &picloud.Script{Name: "other", Source: `"hi"`, MaxMemoryBytes: 1 << 30}))
	cancel, held := e.hold("/fn/spin")
	defer func() { cancel(); <-held }()
	e.waitGate(t, 1, 0)
	if _, _, reserved := e.o.gate.stats(); reserved != 1<<30 {
		t.Fatalf("reserved %d, want the script's budget", reserved)
	}
	if n := value(e.metrics.MemoryReserved); n != 1<<30 {
		t.Errorf("reserved gauge %v", n)
	}
	w := e.get("/fn/other")
	if w.Code != 429 || errorCode(w.Body.Bytes()) != picloud.EOverloaded || !strings.Contains(w.Body.String(), "memory") {
		t.Fatalf("second execution: %d %s", w.Code, w.Body)
	}
	if n := value(e.metrics.GateRejected.WithLabelValues(reasonMemory)); n != 1 {
		t.Errorf("rejections for memory = %v, want 1", n)
	}
}

// A stored script that no longer compiles (the compiler got stricter) runs
// as a script_error with the compile error's kind and position, and its row
// is recorded.
func TestStoredScriptNoLongerCompiles(t *testing.T) {
	store := openSQLite(t)
	sc := &picloud.Script{Name: "broken", Source: "let x = 1;\nlet y = ;"}
	if err := store.CreateScript(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Config{}, store)
	for _, path := range []string{"/fn/broken", "/api/execute/" + sc.ID} {
		w := e.get(path)
		if w.Code != 500 || errorCode(w.Body.Bytes()) != picloud.EScriptError {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		if strings.Contains(w.Body.String(), "let y") || strings.Contains(w.Body.String(), "line") {
			t.Errorf("%s: the public answer leaks the error: %s", path, w.Body)
		}
	}
	rows := e.sink.waitRows(t, 2)
	xe := rows[0].Error
	if rows[0].Status != picloud.StatusError || xe == nil || !strings.HasPrefix(xe.Kind, "ErrorParsing") || xe.Line != 2 || xe.Column == 0 {
		t.Fatalf("row: status %s, error %+v", rows[0].Status, xe)
	}
}

// When the store fails, the cached script keeps being served (stale) and
// counted; a name never seen fails; not_found drops the entry.
func TestStaleCacheWhenStoreFails(t *testing.T) {
	store := newFakeStore(&picloud.Script{Name: "hello", Source: `"hi"`})
	e := newEnv(t, Config{CacheTTL: time.Nanosecond}, store)
	if w := e.get("/fn/hello"); w.Code != 200 {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	down := errors.New("connection refused")
	var mu sync.Mutex
	fail := true
	failing := func() bool { mu.Lock(); defer mu.Unlock(); return fail }
	store.byName = func(ctx context.Context, name string) (*picloud.Script, error) {
		if failing() {
			return nil, down
		}
		return nil, picloud.Errorf(picloud.ENotFound, "script %q not found", name)
	}
	store.script = func(ctx context.Context, id string) (*picloud.Script, error) { return nil, down }
	for i := range 3 {
		time.Sleep(time.Millisecond) // past the TTL
		if w := e.get("/fn/hello"); w.Code != 200 || body(w.Body) != "hi" {
			t.Fatalf("stale %d: %d %s", i, w.Code, w.Body)
		}
	}
	if w := e.get("/api/execute/id-hello"); w.Code != 200 {
		t.Fatalf("stale by id: %d %s", w.Code, w.Body)
	}
	if n := value(e.metrics.CacheStale); n < 3 {
		t.Errorf("stale servings counted %v, want at least 3", n)
	}
	if w := e.get("/fn/never-seen"); w.Code == 200 || errorCode(w.Body.Bytes()) != picloud.EInternal || strings.Contains(w.Body.String(), "refused") {
		t.Fatalf("a name never seen while the store is down: %d %s", w.Code, w.Body)
	}

	mu.Lock()
	fail = false // the store is back, and says the script is gone
	mu.Unlock()
	time.Sleep(time.Millisecond)
	if w := e.get("/fn/hello"); w.Code != 404 {
		t.Fatalf("after the store said not_found: %d %s", w.Code, w.Body)
	}
}

// A client that disconnects mid-run ends the execution; its row is still
// recorded.
func TestClientDisconnectMidRun(t *testing.T) {
	e := newEnv(t, Config{}, newFakeStore(spinScript("spin")))
	srv := httptest.NewServer(e.handler())
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/fn/spin", nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	e.waitGate(t, 1, 0)
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("the request succeeded")
	}
	rows := e.sink.waitRows(t, 1)
	if rows[0].ScriptID != "id-spin" || rows[0].Status == picloud.StatusSuccess || rows[0].Operations == 0 {
		t.Fatalf("row: %+v", rows[0])
	}
	e.waitGate(t, 0, 0)
}

// A streamed body (no Content-Length) over the limit is 413, and the script
// does not run.
func TestStreamedBodyOverLimit(t *testing.T) {
	e := newEnv(t, Config{MaxBodyBytes: 1000}, newFakeStore(&picloud.Script{Name: "echo", Source: `request.body`}))
	srv := httptest.NewServer(e.handler())
	defer srv.Close()
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(strings.Repeat("x", 1500)))
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/fn/echo", pr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// A pipe has no length: the client sends the body chunked.
	if resp.StatusCode != 413 || errorCode(b) != picloud.EPayloadTooLarge {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if n := len(e.sink.all()); n != 0 {
		t.Errorf("%d rows for a refused request", n)
	}
	// Within the limit, streamed, it runs.
	resp, err = http.Post(srv.URL+"/fn/echo", "text/plain", io.MultiReader(strings.NewReader("small")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "small" {
		t.Fatalf("small streamed body: %d %s", resp.StatusCode, b)
	}
}

// The row goes to the sink before the response is written: a slow sink
// delays the answer, the answer never precedes the row.
func TestRecordBeforeRespond(t *testing.T) {
	var mu sync.Mutex
	var events []string
	note := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
	e := newEnv(t, Config{}, newFakeStore(&picloud.Script{Name: "hello", Source: `"hi"`}, &picloud.Script{Name: "fails", Source: `throw "no"`}))
	e.sink.record = func(context.Context, *picloud.ExecutionLog) error { note("record"); return nil }
	w := &orderWriter{ResponseRecorder: httptest.NewRecorder(), note: note}
	e.handler().ServeHTTP(w, httptest.NewRequest("GET", "/fn/hello", nil))
	if strings.Join(events, ",") != "record,write" {
		t.Fatalf("events %v", events)
	}
	// A failed execution too.
	events = nil
	w = &orderWriter{ResponseRecorder: httptest.NewRecorder(), note: note}
	e.handler().ServeHTTP(w, httptest.NewRequest("GET", "/fn/fails", nil))
	if strings.Join(events, ",") != "record,write" || w.Code != 500 {
		t.Fatalf("failed execution: %d, events %v", w.Code, events)
	}
	// A request that runs nothing writes without a row.
	events = nil
	w = &orderWriter{ResponseRecorder: httptest.NewRecorder(), note: note}
	e.handler().ServeHTTP(w, httptest.NewRequest("GET", "/fn/missing-thing", nil))
	if len(events) != 1 || events[0] != "write" {
		t.Fatalf("not found: events %v (no row for a script that does not exist)", events)
	}
}

type orderWriter struct {
	*httptest.ResponseRecorder
	note  func(string)
	wrote bool
}

func (w *orderWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.note("write")
	}
	w.ResponseRecorder.WriteHeader(code)
}

func (w *orderWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(200)
	}
	return w.ResponseRecorder.Write(b)
}

// A full journal (Admit failing) is 503 unavailable and nothing runs.
func TestJournalFull(t *testing.T) {
	e := newEnv(t, Config{GateWait: 10 * time.Millisecond}, newFakeStore(&picloud.Script{Name: "hello", Source: `"hi"`}))
	calls := 0
	e.sink.admit = func(ctx context.Context) error {
		calls++
		<-ctx.Done()
		return picloud.Errorf(picloud.EUnavailable, "the execution log is full")
	}
	w := e.get("/fn/hello")
	if w.Code != 503 || errorCode(w.Body.Bytes()) != picloud.EUnavailable {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if calls != 2 || len(e.sink.all()) != 0 {
		t.Fatalf("admit called %d times, %d rows", calls, len(e.sink.all()))
	}
}

// The sandbox CSP is dropped only for a script that asks, on the functions
// origin's host; everywhere else it is sent.
func TestFunctionsOrigin(t *testing.T) {
	store := newFakeStore(
		&picloud.Script{Name: "free", Source: `"page"`, Unsandboxed: true},
		&picloud.Script{Name: "boxed", Source: `"page"`})
	for _, tc := range []struct {
		origin, host, script string
		sandbox              bool
	}{
		{"", "example.com", "free", true},
		{"https://fn.example.com", "example.com", "free", true},
		{"https://fn.example.com", "fn.example.com", "free", false},
		{"https://fn.example.com", "fn.example.com", "boxed", true},
	} {
		e := newEnv(t, Config{FunctionsOrigin: tc.origin}, store)
		r := httptest.NewRequest("GET", "/fn/"+tc.script, nil)
		r.Host = tc.host
		w := e.do(r)
		got := strings.Contains(strings.Join(w.Header().Values("Content-Security-Policy"), ","), "sandbox")
		if w.Code != 200 || got != tc.sandbox || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%+v: %d, CSP %q", tc, w.Code, w.Header().Values("Content-Security-Policy"))
		}
	}
}

// Invoke (the manager's test run) records its row with trigger test and
// redacts credentials like the public routes.
func TestInvokeRecords(t *testing.T) {
	e := newEnv(t, Config{}, newFakeStore(&picloud.Script{Name: "hello", Source: `request.headers`}))
	res, l, err := e.o.Invoke(context.Background(), "id-hello", &executor.Request{
		Method: "POST", Path: "/fn/hello", Header: http.Header{"Authorization": {"Bearer pct_secret"}, "X-Ok": {"1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != picloud.StatusSuccess || l.Trigger != picloud.TriggerTest {
		t.Fatalf("result %s, trigger %s", res.Status, l.Trigger)
	}
	if strings.Contains(string(res.Response.Body), "pct_secret") {
		t.Errorf("the script saw the credential: %s", res.Response.Body)
	}
	rows := e.sink.waitRows(t, 1)
	if h := rows[0].Request.Headers; h["authorization"] != redacted || h["x-ok"] != "1" {
		t.Errorf("recorded headers %v", h)
	}
}

// A client that sends its headers but not its body gets 400 once the body
// read deadline passes, and nothing runs.
func TestBodyReadDeadline(t *testing.T) {
	e := newEnv(t, Config{BodyReadTimeout: 50 * time.Millisecond}, newFakeStore(&picloud.Script{Name: "echo", Source: `request.body`}))
	srv := httptest.NewServer(e.handler())
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /fn/echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nabc")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || errorCode(b) != picloud.EInvalidRequest || !strings.Contains(string(b), "did not arrive") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if n := len(e.sink.all()); n != 0 {
		t.Errorf("%d rows", n)
	}
}
