package executor

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/sqlite"
	"github.com/picloud/picloud/rhai"
)

func kvExecutor(t *testing.T, ops map[string]int) (*Executor, picloud.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kv.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := KVConfig{Store: st}
	if ops != nil {
		cfg.OnOp = func(op string) { ops[op]++ }
	}
	return newTestExecutor(t, Config{KV: cfg}), st
}

// kvRun runs src as the stored script sc and returns its body.
func kvRun(t *testing.T, x *Executor, sc *picloud.Script, src string) (string, *Result) {
	t.Helper()
	res := run(t, x, src, Limits{}, Options{Script: sc})
	if res.Response == nil {
		return "", res
	}
	return string(res.Response.Body), res
}

func TestKVModule(t *testing.T) {
	ops := map[string]int{}
	x, st := kvExecutor(t, ops)
	sc := &picloud.Script{ID: "s1", KVNamespaces: "orders"}
	for _, tt := range []struct{ src, want string }{
		{`[kv::get("none")]`, "[null]"},
		{`kv::set("m", #{a: [1, 2.5, "x", (), true], b: #{c: "d"}}); kv::get("m")`, `{"a":[1,2.5,"x",null,true],"b":{"c":"d"}}`},
		{`kv::set("s", "text"); [kv::get("s")]`, `["text"]`},
		{`kv::incr("n", 5); kv::incr("n", -2)`, `3`},
		{`kv::incr("n")`, `4`},
		{`kv::delete("n")`, `true`},
		{`kv::delete("n")`, `false`},
		{`[kv::cas("c", (), 1), kv::cas("c", (), 2), kv::cas("c", 1, 3), kv::get("c")]`, `[true,false,true,3]`},
		{`kv::set("l/b", 1); kv::set("l/a", 1); kv::set("l/c", 1); let p = kv::list("l/", #{limit: 2}); [p.keys, kv::list("l/", #{cursor: p.cursor})]`,
			`[["l/a","l/b"],{"cursor":null,"keys":["l/c"]}]`},
		{`kv::set("t", 1, #{ttl: 3600}); kv::get("t")`, `1`},
		{`kv::set("u", ()); [kv::get("u"), kv::cas("u", (), 5), kv::get("u")]`, `[null,true,5]`},
		{`let o = kv::ns("orders"); o.set("k", "shared"); [o.get("k"), kv::get("k"), type_of(o)]`, `["shared",null,"kv::Namespace"]`},
		{`let o = kv::ns("orders"); [o.incr("n", 2), o.cas("n", 2, 10), o.get("n"), o.delete("n"), o.list("").keys]`, `[2,true,10,true,["k"]]`},
	} {
		body, res := kvRun(t, x, sc, tt.src)
		if body != tt.want {
			t.Errorf("%s = %q (%+v), want %s", tt.src, body, res.Err, tt.want)
		}
	}
	// The script's namespace holds what kv:: wrote; the shared one is apart.
	if e, err := st.KVGet(context.Background(), "script:s1", "s"); err != nil || string(e.Value) != `"text"` {
		t.Fatalf("stored = %+v, %v", e, err)
	}
	if e, err := st.KVGet(context.Background(), "ns:orders", "k"); err != nil || string(e.Value) != `"shared"` {
		t.Fatalf("shared = %+v, %v", e, err)
	}
	if ops["get"] == 0 || ops["set"] == 0 || ops["incr"] == 0 || ops["ns"] != 2 || ops["cas"] == 0 || ops["list"] == 0 || ops["delete"] == 0 {
		t.Fatalf("ops counted = %v", ops)
	}
	// Another script does not see s1's keys.
	if body, _ := kvRun(t, x, &picloud.Script{ID: "s2"}, `[kv::get("s")]`); body != "[null]" {
		t.Fatalf("s2 reads s1's key: %s", body)
	}
}

func TestKVErrors(t *testing.T) {
	x, st := kvExecutor(t, nil)
	sc := &picloud.Script{ID: "s1", KVMaxKeys: 2}
	for _, tt := range []struct{ src, want string }{
		{`kv::ns("orders")`, `namespace "orders" is not listed`},
		{`kv::set("", 1)`, "empty key"},
		{`kv::set("` + strings.Repeat("k", picloud.MaxKVKeyBytes+1) + `", 1)`, "over the limit of 512"},
		{`let s = "x"; s.pad(1048577, "x"); kv::set("big", s)`, "over the limit of 1048576 bytes"},
		{`kv::set("f", Fn("foo"))`, "cannot be stored"},
		{`kv::set("t", 1, #{ttl: -1})`, "ttl must be a positive"},
		{`kv::set("t", 1, #{tll: 1})`, `unknown option "tll"`},
		{`kv::set("s", "x"); kv::incr("s", 1)`, "holds no integer"},
		{`kv::set("a", 1); kv::set("b", 2); kv::set("c", 3)`, "quota of 2 keys"},
		{`kv::list("", #{limit: 0})`, "limit must be between"},
	} {
		_, res := kvRun(t, x, sc, tt.src)
		if res.Status != picloud.StatusError || res.Code != picloud.EScriptError || res.Err == nil || !strings.Contains(res.Err.Message, tt.want) {
			t.Errorf("%s = %s %+v, want a script error with %q", tt.src, res.Status, res.Err, tt.want)
		}
	}
	// Nothing over a limit was written.
	for _, k := range []string{"big", "f", "t", "c"} {
		if _, err := st.KVGet(context.Background(), "script:s1", k); picloud.ErrorCode(err) != picloud.ENotFound {
			t.Errorf("%s written: %v", k, err)
		}
	}
	// Outside the platform (no stored script) and without a store.
	if _, res := kvRun(t, x, nil, `kv::get("a")`); res.Err == nil || !strings.Contains(res.Err.Message, "only to stored scripts") {
		t.Errorf("without a script: %+v", res.Err)
	}
	bare := newTestExecutor(t, Config{})
	if _, res := kvRun(t, bare, sc, `kv::get("a")`); res.Err == nil || !strings.Contains(res.Err.Message, "not available") {
		t.Errorf("without a store: %+v", res.Err)
	}
}

// TestKVCharged: every call costs operations, more for more bytes, so a
// budget bounds a loop of kv:: calls.
func TestKVCharged(t *testing.T) {
	x, _ := kvExecutor(t, nil)
	sc := &picloud.Script{ID: "s1"}
	small := run(t, x, `kv::set("a", "x")`, Limits{}, Options{Script: sc})
	large := run(t, x, `let s = "x"; s.pad(100000, "x"); kv::set("a", s)`, Limits{}, Options{Script: sc})
	if small.Operations < kvCallOps || large.Operations < small.Operations+100000/bytesPerOp {
		t.Fatalf("operations: small %d, large %d", small.Operations, large.Operations)
	}
	res := run(t, x, `loop { kv::get("a") }`, Limits{MaxOperations: 100_000}, Options{Script: sc})
	wantStatus(t, res, picloud.StatusBudgetExceeded, picloud.EBudgetExceeded, "")
}

// TestKVDocExamples runs the examples of docs/scripting.md's kv section.
func TestKVDocExamples(t *testing.T) {
	x, _ := kvExecutor(t, nil)
	sc := &picloud.Script{ID: "doc"}
	counter := `let n = kv::incr("hits", 1);
kv::set("last", #{name: request.query.name ?? "anonymous"}, #{ttl: 60});
#{hits: n, last: kv::get("last")}`
	for i, want := range []string{`{"hits":1,"last":{"name":"anonymous"}}`, `{"hits":2,"last":{"name":"anonymous"}}`} {
		if body, res := kvRun(t, x, sc, counter); body != want {
			t.Fatalf("counter call %d = %s %+v", i, body, res.Err)
		}
	}
	cart := `loop {
    let cart = kv::get("cart");
    let next = if cart == () { [request.body] } else { cart + [request.body] };
    if kv::cas("cart", cart, next) { break next; }
}`
	for i, want := range []string{`[null]`, `[null,null]`} {
		if body, res := kvRun(t, x, sc, cart); body != want {
			t.Fatalf("cart call %d = %s %+v", i, body, res.Err)
		}
	}
}

// BenchmarkKV is one execution of each kv:: hot path on a SQLite store.
func BenchmarkKV(b *testing.B) {
	for _, bc := range []struct{ name, src string }{
		{"get", `kv::get("k")`},
		{"set", `kv::set("k", #{n: 1, s: "value"})`},
		{"incr", `kv::incr("n", 1)`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "kv.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			x := New(Config{KV: KVConfig{Store: st}}, nil)
			sc := &picloud.Script{ID: "bench"}
			st.KVSet(context.Background(), picloud.ScriptNamespace(sc.ID), "k", picloud.KVWrite{Value: []byte(`{"n":1}`)})
			p := x.Compile("bench", bc.src)
			req := &Request{Method: "GET", Path: "/", Header: map[string][]string{}}
			b.ReportAllocs()
			for b.Loop() {
				if res := x.Execute(context.Background(), p, Limits{}, req, Options{Script: sc}); res.Status != picloud.StatusSuccess {
					b.Fatal(res.Err)
				}
			}
		})
	}
}

// TestKVBoundedByContext: kv:: calls run under the execution's context, so
// a loop of them ends at the script's timeout; a store that fails is the
// platform's fault (internal), its error kept out of the answer.
func TestKVBoundedByContext(t *testing.T) {
	x, st := kvExecutor(t, nil)
	sc := &picloud.Script{ID: "s1"}
	res := run(t, x, `loop { kv::set("a", 1) }`, Limits{Timeout: 50 * time.Millisecond, MaxOperations: 1 << 40}, Options{Script: sc})
	wantStatus(t, res, picloud.StatusTimeout, picloud.ETimeout, "")
	st.Close()
	res = run(t, x, `kv::get("a")`, Limits{}, Options{Script: sc})
	wantStatus(t, res, picloud.StatusError, picloud.EInternal, "")
	if strings.Contains(res.Err.Message, "sqlite") {
		t.Fatalf("the store's error reached the answer: %s", res.Err.Message)
	}
}

// TestKVNestedValuesCountTowardMemory: a nested value kv::get builds from
// stored JSON counts toward the memory budget in full (the engine sees only
// its top level), so holding many copies stops with ErrorDataTooLarge.
func TestKVNestedValuesCountTowardMemory(t *testing.T) {
	x, st := kvExecutor(t, nil)
	sc := &picloud.Script{ID: "mem"}
	inner := make([]int, 100_000)
	b, _ := json.Marshal([][]int{inner}) // ~200 KB of JSON, nested one level
	if err := st.KVSet(context.Background(), picloud.ScriptNamespace(sc.ID), "nested", picloud.KVWrite{Value: b,
		Quota: picloud.KVQuota{MaxKeys: 10, MaxBytes: 1 << 20}}); err != nil {
		t.Fatal(err)
	}
	res := run(t, x, `let keep = []; for i in 0..200 { keep.push(kv::get("nested")); } keep.len()`,
		Limits{MaxMemoryBytes: 8 << 20}, Options{Script: sc})
	wantStatus(t, res, picloud.StatusBudgetExceeded, picloud.EBudgetExceeded, rhai.ErrDataTooLarge)
	// One copy fits.
	res = run(t, x, `kv::get("nested").len()`, Limits{MaxMemoryBytes: 8 << 20}, Options{Script: sc})
	if res.Status != picloud.StatusSuccess {
		t.Fatalf("one copy: %v", res.Err)
	}
}
