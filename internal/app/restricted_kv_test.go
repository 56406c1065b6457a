package app_test

import (
	"encoding/json"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// A token restricted to some scripts cannot reach a shared kv namespace its
// scripts were not given: listing one in kv_namespaces (on create or
// update) would open other scripts' data to it, through the kv routes of its
// own script and through the code it deploys. Namespaces an unrestricted
// token gave the script stay, and may be dropped.
func TestRestrictedTokenKVNamespaces(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		e.create("billing", `kv::ns("billing").set("card", "4111"); 1`, "kv_namespaces", "billing")
		if resp, b := e.request("POST", "/fn/billing", nil); resp.StatusCode != 200 {
			t.Fatalf("billing: %d %s", resp.StatusCode, b)
		}
		tok := e.newToken("orders-ci", []string{"deploy"}, "orders-*")
		as := func(method, path string, in any) (int, string) {
			t.Helper()
			body, _ := json.Marshal(in)
			resp, b := e.request(method, path, body, bearer(tok)...)
			return resp.StatusCode, string(b)
		}

		if code, b := as("POST", "/api/scripts", map[string]any{"name": "orders-x", "source": "1", "kv_namespaces": "billing"}); code != 403 {
			t.Fatalf("create with another namespace = %d %s, want 403", code, b)
		}
		if code, b := as("POST", "/api/scripts", map[string]any{"name": "orders-y", "source": "1"}); code != 201 {
			t.Fatalf("create = %d %s", code, b)
		}
		if code, b := as("PATCH", "/api/scripts/orders-y", map[string]any{"kv_namespaces": "billing"}); code != 403 {
			t.Fatalf("update to another namespace = %d %s, want 403", code, b)
		}
		if code, b := as("GET", "/api/scripts/orders-y/kv?namespace=billing", nil); code == 200 {
			t.Fatalf("the restricted token read the billing namespace: %s", b)
		}

		// What an unrestricted token gave stays, and may be dropped.
		if code, out := e.admin("PATCH", "/api/scripts/orders-y", map[string]any{"kv_namespaces": "orders"}); code != 200 {
			t.Fatalf("admin update = %d %v", code, out)
		}
		if code, b := as("PATCH", "/api/scripts/orders-y", map[string]any{"kv_namespaces": "orders", "timeout_ms": 2000}); code != 200 {
			t.Fatalf("update keeping its namespace = %d %s", code, b)
		}
		if code, b := as("PATCH", "/api/scripts/orders-y", map[string]any{"kv_namespaces": "orders,billing"}); code != 403 {
			t.Fatalf("adding a namespace = %d %s, want 403", code, b)
		}
		if code, b := as("PATCH", "/api/scripts/orders-y", map[string]any{"kv_namespaces": ""}); code != 200 {
			t.Fatalf("dropping its namespace = %d %s", code, b)
		}
	})
}
