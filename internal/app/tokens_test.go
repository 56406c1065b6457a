package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/manager"
)

// bearer is a request header pair for a token.
func bearer(token string) []string {
	return []string{"Authorization", "Bearer " + token, "Content-Type", "application/json"}
}

// signInWith opens a dashboard session with token and returns its cookie
// header value and the answer.
func (e *env) signInWith(token string) (string, map[string]any) {
	e.t.Helper()
	resp, b := e.request("POST", "/api/session", []byte(`{"token":"`+token+`"}`), "Content-Type", "application/json")
	out := map[string]any{}
	json.Unmarshal(b, &out)
	for _, c := range resp.Cookies() {
		if c.Name == manager.SessionCookie && c.MaxAge > 0 {
			return c.Name + "=" + c.Value, out
		}
	}
	e.t.Fatalf("sign in: %d %s", resp.StatusCode, b)
	return "", nil
}

// TestAPITokens: a named token is made once, listed without its secret,
// authenticates as a bearer and through a session with its scopes, and stops
// working at once — with its sessions — when revoked or rotated; an expired
// one is refused; the admin token is listed, cannot be revoked and rotates
// online.
func TestAPITokens(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		e.create("x", `"x"`)
		ctx := context.Background()

		// Create: the token once, its row, and the checks on the request.
		code, out := e.admin("POST", "/api/tokens", map[string]any{"name": "ci", "scopes": []string{"read"}})
		tok, _ := out["token"].(string)
		if code != 201 || len(tok) != 68 || out["prefix"] != tok[:12] || out["name"] != "ci" || out["last_used_at"] != nil || out["expires_at"] != nil {
			t.Fatalf("create = %d %v", code, out)
		}
		id := out["id"].(string)
		for _, bad := range []map[string]any{
			{"name": "ci", "scopes": []string{"read"}},                   // taken
			{"name": "admin", "scopes": []string{"read"}},                // reserved
			{"name": "Bad Name", "scopes": []string{"read"}},             // not a slug
			{"name": "ok", "scopes": []string{}},                         // no scope
			{"name": "ok", "scopes": []string{"root"}},                   // unknown scope
			{"name": "ok", "scopes": []string{"read"}, "scripts": "[a-"}, // bad pattern
			{"name": "ok", "scopes": []string{"read"}, "expires_at": "2001-01-01T00:00:00Z"},
		} {
			if code, out := e.admin("POST", "/api/tokens", bad); code != 400 && code != 409 {
				t.Errorf("create %v = %d %v", bad, code, out)
			}
		}
		if code, out := e.admin("POST", "/api/tokens", map[string]any{"name": "ci", "scopes": []string{"read"}}); code != 409 || out["error"].(map[string]any)["code"] != "name_taken" {
			t.Errorf("duplicate name = %d %v", code, out)
		}

		// List: the admin token's row first, no secret anywhere.
		resp, b := e.request("GET", "/api/tokens", nil, bearer(testToken)...)
		if resp.StatusCode != 200 || strings.Contains(string(b), tok) || strings.Contains(string(b), "sha256:") ||
			!contains(string(b), `{"id":"admin","name":"admin","prefix":"","scopes":["admin"]`) || !contains(string(b), `"name":"ci"`) {
			t.Fatalf("list = %d %s", resp.StatusCode, b)
		}

		// As a bearer: read yes, deploy no; GET /api/session says who.
		if resp, _ := e.request("GET", "/api/scripts", nil, bearer(tok)...); resp.StatusCode != 200 {
			t.Fatalf("read token GET /api/scripts = %d", resp.StatusCode)
		}
		if resp, b := e.request("POST", "/api/scripts", []byte(`{"name":"y","source":"1"}`), bearer(tok)...); resp.StatusCode != 403 {
			t.Fatalf("read token POST /api/scripts = %d %s", resp.StatusCode, b)
		}
		if _, b := e.request("GET", "/api/session", nil, bearer(tok)...); !contains(string(b), `"method":"bearer","token":{"id":"`+id+`","name":"ci","scopes":["read"]}`) {
			t.Fatalf("GET /api/session as ci = %s", b)
		}
		// Its use is recorded (in the background, at most once a minute).
		waitFor(t, func() bool {
			st, err := e.store.APIToken(ctx, id)
			return err == nil && st.LastUsedAt != nil
		})

		// Through a session: the same scopes; the session knows its token.
		cookie, out := e.signInWith(tok)
		if tk, _ := out["token"].(map[string]any); tk["name"] != "ci" {
			t.Fatalf("sign in answer = %v", out)
		}
		if _, b := e.request("GET", "/api/session", nil, "Cookie", cookie); !contains(string(b), `"method":"session","token":{"id":"`+id+`","name":"ci"`) {
			t.Fatalf("GET /api/session = %s", b)
		}
		if resp, _ := e.request("GET", "/api/scripts/x", nil, "Cookie", cookie); resp.StatusCode != 200 {
			t.Fatalf("session read = %d", resp.StatusCode)
		}
		if resp, _ := e.request("DELETE", "/api/scripts/x", nil, "Cookie", cookie, "X-PiCloud-CSRF", "1"); resp.StatusCode != 403 {
			t.Fatalf("session of a read token deletes a script: %d", resp.StatusCode)
		}

		// Rotate: the old secret and its session stop at once, the new works.
		code, out = e.admin("POST", "/api/tokens/ci/rotate", nil)
		tok2, _ := out["token"].(string)
		if code != 200 || tok2 == tok || out["id"] != id || out["prefix"] != tok2[:12] {
			t.Fatalf("rotate = %d %v", code, out)
		}
		if resp, _ := e.request("GET", "/api/scripts", nil, bearer(tok)...); resp.StatusCode != 401 {
			t.Fatalf("old secret after rotation = %d", resp.StatusCode)
		}
		if resp, _ := e.request("GET", "/api/scripts", nil, "Cookie", cookie); resp.StatusCode != 401 {
			t.Fatalf("session after rotation = %d", resp.StatusCode)
		}
		if resp, _ := e.request("GET", "/api/scripts", nil, bearer(tok2)...); resp.StatusCode != 200 {
			t.Fatalf("new secret = %d", resp.StatusCode)
		}

		// Revoke (by id): the token and its session stop at once.
		cookie, _ = e.signInWith(tok2)
		if resp, _ := e.request("GET", "/api/scripts", nil, "Cookie", cookie); resp.StatusCode != 200 {
			t.Fatalf("new session = %d", resp.StatusCode)
		}
		if code, out := e.admin("DELETE", "/api/tokens/"+id, nil); code != 204 {
			t.Fatalf("revoke = %d %v", code, out)
		}
		if resp, _ := e.request("GET", "/api/scripts", nil, bearer(tok2)...); resp.StatusCode != 401 {
			t.Fatalf("revoked token = %d", resp.StatusCode)
		}
		if resp, _ := e.request("GET", "/api/scripts", nil, "Cookie", cookie); resp.StatusCode != 401 {
			t.Fatalf("session of a revoked token = %d", resp.StatusCode)
		}
		if code, _ := e.admin("DELETE", "/api/tokens/"+id, nil); code != 404 {
			t.Fatalf("revoke twice = %d", code)
		}

		// An invoke-only token cannot open a dashboard session.
		inv := e.newToken("caller", []string{"invoke:x"}, "")
		if resp, b := e.request("POST", "/api/session", []byte(`{"token":"`+inv+`"}`)); resp.StatusCode != 403 {
			t.Fatalf("sign in with invoke:x = %d %s", resp.StatusCode, b)
		}

		// An expired token is refused, and says so.
		expired := manager.NewToken()
		past := &picloud.Time{Time: time.Now().Add(-time.Minute)}
		if err := e.store.CreateAPIToken(ctx, &picloud.APIToken{Name: "old", Scopes: []string{"admin"}, Prefix: expired[:12],
			Hash: manager.HashToken(expired), ExpiresAt: past}); err != nil {
			t.Fatal(err)
		}
		if resp, b := e.request("GET", "/api/scripts", nil, bearer(expired)...); resp.StatusCode != 401 || !contains(string(b), `the token \"old\" expired at`) {
			t.Fatalf("expired token = %d %s", resp.StatusCode, b)
		}
		// A session lasts no longer than its token.
		soon := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		code, out = e.admin("POST", "/api/tokens", map[string]any{"name": "brief", "scopes": []string{"read"}, "expires_at": soon.Format(time.RFC3339)})
		if code != 201 {
			t.Fatalf("create brief = %d %v", code, out)
		}
		if _, out := e.signInWith(out["token"].(string)); out["expires_at"] != soon.Format(picloud.TimeFormat) {
			t.Fatalf("session of a token expiring at %s: %v", soon, out)
		}

		// The admin token: not revocable, rotated online.
		if code, out := e.admin("DELETE", "/api/tokens/admin", nil); code != 400 {
			t.Fatalf("revoke admin = %d %v", code, out)
		}
		if resp, b := e.request("GET", "/metrics", nil, bearer(testToken)...); !contains(string(b), `picloud_auth_failures_total{reason="expired"} 1`) {
			t.Fatalf("metrics = %d, no expired count", resp.StatusCode)
		}
		code, out = e.admin("POST", "/api/tokens/admin/rotate", nil)
		admin2, _ := out["token"].(string)
		if code != 200 || out["id"] != "admin" || !strings.HasPrefix(admin2, "pct_") {
			t.Fatalf("rotate admin = %d %v", code, out)
		}
		if resp, _ := e.request("GET", "/api/scripts", nil, bearer(testToken)...); resp.StatusCode != 401 {
			t.Fatalf("old admin token = %d", resp.StatusCode)
		}
		if resp, _ := e.request("GET", "/api/tokens", nil, bearer(admin2)...); resp.StatusCode != 200 {
			t.Fatalf("new admin token = %d", resp.StatusCode)
		}
	})
}

// TestInvokeKeysAPI: a key is made once, listed without its secret, revoked
// by its prefix or its id, never through another script, and goes with its
// script.
func TestInvokeKeysAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		xid := e.create("x", `"x"`)
		e.create("y", `"y"`)

		code, out := e.admin("POST", "/api/scripts/x/keys", map[string]any{"name": "partner"})
		key, _ := out["key"].(string)
		if code != 201 || !strings.HasPrefix(key, "pck_") || len(key) != 68 || out["prefix"] != key[:12] || out["script_id"] != xid || out["name"] != "partner" {
			t.Fatalf("create = %d %v", code, out)
		}
		k1 := out["id"].(string)
		code, out = e.admin("POST", "/api/scripts/"+xid+"/keys", map[string]any{})
		if code != 201 {
			t.Fatalf("create unnamed = %d %v", code, out)
		}
		k2, p2 := out["id"].(string), out["prefix"].(string)
		if code, out := e.admin("POST", "/api/scripts/x/keys", map[string]any{"name": strings.Repeat("n", 65)}); code != 400 {
			t.Fatalf("long name = %d %v", code, out)
		}
		if code, _ := e.admin("POST", "/api/scripts/nope/keys", map[string]any{}); code != 404 {
			t.Fatalf("key of a missing script = %d", code)
		}

		resp, b := e.request("GET", "/api/scripts/x/keys", nil, bearer(testToken)...)
		var list struct{ Items []picloud.InvokeKey }
		if err := json.Unmarshal(b, &list); err != nil || resp.StatusCode != 200 || len(list.Items) != 2 || list.Items[0].ID != k1 ||
			strings.Contains(string(b), key) || strings.Contains(string(b), "sha256:") {
			t.Fatalf("list = %d %s", resp.StatusCode, b)
		}
		if _, b := e.request("GET", "/api/scripts/y/keys", nil, bearer(testToken)...); string(b) != `{"items":[]}`+"\n" {
			t.Fatalf("y's keys = %s", b)
		}

		// Not through another script, by id or prefix.
		if code, _ := e.admin("DELETE", "/api/scripts/y/keys/"+k1, nil); code != 404 {
			t.Fatalf("delete x's key through y = %d", code)
		}
		if code, _ := e.admin("DELETE", "/api/scripts/y/keys/"+p2, nil); code != 404 {
			t.Fatalf("delete x's key by prefix through y = %d", code)
		}
		if code, out := e.admin("DELETE", "/api/scripts/x/keys/"+p2, nil); code != 204 {
			t.Fatalf("delete by prefix = %d %v", code, out)
		}
		if code, out := e.admin("DELETE", "/api/scripts/x/keys/"+k1, nil); code != 204 {
			t.Fatalf("delete by id = %d %v", code, out)
		}
		if code, _ := e.admin("DELETE", "/api/scripts/x/keys/"+k2, nil); code != 404 {
			t.Fatalf("delete twice = %d", code)
		}

		// Deleting the script deletes its keys.
		if code, _ := e.admin("POST", "/api/scripts/x/keys", map[string]any{}); code != 201 {
			t.Fatal("create")
		}
		if code, _ := e.admin("DELETE", "/api/scripts/x", nil); code != 204 {
			t.Fatal("delete script")
		}
		if keys, err := e.store.InvokeKeys(context.Background(), xid); err != nil || len(keys) != 0 {
			t.Fatalf("keys of a deleted script: %v %v", keys, err)
		}
	})
}
