package rhai

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
)

// TestYieldOnlyToWaiting: a long evaluation gives up the processor at its
// next chance to yield when a goroutine is waiting for one, and keeps it when
// none is (a yield then only costs: see thread.yield). One processor, so the
// waiting goroutine can run only if the evaluation yields or is preempted
// (after 10 ms, hundreds of checks later). Not parallel: other tests'
// goroutines would be waiting too.
func TestYieldOnlyToWaiting(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	eng := New()
	ast, err := eng.Compile("long", `let i = 0; while i < 2_000_000 { i += 1; } i`)
	if err != nil {
		t.Fatal(err)
	}
	var ran atomic.Bool
	checks, ranAt := 0, 0
	var yielded, kept []int // the checks at which it yielded or kept the processor
	opts := &EvalOptions{
		onCheck: func(uint64) {
			checks++
			if ranAt == 0 && ran.Load() {
				ranAt = checks
			}
		},
		onYield: func(y bool) {
			if y {
				yielded = append(yielded, checks)
			} else {
				kept = append(kept, checks)
			}
		},
	}
	go ran.Store(true) // waits for the processor
	if _, err := eng.EvalWith(context.Background(), ast, opts); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d checks; the goroutine had run by check %d; yielded at %v; kept the processor %d times", checks, ranAt, yielded, len(kept))
	// A chance comes every 16 checks (counted across a pooled thread's
	// evaluations, so the first within 16).
	if len(yielded) == 0 || yielded[0] > 16 {
		t.Fatalf("yielded at checks %v, want at the first chance (by check 16)", yielded)
	}
	if ranAt == 0 || ranAt > yielded[0]+1 {
		t.Errorf("the waiting goroutine had run by check %d, want by %d (right after the yield)", ranAt, yielded[0]+1)
	}
	// Once it has run nothing waits: the later chances keep the processor
	// (a collector's worker or the runtime may still wake a goroutine now and then).
	if chances := checks / 16; len(kept) < chances/2 {
		t.Errorf("kept the processor at %d of %d chances with no goroutine waiting", len(kept), chances)
	}
}
