package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// replayLive reads and writes kv, reads the clock and makes an outbound
// call: the replay's conditions decide each part of its answer.
const replayLive = `
let n = kv::incr("hits");
kv::set("last", request.body);
// Served, the call is refused (no egress allowed); replayed, the stub answers.
let out = -1;
try { out = http::get("http://replay.invalid/x").status; } catch { }
#{ n: n, seed: kv::get("seed"), got: request.body, sub: request.subpath, q: request.query.q, now: time::now(), out: out }
`

// TestReplay: captured requests run through the live version and a draft
// under the same conditions; a changed body is diffed by JSON path, an
// identical draft is the same everywhere, nothing is written (kv, execution
// rows), and a truncated capture is listed as not replayable.
func TestReplay(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		ctx := context.Background()
		id := e.create("replayed", replayLive)
		if err := e.store.KVSet(ctx, "script:"+id, "seed", picloud.KVWrite{Value: json.RawMessage(`"s"`), Quota: picloud.KVQuota{MaxKeys: 10, MaxBytes: 1 << 20}}); err != nil {
			t.Fatal(err)
		}
		for _, b := range []string{`{"a":1}`, `{"a":2}`} {
			if resp, body := e.request("POST", "/fn/replayed/sub?q=v", []byte(b), "Content-Type", "application/json"); resp.StatusCode != 200 {
				t.Fatalf("live call = %d %s", resp.StatusCode, body)
			}
		}
		// A body over the capture limit (64 KiB) is cut: not replayable.
		big := `{"a":"` + strings.Repeat("x", 70_000) + `"}`
		if resp, body := e.request("POST", "/fn/replayed", []byte(big), "Content-Type", "application/json"); resp.StatusCode != 200 {
			t.Fatalf("big call = %d %s", resp.StatusCode, body)
		}
		rows := e.logs(id, 3)
		hits := func() json.RawMessage {
			en, err := e.store.KVGet(ctx, "script:"+id, "hits")
			if err != nil {
				t.Fatal(err)
			}
			return en.Value
		}
		if string(hits()) != `3` {
			t.Fatalf("hits after the live calls = %s", hits())
		}
		// started_at of each capture, by execution id: the replay's clock.
		started := map[string]int64{}
		for _, r := range rows {
			ts, err := time.Parse(time.RFC3339Nano, r["started_at"].(string))
			if err != nil {
				t.Fatal(err)
			}
			started[r["id"].(string)] = ts.UnixMilli()
		}

		replay := func(in map[string]any) map[string]any {
			t.Helper()
			code, out := e.admin("POST", "/api/scripts/replayed/replay", in)
			if code != 200 {
				t.Fatalf("replay %v = %d %v", in, code, out)
			}
			if nr := out["not_replayable"].([]any); len(nr) != 1 || !strings.Contains(nr[0].(map[string]any)["reason"].(string), "truncated") {
				t.Fatalf("not_replayable = %v", out["not_replayable"])
			}
			if items := out["items"].([]any); len(items) != 2 {
				t.Fatalf("items = %v", items)
			}
			return out
		}

		// The same source: every item the same, and the runs saw the
		// capture's clock, the live kv, the stub's 503 and the request.
		out := replay(map[string]any{"source": replayLive, "last": 10})
		for _, it := range out["items"].([]any) {
			it := it.(map[string]any)
			live, draft := it["live"].(map[string]any), it["draft"].(map[string]any)
			if it["same"] != true || len(it["diff"].(map[string]any)) != 0 {
				t.Fatalf("identical draft: item %v", it)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(live["body"].(string)), &body); err != nil {
				t.Fatalf("live body %v: %v", live["body"], err)
			}
			// Each run starts from the live hits (3) on its own overlay.
			if body["n"] != 4.0 || body["seed"] != "s" || body["sub"] != "/sub" || body["q"] != "v" || body["out"] != 503.0 ||
				int64(body["now"].(float64)) != started[it["execution_id"].(string)] {
				t.Fatalf("live run saw %v (started %v)", body, started)
			}
			if live["status"] != 200.0 || draft["body"] != live["body"] || live["outcome"] != "success" {
				t.Fatalf("runs: live %v draft %v", live, draft)
			}
		}
		// The newest first: the body of the second call.
		first := out["items"].([]any)[0].(map[string]any)
		if !strings.Contains(first["live"].(map[string]any)["body"].(string), `"got":{"a":2}`) {
			t.Fatalf("newest item = %v", first["live"])
		}

		// A stored draft that changes the body: same false, the diff by path.
		changed := strings.Replace(replayLive, "seed: kv::get(\"seed\")", "seed: \"changed\", extra: true", 1)
		if code, out := e.admin("PUT", "/api/scripts/replayed/draft", map[string]any{"source": changed}); code != 200 {
			t.Fatalf("put draft = %d %v", code, out)
		}
		out = replay(map[string]any{"draft": true})
		for _, it := range out["items"].([]any) {
			it := it.(map[string]any)
			diff := it["diff"].(map[string]any)
			if it["same"] != false || diff["status"] != nil || diff["headers"] != nil {
				t.Fatalf("changed draft: item %v", it)
			}
			body := diff["body"].([]any)
			want := map[string][2]any{"/extra": {nil, true}, "/seed": {"s", "changed"}}
			if len(body) != len(want) {
				t.Fatalf("body diff = %v", body)
			}
			for _, c := range body {
				c := c.(map[string]any)
				w, ok := want[c["path"].(string)]
				if !ok || c["live"] != w[0] || c["draft"] != w[1] {
					t.Fatalf("body change %v, want %v", c, want)
				}
			}
		}
		// The filter narrows the captures like the log query.
		code, fo := e.admin("POST", "/api/scripts/replayed/replay", map[string]any{"source": replayLive, "filter": map[string]any{"status": "error"}})
		if code != 200 || len(fo["items"].([]any)) != 0 || len(fo["not_replayable"].([]any)) != 0 {
			t.Fatalf("filtered replay = %d %v", code, fo)
		}

		// Nothing was written: kv as the live calls left it, no new rows.
		if string(hits()) != `3` {
			t.Fatalf("hits after the replays = %s", hits())
		}
		if en, err := e.store.KVGet(ctx, "script:"+id, "last"); err != nil || !strings.Contains(string(en.Value), strings.Repeat("x", 100)) {
			t.Fatalf("last after the replays = %v %v (want the big call's body)", en, err)
		}
		if got, err := e.store.QueryExecutions(ctx, picloud.ExecutionQuery{ScriptID: id, Limit: 100}); err != nil || len(got) != 3 {
			t.Fatalf("execution rows after the replays: %d, %v; want 3", len(got), err)
		}

		// Refusals.
		for _, tt := range []struct {
			in   map[string]any
			code int
			want string
		}{
			{map[string]any{}, 400, "invalid_request"},
			{map[string]any{"source": "1", "draft": true}, 400, "invalid_request"},
			{map[string]any{"source": "1", "last": 101}, 400, "invalid_request"},
			{map[string]any{"source": "let x = ;"}, 400, "invalid_source"},
			{map[string]any{"source": "1", "filter": map[string]any{"since": "yesterday"}}, 400, "invalid_request"},
		} {
			if code, out := e.admin("POST", "/api/scripts/replayed/replay", tt.in); code != tt.code || errBody(t, out)["code"] != tt.want {
				t.Errorf("replay %v = %d %v, want %d %s", tt.in, code, out, tt.code, tt.want)
			}
		}
		if code, _ := e.admin("DELETE", "/api/scripts/replayed/draft", nil); code != 204 {
			t.Fatal("delete draft")
		}
		if code, out := e.admin("POST", "/api/scripts/replayed/replay", map[string]any{"draft": true}); code != 404 {
			t.Errorf("replay of a missing draft = %d %v", code, out)
		}
		if code, out := e.admin("POST", "/api/scripts/nope/replay", map[string]any{"source": "1"}); code != 404 {
			t.Errorf("replay of a missing script = %d %v", code, out)
		}
	})
}
