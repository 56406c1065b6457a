package orchestrator

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// A node's rows carry its name, and the cluster token (RedactTokens) is
// kept out of every part of the captured request, wherever the caller put
// it; the script itself still sees what was sent.
func TestNodeNameAndRedactTokens(t *testing.T) {
	const token = "cluster-token-0123456789"
	store := newFakeStore(&picloud.Script{Name: "echo", Source: `request.headers["x-token"] + "|" + request.raw_body`})
	e := newEnv(t, Config{NodeName: "web-1:8001", RedactTokens: []string{token, "short"}}, store)
	r := httptest.NewRequest("POST", "/fn/echo/"+token+"?t=x"+token, strings.NewReader(`{"t":"`+token+`","short":1}`))
	r.Header.Set("X-Token", token)
	w := e.do(r)
	if w.Code != 200 || w.Body.String() != token+`|{"t":"`+token+`","short":1}` {
		t.Fatalf("caller got %d %q", w.Code, w.Body)
	}
	row := e.sink.waitRows(t, 1)[0]
	if row.Node != "web-1:8001" {
		t.Errorf("row's node = %q", row.Node)
	}
	rr := row.Request
	for what, got := range map[string]string{"path": rr.Path, "query": rr.Query["t"], "header": rr.Headers["x-token"], "body": rr.Body} {
		if strings.Contains(got, token) || !strings.Contains(got, redacted) {
			t.Errorf("captured %s = %q", what, got)
		}
	}
	// A token under 8 bytes is not redacted: it would hide ordinary text.
	if rr.Body != `{"t":"`+redacted+`","short":1}` || rr.BodySize != len(`{"t":"`+token+`","short":1}`) {
		t.Errorf("captured body = %q (size %d)", rr.Body, rr.BodySize)
	}

	// A queued run's request is stored with the job: the token's header
	// is not kept there (PiCloud's own credentials are stripped too).
	q := &fakeQueue{}
	e.o.SetQueue(q)
	r = httptest.NewRequest("POST", "/fn/echo", nil)
	r.Header.Set("Prefer", "respond-async")
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Add("X-Token", "kept")
	r.Header.Add("X-Token", "x"+token)
	if w := e.do(r); w.Code != 202 {
		t.Fatalf("async: %d %s", w.Code, w.Body)
	}
	enq, _ := q.calls()
	if len(enq) != 1 {
		t.Fatalf("%d enqueued", len(enq))
	}
	if h := enq[0].req.Header; len(h["Authorization"]) != 0 || len(h["X-Token"]) != 1 || h["X-Token"][0] != "kept" {
		t.Errorf("queued headers %v: want no value holding the token", h)
	}

	// Without a node name the row has none (the all-in-one server).
	e = newEnv(t, Config{}, store)
	e.do(httptest.NewRequest("POST", "/fn/echo", nil))
	if row := e.sink.waitRows(t, 1)[0]; row.Node != "" {
		t.Errorf("all-in-one row's node = %q", row.Node)
	}
}

// ExpireAll makes every cached script ask the store again on its next use
// (a long TTL notwithstanding), and keeps serving the cached version when
// the store cannot answer.
func TestExpireAll(t *testing.T) {
	store := newFakeStore(&picloud.Script{Name: "v", Source: `"one"`})
	e := newEnv(t, Config{CacheTTL: time.Hour}, store)
	if w := e.get("/fn/v"); w.Code != 200 || w.Body.String() != "one" {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	store.put(&picloud.Script{ID: "id-v", Name: "v", Source: `"two"`, Version: 2})
	if w := e.get("/fn/v"); w.Body.String() != "one" {
		t.Fatalf("within the TTL: %s", w.Body)
	}
	e.o.ExpireAll()
	if w := e.get("/fn/v"); w.Code != 200 || w.Body.String() != "two" {
		t.Fatalf("after ExpireAll: %d %s", w.Code, w.Body)
	}

	// The store away: an expired entry is asked about, then served stale,
	// not dropped.
	var asked atomic.Int32
	store.byName = func(ctx context.Context, name string) (*picloud.Script, error) {
		asked.Add(1)
		return nil, errors.New("manager unreachable")
	}
	e.o.ExpireAll()
	if w := e.get("/fn/v"); w.Code != 200 || w.Body.String() != "two" {
		t.Fatalf("expired with the store away: %d %s", w.Code, w.Body)
	}
	if asked.Load() != 1 {
		t.Errorf("the store was asked %d times, want 1", asked.Load())
	}
}
