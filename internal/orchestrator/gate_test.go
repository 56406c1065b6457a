package orchestrator

import (
	"context"
	"testing"
	"time"
)

// long is a wait no test reaches: the waits below end by a grant, a
// cancellation or a zero wait, never by this timer.
const long = time.Hour

// enqueue starts a waiter of script key and waits until the gate counts it,
// so that waiters queue in the order the test starts them.
func enqueue(t *testing.T, g *gate, key string, cap int, mem int64) (got chan *ticket, cancel func()) {
	t.Helper()
	_, before, _ := g.stats()
	ctx, cancel := context.WithCancel(context.Background())
	got = make(chan *ticket, 1)
	go func() {
		tk, _ := g.acquire(ctx, key, cap, mem, long)
		got <- tk
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, w, _ := g.stats(); w == before+1 {
			return got, cancel
		}
		if time.Now().After(deadline) {
			t.Fatalf("the waiter of %s did not queue", key)
		}
	}
}

func mustAcquire(t *testing.T, g *gate, key string, cap int, mem int64) *ticket {
	t.Helper()
	tk, reason := g.acquire(context.Background(), key, cap, mem, 0)
	if tk == nil {
		t.Fatalf("acquire %s: refused (%s)", key, reason)
	}
	return tk
}

func noHeap() int64 { return 0 }

// A flood of one script's waiters does not keep another script's single
// waiter out: when a slot frees, the script holding fewer slots is served.
func TestGateFairAcrossScripts(t *testing.T) {
	g := newGate(2, 0, noHeap)
	a1, a2 := mustAcquire(t, g, "a", 2, 0), mustAcquire(t, g, "a", 2, 0)
	var floods []chan *ticket
	for range 20 {
		ch, _ := enqueue(t, g, "a", 2, 0)
		floods = append(floods, ch)
	}
	b, _ := enqueue(t, g, "b", 2, 0)

	g.release(a1)
	bt := <-b
	if bt == nil {
		t.Fatal("b was refused")
	}
	if _, waiting, _ := g.stats(); waiting != 20 {
		t.Fatalf("%d waiting after b's grant, want the 20 of a", waiting)
	}
	// a's waiters are served in their order as slots free.
	g.release(a2)
	if tk := <-floods[0]; tk == nil {
		t.Fatal("a's first waiter was refused")
	}
	g.release(bt)
	if tk := <-floods[1]; tk == nil {
		t.Fatal("a's second waiter was refused")
	}
}

// Scripts that all wait are served in turn.
func TestGateRoundRobin(t *testing.T) {
	g := newGate(1, 0, noHeap)
	hold := mustAcquire(t, g, "x", 1, 0)
	var a, b []chan *ticket
	for range 3 {
		ch, _ := enqueue(t, g, "a", 1, 0)
		a = append(a, ch)
	}
	for range 3 {
		ch, _ := enqueue(t, g, "b", 1, 0)
		b = append(b, ch)
	}
	order := ""
	cur := hold
	head := func(chs []chan *ticket) chan *ticket {
		if len(chs) == 0 {
			return nil // blocks: nothing of that script is left
		}
		return chs[0]
	}
	for range 6 {
		g.release(cur)
		select {
		case cur = <-head(a):
			a, order = a[1:], order+"a"
		case cur = <-head(b):
			b, order = b[1:], order+"b"
		}
	}
	if order != "ababab" {
		t.Errorf("served %s, want ababab", order)
	}
	g.release(cur)
	if r, w, _ := g.stats(); r != 0 || w != 0 || len(g.scripts) != 0 {
		t.Errorf("after everything: %d running, %d waiting, %d scripts tracked", r, w, len(g.scripts))
	}
}

// By default a script holds at most half the slots: its third execution
// (of four slots) waits while another script still gets in.
func TestDefaultHalfShare(t *testing.T) {
	cfg := Config{MaxConcurrency: 4}.WithDefaults()
	if cfg.MaxScriptSlots != 2 {
		t.Fatalf("MaxScriptSlots = %d with 4 slots, want 2", cfg.MaxScriptSlots)
	}
	if c := (Config{MaxConcurrency: 1}).WithDefaults(); c.MaxScriptSlots != 1 {
		t.Errorf("MaxScriptSlots = %d with 1 slot, want 1", c.MaxScriptSlots)
	}
	if c := (Config{MaxConcurrency: 10, MaxScriptSlots: 7}).WithDefaults(); c.MaxScriptSlots != 7 {
		t.Errorf("MaxScriptSlots = %d when set to 7", c.MaxScriptSlots)
	}
	if c := (Config{MaxConcurrency: 10, MaxScriptShare: 0.3}).WithDefaults(); c.MaxScriptSlots != 3 {
		t.Errorf("MaxScriptSlots = %d with share 0.3 of 10", c.MaxScriptSlots)
	}

	g := newGate(cfg.MaxConcurrency, 0, noHeap)
	mustAcquire(t, g, "slow", cfg.MaxScriptSlots, 0)
	mustAcquire(t, g, "slow", cfg.MaxScriptSlots, 0)
	if tk, reason := g.acquire(context.Background(), "slow", cfg.MaxScriptSlots, 0, 0); tk != nil || reason != reasonScript {
		t.Fatalf("third execution of slow: %v, %q; want refused for script", tk, reason)
	}
	mustAcquire(t, g, "hello", cfg.MaxScriptSlots, 0)
	// max_concurrency overrides the share.
	mustAcquire(t, g, "wide", 4, 0)
	if tk, reason := g.acquire(context.Background(), "wide", 4, 0, 0); tk != nil || reason != reasonServer {
		t.Fatalf("with every slot taken: %v, %q; want refused for server", tk, reason)
	}
}

// Executions start while the reserved budgets plus the heap fit under the
// ceiling; the next waits for a release. The first always starts.
func TestGateMemoryAdmission(t *testing.T) {
	heap := int64(10)
	g := newGate(10, 100, func() int64 { return heap })
	t1 := mustAcquire(t, g, "a", 10, 40)
	mustAcquire(t, g, "b", 10, 40) // 10 + 80 <= 100
	if tk, reason := g.acquire(context.Background(), "c", 10, 40, 0); tk != nil || reason != reasonMemory {
		t.Fatalf("third: %v, %q; want refused for memory", tk, reason)
	}
	if _, _, reserved := g.stats(); reserved != 80 {
		t.Fatalf("reserved %d, want 80", reserved)
	}
	c, _ := enqueue(t, g, "c", 10, 40)
	g.release(t1)
	if tk := <-c; tk == nil {
		t.Fatal("c was refused after a release")
	}

	// A budget larger than the ceiling runs alone.
	g = newGate(10, 100, noHeap)
	big := mustAcquire(t, g, "big", 10, 500)
	if tk, reason := g.acquire(context.Background(), "small", 10, 1, 0); tk != nil || reason != reasonMemory {
		t.Fatalf("beside the big one: %v, %q", tk, reason)
	}
	g.release(big)
	mustAcquire(t, g, "small", 10, 1)

	// A heap already over the ceiling still lets one execution in.
	heap = 1000
	g = newGate(10, 100, func() int64 { return heap })
	mustAcquire(t, g, "a", 10, 1)
	if tk, _ := g.acquire(context.Background(), "b", 10, 1, 0); tk != nil {
		t.Fatal("a second execution started over the ceiling")
	}
}

// A waiter whose caller goes away leaves the queue, and the script behind it
// is served.
func TestGateWaiterCancelled(t *testing.T) {
	g := newGate(1, 0, noHeap)
	hold := mustAcquire(t, g, "a", 1, 0)
	gone, cancel := enqueue(t, g, "b", 1, 0)
	next, _ := enqueue(t, g, "c", 1, 0)
	cancel()
	if tk := <-gone; tk != nil {
		t.Fatal("a cancelled waiter got a slot")
	}
	if _, w, _ := g.stats(); w != 1 {
		t.Fatalf("%d waiting after the cancellation, want 1", w)
	}
	g.release(hold)
	if tk := <-next; tk == nil {
		t.Fatal("the waiter behind the cancelled one was refused")
	}
}
