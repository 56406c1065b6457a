package main

import (
	"runtime/debug"
	"testing"
)

// TestTuneGCForOneScript: `picloud rhai` collects at rhaiGCPercent unless the
// user set GOGC, whose choice wins.
func TestTuneGCForOneScript(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)

	tuneGCForOneScript(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != rhaiGCPercent {
		t.Errorf("GOGC unset: GC percent %d, want %d", got, rhaiGCPercent)
	}
	tuneGCForOneScript(func(k string) string {
		if k == "GOGC" {
			return "50"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set: GC percent changed to %d", got)
	}
}
