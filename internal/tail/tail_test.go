package tail_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/sqlite"
	"github.com/picloud/picloud/internal/tail"
)

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func row(script string, i int) *picloud.ExecutionLog {
	id, _ := uuid.NewV7()
	return &picloud.ExecutionLog{ID: id.String(), ScriptID: script, ScriptVersion: 1, Trigger: picloud.TriggerHTTP,
		Status: picloud.StatusSuccess, StartedAt: picloud.Time{Time: base.Add(time.Duration(i) * time.Second)},
		Request:  &picloud.RequestRecord{Method: "POST", Path: "/fn/x", Body: "secret request body", BodySize: 19},
		Response: &picloud.ResponseRecord{Status: 200, Body: "response body", BodySize: 13},
		Logs:     []picloud.LogLine{{Level: "info", Message: fmt.Sprint("line ", i)}}}
}

func TestHubDeliversAndDrops(t *testing.T) {
	var subs atomic.Int64
	var dropped atomic.Int64
	h := tail.NewHub(tail.Config{Buffer: 2, OnSubscribers: func(n int) { subs.Store(int64(n)) }, OnDropped: func() { dropped.Add(1) }})
	all := h.Subscribe(tail.Filter{})
	onlyB := h.Subscribe(tail.Filter{ScriptID: "b"})
	if subs.Load() != 2 {
		t.Fatalf("subscribers = %d", subs.Load())
	}
	a1, b1 := row("a", 1), row("b", 2)
	h.Publish([]*picloud.ExecutionLog{a1, b1})
	if got := <-all.C; got != a1 {
		t.Fatalf("first row %v", got.ID)
	}
	if got := <-all.C; got != b1 {
		t.Fatalf("second row %v", got.ID)
	}
	if got := <-onlyB.C; got != b1 {
		t.Fatalf("filtered row %v", got.ID)
	}
	// all has room for 2: the third row drops it, without blocking Publish;
	// onlyB sees none of the a rows and stays.
	h.Publish([]*picloud.ExecutionLog{row("a", 3), row("a", 4), row("a", 5)})
	select {
	case <-all.Dropped:
	default:
		t.Fatal("a full subscriber was not dropped")
	}
	select {
	case <-onlyB.Dropped:
		t.Fatal("a subscriber with room was dropped")
	default:
	}
	if dropped.Load() != 1 || subs.Load() != 1 || h.Subscribers() != 1 {
		t.Fatalf("dropped %d, subscribers %d/%d", dropped.Load(), subs.Load(), h.Subscribers())
	}
	// A dropped subscriber gets nothing more; Close after a drop is fine.
	h.Publish([]*picloud.ExecutionLog{row("a", 6)})
	if n := len(all.C); n != 2 {
		t.Fatalf("the dropped subscriber holds %d rows, want the 2 before the drop", n)
	}
	all.Close()
	onlyB.Close()
	onlyB.Close()
	if subs.Load() != 0 || h.Subscribers() != 0 {
		t.Fatalf("subscribers after Close: %d", h.Subscribers())
	}
}

// event is one parsed server-sent event (or a comment).
type event struct {
	id, name, data, comment string
	retry                   string
}

// reader parses a text/event-stream.
type reader struct {
	t  *testing.T
	br *bufio.Reader
}

func (r *reader) next() event {
	r.t.Helper()
	var e event
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			r.t.Fatalf("stream ended (%v) in %+v", err, e)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			return e
		}
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimPrefix(v, " ")
		switch k {
		case "":
			e.comment = v
		case "id":
			e.id = v
		case "event":
			e.name = v
		case "data":
			e.data = v
		case "retry":
			e.retry = v
		}
	}
}

// nextExecution skips pings.
func (r *reader) nextExecution() (event, *picloud.ExecutionLog) {
	r.t.Helper()
	for {
		e := r.next()
		if e.comment == "ping" {
			continue
		}
		if e.name != "execution" {
			r.t.Fatalf("event %+v, want an execution", e)
		}
		var l picloud.ExecutionLog
		if err := json.Unmarshal([]byte(e.data), &l); err != nil {
			r.t.Fatalf("data %q: %v", e.data, err)
		}
		return e, &l
	}
}

type fixture struct {
	hub   *tail.Hub
	store *sqlite.Store
	srv   *httptest.Server
	ts    *tail.Server
}

func newFixture(t *testing.T, ping time.Duration) *fixture {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{hub: tail.NewHub(tail.Config{}), store: st}
	f.ts = &tail.Server{Hub: f.hub, Store: st, PingEvery: ping}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.ts.Serve(w, r, r.URL.Query().Get("script"))
	}))
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.ts.Close)
	return f
}

func (f *fixture) open(t *testing.T, query string, header http.Header) *reader {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+"/?"+query, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := &reader{t: t, br: bufio.NewReader(resp.Body)}
	if e := r.next(); e.retry != "2000" {
		t.Fatalf("first event %+v, want retry: 2000", e)
	}
	return r
}

// waitSubscribers waits until n streams subscribed (a published row reaches
// only the streams subscribed by then).
func (f *fixture) waitSubscribers(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); f.hub.Subscribers() != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers, want %d", f.hub.Subscribers(), n)
		}
	}
}

func TestStreamEvents(t *testing.T) {
	f := newFixture(t, time.Hour)
	all := f.open(t, "", nil)
	onlyB := f.open(t, "script=b", nil)
	f.waitSubscribers(t, 2)
	a1, b1 := row("a", 1), row("b", 2)
	f.hub.Publish([]*picloud.ExecutionLog{a1, b1})
	for _, want := range []*picloud.ExecutionLog{a1, b1} {
		e, l := all.nextExecution()
		if e.id != want.ID || l.ID != want.ID || l.ScriptID != want.ScriptID || len(l.Logs) != 1 || l.Logs[0].Message != want.Logs[0].Message {
			t.Fatalf("event %+v, want %s", e, want.ID)
		}
		// The request line and sizes stay; the bodies do not.
		if l.Request == nil || l.Request.Method != "POST" || l.Request.Path != "/fn/x" || l.Request.Body != "" || l.Request.BodySize != 19 ||
			l.Response == nil || l.Response.Status != 200 || l.Response.Body != "" {
			t.Fatalf("summary %+v %+v", l.Request, l.Response)
		}
	}
	if e, _ := onlyB.nextExecution(); e.id != b1.ID {
		t.Fatalf("filtered stream got %s, want %s", e.id, b1.ID)
	}
	// The stored row is not changed by the summary.
	if a1.Request.Body != "secret request body" {
		t.Fatal("Summary changed the published row")
	}
}

func TestStreamPings(t *testing.T) {
	f := newFixture(t, 10*time.Millisecond)
	r := f.open(t, "", nil)
	for range 2 {
		if e := r.next(); e.comment != "ping" {
			t.Fatalf("event %+v, want a ping", e)
		}
	}
}

func TestStreamResumes(t *testing.T) {
	f := newFixture(t, time.Hour)
	rows := []*picloud.ExecutionLog{row("a", 1), row("b", 2), row("a", 3), row("a", 4)}
	// Two rows of the same instant: the id orders them.
	same := row("a", 4)
	rows = append(rows, same)
	if err := f.store.InsertExecutions(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	r := f.open(t, "script=a", http.Header{"Last-Event-Id": {rows[0].ID}})
	for _, want := range []*picloud.ExecutionLog{rows[2], rows[3], same} {
		if e, _ := r.nextExecution(); e.id != want.ID {
			t.Fatalf("resumed %s, want %s", e.id, want.ID)
		}
	}
	// Then live rows; one already resumed is not sent twice.
	f.waitSubscribers(t, 1)
	live := row("a", 9)
	f.hub.Publish([]*picloud.ExecutionLog{same, live})
	if e, _ := r.nextExecution(); e.id != live.ID {
		t.Fatalf("live %s, want %s", e.id, live.ID)
	}
	// The query parameter works as the header does, for every script.
	all := f.open(t, "last_event_id="+rows[2].ID, nil)
	for _, want := range []*picloud.ExecutionLog{rows[3], same} {
		if e, _ := all.nextExecution(); e.id != want.ID {
			t.Fatalf("resumed %s, want %s", e.id, want.ID)
		}
	}
	// An unknown id resumes nothing: the next event is live.
	unknown := f.open(t, "", http.Header{"Last-Event-Id": {uuid.NewString()}})
	f.waitSubscribers(t, 3)
	live2 := row("b", 10)
	f.hub.Publish([]*picloud.ExecutionLog{live2})
	if e, _ := unknown.nextExecution(); e.id != live2.ID {
		t.Fatalf("after an unknown id got %s, want %s", e.id, live2.ID)
	}
}

func TestStreamResumeLimit(t *testing.T) {
	f := newFixture(t, time.Hour)
	var rows []*picloud.ExecutionLog
	for i := range tail.ResumeLimit + 20 {
		rows = append(rows, row("a", i))
	}
	if err := f.store.InsertExecutions(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	r := f.open(t, "", http.Header{"Last-Event-Id": {rows[0].ID}})
	// The newest ResumeLimit, oldest first.
	for _, want := range rows[20:] {
		if e, _ := r.nextExecution(); e.id != want.ID {
			t.Fatalf("resumed %s, want %s", e.id, want.ID)
		}
	}
}

// blockedWriter is a ResponseWriter whose writes after the first wait until
// released: a consumer that does not read.
type blockedWriter struct {
	mu      sync.Mutex
	header  http.Header
	buf     strings.Builder
	writes  int
	release chan struct{}
	blocked chan struct{}
}

func (w *blockedWriter) Header() http.Header { return w.header }
func (w *blockedWriter) WriteHeader(int)     {}
func (w *blockedWriter) Flush()              {}
func (w *blockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	n := w.writes
	w.mu.Unlock()
	if n == 2 {
		close(w.blocked)
		<-w.release
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func TestStreamDropsSlowConsumer(t *testing.T) {
	var dropped atomic.Int64
	hub := tail.NewHub(tail.Config{Buffer: 1, OnDropped: func() { dropped.Add(1) }})
	ts := &tail.Server{Hub: hub, PingEvery: time.Hour}
	w := &blockedWriter{header: http.Header{}, release: make(chan struct{}), blocked: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ts.Serve(w, httptest.NewRequest("GET", "/", nil), "")
	}()
	for hub.Subscribers() != 1 {
		time.Sleep(time.Millisecond)
	}
	first := row("a", 1)
	hub.Publish([]*picloud.ExecutionLog{first})
	<-w.blocked // the stream is stuck writing the first row
	hub.Publish([]*picloud.ExecutionLog{row("a", 2), row("a", 3)})
	if dropped.Load() != 1 {
		t.Fatalf("dropped = %d, want 1", dropped.Load())
	}
	close(w.release)
	<-done
	out := w.buf.String()
	if !strings.HasSuffix(out, "event: dropped\ndata: {\"reason\":\"slow consumer\"}\n\n") || !strings.Contains(out, "id: "+first.ID+"\n") {
		t.Fatalf("stream:\n%s", out)
	}
	if hub.Subscribers() != 0 {
		t.Fatal("the dropped stream is still subscribed")
	}
}

func TestCloseEndsStreams(t *testing.T) {
	f := newFixture(t, time.Hour)
	r := f.open(t, "", nil)
	f.waitSubscribers(t, 1)
	f.ts.Close()
	if _, err := io.ReadAll(r.br); err != nil {
		t.Fatalf("stream after Close: %v", err)
	}
	f.waitSubscribers(t, 0)
}
