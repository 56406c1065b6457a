package executor

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// replayScript reads, writes, deletes and lists keys: its body shows what it
// saw, so a second run shows whether the first one's writes leaked.
const replayScript = `
let before = [kv::get("a"), kv::get("b"), kv::list("l/").keys];
kv::set("a", 5);
let n = kv::incr("b", 10);
let gone = kv::delete("l/x");
kv::set("l/z", "new");
let swapped = kv::cas("c", (), "won");
[before, kv::get("a"), n, gone, kv::get("l/x"), kv::list("l/").keys, swapped, kv::get("c"), kv::delete("none")]
`

func TestReplayKVOverlay(t *testing.T) {
	x, st := kvExecutor(t, nil)
	ctx := context.Background()
	sc := &picloud.Script{ID: "s1"}
	ns := "script:s1"
	for k, v := range map[string]string{"a": `1`, "b": `2`, "l/x": `"x"`, "l/y": `"y"`} {
		if err := st.KVSet(ctx, ns, k, picloud.KVWrite{Value: json.RawMessage(v), Quota: picloud.KVQuota{MaxKeys: 100, MaxBytes: 1 << 20}}); err != nil {
			t.Fatal(err)
		}
	}
	const want = `[[1,2,["l/x","l/y"]],5,12,true,null,["l/y","l/z"],true,"won",false]`
	// Two runs, each on its own overlay over the live store, see the same
	// live data and produce the same body.
	for i := range 2 {
		ov := NewKVOverlay(st)
		body, res := replayRun(t, x, replayScript, Options{Script: sc, Replay: &Replay{KV: ov}})
		if body != want {
			t.Fatalf("run %d: body %s (%+v), want %s", i, body, res.Err, want)
		}
		if n := ov.Writes(); n != 5 { // a, b, l/x (deleted), l/z, c
			t.Fatalf("run %d: overlay holds %d writes, want 5", i, n)
		}
	}
	// The live store is untouched.
	for k, v := range map[string]string{"a": `1`, "b": `2`, "l/x": `"x"`, "l/y": `"y"`} {
		if e, err := st.KVGet(ctx, ns, k); err != nil || string(e.Value) != v {
			t.Fatalf("live %s = %+v, %v; want %s", k, e, err, v)
		}
	}
	for _, k := range []string{"l/z", "c"} {
		if _, err := st.KVGet(ctx, ns, k); picloud.ErrorCode(err) != picloud.ENotFound {
			t.Fatalf("live %s after replays: %v, want not found", k, err)
		}
	}
	// Outside a replay the same script writes through.
	if body, res := replayRun(t, x, replayScript, Options{Script: sc}); body != want {
		t.Fatalf("live run: %s (%+v)", body, res.Err)
	}
	if e, err := st.KVGet(ctx, ns, "a"); err != nil || string(e.Value) != `5` {
		t.Fatalf("live run did not write a: %+v, %v", e, err)
	}
}

func TestKVOverlayList(t *testing.T) {
	_, st := kvExecutor(t, nil)
	ctx := context.Background()
	for i := range 5 {
		k := string(rune('a' + 2*i)) // a c e g i
		if err := st.KVSet(ctx, "n", k, picloud.KVWrite{Value: json.RawMessage(`1`), Quota: picloud.KVQuota{MaxKeys: 100, MaxBytes: 1 << 20}}); err != nil {
			t.Fatal(err)
		}
	}
	ov := NewKVOverlay(st)
	for _, k := range []string{"b", "d"} {
		if err := ov.KVSet(ctx, "n", k, picloud.KVWrite{Value: json.RawMessage(`2`)}); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := ov.KVDelete(ctx, "n", "c"); !ok || err != nil {
		t.Fatalf("delete c = %v, %v", ok, err)
	}
	if ok, err := ov.KVDelete(ctx, "n", "c"); ok || err != nil {
		t.Fatalf("second delete c = %v, %v, want false", ok, err)
	}
	var got []string
	cursor := ""
	for {
		p, err := ov.KVList(ctx, "n", "", cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Keys) > 2 {
			t.Fatalf("page of %d keys, limit 2", len(p.Keys))
		}
		got = append(got, p.Keys...)
		if p.Cursor == "" {
			break
		}
		cursor = p.Cursor
	}
	if strings.Join(got, ",") != "a,b,d,e,g,i" {
		t.Fatalf("listed %v, want a,b,d,e,g,i", got)
	}
	if _, err := ov.KVGet(ctx, "n", "c"); picloud.ErrorCode(err) != picloud.ENotFound {
		t.Fatalf("get of a deleted key: %v", err)
	}
	if err := ov.KVSet(ctx, "n", "bad", picloud.KVWrite{Value: json.RawMessage(`{`)}); picloud.ErrorCode(err) != picloud.EInvalidRequest {
		t.Fatalf("set of invalid JSON: %v", err)
	}
	if _, err := ov.KVIncr(ctx, "n", "b", 1, picloud.KVWrite{}); err != nil {
		t.Fatal(err)
	}
	if e, _ := ov.KVGet(ctx, "n", "b"); string(e.Value) != `3` {
		t.Fatalf("incr in the overlay: %s", e.Value)
	}
	if _, err := st.KVGet(ctx, "n", "b"); picloud.ErrorCode(err) != picloud.ENotFound {
		t.Fatalf("overlay write reached the live store: %v", err)
	}
	if err := ov.DeleteKVNamespace(ctx, "n"); err == nil {
		t.Fatal("DeleteKVNamespace in an overlay succeeded")
	}
}

func TestReplayClock(t *testing.T) {
	x := newTestExecutor(t, Config{})
	at := time.Date(2024, 5, 1, 12, 0, 0, 123e6, time.UTC)
	res := run(t, x, `[time::now(), time::format(time::now())]`, Limits{}, Options{Replay: &Replay{Now: at}})
	if res.Response == nil || string(res.Response.Body) != `[1714564800123,"2024-05-01T12:00:00.123Z"]` {
		t.Fatalf("replay clock: %s (%+v)", res.Response.Body, res.Err)
	}
	// Outside a replay the clock is the wall clock.
	res = run(t, x, `time::now()`, Limits{}, Options{})
	var ms int64
	if res.Response == nil || json.Unmarshal(res.Response.Body, &ms) != nil || time.Since(time.UnixMilli(ms)) > time.Hour {
		t.Fatalf("wall clock: %+v", res)
	}
}

func TestReplayHTTPStub(t *testing.T) {
	srv, conns := httpServer(t)
	x := httpExecutor(t, srv, true, nil)
	src := `let r = http::post("` + srv.URL + `/echo", "x"); [r.status, r.json, r.headers["x-picloud-replay"]]`
	want := `[503,{"error":"replay: outbound calls are not made"},"1"]`
	for i := range 2 {
		res := run(t, x, src, Limits{}, Options{Replay: &Replay{}})
		if res.Response == nil || string(res.Response.Body) != want {
			t.Fatalf("run %d: %+v %+v, want %s", i, res.Response, res.Err, want)
		}
		if len(res.Outbound) != 1 || res.Outbound[0].Status != 503 || res.Outbound[0].Path != "/echo" {
			t.Fatalf("run %d: outbound recorded %+v", i, res.Outbound)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("a replay connected to the server %d times", n)
	}
	// The http_max_requests limit still applies to the stubbed calls.
	res := run(t, x, `for i in 0..200 { http::get("`+srv.URL+`/hello"); } 1`, Limits{}, Options{Replay: &Replay{}})
	if res.Status == picloud.StatusSuccess || !strings.Contains(res.Err.Message, "too many requests") {
		t.Fatalf("limit in a replay: %s %+v", res.Status, res.Err)
	}
	// Outside a replay the call reaches the server.
	if res := run(t, x, `http::get("`+srv.URL+`/hello").body`, Limits{}, Options{}); res.Response == nil || string(res.Response.Body) != `hello` || conns.Load() == 0 {
		t.Fatalf("live call: %+v", res)
	}
}

func TestReplayEventsRecorded(t *testing.T) {
	x := newTestExecutor(t, Config{})
	res := run(t, x, `events::emit("order.created", #{id: 1}); 1`, Limits{}, Options{Replay: &Replay{}})
	if res.Status != picloud.StatusSuccess || len(res.Events) != 1 || res.Events[0].Topic != "order.created" {
		t.Fatalf("events of a replay: %s %+v", res.Status, res.Events)
	}
}

func replayRun(t *testing.T, x *Executor, src string, opts Options) (string, *Result) {
	t.Helper()
	res := run(t, x, src, Limits{}, opts)
	if res.Response == nil {
		return "", res
	}
	return string(res.Response.Body), res
}
