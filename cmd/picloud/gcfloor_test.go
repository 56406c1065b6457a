package main

import (
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

func gcPercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// TestServerHeapFloor: serve, manager and node give the heap its floor while
// they run (a GC percent above 100 at a small live heap), unless the user set
// GOGC; it ends with the server.
func TestServerHeapFloor(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	t.Setenv("GOGC", "")
	end := setMemoryLimit(0)
	if p := gcPercent(); p <= 100 {
		t.Errorf("GOGC unset: GC percent %d, want the floor's (above 100)", p)
	}
	end()
	if p := gcPercent(); p != 100 {
		t.Errorf("after the server: GC percent %d, want 100 back", p)
	}

	t.Setenv("GOGC", "50")
	end = setMemoryLimit(0)
	if p := gcPercent(); p != 100 {
		t.Errorf("GOGC set: GC percent changed to %d", p)
	}
	end()
}
