package app_test

import (
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// TestDrafts: a draft is stored (by id or name) without being served, refused
// with the position when it does not compile, promoted to the next version
// (which is then served) and dropped.
func TestDrafts(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		id := e.create("drafty", `"live"`)

		if code, out := e.admin("GET", "/api/scripts/drafty/draft", nil); code != 404 || errBody(t, out)["code"] != "not_found" {
			t.Fatalf("get without draft = %d %v", code, out)
		}
		if code, out := e.admin("POST", "/api/scripts/drafty/draft/promote", nil); code != 404 {
			t.Fatalf("promote without draft = %d %v", code, out)
		}
		if code, _ := e.admin("DELETE", "/api/scripts/drafty/draft", nil); code != 404 {
			t.Fatalf("delete without draft = %d", code)
		}
		if code, out := e.admin("PUT", "/api/scripts/nope/draft", map[string]any{"source": "1"}); code != 404 {
			t.Fatalf("draft of a missing script = %d %v", code, out)
		}
		if code, out := e.admin("PUT", "/api/scripts/drafty/draft", map[string]any{}); code != 400 || errBody(t, out)["code"] != "invalid_request" {
			t.Fatalf("draft without source = %d %v", code, out)
		}
		code, out := e.admin("PUT", "/api/scripts/drafty/draft", map[string]any{"source": "let x = 1;\nlet y = ;"})
		if eb := errBody(t, out); code != 400 || eb["code"] != "invalid_source" || eb["line"] != 2.0 || eb["column"] == 0.0 {
			t.Fatalf("invalid draft = %d %v", code, out)
		}

		code, out = e.admin("PUT", "/api/scripts/drafty/draft", map[string]any{"source": `"draft"`})
		if code != 200 || out["source"] != `"draft"` || out["base_version"] != 1.0 || out["script_id"] != id || out["updated_at"] == nil {
			t.Fatalf("put draft = %d %v", code, out)
		}
		// By id too; the draft is never served.
		if code, out := e.admin("GET", "/api/scripts/"+id+"/draft", nil); code != 200 || out["source"] != `"draft"` {
			t.Fatalf("get draft by id = %d %v", code, out)
		}
		if resp, body := e.request("GET", "/fn/drafty", nil); resp.StatusCode != 200 || string(body) != "live" {
			t.Fatalf("served with a draft = %d %s", resp.StatusCode, body)
		}
		// The script itself says a draft waits (an editor's one request).
		if code, out := e.admin("GET", "/api/scripts/drafty", nil); code != 200 || out["source"] != `"live"` ||
			out["draft"].(map[string]any)["source"] != `"draft"` {
			t.Fatalf("script with a draft = %d %v", code, out)
		}

		code, out = e.admin("POST", "/api/scripts/drafty/draft/promote", nil)
		if code != 200 || out["version"] != 2.0 || out["source"] != `"draft"` || out["name"] != "drafty" {
			t.Fatalf("promote = %d %v", code, out)
		}
		if resp, body := e.request("GET", "/fn/drafty", nil); resp.StatusCode != 200 || string(body) != "draft" {
			t.Fatalf("served after promote = %d %s", resp.StatusCode, body)
		}
		if code, _ := e.admin("GET", "/api/scripts/drafty/draft", nil); code != 404 {
			t.Fatalf("draft after promote = %d", code)
		}
		if code, out := e.admin("GET", "/api/scripts/drafty", nil); code != 200 || out["draft"] != nil {
			t.Fatalf("script after promote = %d %v", code, out)
		}
		if code, out := e.admin("GET", "/api/scripts/drafty/versions", nil); code != 200 || len(out["items"].([]any)) != 2 {
			t.Fatalf("versions after promote = %d %v", code, out)
		}

		if code, _ := e.admin("PUT", "/api/scripts/drafty/draft", map[string]any{"source": `"again"`}); code != 200 {
			t.Fatalf("second draft = %d", code)
		}
		if code, _ := e.admin("DELETE", "/api/scripts/drafty/draft", nil); code != 204 {
			t.Fatalf("delete draft = %d", code)
		}
		if code, _ := e.admin("GET", "/api/scripts/drafty/draft", nil); code != 404 {
			t.Fatalf("draft after delete = %d", code)
		}
		if resp, body := e.request("GET", "/fn/drafty", nil); string(body) != "draft" {
			t.Fatalf("delete draft changed the live script: %d %s", resp.StatusCode, body)
		}

		// Admin only.
		if resp, _ := e.request("GET", "/api/scripts/drafty/draft", nil); resp.StatusCode != 401 {
			t.Fatalf("draft without a token = %d", resp.StatusCode)
		}
	})
}
