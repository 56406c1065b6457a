package orchestrator

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Reasons an execution is refused (the gate label of the rejection metric).
const (
	reasonServer = "server" // every server-wide slot is taken
	reasonScript = "script" // the script holds its share (or its max_concurrency)
	reasonMemory = "memory" // the running budgets plus the heap would cross the ceiling
)

// gate admits executions. At most slots run at once server-wide, at most a
// script's cap run per script, and one starts only while the memory budgets
// reserved by running executions plus the live heap stay under the ceiling
// (memLimit; the first execution always runs, so a heap that is high for other
// reasons slows the server down rather than stopping it).
//
// A caller that cannot run waits in its script's FIFO queue. Whenever
// capacity frees up, the queues are served in turn: the waiting script that
// holds the fewest slots goes first, ties broken round-robin. So 200 callers of
// a slow script queue behind each other, not in front of a hello script's one
// caller, which gets the next free slot.
type gate struct {
	slots    int
	memLimit int64        // 0: no ceiling
	heap     func() int64 // the live heap, cheap to call (sampled)
	// report, when set, is told the counters after every change (metrics);
	// it runs under the gate's lock and must be quick.
	report func(running, waiting int, reserved int64)

	mu       sync.Mutex
	running  int
	reserved int64
	waiting  int
	scripts  map[string]*scriptGate // by script id; dropped when idle
	ring     []*scriptGate          // scripts with waiters
	next     int                    // where the round-robin resumes in ring
}

// scriptGate is one script's running count and queue.
type scriptGate struct {
	key     string
	running int
	waiters []*ticket // FIFO
}

// ticket is one execution's place in the gate: waiting, then holding a slot
// and mem bytes of budget until release.
type ticket struct {
	sg      *scriptGate
	cap     int
	mem     int64
	ready   chan struct{} // closed when granted (only for a waiter)
	granted bool          // under gate.mu
}

func newGate(slots int, memLimit int64, heap func() int64) *gate {
	return &gate{slots: slots, memLimit: memLimit, heap: heap, scripts: map[string]*scriptGate{}}
}

// acquire takes a slot for script key (cap executions of it at most, mem bytes
// of budget), waiting at most wait. It returns the ticket to release, or a
// rejection reason ("" with a nil ticket: ctx ended first).
func (g *gate) acquire(ctx context.Context, key string, cap int, mem int64, wait time.Duration) (*ticket, string) {
	g.mu.Lock()
	sg := g.scripts[key]
	if sg == nil {
		sg = &scriptGate{key: key}
		g.scripts[key] = sg
	}
	if g.memLimit > 0 {
		// A budget over the whole ceiling cannot be more than all of it.
		mem = min(mem, g.memLimit)
	}
	t := &ticket{sg: sg, cap: cap, mem: mem}
	if len(sg.waiters) == 0 && g.blocked(t) == "" {
		g.grant(t)
		g.changed()
		g.mu.Unlock()
		return t, ""
	}
	if wait <= 0 {
		reason := g.blocked(t)
		g.forget(sg)
		g.mu.Unlock()
		return nil, reason
	}
	t.ready = make(chan struct{})
	if len(sg.waiters) == 0 {
		g.ring = append(g.ring, sg)
	}
	sg.waiters = append(sg.waiters, t)
	g.waiting++
	g.changed()
	g.mu.Unlock()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	cancelled := false
	select {
	case <-t.ready:
		return t, ""
	case <-timer.C:
	case <-ctx.Done():
		cancelled = true
	}

	g.mu.Lock()
	if t.granted { // granted while the timer fired or the client left
		g.mu.Unlock()
		if cancelled {
			g.release(t)
			return nil, ""
		}
		return t, ""
	}
	g.dequeue(t)
	reason := g.blocked(t)
	if reason == "" {
		reason = reasonServer // capacity freed just now but went to an earlier waiter
	}
	g.dispatch() // t may have been the head that held its script's queue back
	g.forget(sg)
	g.changed()
	g.mu.Unlock()
	if cancelled {
		return nil, ""
	}
	return nil, reason
}

// release gives t's slot and budget back and serves the waiters.
func (g *gate) release(t *ticket) {
	g.mu.Lock()
	g.running--
	g.reserved -= t.mem
	t.sg.running--
	g.dispatch()
	g.forget(t.sg)
	g.changed()
	g.mu.Unlock()
}

// blocked says why t cannot run now ("" when it can).
func (g *gate) blocked(t *ticket) string {
	switch {
	case t.sg.running >= t.cap:
		return reasonScript
	case g.running >= g.slots:
		return reasonServer
	case g.memLimit > 0 && g.running > 0 && g.reserved+t.mem+g.heap() > g.memLimit:
		return reasonMemory
	}
	return ""
}

func (g *gate) grant(t *ticket) {
	t.granted = true
	g.running++
	g.reserved += t.mem
	t.sg.running++
}

// dispatch grants waiters while capacity allows: each time the head of the
// queue of the script holding the fewest slots, ties broken round-robin from
// where the last grant left off.
func (g *gate) dispatch() {
	for g.running < g.slots && len(g.ring) > 0 {
		best := -1
		for i := range g.ring {
			idx := (g.next + i) % len(g.ring)
			sg := g.ring[idx]
			if g.blocked(sg.waiters[0]) != "" {
				continue
			}
			if best < 0 || sg.running < g.ring[best].running {
				best = idx
			}
		}
		if best < 0 {
			return
		}
		sg := g.ring[best]
		t := sg.waiters[0]
		sg.waiters[0] = nil
		sg.waiters = sg.waiters[1:]
		g.waiting--
		g.grant(t)
		close(t.ready)
		if len(sg.waiters) == 0 {
			sg.waiters = nil
			g.ring = slices.Delete(g.ring, best, best+1)
			g.next = best // the script after it moved into its place
		} else {
			g.next = best + 1
		}
		if len(g.ring) > 0 {
			g.next %= len(g.ring)
		} else {
			g.next = 0
		}
	}
}

// dequeue removes a waiter that gives up.
func (g *gate) dequeue(t *ticket) {
	sg := t.sg
	i := slices.Index(sg.waiters, t)
	if i < 0 {
		return
	}
	sg.waiters = slices.Delete(sg.waiters, i, i+1)
	g.waiting--
	if len(sg.waiters) == 0 {
		sg.waiters = nil
		if j := slices.Index(g.ring, sg); j >= 0 {
			g.ring = slices.Delete(g.ring, j, j+1)
			if g.next > j {
				g.next--
			}
			if len(g.ring) > 0 {
				g.next %= len(g.ring)
			} else {
				g.next = 0
			}
		}
	}
}

// forget drops an idle script's state, so that deleted scripts leave nothing.
func (g *gate) forget(sg *scriptGate) {
	if sg.running == 0 && len(sg.waiters) == 0 && g.scripts[sg.key] == sg {
		delete(g.scripts, sg.key)
	}
}

func (g *gate) changed() {
	if g.report != nil {
		g.report(g.running, g.waiting, g.reserved)
	}
}

// stats reads the gate's counters (tests and metrics).
func (g *gate) stats() (running, waiting int, reserved int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running, g.waiting, g.reserved
}

// inFlight is how many executions hold a slot now.
func (g *gate) inFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running
}
