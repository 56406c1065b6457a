package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// fullRun is a job run with every part set, as a dispatcher sends it.
func fullRun() *picloud.JobRun {
	at := picloud.Time{Time: time.Date(2026, 12, 6, 11, 0, 0, 123e6, time.UTC)}
	return &picloud.JobRun{
		JobID: "job-1", Attempt: 2, MaxAttempts: 5, ScriptID: "script-1", Trigger: picloud.TriggerEvent,
		Request: &picloud.JobRequest{Method: "POST", Path: "/fn/worker", Subpath: "x/y",
			Query:  map[string][]string{"q": {"1", "2"}},
			Header: map[string][]string{"Content-Type": {"application/json"}, "X-Many": {"a", "b"}},
			Body:   []byte{0, 1, 2, 0xfe, 0xff, '\n'}},
		Schedule: &picloud.ScheduleFiring{ID: "sched-1", Cron: "*/5 * * * *", ScheduledAt: at},
		Event: &picloud.Event{ID: "ev-1", Topic: "order.created", Payload: json.RawMessage(`{"id":7,"tags":["a"]}`),
			EmittedBy: "shop", Depth: 3},
	}
}

// TestJobRunRoundTrips: a JobRun (which has no JSON tags of its own) and its
// parts arrive as they were sent.
func TestJobRunRoundTrips(t *testing.T) {
	for _, run := range []*picloud.JobRun{fullRun(), {JobID: "j", ScriptID: "s", Attempt: 1, Trigger: picloud.TriggerAsync}} {
		b, err := json.Marshal(run)
		if err != nil {
			t.Fatal(err)
		}
		var back picloud.JobRun
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&back, run) {
			t.Errorf("round trip of %s\ngave %+v\nwant %+v", b, &back, run)
		}
	}
}

// recordingRunner is a picloud.JobRunner that records the runs it got and
// answers a log, or the error it is told to. The orchestrator's RunJob is
// tested with the orchestrator; here the point is what crosses the wire.
type recordingRunner struct {
	mu   sync.Mutex
	runs []*picloud.JobRun
	err  error
}

func (r *recordingRunner) RunJob(ctx context.Context, run *picloud.JobRun) (*picloud.ExecutionLog, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, run)
	if r.err != nil {
		return nil, r.err
	}
	return &picloud.ExecutionLog{ID: "exec-" + run.JobID, ScriptID: run.ScriptID, ScriptVersion: 4, Trigger: run.Trigger,
		Status: picloud.StatusSuccess, StartedAt: picloud.Time{Time: time.Date(2026, 12, 6, 11, 0, 1, 0, time.UTC)},
		DurationMS: 2.25, Operations: 99, JobID: run.JobID, Attempt: run.Attempt, Node: "web-1:8001",
		Response: &picloud.ResponseRecord{Status: 200, Headers: map[string]string{"content-type": "text/plain"}, Body: "ok", BodySize: 2},
		Logs:     []picloud.LogLine{{Level: picloud.LevelInfo, Message: "ran", Data: json.RawMessage(`{"n":1}`)}},
	}, nil
}

// nodeServer serves RunHandler behind the token check, as a node mounts it,
// and a Client whose calls go to it (its decoding of answers is the one the
// dispatcher needs).
func nodeServer(t *testing.T, runner picloud.JobRunner) (*httptest.Server, *Client) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(PathRun, RequireToken(testToken, RunHandler(runner, nil), nil))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	c, err := NewClient(ClientConfig{ManagerURL: ts.URL, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	return ts, c
}

func TestRunHandlerRuns(t *testing.T) {
	runner := &recordingRunner{}
	_, c := nodeServer(t, runner)
	run := fullRun()
	var log picloud.ExecutionLog
	if err := c.call(context.Background(), http.MethodPost, PathRun, noReplay, run, &log); err != nil {
		t.Fatal(err)
	}
	if len(runner.runs) != 1 || !reflect.DeepEqual(runner.runs[0], run) {
		t.Fatalf("the runner got %+v, want %+v", runner.runs, run)
	}
	if log.ID != "exec-job-1" || log.JobID != "job-1" || log.Attempt != 2 || log.Node != "web-1:8001" ||
		log.Status != picloud.StatusSuccess || log.ScriptVersion != 4 || log.Response == nil || log.Response.Body != "ok" ||
		len(log.Logs) != 1 || string(log.Logs[0].Data) != `{"n":1}` || log.DurationMS != 2.25 {
		t.Errorf("answered log %+v", log)
	}
}

// TestRunHandlerErrors: when nothing ran, the runner's error comes back with
// its code, message and details.
func TestRunHandlerErrors(t *testing.T) {
	runner := &recordingRunner{}
	_, c := nodeServer(t, runner)
	ctx := context.Background()
	for _, sent := range []*picloud.Error{
		picloud.Errorf(picloud.ENotFound, "no script script-1"),
		picloud.Errorf(picloud.EUnavailable, "script \"worker\" is disabled"),
		{Code: picloud.EOverloaded, Message: "the node is at capacity", Details: map[string]any{"retry_after": 1.0}},
	} {
		runner.err = sent
		err := c.call(ctx, http.MethodPost, PathRun, noReplay, fullRun(), nil)
		var got *picloud.Error
		if !errors.As(err, &got) || got.Code != sent.Code || got.Message != sent.Message || !reflect.DeepEqual(got.Details, sent.Details) {
			t.Errorf("sent %#v, got %#v", sent, err)
		}
	}
	// An error that is not a *picloud.Error is internal, its text kept on
	// the node.
	runner.err = errors.New("disk on fire")
	err := c.call(ctx, http.MethodPost, PathRun, noReplay, fullRun(), nil)
	wantCode(t, "a plain error", err, picloud.EInternal)
	if strings.Contains(err.Error(), "fire") {
		t.Errorf("the internal error's text reached the manager: %v", err)
	}
}

func TestRunHandlerRefuses(t *testing.T) {
	runner := &recordingRunner{}
	ts, c := nodeServer(t, runner)
	ctx := context.Background()
	post := func(body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+PathRun, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for body, status := range map[string]int{
		"":                             http.StatusBadRequest,
		"{":                            http.StatusBadRequest,
		`{"JobID":"j"}`:                http.StatusBadRequest, // no script
		`{"JobID":"j","ScriptID":1}`:   http.StatusBadRequest,
		`{"JobID":"j","ScriptID":"s"}`: http.StatusOK,
		// A newer manager's field is ignored: rolling upgrades.
		`{"JobID":"j","ScriptID":"s","Priority":3}`: http.StatusOK,
	} {
		if resp := post(body); resp.StatusCode != status {
			t.Errorf("POST %q: %d, want %d", body, resp.StatusCode, status)
		}
	}
	if len(runner.runs) != 2 {
		t.Errorf("%d runs, want 2", len(runner.runs))
	}
	err := c.call(ctx, http.MethodGet, PathRun, replay, nil, nil)
	wantCode(t, "GET", err, picloud.EMethodNotAllowed)

	wrong, err := NewClient(ClientConfig{ManagerURL: ts.URL, Token: "another-token-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	err = wrong.call(ctx, http.MethodPost, PathRun, noReplay, fullRun(), nil)
	if !Refused(err) {
		t.Errorf("a wrong token: %v, want the 401 read as Refused", err)
	}
	if len(runner.runs) != 2 {
		t.Error("a run with a wrong token ran")
	}

	defer func(n int64) { maxRunBytes = n }(maxRunBytes)
	maxRunBytes = 64 << 10
	big := bytes.Repeat([]byte("a"), 64<<10)
	run := fullRun()
	run.Request.Body = big
	err = c.call(ctx, http.MethodPost, PathRun, noReplay, run, nil)
	wantCode(t, "a run over MaxRunBytes", err, picloud.EPayloadTooLarge)
}

// TestDispatchToRunHandler: the manager's Dispatcher (with its node list
// in a real store) and a node's RunHandler, end to end.
func TestDispatchToRunHandler(t *testing.T) {
	runner := &recordingRunner{}
	ts, _ := nodeServer(t, runner)
	store := storeKinds(t)[0].open(t)
	ctx := context.Background()
	if err := store.SaveNode(ctx, &picloud.Node{Name: "web-1", Address: ts.URL, Status: picloud.NodeOK,
		LastHeartbeat: picloud.Time{Time: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	d := NewDispatcher(DispatcherConfig{Token: testToken, Nodes: store})
	run := fullRun()
	log, err := d.RunJob(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if log.ID != "exec-job-1" || log.Node != "web-1:8001" || !reflect.DeepEqual(runner.runs[0], run) {
		t.Errorf("log %+v; the runner got %+v", log, runner.runs)
	}
	runner.err = picloud.Errorf(picloud.ENotFound, "no script script-1")
	_, err = d.RunJob(ctx, run)
	wantCode(t, "a job of a deleted script", err, picloud.ENotFound)
}
