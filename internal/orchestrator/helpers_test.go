package orchestrator

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/metrics"
	"github.com/picloud/picloud/internal/sqlite"
)

// fakeSink keeps the rows it is given. admit and record, when set, replace
// the default behaviour (room at once; keep the row) for failure injection.
type fakeSink struct {
	admit  func(ctx context.Context) error
	record func(ctx context.Context, l *picloud.ExecutionLog) error

	mu   sync.Mutex
	rows []*picloud.ExecutionLog
	got  chan struct{} // signalled on every row
}

func newFakeSink() *fakeSink { return &fakeSink{got: make(chan struct{}, 1000)} }

func (s *fakeSink) Admit(ctx context.Context) error {
	if s.admit != nil {
		return s.admit(ctx)
	}
	return nil
}

func (s *fakeSink) Record(ctx context.Context, l *picloud.ExecutionLog) error {
	if s.record != nil {
		if err := s.record(ctx, l); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.rows = append(s.rows, l)
	s.mu.Unlock()
	s.got <- struct{}{}
	return nil
}

func (s *fakeSink) all() []*picloud.ExecutionLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*picloud.ExecutionLog(nil), s.rows...)
}

// waitRows waits until the sink holds n rows.
func (s *fakeSink) waitRows(t *testing.T, n int) []*picloud.ExecutionLog {
	t.Helper()
	for {
		if rows := s.all(); len(rows) >= n {
			return rows
		}
		select {
		case <-s.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("the sink has %d rows, want %d", len(s.all()), n)
		}
	}
}

// fakeStore serves scripts from a map, or through script/byName when set
// (failure injection). The other ScriptStore methods are not used by the
// orchestrator (the embedded nil interface panics if they are).
type fakeStore struct {
	picloud.ScriptStore
	script func(ctx context.Context, id string) (*picloud.Script, error)
	byName func(ctx context.Context, name string) (*picloud.Script, error)

	mu      sync.Mutex
	scripts map[string]*picloud.Script // by id
}

func newFakeStore(scripts ...*picloud.Script) *fakeStore {
	s := &fakeStore{scripts: map[string]*picloud.Script{}}
	for _, sc := range scripts {
		s.put(sc)
	}
	return s
}

func (s *fakeStore) put(sc *picloud.Script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc.ID == "" {
		sc.ID = "id-" + sc.Name
	}
	if sc.Version == 0 {
		sc.Version = 1
	}
	s.scripts[sc.ID] = sc
}

func (s *fakeStore) Script(ctx context.Context, id string) (*picloud.Script, error) {
	if s.script != nil {
		return s.script(ctx, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc, ok := s.scripts[id]; ok {
		c := *sc
		return &c, nil
	}
	return nil, picloud.Errorf(picloud.ENotFound, "script %s not found", id)
}

func (s *fakeStore) ScriptByName(ctx context.Context, name string) (*picloud.Script, error) {
	if s.byName != nil {
		return s.byName(ctx, name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sc := range s.scripts {
		if sc.Name == name {
			c := *sc
			return &c, nil
		}
	}
	return nil, picloud.Errorf(picloud.ENotFound, "script %q not found", name)
}

// env is an orchestrator on a store and a fake sink.
type env struct {
	o       *Orchestrator
	sink    *fakeSink
	metrics *metrics.Metrics
}

func newEnv(t *testing.T, cfg Config, store picloud.ScriptStore) *env {
	t.Helper()
	m := metrics.New(nil)
	sink := newFakeSink()
	return &env{o: New(cfg, executor.New(executor.Config{}, nil), store, sink, m, nil), sink: sink, metrics: m}
}

// openSQLite opens a real store in a temporary directory.
func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// handler routes like the application does, for the two invocation routes.
func (e *env) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/execute/{id}", e.o.HandleExecute)
	mux.HandleFunc("/fn/{name}", e.o.HandleFn)
	mux.HandleFunc("/fn/{name}/{rest...}", e.o.HandleFn)
	return mux
}

// do serves one request in process.
func (e *env) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.handler().ServeHTTP(w, r)
	return w
}

func (e *env) get(path string) *httptest.ResponseRecorder {
	return e.do(httptest.NewRequest("GET", path, nil))
}

// errorCode is the code of an error body ("" when it is not one).
func errorCode(body []byte) string {
	var v struct {
		Error struct{ Code string } `json:"error"`
	}
	json.Unmarshal(body, &v)
	return v.Error.Code
}

// waitGate waits until the gate has running executions and waiting callers.
func (e *env) waitGate(t *testing.T, running, waiting int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, w, _ := e.o.gate.stats()
		if r == running && w == waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gate: %d running, %d waiting; want %d and %d", r, w, running, waiting)
		}
		time.Sleep(time.Millisecond)
	}
}

// spin is a script that runs until its caller goes away (or its generous
// limits end it): it holds a slot for as long as a test needs.
const spin = `let n = 0; loop { n += 1; }`

// spinScript is a script running spin.
func spinScript(name string) *picloud.Script {
	return &picloud.Script{Name: name, Source: spin, TimeoutMS: 60_000, MaxOperations: 1 << 62}
}

// hold starts a request to path that runs until the returned cancel is
// called; done is closed when its handler has returned.
func (e *env) hold(path string) (cancel func(), done chan *httptest.ResponseRecorder) {
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan *httptest.ResponseRecorder, 1)
	go func() {
		done <- e.do(httptest.NewRequestWithContext(ctx, "GET", path, nil))
	}()
	return cancel, done
}

func body(r io.Reader) string {
	b, _ := io.ReadAll(r)
	return strings.TrimSpace(string(b))
}

// value reads a counter or a gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	return d.GetCounter().GetValue() + d.GetGauge().GetValue()
}
