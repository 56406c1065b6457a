package app_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// invokeKey creates an invoke key for script id through the API and returns it.
func (e *env) invokeKey(id string) (key, keyID string) {
	e.t.Helper()
	var out struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	e.do("POST", "/api/scripts/"+id+"/keys", map[string]any{"name": "test"}, 201, &out)
	if !strings.HasPrefix(out.Key, "pck_") {
		e.t.Fatalf("a new key: %+v", out)
	}
	return out.Key, out.ID
}

// invokeToken creates a named API token through the API and returns it.
func (e *env) invokeToken(name string, scopes ...string) string {
	e.t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	e.do("POST", "/api/tokens", map[string]any{"name": name, "scopes": scopes}, 201, &out)
	return out.Token
}

// executions is how many rows script id has in the store.
func executions(t *testing.T, store picloud.Store, id string) int {
	t.Helper()
	list, err := store.ListExecutions(context.Background(), id, 500, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// metric is the value of a sample line of GET /metrics ("" when absent).
func (e *env) metric(sample string) string {
	e.t.Helper()
	_, b := e.request("GET", "/metrics", nil, "Authorization", "Bearer "+testToken)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			return v
		}
	}
	return ""
}

// Access "key" over a real server: the script's keys open it (either
// header), another script's key and a revoked key do not, refusals are the
// standard error body, counted, and leave no execution row.
func TestInvokeKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		e := newEnv(t, store, app.Config{})
		orders := e.create("orders", `request.headers`, "access", "key")
		other := e.create("other", `"other"`, "access", "key")
		key, keyID := e.invokeKey(orders)
		otherKey, _ := e.invokeKey(other)

		call := func(hdr ...string) (int, []byte) {
			resp, b := e.request("POST", "/fn/orders", nil, hdr...)
			return resp.StatusCode, b
		}
		if code, b := call(); code != 401 || errCode(b) != "unauthorized" || !contains(string(b), "X-PiCloud-Key") {
			t.Errorf("no key: %d %s", code, b)
		}
		code, b := call("X-PiCloud-Key", key)
		if code != 200 || contains(string(b), key) || contains(strings.ToLower(string(b)), "x-picloud-key") {
			t.Errorf("X-PiCloud-Key: %d %s (the script must not see the key)", code, b)
		}
		if code, b := call("Authorization", "Bearer "+key); code != 200 {
			t.Errorf("bearer key: %d %s", code, b)
		}
		if resp, b := e.request("GET", "/api/execute/"+orders, nil, "X-PiCloud-Key", key); resp.StatusCode != 200 {
			t.Errorf("/api/execute with the key: %d %s", resp.StatusCode, b)
		}
		if code, b := call("X-PiCloud-Key", otherKey); code != 403 || errCode(b) != "forbidden" {
			t.Errorf("another script's key: %d %s", code, b)
		}
		if code, b := call("X-PiCloud-Key", "pck_"+strings.Repeat("0", 64)); code != 401 {
			t.Errorf("an unknown key: %d %s", code, b)
		}
		// The admin token may invoke it too; a read token may not.
		if code, b := call("Authorization", "Bearer "+testToken); code != 200 {
			t.Errorf("the admin token: %d %s", code, b)
		}
		reader := e.invokeToken("reader", "read")
		if code, b := call("Authorization", "Bearer "+reader); code != 403 {
			t.Errorf("a read token: %d %s", code, b)
		}
		// Only the four allowed calls left rows, and the key's last use
		// was written.
		rows(t, store, orders, 4)
		time.Sleep(100 * time.Millisecond)
		if n := executions(t, store, orders); n != 4 {
			t.Errorf("%d rows, want 4 (refused calls write none)", n)
		}
		if v := e.metric(`picloud_invoke_denied_total{reason="missing"}`); v != "1" {
			t.Errorf("denied missing = %q", v)
		}
		if v := e.metric(`picloud_invoke_denied_total{reason="forbidden"}`); v != "2" {
			t.Errorf("denied forbidden = %q", v)
		}
		until(t, 5*time.Second, "the key's last use", func() bool {
			keys, err := store.InvokeKeys(context.Background(), orders)
			return err == nil && len(keys) == 1 && keys[0].LastUsedAt != nil
		})

		// Revoked through the API: refused at once on this server.
		e.do("DELETE", "/api/scripts/"+orders+"/keys/"+keyID, nil, 204, nil)
		if code, b := call("X-PiCloud-Key", key); code != 401 {
			t.Errorf("a revoked key: %d %s", code, b)
		}
		// Public again: no key needed.
		e.do("PUT", "/api/scripts/"+orders, map[string]any{"access": "public"}, 200, nil)
		if code, b := call(); code != 200 {
			t.Errorf("public: %d %s", code, b)
		}
	})
}

// Access "token": an API token with invoke:<name> (or invoke:*, deploy,
// admin) opens it; invoke keys and other tokens do not; an expired token is
// told apart.
func TestInvokeTokens(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		id := e.create("reports", `"r"`, "access", "token")
		key, _ := e.invokeKey(id)
		for _, tc := range []struct {
			scopes []string
			status int
		}{
			{[]string{"invoke:reports"}, 200},
			{[]string{"invoke:*"}, 200},
			{[]string{"deploy"}, 200},
			{[]string{"invoke:other"}, 403},
			{[]string{"read"}, 403},
		} {
			tok := e.invokeToken("t-"+strings.NewReplacer(":", "-", "*", "all").Replace(tc.scopes[0]), tc.scopes...)
			if resp, b := e.request("GET", "/fn/reports", nil, "Authorization", "Bearer "+tok); resp.StatusCode != tc.status {
				t.Errorf("%v: %d %s, want %d", tc.scopes, resp.StatusCode, b, tc.status)
			}
		}
		if resp, b := e.request("GET", "/fn/reports", nil, "X-PiCloud-Key", key); resp.StatusCode != 403 {
			t.Errorf("an invoke key on a token script: %d %s", resp.StatusCode, b)
		}
		var out struct {
			Token string `json:"token"`
		}
		soon := time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)
		e.do("POST", "/api/tokens", map[string]any{"name": "brief", "scopes": []string{"invoke:reports"}, "expires_at": soon}, 201, &out)
		time.Sleep(1100 * time.Millisecond)
		resp, b := e.request("GET", "/fn/reports", nil, "Authorization", "Bearer "+out.Token)
		if resp.StatusCode != 401 || !contains(string(b), "expired") {
			t.Errorf("an expired token: %d %s", resp.StatusCode, b)
		}
		if v := e.metric(`picloud_invoke_denied_total{reason="expired"}`); v != "1" {
			t.Errorf("denied expired = %q", v)
		}
	})
}

// A library script is importable and never routable: 404 at both routes,
// as a script that does not exist.
func TestLibraryScripts(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		e := newEnv(t, store, app.Config{})
		lib := e.create("lib", `fn double(x) { x * 2 } 0`, "access", "library")
		main := e.create("main", `import "lib" as lib; lib::double(21)`)
		for _, path := range []string{"/fn/lib", "/fn/lib/x", "/api/execute/" + lib} {
			if resp, b := e.request("GET", path, nil, "Authorization", "Bearer "+testToken); resp.StatusCode != 404 || errCode(b) != "not_found" {
				t.Errorf("%s: %d %s", path, resp.StatusCode, b)
			}
		}
		if resp, b := e.request("GET", "/fn/main", nil); resp.StatusCode != 200 || string(b) != "42" {
			t.Errorf("import of a library: %d %s", resp.StatusCode, b)
		}
		rows(t, store, main, 1)
		if n := executions(t, store, lib); n != 0 {
			t.Errorf("the library has %d rows", n)
		}
	})
}

// A rate limit answers 429 rate_limited with Retry-After once the burst is
// spent, and lets the client through again once its bucket refilled.
func TestRateLimits(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		e := newEnv(t, store, app.Config{})
		id := e.create("limited", `"ok"`, "rate_limit_rps", 2, "rate_limit_burst", 2)
		codes := []int{}
		var retry string
		for range 3 {
			resp, b := e.request("GET", "/fn/limited", nil)
			codes = append(codes, resp.StatusCode)
			if resp.StatusCode == 429 {
				retry = resp.Header.Get("Retry-After")
				if errCode(b) != "rate_limited" {
					t.Errorf("429 body %s", b)
				}
			}
		}
		if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
			t.Fatalf("burst of 2: %v", codes)
		}
		if n, err := strconv.Atoi(retry); err != nil || n < 1 {
			t.Errorf("Retry-After %q", retry)
		}
		time.Sleep(600 * time.Millisecond) // 2/s: one back
		if resp, b := e.request("GET", "/fn/limited", nil); resp.StatusCode != 200 {
			t.Errorf("after refilling: %d %s", resp.StatusCode, b)
		}
		if n := executions(t, store, id); n != 3 {
			rows(t, store, id, 3)
		}
		if v := e.metric(`picloud_invoke_denied_total{reason="rate_limited"}`); v != "1" {
			t.Errorf("denied rate_limited = %q", v)
		}
		// Lifted: no limit.
		e.do("PUT", "/api/scripts/"+id, map[string]any{"rate_limit_rps": 0}, 200, nil)
		for range 5 {
			if resp, b := e.request("GET", "/fn/limited", nil); resp.StatusCode != 200 {
				t.Fatalf("no limit: %d %s", resp.StatusCode, b)
			}
		}
	})
}

// A key-protected script served by a node: the node asks its manager about
// the key (by hash), refuses without one, and stops taking a key revoked on
// the manager within its 5 s memory.
func TestInvokeKeysOnNodes(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		m := startManager(t, store, "")
		n := startNode(t, "node-a", m.srv.URL, clusterToken)
		id := m.create("guarded", `"in"`, "access", "key")
		other := m.create("elsewhere", `"x"`, "access", "key")
		key, keyID := m.invokeKey(id)
		otherKey, _ := m.invokeKey(other)
		until(t, converge, "the node serves the script with its key", func() bool {
			resp, b := n.request("GET", "/fn/guarded", nil, "X-PiCloud-Key", key)
			return resp.StatusCode == 200 && string(b) == "in"
		})
		if resp, b := n.request("GET", "/fn/guarded", nil); resp.StatusCode != 401 || errCode(b) != "unauthorized" {
			t.Errorf("no key on the node: %d %s", resp.StatusCode, b)
		}
		if resp, b := n.request("GET", "/fn/guarded", nil, "Authorization", "Bearer "+otherKey); resp.StatusCode != 403 {
			t.Errorf("another script's key on the node: %d %s", resp.StatusCode, b)
		}
		if resp, b := n.request("GET", "/fn/guarded", nil, "Authorization", "Bearer "+testToken); resp.StatusCode != 200 {
			t.Errorf("the admin token on the node: %d %s", resp.StatusCode, b)
		}
		m.do("DELETE", "/api/scripts/"+id+"/keys/"+keyID, nil, 204, nil)
		revoked := time.Now()
		until(t, converge, "the node refuses the revoked key", func() bool {
			resp, _ := n.request("GET", "/fn/guarded", nil, "X-PiCloud-Key", key)
			return resp.StatusCode == 401
		})
		if d := time.Since(revoked); d > 6*time.Second {
			t.Errorf("the revoked key worked on the node for %v", d)
		}
	})
}

// Rate limits are counted by each node on its own: a client gets the burst
// from every node.
func TestRateLimitsPerNode(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		m := startManager(t, open(t), "")
		a := startNode(t, "node-a", m.srv.URL, clusterToken)
		b := startNode(t, "node-b", m.srv.URL, clusterToken)
		m.create("limited", `"ok"`, "rate_limit_rps", 0.01, "rate_limit_burst", 1)
		for _, n := range []*testNode{a, b} {
			n.serves("/fn/limited", "ok")
			resp, body := n.request("GET", "/fn/limited", nil)
			if resp.StatusCode != 429 || errCode(body) != "rate_limited" || resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s: second call %d %s (Retry-After %q)", n.name, resp.StatusCode, body, resp.Header.Get("Retry-After"))
			}
		}
	})
}
