package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// TestReplayConfined: a source a restricted token replays against an
// unconfined script of its pattern runs confined to that pattern (no
// global secret in the body the replay returns), as it would deployed;
// the same replay by a token for every script still reads it.
func TestReplayConfined(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{SecretBox: testBox(t), Jobs: jobsConfig()})
		if code, out := e.admin("PUT", "/api/secrets/SHARED", map[string]any{"value": "global-shared-1"}); code != http.StatusNoContent {
			t.Fatalf("global secret: %d %v", code, out)
		}
		id := e.create("orders-main", `"live"`)
		if resp, b := e.request("GET", "/fn/orders-main", nil); resp.StatusCode != 200 {
			t.Fatalf("invoke: %d %s", resp.StatusCode, b)
		}
		e.logs(id, 1)
		tok := e.newToken("orders-ci", []string{"deploy"}, "orders-*")
		const src = `let r = ""; try { r = secret("SHARED"); } catch (err) { r = "refused"; } r`
		replay := func(hdr ...string) string {
			t.Helper()
			body, _ := json.Marshal(map[string]any{"source": src, "last": 1})
			resp, b := e.request("POST", "/api/scripts/orders-main/replay", body, append(hdr, "Content-Type", "application/json")...)
			var out picloud.ReplayResponse
			if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || len(out.Items) != 1 {
				t.Fatalf("replay: %d %s", resp.StatusCode, b)
			}
			return out.Items[0].Draft.Body
		}
		if got := replay(bearer(tok)...); strings.Contains(got, "global-shared-1") || got != "refused" {
			t.Fatalf("a restricted token's replayed source read the global secret: %q", got)
		}
		if got := replay("Authorization", "Bearer "+testToken); got != "global-shared-1" {
			t.Fatalf("the admin's replay: %q", got)
		}
	})
}
