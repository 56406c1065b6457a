package app_test

import (
	"net/http"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// TestLogQueries: scripts by name on the log routes, the filters end to end
// over real executions, and UUID-shaped names refused, on both stores.
func TestLogQueries(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		echo := e.create("echo", "log::info(\"Order \" + request.query.k);\nif request.query.k == \"bad\" { throw \"Payment DECLINED\"; }\nrequest.query.k")
		e.create("other", `log::info("order elsewhere"); 1`)
		for _, k := range []string{"one", "bad", "two"} {
			e.request("GET", "/fn/echo?k="+k, nil)
		}
		e.request("GET", "/fn/other", nil)
		e.logs(echo, 3)

		count := func(path string) int {
			t.Helper()
			code, out := e.admin("GET", path, nil)
			if code != 200 {
				t.Fatalf("GET %s: %d %v", path, code, out)
			}
			items, _ := out["items"].([]any)
			return len(items)
		}
		for _, c := range []struct {
			path string
			want int
		}{
			{"/api/scripts/echo/logs", 3},
			{"/api/scripts/" + echo + "/logs", 3},
			{"/api/scripts/echo/logs?status=error", 1},
			{"/api/scripts/echo/logs?status=success&q=ORDER", 2},
			{"/api/scripts/echo/logs?q=declined", 1},
			{"/api/scripts/echo/logs?trigger=cron,async", 0},
			{"/api/scripts/echo/logs?since=1h&trigger=http", 3},
			{"/api/scripts/echo/logs?until=1h", 0},
			{"/api/logs?q=order", 4},
			{"/api/logs?q=order&script=other", 1},
			{"/api/logs?status=error,timeout", 1},
		} {
			if got := count(c.path); got != c.want {
				t.Errorf("GET %s: %d rows, want %d", c.path, got, c.want)
			}
		}
		// The other script routes take the name too.
		for _, path := range []string{"/api/scripts/echo/kv", "/api/scripts/echo/secrets", "/api/scripts/echo/schedules",
			"/api/scripts/echo/versions", "/api/scripts/echo/versions/1"} {
			if code, out := e.admin("GET", path, nil); code != 200 {
				t.Errorf("GET %s: %d %v", path, code, out)
			}
		}
		if code, out := e.admin("PUT", "/api/scripts/echo/kv/greeting", map[string]any{"value": "hi"}); code != 200 {
			t.Errorf("PUT kv by name: %d %v", code, out)
		} else if code, out := e.admin("GET", "/api/scripts/"+echo+"/kv/greeting", nil); code != 200 || out["value"] != "hi" {
			t.Errorf("the key set by name, read by id: %d %v", code, out)
		}

		if code, out := e.admin("GET", "/api/logs?since=tomorrow", nil); code != http.StatusBadRequest {
			t.Errorf("since=tomorrow: %d %v", code, out)
		} else if eb := out["error"].(map[string]any); eb["code"] != "invalid_request" || eb["field"] != "since" {
			t.Errorf("since=tomorrow: %v", out)
		}

		const uuidName = "0190a3c4-1b2c-7d3e-8f40-123456789abc"
		code, out := e.admin("POST", "/api/scripts", map[string]any{"name": uuidName, "source": "1"})
		if eb, _ := out["error"].(map[string]any); code != 400 || eb["field"] != "name" {
			t.Errorf("create %s: %d %v", uuidName, code, out)
		}
		code, out = e.admin("PATCH", "/api/scripts/echo", map[string]any{"name": uuidName})
		if eb, _ := out["error"].(map[string]any); code != 400 || eb["field"] != "name" {
			t.Errorf("rename to %s: %d %v", uuidName, code, out)
		}
	})
}
