package app_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// settingRanges lists every numeric script setting with its largest valid
// value: both stores must refuse the same values (PostgreSQL used to answer
// 500 for max_concurrency = 2^31, SQLite 201).
var settingRanges = []struct {
	field string
	max   int64
}{
	{"timeout_ms", picloud.MaxTimeoutMS},
	{"max_operations", picloud.MaxOperationsLimit},
	{"max_concurrency", int64(picloud.MaxConcurrencyLimit)},
	{"max_memory_bytes", picloud.MaxMemoryBytesLimit},
	{"max_response_bytes", picloud.MaxResponseBytesLimit},
}

func TestSettingsOutOfRange(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		id := e.create("target", "1")
		for _, s := range settingRanges {
			for _, v := range []int64{-1, s.max + 1, 1 << 31, math.MaxInt64} {
				if v <= s.max && v >= 0 {
					continue // 2^31 is in range for the 64-bit settings
				}
				name := "bad-" + strings.ReplaceAll(s.field, "_", "-")
				for _, call := range []struct{ method, path string }{{"POST", "/api/scripts"}, {"PUT", "/api/scripts/" + id}} {
					body := map[string]any{s.field: v}
					if call.method == "POST" {
						body["name"], body["source"] = name, "1"
					}
					code, out := e.admin(call.method, call.path, body)
					eb := errBody(t, out)
					if code != 400 || eb["code"] != "invalid_request" || eb["field"] != s.field || !contains(fmt.Sprint(eb["message"]), s.field) {
						t.Errorf("%s %s %s=%d: %d %v", call.method, call.path, s.field, v, code, out)
					}
				}
			}
		}
		// Nothing was created or changed by the refused requests.
		code, out := e.admin("GET", "/api/scripts", nil)
		if items := out["items"].([]any); code != 200 || len(items) != 1 {
			t.Fatalf("scripts after refused requests: %d %v", code, out)
		}
		code, sc := e.admin("GET", "/api/scripts/"+id, nil)
		for _, s := range settingRanges {
			if code != 200 || sc[s.field] != 0.0 {
				t.Errorf("%s changed by a refused update: %v", s.field, sc[s.field])
			}
		}
		// A name that is not a slug names its field too.
		code, out = e.admin("POST", "/api/scripts", map[string]any{"name": "Not A Slug", "source": "1"})
		if eb := errBody(t, out); code != 400 || eb["field"] != "name" {
			t.Errorf("bad name: %d %v", code, out)
		}
		code, out = e.admin("POST", "/api/scripts", map[string]any{"name": "no-source"})
		if eb := errBody(t, out); code != 400 || eb["field"] != "source" {
			t.Errorf("missing source: %d %v", code, out)
		}
	})
}

func TestSettingsExtremesRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		body := map[string]any{"name": "extremes", "source": "1", "unsandboxed": true}
		for _, s := range settingRanges {
			body[s.field] = s.max
		}
		code, sc := e.admin("POST", "/api/scripts", body)
		if code != 201 {
			t.Fatalf("create at the maxima: %d %v", code, sc)
		}
		id := sc["id"].(string)
		check := func(when string, want func(max int64) int64, unsandboxed bool) {
			t.Helper()
			// Decode into the typed script: int64 fields compare exactly.
			var got picloud.Script
			resp, b := e.request("GET", "/api/scripts/"+id, nil, "Authorization", "Bearer "+testToken)
			if resp.StatusCode != 200 || json.Unmarshal(b, &got) != nil {
				t.Fatalf("%s: GET %d %s", when, resp.StatusCode, b)
			}
			vals := map[string]int64{"timeout_ms": got.TimeoutMS, "max_operations": got.MaxOperations,
				"max_concurrency": int64(got.MaxConcurrency), "max_memory_bytes": got.MaxMemoryBytes,
				"max_response_bytes": got.MaxResponseBytes}
			for _, s := range settingRanges {
				if vals[s.field] != want(s.max) {
					t.Errorf("%s: %s = %d, want %d", when, s.field, vals[s.field], want(s.max))
				}
			}
			if got.Unsandboxed != unsandboxed {
				t.Errorf("%s: unsandboxed = %v", when, got.Unsandboxed)
			}
		}
		check("created", func(max int64) int64 { return max }, true)

		// 0 is the low end (the server default); a settings-only update makes
		// no new version.
		zero := map[string]any{"unsandboxed": false}
		for _, s := range settingRanges {
			zero[s.field] = 0
		}
		if code, out := e.admin("PUT", "/api/scripts/"+id, zero); code != 200 || out["version"] != 1.0 {
			t.Fatalf("update to zero: %d %v", code, out)
		}
		check("zeroed", func(int64) int64 { return 0 }, false)
		back := map[string]any{}
		for _, s := range settingRanges {
			back[s.field] = s.max
		}
		if code, out := e.admin("PATCH", "/api/scripts/"+id, back); code != 200 {
			t.Fatalf("update to the maxima: %d %v", code, out)
		}
		check("updated", func(max int64) int64 { return max }, false)
	})
}
