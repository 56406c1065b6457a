package rhai

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// byteHeavy are scripts whose work grows with the size of their data: big
// strings, arrays, maps and BLOBs copied, formatted, sorted, compared and
// searched. Each ends on its own budget: the operation budget or the memory
// budget.
var byteHeavy = []struct{ name, src string }{
	{"push_concat", `let s = "x"; s.pad(4_000_000, "y"); let a = []; loop { a.push(s + a.len()); }`},
	{"interpolate", `let s = "x"; s.pad(4_000_000, "y"); let a = []; loop { a.push(` + "`${s}${a.len()}`" + `); }`},
	{"string_append", `let s = "x"; s.pad(1_000_000, "y"); let t = ""; loop { t += s; }`},
	{"string_compare", `let s = "x"; s.pad(4_000_000, "y"); let t = s + ""; let n = 0; loop { if s == t { n += 1; } }`},
	{"clone_array", `let a = []; a.pad(1_000_000, 1); loop { let b = a; b.push(1); }`},
	{"clone_map", `let m = #{}; for i in 0..100_000 { m["k" + i] = i; } loop { let n = m; n.x = 1; }`},
	{"clone_blob", `let b = blob(4_000_000); loop { let c = b; c.push(1); }`},
	{"sort", `let a = []; for i in 0..300_000 { a.push(300_000 - i); } loop { a.sort(); a.reverse(); }`},
	{"sort_strings", `let a = []; for i in 0..100_000 { a.push("k" + (100_000 - i)); } loop { a.sort(); a.reverse(); }`},
	{"to_json", `let m = #{}; for i in 0..100_000 { m["k" + i] = [i, "v"]; } loop { let j = m.to_json(); }`},
	{"parse_json", `let m = #{}; for i in 0..50_000 { m["k" + i] = [i, "v"]; } let j = m.to_json(); loop { let x = parse_json(j); }`},
	{"print_array", `let a = []; a.pad(300_000, "abc"); loop { print(a); }`},
	{"to_string_map", `let m = #{}; for i in 0..100_000 { m["k" + i] = i; } loop { let s = m.to_string(); }`},
	{"interpolate_array", `let a = []; a.pad(300_000, 12345); loop { let s = ` + "`${a}`" + `; }`},
	{"array_equal", `let a = []; a.pad(1_000_000, 1); let b = []; b.pad(1_000_000, 1); loop { if a == b { a[0] = 1; } }`},
	{"array_contains", `let a = []; a.pad(1_000_000, 1); loop { if 2 in a { break; } }`},
	{"array_concat", `let a = []; a.pad(500_000, 1); loop { let b = a + a; }`},
	{"map_keys", `let m = #{}; for i in 0..100_000 { m["k" + i] = i; } loop { let k = m.keys(); }`},
	{"to_upper", `let s = "x"; s.pad(4_000_000, "y"); loop { let t = s.to_upper(); }`},
	{"replace", `let s = "x"; s.pad(4_000_000, "y"); loop { let t = s; t.replace("y", "zz"); }`},
	{"split", `let s = "x"; s.pad(1_000_000, "y,"); loop { let p = s.split(","); }`},
	{"contains", `let s = "x"; s.pad(4_000_000, "y"); loop { if s.contains("z") { break; } }`},
	{"blob_to_string", `let b = blob(2_000_000, 65); loop { let s = b.as_string(); }`},
	{"nested_arrays", `let a = []; loop { let row = []; row.pad(100_000, 1.5); a.push(row); }`},
	{"map_of_strings", `let m = #{}; let s = "x"; s.pad(100_000, "y"); loop { m["k" + m.len()] = s + m.len(); }`},
}

// TestWorkBetweenChecks proves the timeout holds whatever a script does: for
// every byte-heavy script the work done between two consecutive checks of the
// deadline (measured as the operations charged, which are proportional to the
// bytes and elements handled) stays under a fixed bound. A native doing its
// work without charging as it goes would show here as one large step.
func TestWorkBetweenChecks(t *testing.T) {
	// One step of a long copy is 1,024 operations; a check comes every 1,024
	// operations; the largest single step left is one pass over one string or
	// BLOB (a search, a case mapping, a replace), which the memory budget of
	// this test (64 MiB) bounds to two million operations. Everything that
	// iterates elements must stay within stepBound.
	const (
		budget    = 64 << 20
		stepBound = 8 * cancelCheckInterval
		passBound = budget/bytesPerOp + stepBound
	)
	singlePass := map[string]bool{"to_upper": true, "replace": true, "split": true, "contains": true,
		"blob_to_string": true, "string_compare": true}
	eng := New()
	eng.SetLimits(Limits{MaxOperations: 20_000_000})
	for _, s := range byteHeavy {
		t.Run(s.name, func(t *testing.T) {
			ast, err := eng.Compile(s.name, s.src)
			if err != nil {
				t.Fatal(err)
			}
			opts := &EvalOptions{MaxMemoryBytes: budget}
			gap := &gapMeter{}
			opts.onCheck = gap.check
			_, err = eng.EvalWith(context.Background(), ast, opts)
			var re *Error
			if !errors.As(err, &re) || !re.IsLimit() {
				t.Fatalf("ended with %v, want a limit error", err)
			}
			bound := uint64(stepBound)
			if singlePass[s.name] {
				bound = passBound
			}
			t.Logf("%-18s %-22s ops %10d checks %6d largest step %7d ops, peak %d bytes", s.name, re.Kind, opts.Operations, gap.checks, gap.worst, opts.MemoryPeak)
			if gap.worst > bound {
				t.Errorf("%d operations between two checks, want at most %d", gap.worst, bound)
			}
			if gap.checks < 10 {
				t.Errorf("only %d checks", gap.checks)
			}
		})
	}
}

// gapMeter records the largest number of operations between two checks.
type gapMeter struct {
	last   uint64
	worst  uint64
	checks int
}

func (g *gapMeter) check(ops uint64) {
	g.checks++
	if g.checks > 1 && ops-g.last > g.worst {
		g.worst = ops - g.last
	}
	g.last = ops
}

// evalMem runs src under a memory budget (and no operation budget) and
// returns its value, error and options.
func evalMem(t *testing.T, budget int64, src string) (Value, error, *EvalOptions) {
	t.Helper()
	eng := New()
	ast, err := eng.Compile("mem", src)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a safety net only
	defer cancel()
	var last string
	opts := &EvalOptions{MaxMemoryBytes: budget, OnPrint: func(s string) { last = s }}
	v, err := eng.EvalWith(ctx, ast, opts)
	if ctx.Err() != nil {
		t.Fatalf("still running after the safety net: %v", err)
	}
	if last != "" {
		v = String(last)
	}
	return v, err, opts
}

func wantMemoryError(t *testing.T, err error) {
	t.Helper()
	var re *Error
	if !errors.As(err, &re) || re.Kind != ErrDataTooLarge || !re.IsLimit() {
		t.Fatalf("got %v, want ErrorDataTooLarge (a limit error)", err)
	}
	if !strings.Contains(re.Error(), "too large") {
		t.Errorf("message %q is not in Rhai's words", re.Error())
	}
}

// The script: pushing s + i for a 4 MB string s stops after about 16
// pushes under a 64 MiB budget (s itself is 4 MB of it).
func TestMemoryBudgetPushLoop(t *testing.T) {
	v, err, opts := evalMem(t, 64<<20, `let s = "x"; s.pad(4_000_000, "y"); let a = [];
		loop { a.push(s + a.len()); print(a.len()); }`)
	wantMemoryError(t, err)
	n, _ := strconv.Atoi(v.String())
	if n < 12 || n > 16 {
		t.Errorf("stopped after %d pushes, want about 15 (64 MiB / 4 MB, less s)", n)
	}
	if opts.MemoryPeak < 50<<20 || opts.MemoryPeak > 80<<20 {
		t.Errorf("MemoryPeak %d, want near the 64 MiB budget", opts.MemoryPeak)
	}
	t.Logf("%d pushes, %d operations, peak %d bytes", n, opts.Operations, opts.MemoryPeak)
}

// A script whose live data stays small may allocate and drop any amount.
func TestMemoryBudgetChurn(t *testing.T) {
	const budget = 4 << 20
	v, err, opts := evalMem(t, budget, `let s = "x"; s.pad(100, "y"); let keep = [];
		for i in 0..2_000_000 { let t = s + i; let u = [t, t]; if i % 100_000 == 0 { keep.push(t); } }
		keep.len()`)
	if err != nil {
		t.Fatalf("churn with small live data failed: %v", err)
	}
	if v.AsInt() != 20 {
		t.Errorf("got %s", v)
	}
	// 2,000,000 strings of ~107 bytes and arrays: ~300 MB allocated in all.
	if opts.MemoryPeak > budget {
		t.Errorf("MemoryPeak %d over the budget", opts.MemoryPeak)
	}
	t.Logf("%d operations, peak %d bytes", opts.Operations, opts.MemoryPeak)
}

// Every kind of data counts: strings, arrays, arrays of arrays, maps, maps of
// maps, BLOBs, closures' captured data.
func TestMemoryBudgetKinds(t *testing.T) {
	for name, src := range map[string]string{
		"string_append":   `let s = ""; loop { s += "abcdefghijklmnop"; }`,
		"string_doubling": `let s = "x"; loop { s = s + s; }`,
		"strings":         `let a = []; loop { a.push("item number " + a.len()); }`,
		"arrays":          `let a = []; loop { let r = []; r.pad(1000, 0); a.push(r); }`,
		"array_doubling":  `let a = [1]; loop { a += a; }`,
		"maps":            `let m = #{}; let i = 0; loop { m["k" + i] = i; i += 1; }`,
		"map_of_maps":     `let m = #{}; let i = 0; loop { m["k" + i] = #{ a: i, b: [i] }; i += 1; }`,
		"blobs":           `let a = []; loop { a.push(blob(100_000)); }`,
		"blob_push":       `let b = blob(); loop { b.push(1); }`,
		"closure":         `let a = []; let f = || a.len(); loop { a.push("x" + a.len()); }`,
		"json":            `let m = #{ a: [1, 2, 3] }; loop { m = parse_json(` + "`{\"a\": ${m.to_json()}, \"b\": ${m.to_json()}}`" + `); }`,
		"curried":         `let f = Fn("x"); loop { let a = []; a.pad(10_000, 1); f = f.curry(a); }`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err, opts := evalMem(t, 8<<20, src)
			wantMemoryError(t, err)
			t.Logf("%d operations, peak %d bytes", opts.Operations, opts.MemoryPeak)
		})
	}
}

// Shared data counts once: a string pushed a thousand times is one string.
func TestMemoryBudgetSharedString(t *testing.T) {
	v, err, _ := evalMem(t, 8<<20, `let s = "x"; s.pad(1_000_000, "y"); let a = [];
		for i in 0..1000 { a.push(s); } let m = #{}; for i in 0..1000 { m["k" + i] = s; } a.len() + m.len()`)
	if err != nil {
		t.Fatalf("a shared string was counted per reference: %v", err)
	}
	if v.AsInt() != 2000 {
		t.Errorf("got %s", v)
	}
}

// Without a budget nothing is measured, and the engine's default applies to
// evaluations that set none.
func TestMemoryBudgetDefaults(t *testing.T) {
	_, err, opts := evalMem(t, 0, `let a = []; for i in 0..100_000 { a.push("x" + i); } a.len()`)
	if err != nil || opts.MemoryPeak != 0 {
		t.Errorf("without a budget: err %v, peak %d", err, opts.MemoryPeak)
	}
	eng := New()
	eng.SetLimits(Limits{MaxMemoryBytes: 1 << 20})
	_, err = eng.EvalString(context.Background(), `let a = []; loop { a.push("item " + a.len()); }`)
	wantMemoryError(t, err)
	// A script cannot catch it.
	_, err = eng.EvalString(context.Background(), `try { let a = []; loop { a.push("item " + a.len()); } } catch { 1 }`)
	wantMemoryError(t, err)
}

// The Go heap of a run that hits the budget stays near the budget. (About
// memory, not time: the bound is generous.)
func TestMemoryBudgetHeap(t *testing.T) {
	const budget = 64 << 20
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var ms runtime.MemStats
		var top uint64
		for {
			runtime.ReadMemStats(&ms)
			top = max(top, ms.HeapAlloc)
			select {
			case <-done:
				peak <- top
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	_, err, _ := evalMem(t, budget, `let s = "x"; s.pad(4_000_000, "y"); let a = [];
		loop { a.push(s + a.len()); }`)
	close(done)
	top := <-peak
	wantMemoryError(t, err)
	grown := int64(top) - int64(base.HeapAlloc)
	t.Logf("heap grew by %d MiB at most (budget %d MiB)", grown>>20, budget>>20)
	if grown > 4*budget {
		t.Errorf("heap grew by %d bytes, over 4× the %d-byte budget", grown, budget)
	}
}
