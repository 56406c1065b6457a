//go:build linux || darwin || freebsd

package orchestrator

import "syscall"

// addressSpaceLimit is RLIMIT_AS's soft limit (0 when unlimited or unknown):
// past it the runtime cannot map more memory and the process dies.
func addressSpaceLimit() int64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &rl); err != nil || rl.Cur > 1<<62 {
		return 0
	}
	return int64(rl.Cur)
}
