package rhai_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/picloud/picloud/rhai"
)

// The common operations scripts do on almost every line must not allocate beyond
// what their result needs. Each case runs its operation opsPerRun times in a loop
// whose set-up is the same as the baseline's, so allocations per operation are
// (allocations of the case - allocations of the baseline) / opsPerRun.
const opsPerRun = 1000

var commonOps = []struct {
	name  string
	setup string // runs once per evaluation, before the loop
	op    string // runs opsPerRun times, with i the loop counter
	max   float64
}{
	// Reading: no allocation at all.
	{"len", `let a = [1, 2, 3]; let n = 0;`, `n = a.len();`, 0},
	{"index array", `let a = [1, 2, 3]; let n = 0;`, `n = a[1];`, 0},
	{"index map", `let m = #{a: 1, b: 2}; let n = 0;`, `n = m["b"];`, 0},
	{"property", `let m = #{a: 1, b: 2}; let n = 0;`, `n = m.b;`, 0},
	{"map contains", `let m = #{a: 1, b: 2}; let n = false;`, `n = m.contains("a");`, 0},
	{"string len", `let s = "hello"; let n = 0;`, `n = s.len();`, 0},
	{"index assign", `let a = [1, 2, 3];`, `a[1] = i;`, 0},
	{"map assign existing", `let m = #{a: 1, b: 2};`, `m.b = i;`, 0},
	// Growing: only the amortised growth of the container.
	{"push", `let a = [];`, `a.push(i);`, 0.05},
	{"map insert", `let m = #{};`, `m["k"] = i;`, 0.05},
	// A new string is the result: one allocation, for its bytes.
	{"string +=", `let s = "";`, `s += "x";`, 1},
}

func runAllocs(t testing.TB, eng *rhai.Engine, src string) float64 {
	ast, err := eng.Compile("ops", src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	ctx := context.Background()
	// Warm the thread pool so its allocation is not counted.
	if _, err := eng.Eval(ctx, ast, nil); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return testing.AllocsPerRun(20, func() {
		if _, err := eng.Eval(ctx, ast, nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCommonOperationsAllocations(t *testing.T) {
	eng := rhai.New()
	for _, c := range commonOps {
		t.Run(c.name, func(t *testing.T) {
			base := runAllocs(t, eng, fmt.Sprintf("%s for i in 0..%d { }", c.setup, opsPerRun))
			with := runAllocs(t, eng, fmt.Sprintf("%s for i in 0..%d { %s }", c.setup, opsPerRun, c.op))
			per := (with - base) / opsPerRun
			// A stray runtime allocation in a run (the race detector makes some)
			// is not an allocation per operation: allow 10 in 1,000.
			if per > c.max+0.01 {
				t.Errorf("%s: %.3f allocations per operation, want at most %v", c.op, per, c.max)
			}
		})
	}
}

// BenchmarkCommonOperations reports the time and allocations of each common
// operation (per evaluation of opsPerRun operations):
//
//	go test ./rhai -run '^$' -bench CommonOperations
func BenchmarkCommonOperations(b *testing.B) {
	eng := rhai.New()
	for _, c := range commonOps {
		b.Run(c.name, func(b *testing.B) {
			ast, err := eng.Compile("ops", fmt.Sprintf("%s for i in 0..%d { %s }", c.setup, opsPerRun, c.op))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := eng.Eval(context.Background(), ast, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
