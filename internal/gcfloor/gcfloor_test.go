package gcfloor_test

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"

	"github.com/picloud/picloud/internal/gcfloor"
)

// gogc is the GC percent in force, read without changing it.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// heapGoal is the collector's current target.
func heapGoal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// collect runs collections until the tuner's finalizer has run after one of
// them (the finalizer goroutine runs it asynchronously) and changed the
// percent away from not, or gives up after 50.
func collect(not int) {
	for range 50 {
		runtime.GC()
		runtime.Gosched()
		if gogc() != not {
			return
		}
	}
}

var sink [][]byte

func TestFloor(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	const floor = 64 << 20
	stop := gcfloor.Start(floor)
	runtime.GC()
	// A small live heap: the target is the floor, well above Go's 4 MiB
	// (and above twice the live heap).
	if p := gogc(); p <= 100 {
		t.Fatalf("small live heap: GC percent %d, want above 100", p)
	}
	if g := heapGoal(); g < floor*9/10 || g > floor*3/2 {
		t.Errorf("small live heap: heap goal %d MiB, want about the floor, %d MiB", g>>20, floor>>20)
	}

	// A live heap past half the floor: Go's own pace, 100.
	for range 48 {
		sink = append(sink, make([]byte, 1<<20))
	}
	collect(gogc() + 1) // at least one collection
	collect(gogc())
	if p := gogc(); p != 100 {
		t.Errorf("48 MiB live: GC percent %d, want 100", p)
	}

	// Freed again: back to the floor.
	sink = nil
	collect(100)
	if p := gogc(); p <= 100 {
		t.Errorf("live heap freed: GC percent %d, want above 100 again", p)
	}

	stop()
	if p := gogc(); p != 100 {
		t.Errorf("after stop: GC percent %d, want 100 (the one found at Start)", p)
	}
	collect(100)
	if p := gogc(); p != 100 {
		t.Errorf("a collection after stop changed the GC percent to %d", p)
	}
}

func TestStopRestoresTheUsersPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(250))
	stop := gcfloor.Start(64 << 20)
	if p := gogc(); p == 250 {
		t.Fatalf("Start left the GC percent at 250")
	}
	stop()
	if p := gogc(); p != 250 {
		t.Errorf("after stop: GC percent %d, want 250", p)
	}
}

func TestEnabled(t *testing.T) {
	if !gcfloor.Enabled(func(string) string { return "" }) {
		t.Error("GOGC unset: not enabled")
	}
	if gcfloor.Enabled(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	}) {
		t.Error("GOGC=100 set: enabled; the user's choice must win")
	}
}
