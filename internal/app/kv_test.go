package app_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// TestKVCounterConcurrent is the correctness bar of kv::: a counter script
// called 1,000 times from 32 concurrent clients ends at exactly 1,000, with
// kv::incr and with a get/cas retry loop, on both stores.
func TestKVCounterConcurrent(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		s := open(t)
		e := newEnv(t, s, app.Config{})
		scripts := map[string]string{
			"incr": `kv::incr("n", 1)`,
			"cas": `loop {
				let v = kv::get("n");
				let next = if v == () { 1 } else { v + 1 };
				if kv::cas("n", v, next) { break next; }
			}`,
		}
		for name, src := range scripts {
			id := e.create(name, src)
			const calls, clients = 1000, 32
			var next, failed atomic.Int64
			var wg sync.WaitGroup
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= calls {
						resp, body := e.request("POST", "/fn/"+name, nil)
						if resp.StatusCode != 200 {
							if failed.Add(1) == 1 {
								t.Errorf("%s: %d %s", name, resp.StatusCode, body)
							}
						}
					}
				}()
			}
			wg.Wait()
			got, err := s.KVGet(context.Background(), picloud.ScriptNamespace(id), "n")
			if err != nil || string(got.Value) != "1000" || failed.Load() != 0 {
				t.Fatalf("%s: counter after %d calls from %d clients = %+v, %v (%d failed)", name, calls, clients, got, err, failed.Load())
			}
		}
		// Every call was counted once by operation.
		_, body := e.request("GET", "/metrics", nil, "Authorization", "Bearer "+testToken)
		for _, want := range []string{`picloud_kv_operations_total{op="incr"} 1000`, `picloud_kv_operations_total{op="list"} 0`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if !regexp.MustCompile(`picloud_kv_operations_total\{op="cas"\} (\d{4,})`).Match(body) {
			t.Errorf("metrics lack 1,000 or more cas calls")
		}
	})
}

// TestKVAdminAPI: the kv routes read, write, list and delete what scripts
// store, keys with slashes and escapes included; a shared namespace is
// reachable only when the script lists it; writes keep the script's quota;
// expired keys are purged by the retention pass.
func TestKVAdminAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		s := open(t)
		e := newEnv(t, s, app.Config{})
		id := e.create("kvapi", `kv::set("from/script", #{n: 1}); kv::ns("orders").set("o1", "paid"); kv::get("a b/c?")`,
			"kv_namespaces", "orders", "kv_max_keys", 3)
		base := "/api/scripts/" + id + "/kv"
		if code, out := e.admin("PUT", base+"/a%20b%2Fc%3F", map[string]any{"value": []any{1, "two"}}); code != 200 || out["key"] != "a b/c?" {
			t.Fatalf("put = %d %v", code, out)
		}
		if resp, body := e.request("POST", "/fn/kvapi", nil); resp.StatusCode != 200 || string(body) != `[1,"two"]` {
			t.Fatalf("script read = %d %s", resp.StatusCode, body)
		}
		code, out := e.admin("GET", base+"/from/script", nil)
		if v, _ := out["value"].(map[string]any); code != 200 || v["n"] != float64(1) {
			t.Fatalf("get = %d %v", code, out)
		}
		code, out = e.admin("GET", base+"?limit=1", nil)
		if keys, _ := out["keys"].([]any); code != 200 || len(keys) != 1 || keys[0] != "a b/c?" || out["cursor"] != "a b/c?" {
			t.Fatalf("list page 1 = %d %v", code, out)
		}
		if u, _ := out["usage"].(map[string]any); u["keys"] != float64(2) {
			t.Fatalf("usage = %v", out)
		}
		code, out = e.admin("GET", base+"?limit=1&cursor=a%20b%2Fc%3F", nil)
		if keys, _ := out["keys"].([]any); code != 200 || len(keys) != 1 || keys[0] != "from/script" || out["cursor"] != "" {
			t.Fatalf("list page 2 = %d %v", code, out)
		}
		code, out = e.admin("GET", base+"?namespace=orders&prefix=o", nil)
		if keys, _ := out["keys"].([]any); code != 200 || len(keys) != 1 || keys[0] != "o1" {
			t.Fatalf("shared list = %d %v", code, out)
		}
		if code, out := e.admin("GET", base+"?namespace=users", nil); code != 400 || errBody(t, out)["code"] != "invalid_request" {
			t.Fatalf("unlisted namespace = %d %v", code, out)
		}
		// The kv settings are validated like the others.
		for _, bad := range []map[string]any{{"kv_namespaces": "orders,Bad Name"}, {"kv_max_keys": -1}, {"kv_max_bytes": int64(1) << 40}} {
			code, out := e.admin("PUT", "/api/scripts/"+id, bad)
			for field := range bad {
				if code != 400 || errBody(t, out)["field"] != field {
					t.Fatalf("update %v = %d %v", bad, code, out)
				}
			}
		}
		// Quota: the third key fits, a fourth does not and is not written.
		if code, out := e.admin("PUT", base+"/k3", map[string]any{"value": 3, "ttl_seconds": 3600}); code != 200 || out["expires_at"] == nil {
			t.Fatalf("third key = %d %v", code, out)
		}
		if code, out := e.admin("PUT", base+"/k4", map[string]any{"value": 4}); code != 413 || errBody(t, out)["code"] != "payload_too_large" {
			t.Fatalf("over quota = %d %v", code, out)
		}
		if code, _ := e.admin("GET", base+"/k4", nil); code != 404 {
			t.Fatalf("key over quota stored: %d", code)
		}
		if code, out := e.admin("PUT", base+"/bad", map[string]any{"ttl_seconds": 1}); code != 400 || errBody(t, out)["code"] != "invalid_request" {
			t.Fatalf("no value = %d %v", code, out)
		}
		if code, _ := e.admin("DELETE", base+"/k3", nil); code != 204 {
			t.Fatalf("delete = %d", code)
		}
		if code, _ := e.admin("DELETE", base+"/k3", nil); code != 404 {
			t.Fatalf("delete again = %d", code)
		}
		if code, _ := e.admin("GET", "/api/scripts/nope/kv", nil); code != 404 {
			t.Fatalf("unknown script = %d", code)
		}
		// Retention purges expired keys.
		ns := picloud.ScriptNamespace(id)
		if err := s.KVSet(context.Background(), ns, "old", picloud.KVWrite{Value: []byte("1"), ExpiresAt: time.Now().Add(-time.Second)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.Prune(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n, err := s.PurgeKV(context.Background(), time.Now()); err != nil || n != 0 {
			t.Fatalf("left for purge after the retention pass: %d, %v", n, err)
		}
		// Deleting the script deletes its keys, not the shared namespace's.
		if code, _ := e.admin("DELETE", "/api/scripts/"+id, nil); code != 204 {
			t.Fatalf("delete script = %d", code)
		}
		if u, err := s.KVUsage(context.Background(), ns); err != nil || u.Keys != 0 {
			t.Fatalf("own keys after delete = %+v, %v", u, err)
		}
		if u, err := s.KVUsage(context.Background(), picloud.SharedNamespace("orders")); err != nil || u.Keys != 1 {
			t.Fatalf("shared keys after delete = %+v, %v", u, err)
		}
	})
}
