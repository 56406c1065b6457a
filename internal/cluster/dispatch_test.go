package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// dspNode is a node's run route on loopback: behind the cluster token, it
// decodes the attempt and answers what its runner says.
type dspNode struct {
	name string
	hs   *httptest.Server
	mu   sync.Mutex
	runs []*picloud.JobRun
	// fail, when set, is the error the node answers instead of running.
	fail error
}

func dspStartNode(t *testing.T, name, token string) *dspNode {
	t.Helper()
	n := &dspNode{name: name}
	run := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var run picloud.JobRun
		if err := json.NewDecoder(r.Body).Decode(&run); err != nil {
			httpapi.WriteError(w, r, nil, picloud.Errorf(picloud.EInvalidRequest, "%v", err))
			return
		}
		n.mu.Lock()
		fail := n.fail
		if fail == nil {
			n.runs = append(n.runs, &run)
		}
		n.mu.Unlock()
		if fail != nil {
			httpapi.WriteError(w, r, nil, fail)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, &picloud.ExecutionLog{ID: run.JobID + "@" + n.name, ScriptID: run.ScriptID,
			JobID: run.JobID, Attempt: run.Attempt, Trigger: run.Trigger, Status: picloud.StatusSuccess, Node: n.name})
	})
	mux := http.NewServeMux()
	mux.Handle("POST "+PathRun, RequireToken(token, run, nil))
	n.hs = httptest.NewServer(mux)
	t.Cleanup(n.hs.Close)
	return n
}

func (n *dspNode) setFail(err error) {
	n.mu.Lock()
	n.fail = err
	n.mu.Unlock()
}

func (n *dspNode) ran() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.runs)
}

// dspRegister saves n as the manager does on a heartbeat.
func dspRegister(t *testing.T, st picloud.NodeStore, name, address, status string, heartbeat time.Time) {
	t.Helper()
	err := st.SaveNode(context.Background(), &picloud.Node{Name: name, Address: address, Status: status,
		LastHeartbeat: picloud.Time{Time: heartbeat}})
	if err != nil {
		t.Fatal(err)
	}
}

// dspResults counts OnDispatch's results.
type dspResults struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *dspResults) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[s]++
}

func (r *dspResults) get(s string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[s]
}

func dspRun(i int) *picloud.JobRun {
	return &picloud.JobRun{JobID: "job-" + string(rune('a'+i)), Attempt: 1, MaxAttempts: 3, ScriptID: "s1", Trigger: picloud.TriggerAsync,
		Request: &picloud.JobRequest{Method: "POST", Path: "/fn/x", Body: []byte("hi")}}
}

func TestDispatcherSpreadsAndFailsOver(t *testing.T) {
	st := srvStore(t)
	a, b := dspStartNode(t, "a", srvToken), dspStartNode(t, "b", srvToken)
	now := time.Now()
	dspRegister(t, st, "a", a.hs.URL, picloud.NodeOK, now)
	dspRegister(t, st, "b", b.hs.URL+"/", picloud.NodeDegraded, now) // degraded still runs jobs
	var res dspResults
	d := NewDispatcher(DispatcherConfig{Token: srvToken, Nodes: st, OnDispatch: res.add})
	ctx := context.Background()

	for i := 0; i < 10; i++ {
		log, err := d.RunJob(ctx, dspRun(i))
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if log.JobID != dspRun(i).JobID || log.Status != picloud.StatusSuccess || (log.Node != "a" && log.Node != "b") {
			t.Fatalf("run %d answered %+v", i, log)
		}
	}
	if a.ran() != 5 || b.ran() != 5 {
		t.Fatalf("round-robin ran %d on a, %d on b, want 5 and 5", a.ran(), b.ran())
	}
	// The attempt arrives whole.
	b.mu.Lock()
	got := b.runs[0]
	b.mu.Unlock()
	if got.ScriptID != "s1" || got.Trigger != picloud.TriggerAsync || got.MaxAttempts != 3 || string(got.Request.Body) != "hi" {
		t.Fatalf("node got %+v", got)
	}

	// b goes away: its attempt goes to a in the same call, and b is left
	// alone afterwards.
	b.hs.Close()
	for i := 10; i < 16; i++ {
		log, err := d.RunJob(ctx, dspRun(i))
		if err != nil {
			t.Fatalf("run %d after b went: %v", i, err)
		}
		if log.Node != "a" {
			t.Fatalf("run %d ran on %q", i, log.Node)
		}
	}
	if a.ran() != 11 {
		t.Fatalf("a ran %d, want 11", a.ran())
	}
	if res.get(DispatchOK) != 16 || res.get(DispatchRetried) != 1 || res.get(DispatchError) != 0 {
		t.Fatalf("results %v, want 16 ok and 1 retried", res.n)
	}

	// a goes too: nothing can run, and the queue is told to wait
	// (unavailable), not that the attempt failed.
	a.hs.Close()
	_, err := d.RunJob(ctx, dspRun(20))
	if picloud.ErrorCode(err) != picloud.EUnavailable {
		t.Fatalf("with every node gone: %v, want unavailable", err)
	}
	if res.get(DispatchUnavailable) != 1 {
		t.Fatalf("results %v, want 1 unavailable", res.n)
	}
}

func TestDispatcherSkipsUnhealthyNodes(t *testing.T) {
	st := srvStore(t)
	ok, lost, down := dspStartNode(t, "ok", srvToken), dspStartNode(t, "lost", srvToken), dspStartNode(t, "down", srvToken)
	now := time.Now()
	dspRegister(t, st, "ok", ok.hs.URL, picloud.NodeOK, now)
	dspRegister(t, st, "lost", lost.hs.URL, picloud.NodeOK, now.Add(-2*picloud.NodeLostAfter))
	dspRegister(t, st, "down", down.hs.URL, picloud.NodeDown, now)
	d := NewDispatcher(DispatcherConfig{Token: srvToken, Nodes: st})
	for i := 0; i < 6; i++ {
		if _, err := d.RunJob(context.Background(), dspRun(i)); err != nil {
			t.Fatal(err)
		}
	}
	if ok.ran() != 6 || lost.ran() != 0 || down.ran() != 0 {
		t.Fatalf("ran ok %d, lost %d, down %d", ok.ran(), lost.ran(), down.ran())
	}

	empty := NewDispatcher(DispatcherConfig{Token: srvToken, Nodes: srvStore(t)})
	if _, err := empty.RunJob(context.Background(), dspRun(0)); picloud.ErrorCode(err) != picloud.EUnavailable {
		t.Fatalf("without nodes: %v, want unavailable", err)
	}
}

func TestDispatcherErrors(t *testing.T) {
	st := srvStore(t)
	a, b := dspStartNode(t, "a", srvToken), dspStartNode(t, "b", srvToken)
	now := time.Now()
	dspRegister(t, st, "a", a.hs.URL, picloud.NodeOK, now)
	dspRegister(t, st, "b", b.hs.URL, picloud.NodeOK, now)
	var res dspResults
	d := NewDispatcher(DispatcherConfig{Token: srvToken, Nodes: st, OnDispatch: res.add})
	ctx := context.Background()

	// A final refusal comes back as the node's error, code and details
	// included, and no other node runs the attempt.
	notFound := &picloud.Error{Code: picloud.ENotFound, Message: "no script s1", Details: map[string]any{"script_id": "s1"}}
	a.setFail(notFound)
	b.setFail(notFound)
	_, err := d.RunJob(ctx, dspRun(0))
	var e *picloud.Error
	if !errors.As(err, &e) || e.Code != picloud.ENotFound || e.Message != "no script s1" || e.Details["script_id"] != "s1" {
		t.Fatalf("not_found from the node came back as %#v", err)
	}
	if res.get(DispatchError) != 1 || res.get(DispatchRetried) != 0 {
		t.Fatalf("results %v", res.n)
	}

	// A busy node: the next one takes the attempt. The round-robin starts
	// with b for the second run, with a for the third.
	busy := picloud.Errorf(picloud.EOverloaded, "at capacity")
	for i, tt := range []struct {
		aFail, bFail error
		want         string
	}{{nil, busy, "a"}, {busy, nil, "b"}} {
		a.setFail(tt.aFail)
		b.setFail(tt.bFail)
		log, err := d.RunJob(ctx, dspRun(i+1))
		if err != nil {
			t.Fatalf("with one node busy: %v", err)
		}
		if log.Node != tt.want {
			t.Fatalf("ran on %q, want %q", log.Node, tt.want)
		}
	}
	if res.get(DispatchRetried) != 2 || res.get(DispatchOK) != 2 {
		t.Fatalf("results %v, want 2 ok after 2 retries", res.n)
	}
	// Both busy: unavailable (the queue waits), and neither is suspect.
	a.setFail(busy)
	b.setFail(busy)
	if _, err := d.RunJob(ctx, dspRun(3)); picloud.ErrorCode(err) != picloud.EUnavailable {
		t.Fatalf("both busy: %v", err)
	}
	a.setFail(nil)
	b.setFail(nil)
	for i := 4; i < 6; i++ {
		if _, err := d.RunJob(ctx, dspRun(i)); err != nil {
			t.Fatal(err)
		}
	}
	if a.ran() != 2 || b.ran() != 2 {
		t.Fatalf("after being busy: a ran %d, b %d, want 2 and 2", a.ran(), b.ran())
	}
}

func TestDispatcherWrongToken(t *testing.T) {
	st := srvStore(t)
	other := dspStartNode(t, "other", "a-different-cluster-token")
	good := dspStartNode(t, "good", srvToken)
	now := time.Now()
	dspRegister(t, st, "good", good.hs.URL, picloud.NodeOK, now)
	dspRegister(t, st, "other", other.hs.URL, picloud.NodeOK, now)
	d := NewDispatcher(DispatcherConfig{Token: srvToken, Nodes: st})
	for i := 0; i < 4; i++ {
		log, err := d.RunJob(context.Background(), dspRun(i))
		if err != nil || log.Node != "good" {
			t.Fatalf("run %d: %+v, %v", i, log, err)
		}
	}
	if other.ran() != 0 || good.ran() != 4 {
		t.Fatalf("other ran %d, good %d", other.ran(), good.ran())
	}
}

func TestDispatcherStopping(t *testing.T) {
	st := srvStore(t)
	started := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body, so that net/http notices the client leaving.
		io.Copy(io.Discard, r.Body)
		close(started)
		<-r.Context().Done()
	}))
	defer hs.Close()
	backup := dspStartNode(t, "backup", srvToken)
	dspRegister(t, st, "a-slow", hs.URL, picloud.NodeOK, time.Now())
	dspRegister(t, st, "backup", backup.hs.URL, picloud.NodeOK, time.Now())
	var res dspResults
	d := NewDispatcher(DispatcherConfig{Token: srvToken, Nodes: st, OnDispatch: res.add})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	_, err := d.RunJob(ctx, dspRun(0))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RunJob ended with %v, want the context's error", err)
	}
	// The queue stopping is not the node's fault: nothing else ran it.
	if backup.ran() != 0 || res.get(DispatchRetried) != 0 || res.get(DispatchError) != 0 {
		t.Fatalf("after a cancel: backup ran %d, results %v", backup.ran(), res.n)
	}
}

// TestDispatcherNodeDiesMidJob: a node that took the attempt and died while
// running it (its connection cut with no answer) does not fail the
// attempt: the same attempt runs on another node, in the same call, and the
// dead node is not tried again while it is suspect.
func TestDispatcherNodeDiesMidJob(t *testing.T) {
	st := srvStore(t)
	alive := dspStartNode(t, "b-alive", srvToken)
	var took atomic.Bool
	dying := httptest.NewServer(RequireToken(srvToken, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // it has the attempt...
		took.Store(true)
		conn, _, err := w.(http.Hijacker).Hijack() // ...and dies before answering
		if err == nil {
			conn.Close()
		}
	}), nil))
	t.Cleanup(dying.Close)
	now := time.Now()
	dspRegister(t, st, "a-dying", dying.URL, picloud.NodeOK, now) // first by name
	dspRegister(t, st, "b-alive", alive.hs.URL, picloud.NodeOK, now)
	var res dspResults
	d := NewDispatcher(DispatcherConfig{Token: srvToken, Nodes: st, OnDispatch: res.add})

	log, err := d.RunJob(context.Background(), dspRun(0))
	if err != nil {
		t.Fatalf("an attempt whose node died mid-run: %v, want it run on the other node", err)
	}
	if !took.Load() {
		t.Fatal("the dying node was not tried first")
	}
	if log.Node != "b-alive" || alive.ran() != 1 {
		t.Fatalf("ran on %q (b-alive ran %d), want b-alive", log.Node, alive.ran())
	}
	if res.get(DispatchRetried) != 1 || res.get(DispatchOK) != 1 {
		t.Fatalf("results %v, want 1 retried and 1 ok", res.n)
	}
	for i := 1; i < 4; i++ {
		if log, err := d.RunJob(context.Background(), dspRun(i)); err != nil || log.Node != "b-alive" {
			t.Fatalf("run %d while a-dying is suspect: %v %v", i, log, err)
		}
	}
	if res.get(DispatchRetried) != 1 {
		t.Fatalf("results %v: the suspect node was tried again", res.n)
	}
}
