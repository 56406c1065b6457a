// Package gcfloor gives a server's Go heap a floor: the collector does not run
// before the heap has grown to the floor, however little of it is live; once
// the live heap is half the floor or more, it runs as GOGC=100 makes it (at
// twice the live heap).
//
// Go's own floor is 4 MiB. A PiCloud server keeps about 1 MiB live between
// requests and allocates a few KiB per execution, so under load it collected
// about a hundred times a second, each collection with its fixed part
// (stopping the world twice, waking a worker per core, sweeping) besides its
// marking: on 2 cores, `bench server`'s `picloud serve` spent about 10 µs a
// request less with a 16–64 MiB floor (docs/performance-server.md,
// "Session 21").
//
// The floor is a GOGC computed after each collection from the live heap
// (a finalizer that re-arms itself runs once per cycle: no timer, nothing
// runs while the server idles). A memory limit (GOMEMLIMIT, or picloud's
// --memory-limit through debug.SetMemoryLimit) still makes the collector
// run earlier when the heap nears it: the floor gives way near the ceiling.
package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// DefaultFloor is the floor picloud's servers run with: 16 MiB. 32 MiB
// measured the same (CPU ratio 0.54–0.62 both, alternated), and cost twice
// the memory: peak RSS in `bench server` 51 MB without a floor, 60 MB with
// 16 MiB, 80 MB with 32 MiB.
const DefaultFloor = 16 << 20

// minLive is the least live heap the percent is computed for, before the
// first collection has measured anything.
const minLive = 1 << 20

// runtimeMinimum is the runtime's own floor at GOGC=100, which it scales
// with the GC percent: at percent p the target is at least 4 MiB·p/100.
const runtimeMinimum = 4 << 20

// Enabled says whether a floor applies: not when the user chose the
// collector's pace with GOGC, whose choice wins.
func Enabled(getenv func(string) string) bool { return getenv("GOGC") == "" }

var (
	mu      sync.Mutex
	current *tuner
)

// Start keeps the heap's collection target at floor or above until the
// returned stop is called, which puts back the GC percent found at Start.
// One floor per process: a second Start replaces the first.
func Start(floor int64) (stop func()) {
	mu.Lock()
	defer mu.Unlock()
	if current != nil {
		current.stop()
	}
	t := &tuner{floor: uint64(max(floor, 0)), samples: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.orig = debug.SetGCPercent(100)
	t.percent = 100
	t.adjust()
	t.arm()
	current = t
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if current == t {
			t.stop()
			current = nil
		}
	}
}

type tuner struct {
	floor   uint64
	orig    int
	stopped atomic.Bool

	mu      sync.Mutex // adjust runs on the finalizer goroutine, and at Start
	percent int
	samples []metrics.Sample
}

// sentinel is the object whose finalizer runs once per collection. It holds
// a pointer so that it is not a tiny allocation (those share a block, and a
// finalizer on one may never run).
type sentinel struct {
	_ *tuner
	_ [2]uintptr
}

func (t *tuner) arm() {
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
		if t.stopped.Load() {
			return
		}
		t.adjust()
		t.arm()
	})
}

// adjust sets the GC percent that puts the next target at the floor, or at
// 100 when the live heap is half the floor or more. The target at percent p
// is the larger of live·(1+p/100) and the runtime's minimum, 4 MiB·p/100:
// p = floor/4 MiB·100 makes the minimum the floor, and with more live heap
// than floor/(1+p/100), p = (floor-live)/live·100 makes the first term it.
func (t *tuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped.Load() {
		return
	}
	metrics.Read(t.samples)
	live := uint64(minLive)
	if s := t.samples[0]; s.Value.Kind() == metrics.KindUint64 {
		live = max(live, s.Value.Uint64())
	}
	p := 100
	if t.floor > 2*live {
		p = int(min((t.floor-live)*100/live, t.floor*100/runtimeMinimum))
	}
	if p != t.percent {
		debug.SetGCPercent(p)
		t.percent = p
	}
}

func (t *tuner) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped.Store(true)
	debug.SetGCPercent(t.orig)
}
