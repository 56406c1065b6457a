//go:build !(linux || darwin || freebsd)

package orchestrator

// addressSpaceLimit is unknown on this system.
func addressSpaceLimit() int64 { return 0 }
