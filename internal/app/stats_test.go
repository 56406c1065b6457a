package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// TestStats: GET /api/scripts/{ref}/stats and /api/stats over real
// executions, and the query's validation, on both stores.
func TestStats(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		echo := e.create("echo", "if request.query.k == \"bad\" { throw \"no\"; }\nrequest.query.k")
		e.create("other", `1`)
		for _, k := range []string{"one", "bad", "two"} {
			e.request("GET", "/fn/echo?k="+k, nil)
		}
		e.request("GET", "/fn/other", nil)
		e.logs(echo, 3)

		sum := func(path string) (total, success, errs float64, buckets int, ops float64) {
			t.Helper()
			code, out := e.admin("GET", path, nil)
			if code != 200 {
				t.Fatalf("GET %s: %d %v", path, code, out)
			}
			bs, _ := out["buckets"].([]any)
			for _, b := range bs {
				m := b.(map[string]any)
				total += m["count"].(float64)
				by := m["by_status"].(map[string]any)
				s, _ := by["success"].(float64)
				x, _ := by["error"].(float64)
				success, errs = success+s, errs+x
				ops += m["operations"].(float64)
				if m["count"].(float64) > 0 && m["p99_ms"].(float64) <= 0 {
					t.Errorf("GET %s: a non-empty bucket with p99 0: %v", path, m)
				}
			}
			return total, success, errs, len(bs), ops
		}
		total, ok, bad, n, ops := sum("/api/scripts/echo/stats?since=1h&step=1m")
		// since is rounded down to a whole step: 60 or 61 buckets.
		if total != 3 || ok != 2 || bad != 1 || n < 60 || n > 61 || ops <= 0 {
			t.Errorf("echo: total %v success %v error %v buckets %d operations %v; want 3 2 1 60-61 >0", total, ok, bad, n, ops)
		}
		if total, _, _, n, _ := sum("/api/scripts/" + echo + "/stats"); total != 3 || n < 60 || n > 61 {
			t.Errorf("echo by id, default range: total %v in %d buckets, want 3 in 60-61", total, n)
		}
		if total, _, _, _, _ := sum("/api/stats?since=10m&step=10s"); total != 4 {
			t.Errorf("all scripts: total %v, want 4", total)
		}
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		if total, _, _, n, _ := sum("/api/stats?since=" + future + "&until=" + time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339)); total != 0 || n < 60 || n > 61 {
			t.Errorf("a future hour: total %v in %d buckets", total, n)
		}

		for _, c := range []struct{ path, field string }{
			{"/api/stats?since=168h&step=1m", "step"},
			{"/api/stats?step=100ms", "step"},
			{"/api/stats?step=soon", "step"},
			{"/api/stats?since=yesterday", "since"},
			{"/api/stats?since=" + future, "until"},
		} {
			code, out := e.admin("GET", c.path, nil)
			if code != http.StatusBadRequest {
				t.Errorf("GET %s: %d %v, want 400", c.path, code, out)
				continue
			}
			if eb := out["error"].(map[string]any); eb["code"] != "invalid_request" || eb["field"] != c.field {
				t.Errorf("GET %s: %v, want field %s", c.path, out, c.field)
			}
		}
		if code, _ := e.admin("GET", "/api/scripts/nope/stats", nil); code != http.StatusNotFound {
			t.Errorf("unknown script: %d", code)
		}
	})
}

// TestScriptsStats: GET /api/stats/scripts lists the scripts with executions
// in the range, most called first, with their errors and every bucket; a
// script without any is left out; the query is validated as /api/stats's.
func TestScriptsStats(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		echo := e.create("echo", "if request.query.k == \"bad\" { throw \"no\"; }\nrequest.query.k")
		other := e.create("other", `1`)
		e.create("idle", `1`)
		for _, k := range []string{"one", "bad", "two"} {
			e.request("GET", "/fn/echo?k="+k, nil)
		}
		e.request("GET", "/fn/other", nil)
		e.logs(echo, 3)
		e.logs(other, 1)

		var got picloud.ScriptsStats
		e.do("GET", "/api/stats/scripts?since=1h&step=2m", nil, 200, &got)
		if got.StepMS != 120_000 || got.Until.Sub(got.Since.Time) < time.Hour {
			t.Errorf("range %v..%v step %d", got.Since, got.Until, got.StepMS)
		}
		if len(got.Scripts) != 2 {
			t.Fatalf("scripts: %+v, want echo and other", got.Scripts)
		}
		ec, ot := got.Scripts[0], got.Scripts[1]
		if ec.ScriptID != echo || ec.Name != "echo" || ec.Count != 3 || ec.Errors != 1 || ec.DurationMS <= 0 || ec.Operations <= 0 {
			t.Errorf("echo: %+v", ec)
		}
		if ot.ScriptID != other || ot.Name != "other" || ot.Count != 1 || ot.Errors != 0 {
			t.Errorf("other: %+v", ot)
		}
		// 30 or 31 buckets (since rounded down to a whole step); the
		// executions are in the last one or two.
		var sum, errs int64
		for _, b := range ec.Buckets {
			sum, errs = sum+b.Count, errs+b.Errors
		}
		if n := len(ec.Buckets); n < 30 || n > 31 || len(ot.Buckets) != n || sum != 3 || errs != 1 || ec.Buckets[0].Count != 0 {
			t.Errorf("echo's buckets: %+v", ec.Buckets)
		}

		// Nothing in a past hour: an empty list, not null.
		code, out := e.admin("GET", "/api/stats/scripts?since=3h&until=2h", nil)
		if list, ok := out["scripts"].([]any); code != 200 || !ok || len(list) != 0 {
			t.Errorf("a quiet hour: %d %v", code, out)
		}
		if code, out := e.admin("GET", "/api/stats/scripts?since=168h&step=1m", nil); code != http.StatusBadRequest || errBody(t, out)["field"] != "step" {
			t.Errorf("too many buckets: %d %v", code, out)
		}
		if resp, _ := e.request("GET", "/api/stats/scripts", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("without the token: %d", resp.StatusCode)
		}
	})
}
