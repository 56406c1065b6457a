package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/secretbox"
	"github.com/picloud/picloud/internal/sqlite"
)

const srvToken = "test-cluster-token-0123456789"

// srvStore opens a real SQLite store in the test's directory.
func srvStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// srvStart serves a Server made from cfg (Token and Store filled in when
// unset) on loopback.
func srvStart(t *testing.T, cfg ServerConfig) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = srvToken
	}
	if cfg.Store == nil {
		cfg.Store = srvStore(t)
	}
	s := NewServer(cfg)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Close()
		hs.Close()
	})
	return s, hs
}

// srvCall makes one request with the cluster token and returns the status
// and body.
func srvCall(t *testing.T, hs *httptest.Server, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, hs.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srvToken)
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// srvErrorCode is the code of a standard error body ("" when b is none).
func srvErrorCode(b []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(b, &e)
	return e.Error.Code
}

func srvDecode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func TestCheckToken(t *testing.T) {
	for _, tt := range []struct {
		token string
		ok    bool
	}{
		{"", false},
		{"short", false},
		{"0123456789abcde", false}, // 15 bytes
		{"0123456789abcdef", true},
		{"0123456789abcdef with space", false},
		{"0123456789abcdef\n", false},
		{"0123456789abcdéf", false},
		{srvToken, true},
	} {
		err := CheckToken(tt.token)
		if (err == nil) != tt.ok {
			t.Errorf("CheckToken(%q) = %v, want ok %v", tt.token, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--cluster-token") && !strings.Contains(err.Error(), "PICLOUD_CLUSTER_TOKEN") {
			t.Errorf("CheckToken(%q) = %v: does not name the flag", tt.token, err)
		}
	}
}

func TestServerNeedsToken(t *testing.T) {
	var failures int
	var mu sync.Mutex
	_, hs := srvStart(t, ServerConfig{OnAuthFailure: func() { mu.Lock(); failures++; mu.Unlock() }})
	for _, tt := range []struct {
		name, header string
		want         int
	}{
		{"none", "", http.StatusUnauthorized},
		{"wrong", "Bearer not-the-cluster-token-at-all", http.StatusUnauthorized},
		{"prefix of the token", "Bearer " + srvToken[:len(srvToken)-1], http.StatusUnauthorized},
		{"basic scheme", "Basic " + srvToken, http.StatusUnauthorized},
		{"right", "Bearer " + srvToken, http.StatusNoContent},
		{"scheme in lower case", "bearer " + srvToken, http.StatusNoContent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", hs.URL+PathPing, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, b)
			}
			if tt.want == http.StatusUnauthorized && srvErrorCode(b) != picloud.EUnauthorized {
				t.Fatalf("body %s, want code unauthorized", b)
			}
		})
	}
	// Every route is behind the token, unknown ones too.
	for _, p := range []string{PathScripts + "?name=x", "/cluster/v1/scripts/x", PathChanges, "/cluster/v1/nope"} {
		resp, err := hs.Client().Get(hs.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d", p, resp.StatusCode)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if failures != 4+4 {
		t.Fatalf("OnAuthFailure called %d times, want 8", failures)
	}
}

func TestServerUnknownRoutes(t *testing.T) {
	_, hs := srvStart(t, ServerConfig{})
	code, b := srvCall(t, hs, "GET", "/cluster/v1/nope", nil)
	if code != http.StatusNotFound || srvErrorCode(b) != picloud.ENotFound {
		t.Fatalf("unknown path: %d %s", code, b)
	}
	code, b = srvCall(t, hs, "DELETE", "/cluster/v1/scripts/x", nil)
	if code != http.StatusMethodNotAllowed || srvErrorCode(b) != picloud.EMethodNotAllowed {
		t.Fatalf("known path, wrong method: %d %s", code, b)
	}
}

func TestServerNodes(t *testing.T) {
	st := srvStore(t)
	var saved int
	_, hs := srvStart(t, ServerConfig{Store: st, OnNode: func() { saved++ }})
	stale := picloud.Time{Time: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)}
	n := picloud.Node{Name: "web-1:8001", Address: "http://10.0.0.5:8001", Version: "v1", Capacity: 8, Load: 2,
		Status: picloud.NodeDegraded, JournalBytes: 123, StartedAt: stale, LastHeartbeat: stale,
		Components: map[string]picloud.HealthComponent{"manager": {Status: "ok"}}}
	before := time.Now().Add(-time.Second)
	code, b := srvCall(t, hs, "PUT", "/cluster/v1/nodes/web-1:8001", n)
	if code != http.StatusOK {
		t.Fatalf("PUT node: %d %s", code, b)
	}
	var got picloud.Node
	srvDecode(t, b, &got)
	if got.LastHeartbeat.Before(before) {
		t.Fatalf("last_heartbeat %v is the node's, not the manager's now", got.LastHeartbeat)
	}
	if got.RegisteredAt.IsZero() || got.Status != picloud.NodeDegraded || got.Load != 2 {
		t.Fatalf("saved node %+v", got)
	}
	// A second report keeps the registration time.
	n.Load = 5
	if code, b = srvCall(t, hs, "PUT", "/cluster/v1/nodes/web-1:8001", n); code != http.StatusOK {
		t.Fatalf("second PUT: %d %s", code, b)
	}
	var again picloud.Node
	srvDecode(t, b, &again)
	if !again.RegisteredAt.Equal(got.RegisteredAt.Time) {
		t.Fatalf("registered_at moved: %v then %v", got.RegisteredAt, again.RegisteredAt)
	}
	list, err := st.ListNodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "web-1:8001" || list[0].Load != 5 || list[0].Address != n.Address || list[0].Lost(time.Now()) {
		t.Fatalf("stored nodes %+v", list)
	}
	if saved != 2 {
		t.Fatalf("OnNode called %d times, want 2", saved)
	}

	for _, tt := range []struct {
		name, path string
		node       picloud.Node
		field      string
	}{
		{"address not a URL", "/cluster/v1/nodes/a", picloud.Node{Name: "a", Address: "10.0.0.5:8001"}, "address"},
		{"address ftp", "/cluster/v1/nodes/a", picloud.Node{Name: "a", Address: "ftp://10.0.0.5"}, "address"},
		{"name differs", "/cluster/v1/nodes/a", picloud.Node{Name: "b", Address: "http://x"}, "name"},
		{"name too long", "/cluster/v1/nodes/" + strings.Repeat("n", MaxNodeNameBytes+1), picloud.Node{Address: "http://x"}, "name"},
		{"name with a space", "/cluster/v1/nodes/a%20b", picloud.Node{Address: "http://x"}, "name"},
		{"status lost", "/cluster/v1/nodes/a", picloud.Node{Name: "a", Address: "http://x", Status: picloud.NodeLost}, "status"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, b := srvCall(t, hs, "PUT", tt.path, tt.node)
			var e struct {
				Error struct{ Code, Field string } `json:"error"`
			}
			json.Unmarshal(b, &e)
			if code != http.StatusBadRequest || e.Error.Code != picloud.EInvalidRequest || e.Error.Field != tt.field {
				t.Fatalf("%d %s, want 400 invalid_request on %s", code, b, tt.field)
			}
		})
	}
	// A name taken from the path when the body has none.
	if code, b := srvCall(t, hs, "PUT", "/cluster/v1/nodes/web-2", picloud.Node{Address: "https://web-2"}); code != http.StatusOK {
		t.Fatalf("PUT without a name in the body: %d %s", code, b)
	}
}

func TestServerScripts(t *testing.T) {
	st := srvStore(t)
	ctx := context.Background()
	sc := &picloud.Script{Name: "hello", Source: `"hi"`, TimeoutMS: 1234, KVNamespaces: "orders", MaxAttempts: 5,
		Subscriptions: []string{"order.created"}, EgressAllow: "example.com", Unsandboxed: true, HTTPMaxRequests: 7}
	if err := st.CreateScript(ctx, sc); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{Enabled: new(false)}); err != nil {
		t.Fatal(err)
	}
	want, err := st.Script(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, hs := srvStart(t, ServerConfig{Store: st})
	for _, path := range []string{"/cluster/v1/scripts/" + sc.ID, PathScripts + "?name=hello"} {
		code, b := srvCall(t, hs, "GET", path, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, b)
		}
		var got picloud.Script
		srvDecode(t, b, &got)
		// Every field a node reads, Disabled included, survives the wire
		// (times to the millisecond the API writes).
		w := *want
		for _, tm := range []*picloud.Time{&w.CreatedAt, &w.UpdatedAt} {
			tm.Time = tm.Truncate(time.Millisecond)
		}
		if !reflect.DeepEqual(&got, &w) || !got.Disabled || got.Source != `"hi"` || got.MaxAttempts != 5 {
			t.Fatalf("GET %s:\n got %+v\nwant %+v", path, got, w)
		}
	}
	for _, tt := range []struct {
		path string
		code int
		ec   string
	}{
		{"/cluster/v1/scripts/no-such-id", 404, picloud.ENotFound},
		{PathScripts + "?name=nope", 404, picloud.ENotFound},
		{PathScripts, 400, picloud.EInvalidRequest},
	} {
		code, b := srvCall(t, hs, "GET", tt.path, nil)
		if code != tt.code || srvErrorCode(b) != tt.ec {
			t.Errorf("GET %s: %d %s, want %d %s", tt.path, code, b, tt.code, tt.ec)
		}
	}
}

func TestServerExecutions(t *testing.T) {
	st := srvStore(t)
	ctx := context.Background()
	sc := &picloud.Script{Name: "hello", Source: `"hi"`}
	if err := st.CreateScript(ctx, sc); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var ingested int
	_, hs := srvStart(t, ServerConfig{Store: st, OnIngest: func(n int) { mu.Lock(); ingested += n; mu.Unlock() }})
	now := picloud.Time{Time: time.Now().UTC().Truncate(time.Millisecond)}
	batch := ExecutionBatch{Items: []*picloud.ExecutionLog{
		{ID: "e1", ScriptID: sc.ID, ScriptVersion: 1, Trigger: picloud.TriggerHTTP, Status: picloud.StatusSuccess, StartedAt: now, Node: "web-1",
			Request: &picloud.RequestRecord{Method: "GET", Path: "/fn/hello"}, Response: &picloud.ResponseRecord{Status: 200, Body: "hi"}},
		{ID: "e2", ScriptID: sc.ID, ScriptVersion: 1, Trigger: picloud.TriggerAsync, Status: picloud.StatusError, StartedAt: now, Node: "web-2",
			JobID: "j1", Attempt: 2, Error: &picloud.ExecError{Kind: "runtime", Message: "boom", Line: 3, Column: 4}},
	}}
	for i := 0; i < 2; i++ { // a node that lost the first answer sends the batch again
		if code, b := srvCall(t, hs, "POST", PathExecutions, batch); code != http.StatusNoContent {
			t.Fatalf("POST executions (%d): %d %s", i, code, b)
		}
	}
	n, err := st.CountExecutions(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d rows after the same batch twice, want 2", n)
	}
	e2, err := st.Execution(ctx, "e2")
	if err != nil {
		t.Fatal(err)
	}
	if e2.Node != "web-2" || e2.JobID != "j1" || e2.Attempt != 2 || e2.Error == nil || e2.Error.Line != 3 || !e2.StartedAt.Equal(now.Time) {
		t.Fatalf("stored row %+v", e2)
	}
	mu.Lock()
	if ingested != 4 {
		t.Errorf("OnIngest counted %d rows, want 4", ingested)
	}
	mu.Unlock()

	code, b := srvCall(t, hs, "POST", PathExecutions, ExecutionBatch{Items: []*picloud.ExecutionLog{{ScriptID: sc.ID}}})
	if code != http.StatusBadRequest || srvErrorCode(b) != picloud.EInvalidRequest {
		t.Fatalf("row without an id: %d %s", code, b)
	}
	// A batch of a journal's backlog, every row of it.
	mu.Lock()
	ingested = 0
	mu.Unlock()
	big := ExecutionBatch{}
	for i := 0; i < 1000; i++ {
		big.Items = append(big.Items, &picloud.ExecutionLog{ID: fmt.Sprintf("big-%d", i), ScriptID: sc.ID, StartedAt: now,
			Status: picloud.StatusSuccess, Trigger: picloud.TriggerHTTP, Response: &picloud.ResponseRecord{Body: strings.Repeat("x", 2000)}})
	}
	if code, b := srvCall(t, hs, "POST", PathExecutions, big); code != http.StatusNoContent {
		t.Fatalf("big batch: %d %s", code, b)
	}
	if n, err := st.CountExecutions(ctx, sc.ID); err != nil || n != int64(2+len(big.Items)) {
		t.Fatalf("%d rows after the big batch (%v), want %d", n, err, 2+len(big.Items))
	}
	mu.Lock()
	if ingested != len(big.Items) {
		t.Errorf("OnIngest counted %d rows of the big batch, want %d", ingested, len(big.Items))
	}
	mu.Unlock()

	// The bound of a batch's bytes: a node's journal splits a batch
	// refused as too large.
	_, small := srvStart(t, ServerConfig{Store: st, MaxBodyBytes: 64 << 10})
	if code, b := srvCall(t, small, "POST", PathExecutions, big); code != http.StatusRequestEntityTooLarge || srvErrorCode(b) != picloud.EPayloadTooLarge {
		t.Fatalf("batch over MaxBodyBytes: %d %s", code, b)
	}
	for _, body := range []string{`{"items":[{"id":"x"`, `[]`, `{"items":{}}`, `{"items":[1]}`, ``} {
		req, _ := http.NewRequest("POST", hs.URL+PathExecutions, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+srvToken)
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || srvErrorCode(b) != picloud.EInvalidRequest {
			t.Errorf("body %q: %d %s, want 400 invalid_request", body, resp.StatusCode, b)
		}
	}
	// A field this manager does not know (a newer node's) is not refused.
	req, _ := http.NewRequest("POST", hs.URL+PathExecutions, strings.NewReader(
		`{"items":[{"id":"e4","script_id":"`+sc.ID+`","status":"success","trigger":"http","started_at":null,"future_field":1}],"more":true}`))
	req.Header.Set("Authorization", "Bearer "+srvToken)
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("batch with an unknown field: %d", resp.StatusCode)
	}
}

// srvKV posts one kv operation and decodes the answer into out (when not nil).
func srvKV(t *testing.T, hs *httptest.Server, op string, q KVRequest, out any) (int, string) {
	t.Helper()
	code, b := srvCall(t, hs, "POST", "/cluster/v1/kv/"+op, q)
	if code >= 300 {
		return code, srvErrorCode(b)
	}
	if out != nil {
		srvDecode(t, b, out)
	}
	return code, ""
}

func TestServerKV(t *testing.T) {
	_, hs := srvStart(t, ServerConfig{})
	const ns = "script:s1"
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	quota := picloud.KVQuota{MaxKeys: 10, MaxBytes: 1 << 20}

	if code, ec := srvKV(t, hs, KVGet, KVRequest{NS: ns, Key: "a"}, nil); code != 404 || ec != picloud.ENotFound {
		t.Fatalf("get of a missing key: %d %s", code, ec)
	}
	if code, ec := srvKV(t, hs, KVSet, KVRequest{NS: ns, Key: "a", Write: &picloud.KVWrite{Value: json.RawMessage(`{"n":1}`), ExpiresAt: expires, Quota: quota}}, nil); code != 204 {
		t.Fatalf("set: %d %s", code, ec)
	}
	var e picloud.KVEntry
	if code, ec := srvKV(t, hs, KVGet, KVRequest{NS: ns, Key: "a"}, &e); code != 200 {
		t.Fatalf("get: %d %s", code, ec)
	}
	if string(e.Value) != `{"n":1}` || e.ExpiresAt == nil || !e.ExpiresAt.Equal(expires) {
		t.Fatalf("entry %+v (expires %v), want the value and expiry set", e, e.ExpiresAt)
	}
	var r KVResponse
	if srvKV(t, hs, KVIncr, KVRequest{NS: ns, Key: "n", By: 5, Write: &picloud.KVWrite{Quota: quota}}, &r); r.Value != 5 {
		t.Fatalf("incr: %+v", r)
	}
	if code, ec := srvKV(t, hs, KVIncr, KVRequest{NS: ns, Key: "a", By: 1}, nil); code != 400 || ec != picloud.EInvalidRequest {
		t.Fatalf("incr of an object: %d %s", code, ec)
	}
	// Compare-and-set: a JSON null expected matches an absent key, as does a
	// missing one; a wrong expected value does not swap.
	r = KVResponse{}
	if srvKV(t, hs, KVCAS, KVRequest{NS: ns, Key: "c", Expected: json.RawMessage(`null`), Write: &picloud.KVWrite{Value: json.RawMessage(`1`)}}, &r); !r.Swapped {
		t.Fatal("cas from null on an absent key did not swap")
	}
	r = KVResponse{}
	if srvKV(t, hs, KVCAS, KVRequest{NS: ns, Key: "c", Write: &picloud.KVWrite{Value: json.RawMessage(`2`)}}, &r); r.Swapped {
		t.Fatal("cas expecting absence swapped a present key")
	}
	if srvKV(t, hs, KVCAS, KVRequest{NS: ns, Key: "c", Expected: json.RawMessage(`1`), Write: &picloud.KVWrite{Value: json.RawMessage(`2`)}}, &r); !r.Swapped {
		t.Fatal("cas with the current value did not swap")
	}
	var page picloud.KVPage
	if srvKV(t, hs, KVList, KVRequest{NS: ns, Limit: 2}, &page); len(page.Keys) != 2 || page.Keys[0] != "a" || page.Cursor == "" {
		t.Fatalf("list page 1: %+v", page)
	}
	if srvKV(t, hs, KVList, KVRequest{NS: ns, Cursor: page.Cursor}, &page); len(page.Keys) != 1 || page.Keys[0] != "n" || page.Cursor != "" {
		t.Fatalf("list page 2: %+v", page)
	}
	var u picloud.KVUsage
	if srvKV(t, hs, KVUsage, KVRequest{NS: ns}, &u); u.Keys != 3 {
		t.Fatalf("usage %+v", u)
	}
	r = KVResponse{}
	if srvKV(t, hs, KVDelete, KVRequest{NS: ns, Key: "a"}, &r); !r.Deleted {
		t.Fatal("delete of a present key: not deleted")
	}
	r = KVResponse{}
	if srvKV(t, hs, KVDelete, KVRequest{NS: ns, Key: "a"}, &r); r.Deleted {
		t.Fatal("delete of a missing key: deleted")
	}
	if code, ec := srvKV(t, hs, KVDropNS, KVRequest{NS: ns}, nil); code != 204 {
		t.Fatalf("drop-ns: %d %s", code, ec)
	}
	if srvKV(t, hs, KVUsage, KVRequest{NS: ns}, &u); u.Keys != 0 {
		t.Fatalf("usage after drop-ns %+v", u)
	}
	// The store's own errors come through with their codes.
	if code, ec := srvKV(t, hs, KVSet, KVRequest{NS: ns, Key: "q", Write: &picloud.KVWrite{Value: json.RawMessage(`"0123456789"`), Quota: picloud.KVQuota{MaxBytes: 4}}}, nil); code != 413 || ec != picloud.EPayloadTooLarge {
		t.Fatalf("set over the quota: %d %s", code, ec)
	}
	for _, tt := range []struct {
		op string
		q  KVRequest
		ec string
	}{
		{"frobnicate", KVRequest{NS: ns}, picloud.ENotFound},
		{KVGet, KVRequest{Key: "a"}, picloud.EInvalidRequest},
		{KVSet, KVRequest{NS: ns, Key: "a"}, picloud.EInvalidRequest},
		{KVGet, KVRequest{NS: ns, Key: ""}, picloud.EInvalidRequest},
	} {
		if _, ec := srvKV(t, hs, tt.op, tt.q, nil); ec != tt.ec {
			t.Errorf("%s %+v: code %q, want %q", tt.op, tt.q, ec, tt.ec)
		}
	}
}

func TestServerSecrets(t *testing.T) {
	_, hs := srvStart(t, ServerConfig{})
	if code, b := srvCall(t, hs, "GET", "/cluster/v1/secrets/s1/api-key", nil); code != 503 || srvErrorCode(b) != picloud.EUnavailable {
		t.Fatalf("without secrets: %d %s", code, b)
	}

	st := srvStore(t)
	box, err := secretbox.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	seal := func(scope, name, value string) {
		b, err := box.Seal(scope, name, []byte(value))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SetSecret(context.Background(), scope, name, b); err != nil {
			t.Fatal(err)
		}
	}
	seal(picloud.GlobalScope, "api-key", "global-value")
	seal(picloud.ScriptScope("s1"), "api-key", "own-value")
	_, hs = srvStart(t, ServerConfig{Store: st, Secrets: secretbox.Reader{Store: st, Box: box}})
	for _, tt := range []struct{ path, want string }{
		{"/cluster/v1/secrets/s1/api-key", "own-value"},
		{"/cluster/v1/secrets/s2/api-key", "global-value"},
		{"/cluster/v1/secrets/" + NoScript + "/api-key", "global-value"},
	} {
		code, b := srvCall(t, hs, "GET", tt.path, nil)
		var v SecretValue
		if code == 200 {
			srvDecode(t, b, &v)
		}
		if v.Value != tt.want {
			t.Errorf("GET %s: %d %s, want %q", tt.path, code, b, tt.want)
		}
	}
	if code, b := srvCall(t, hs, "GET", "/cluster/v1/secrets/s1/nope", nil); code != 404 || srvErrorCode(b) != picloud.ENotFound {
		t.Fatalf("missing secret: %d %s", code, b)
	}
}

// srvQueue is a picloud.JobQueue whose Enqueue and Publish record their
// arguments and answer what the test sets.
type srvQueue struct {
	picloud.JobQueue // the other methods are not called
	mu               sync.Mutex
	enqueued         []*picloud.Script
	requests         []*picloud.JobRequest
	opts             []picloud.EnqueueOptions
	published        []*picloud.Script
	events           [][]picloud.Event
	err              error
}

func (q *srvQueue) Enqueue(ctx context.Context, sc *picloud.Script, req *picloud.JobRequest, opts picloud.EnqueueOptions) (*picloud.Job, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return nil, false, q.err
	}
	q.enqueued, q.requests, q.opts = append(q.enqueued, sc), append(q.requests, req), append(q.opts, opts)
	return &picloud.Job{ID: "job-1", ScriptID: sc.ID, ScriptName: sc.Name, State: picloud.JobQueued, Request: req}, opts.IdempotencyKey == "again", nil
}

func (q *srvQueue) Publish(ctx context.Context, from *picloud.Script, events []picloud.Event) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.published, q.events = append(q.published, from), append(q.events, events)
	return nil
}

func TestServerJobs(t *testing.T) {
	st := srvStore(t)
	ctx := context.Background()
	sc := &picloud.Script{Name: "worker", Source: `"ok"`, MaxAttempts: 4}
	if err := st.CreateScript(ctx, sc); err != nil {
		t.Fatal(err)
	}
	_, none := srvStart(t, ServerConfig{Store: st})
	if code, b := srvCall(t, none, "POST", PathJobs, EnqueueRequest{ScriptID: sc.ID, Request: &picloud.JobRequest{Method: "POST"}}); code != 503 || srvErrorCode(b) != picloud.EUnavailable {
		t.Fatalf("without a queue: %d %s", code, b)
	}

	q := &srvQueue{}
	_, hs := srvStart(t, ServerConfig{Store: st, Queue: q})
	req := &picloud.JobRequest{Method: "POST", Path: "/fn/worker", Body: []byte{0, 1, 2, 0xff}, Header: map[string][]string{"X-A": {"1"}}}
	code, b := srvCall(t, hs, "POST", PathJobs, EnqueueRequest{ScriptID: sc.ID, Request: req, Options: picloud.EnqueueOptions{Trigger: picloud.TriggerAsync, IdempotencyKey: "again"}})
	if code != 200 {
		t.Fatalf("enqueue: %d %s", code, b)
	}
	var resp EnqueueResponse
	srvDecode(t, b, &resp)
	if resp.Job == nil || resp.Job.ID != "job-1" || !resp.Existing {
		t.Fatalf("answer %s", b)
	}
	q.mu.Lock()
	if len(q.enqueued) != 1 || q.enqueued[0].MaxAttempts != 4 || q.enqueued[0].Source != `"ok"` ||
		!bytes.Equal(q.requests[0].Body, req.Body) || q.opts[0].IdempotencyKey != "again" || q.opts[0].Trigger != picloud.TriggerAsync {
		t.Fatalf("queue got %+v %+v %+v", q.enqueued, q.requests, q.opts)
	}
	// A full queue's answer keeps its retry_after (and Retry-After).
	q.err = &picloud.Error{Code: picloud.EQueueFull, Message: "the queue of worker is full", Details: map[string]any{"retry_after": 7}}
	q.mu.Unlock()
	code, b = srvCall(t, hs, "POST", PathJobs, EnqueueRequest{ScriptID: sc.ID, Request: req})
	var full struct {
		Error struct {
			Code       string  `json:"code"`
			RetryAfter float64 `json:"retry_after"`
		} `json:"error"`
	}
	srvDecode(t, b, &full)
	if code != 429 || full.Error.Code != picloud.EQueueFull || full.Error.RetryAfter != 7 {
		t.Fatalf("queue full: %d %s", code, b)
	}
	for _, tt := range []struct {
		q    EnqueueRequest
		code int
		ec   string
	}{
		{EnqueueRequest{ScriptID: "nope", Request: req}, 404, picloud.ENotFound},
		{EnqueueRequest{ScriptID: sc.ID}, 400, picloud.EInvalidRequest},
		{EnqueueRequest{ScriptID: sc.ID, Request: req, Options: picloud.EnqueueOptions{IdempotencyKey: "bad\nkey"}}, 400, picloud.EInvalidRequest},
	} {
		if code, b := srvCall(t, hs, "POST", PathJobs, tt.q); code != tt.code || srvErrorCode(b) != tt.ec {
			t.Errorf("%+v: %d %s, want %d %s", tt.q, code, b, tt.code, tt.ec)
		}
	}
}

func TestServerEvents(t *testing.T) {
	st := srvStore(t)
	ctx := context.Background()
	sc := &picloud.Script{Name: "emitter", Source: `"ok"`}
	if err := st.CreateScript(ctx, sc); err != nil {
		t.Fatal(err)
	}
	q := &srvQueue{}
	_, hs := srvStart(t, ServerConfig{Store: st, Queue: q})
	ev := []picloud.Event{{ID: "ev1", Topic: "order.created", Payload: json.RawMessage(`{"id":1}`), EmittedBy: "emitter", Depth: 1}}
	if code, b := srvCall(t, hs, "POST", PathEvents, PublishRequest{FromScriptID: sc.ID, Events: ev}); code != 204 {
		t.Fatalf("publish: %d %s", code, b)
	}
	// The events of a script deleted since it ran are still delivered.
	if code, b := srvCall(t, hs, "POST", PathEvents, PublishRequest{FromScriptID: "deleted", Events: ev}); code != 204 {
		t.Fatalf("publish from a deleted script: %d %s", code, b)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.published) != 2 || q.published[0] == nil || q.published[0].ID != sc.ID || q.published[1] != nil {
		t.Fatalf("published from %+v", q.published)
	}
	if got := q.events[0]; len(got) != 1 || got[0].Topic != "order.created" || string(got[0].Payload) != `{"id":1}` || got[0].EmittedBy != "emitter" {
		t.Fatalf("events %+v", got)
	}
}

// srvStream is one change stream read event by event.
type srvStream struct {
	resp *http.Response
	rd   *bufio.Reader
}

func srvOpenStream(t *testing.T, hs *httptest.Server) *srvStream {
	t.Helper()
	req, _ := http.NewRequest("GET", hs.URL+PathChanges, nil)
	req.Header.Set("Authorization", "Bearer "+srvToken)
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET changes: %d %s", resp.StatusCode, b)
	}
	return &srvStream{resp: resp, rd: bufio.NewReader(resp.Body)}
}

// next reads the next event or comment: its name ("" for a comment) and
// data (the comment's text).
func (s *srvStream) next() (event, data string, err error) {
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if event != "" || data != "" {
				return event, data, nil
			}
		case strings.HasPrefix(line, ":"):
			return "", strings.TrimSpace(line[1:]), nil
		case strings.HasPrefix(line, "event: "):
			event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		}
	}
}

// nextEvent skips pings.
func (s *srvStream) nextEvent(t *testing.T) (string, string) {
	t.Helper()
	for {
		ev, data, err := s.next()
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if ev != "" {
			return ev, data
		}
	}
}

func TestServerChanges(t *testing.T) {
	feed := NewFeed(nil, nil)
	defer feed.Stop()
	s, hs := srvStart(t, ServerConfig{Feed: feed, Version: "v9", PingEvery: 20 * time.Millisecond})
	st := srvOpenStream(t, hs)
	ev, data := st.nextEvent(t)
	if ev != EventHello || data != `{"manager":"v9"}` {
		t.Fatalf("first event %q %s", ev, data)
	}
	// Pings come on an idle stream.
	for pings := 0; pings < 2; {
		ev, data, err := st.next()
		if err != nil {
			t.Fatal(err)
		}
		if ev != "" || data != "ping" {
			t.Fatalf("idle stream sent %q %q", ev, data)
		}
		pings++
	}
	want := picloud.ScriptChange{ID: "s1", Name: "hello", Version: 3}
	if err := feed.Publish(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	if err := feed.Publish(context.Background(), picloud.ScriptChange{ID: "s2", Deleted: true}); err != nil {
		t.Fatal(err)
	}
	var got picloud.ScriptChange
	ev, data = st.nextEvent(t)
	srvDecode(t, []byte(data), &got)
	if ev != EventChange || got != want {
		t.Fatalf("event %q %+v, want change %+v", ev, got, want)
	}
	ev, data = st.nextEvent(t)
	if ev != EventChange || data != `{"id":"s2","deleted":true}` {
		t.Fatalf("event %q %s", ev, data)
	}
	// A stream the feed drops (it fell behind, or the listener may have
	// missed changes) ends, so that its node reconnects and resyncs.
	feed.resync()
	for {
		if _, _, err := st.next(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("dropped stream ended with %v, want EOF", err)
			}
			break
		}
	}
	// Close ends the streams.
	st = srvOpenStream(t, hs)
	if ev, _ := st.nextEvent(t); ev != EventHello {
		t.Fatalf("first event of the new stream %q", ev)
	}
	s.Close()
	for {
		if _, _, err := st.next(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("stream ended with %v, want EOF", err)
			}
			break
		}
	}
	if n := feed.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers left after the stream ended", n)
	}
}

// The server's write and read timeouts are for requests: a change stream
// outlives them.
func TestServerChangesOutliveDeadlines(t *testing.T) {
	feed := NewFeed(nil, nil)
	defer feed.Stop()
	s := NewServer(ServerConfig{Token: srvToken, Store: srvStore(t), Feed: feed, PingEvery: 10 * time.Millisecond})
	hs := httptest.NewUnstartedServer(s.Handler())
	hs.Config.WriteTimeout = 50 * time.Millisecond
	hs.Config.ReadTimeout = 50 * time.Millisecond
	hs.Start()
	defer hs.Close()
	defer s.Close()
	st := srvOpenStream(t, hs)
	if ev, _ := st.nextEvent(t); ev != EventHello {
		t.Fatalf("first event %q", ev)
	}
	// Pings over several times both timeouts.
	start := time.Now()
	for time.Since(start) < 300*time.Millisecond {
		if _, _, err := st.next(); err != nil {
			t.Fatalf("stream cut after %v: %v", time.Since(start), err)
		}
	}
	if err := feed.Publish(context.Background(), picloud.ScriptChange{ID: "late"}); err != nil {
		t.Fatal(err)
	}
	if ev, data := st.nextEvent(t); ev != EventChange || !strings.Contains(data, `"late"`) {
		t.Fatalf("after the deadlines: %q %s", ev, data)
	}
}

func TestServerChangesWithoutFeed(t *testing.T) {
	_, hs := srvStart(t, ServerConfig{})
	if code, b := srvCall(t, hs, "GET", PathChanges, nil); code != 503 || srvErrorCode(b) != picloud.EUnavailable {
		t.Fatalf("%d %s", code, b)
	}
}

// TestServerChangesWaitForTheFeed: on a manager whose feed does not listen
// to the database yet, a change stream waits before its hello, and once the
// feed listens the stream starts and stays open (it is not closed to
// resynchronise, having subscribed after). Past feedReadyWait it starts
// anyway.
func TestServerChangesWaitForTheFeed(t *testing.T) {
	n := &feedNotifier{listening: make(chan struct{})}
	feed := NewFeed(n, nil)
	feed.Start(context.Background())
	defer feed.Stop()
	<-n.listening // the fake listens, but has not reported it yet
	_, hs := srvStart(t, ServerConfig{Feed: feed, PingEvery: time.Hour})

	opened := make(chan *srvStream, 1)
	go func() { opened <- srvOpenStream(t, hs) }()
	select {
	case <-opened:
		t.Fatal("the stream started before the feed listened")
	case <-time.After(100 * time.Millisecond):
	}
	n.report(picloud.ScriptChange{}, false) // listening begins
	var st *srvStream
	select {
	case st = <-opened:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not start once the feed listened")
	}
	if ev, _ := st.nextEvent(t); ev != EventHello {
		t.Fatalf("first event %q", ev)
	}
	c := picloud.ScriptChange{ID: "s1", Version: 2}
	n.report(c, true)
	if ev, data := st.nextEvent(t); ev != EventChange || data != `{"id":"s1","version":2}` {
		t.Fatalf("event %q %s, want the change on the same stream", ev, data)
	}

	// A feed that never listens does not hold streams forever.
	defer func(d time.Duration) { feedReadyWait = d }(feedReadyWait)
	feedReadyWait = 50 * time.Millisecond
	never := NewFeed(&feedNotifier{listening: make(chan struct{})}, nil)
	_, hs2 := srvStart(t, ServerConfig{Feed: never, PingEvery: time.Hour})
	if ev, _ := srvOpenStream(t, hs2).nextEvent(t); ev != EventHello {
		t.Fatalf("first event %q", ev)
	}
}
