package orchestrator

import (
	"bufio"
	"os"
	"path"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMemoryLimitPercent is the process memory ceiling's share of the
// memory the process may use at most (the smallest of its cgroup's limit,
// RLIMIT_AS and the machine's memory), when no ceiling is configured. The rest
// is for what the Go heap does not count: stacks, the runtime, the binary,
// SQLite's page cache.
const DefaultMemoryLimitPercent = 80

// heapSampleEvery is how long a reading of the live heap is reused: the gate
// asks on every admission, and a fresher figure would not be more useful (the
// live heap only changes at the end of a GC cycle).
const heapSampleEvery = 5 * time.Millisecond

// DefaultMemoryLimit returns DefaultMemoryLimitPercent of the memory the
// process may use, or 0 when nothing bounds it that can be read.
func DefaultMemoryLimit() int64 {
	avail := AvailableMemory()
	if avail <= 0 {
		return 0
	}
	return avail / 100 * DefaultMemoryLimitPercent
}

// AvailableMemory is the smallest of the cgroup memory limit (v2 memory.max
// or v1 memory.limit_in_bytes, of the process's cgroup and its ancestors),
// RLIMIT_AS and the machine's memory (MemTotal); 0 when none can be read.
func AvailableMemory() int64 {
	var least int64
	take := func(n int64) {
		// Unlimited cgroups and rlimits read as huge numbers: ignore them.
		if n > 0 && n < 1<<60 && (least == 0 || n < least) {
			least = n
		}
	}
	for _, f := range cgroupLimitFiles() {
		take(readLimitFile(f))
	}
	take(addressSpaceLimit())
	take(memTotal())
	return least
}

// cgroupLimitFiles lists the files that may hold a memory limit for this
// process: its cgroup's and every ancestor's, on cgroup v2 and v1 (inside a
// container the paths in /proc/self/cgroup may not exist; the mount's root
// is then the container's own cgroup, which is listed too).
func cgroupLimitFiles() []string {
	files := []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return files
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-id:controllers:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		var base, name string
		switch {
		case parts[0] == "0" && parts[1] == "":
			base, name = "/sys/fs/cgroup", "memory.max"
		case containsField(parts[1], "memory"):
			base, name = "/sys/fs/cgroup/memory", "memory.limit_in_bytes"
		default:
			continue
		}
		for p := path.Clean(parts[2]); p != "/" && p != "."; p = path.Dir(p) {
			files = append(files, path.Join(base, p, name))
		}
	}
	return files
}

func containsField(list, field string) bool {
	for f := range strings.SplitSeq(list, ",") {
		if f == field {
			return true
		}
	}
	return false
}

// readLimitFile reads a number of bytes ("max" or a missing file: 0).
func readLimitFile(name string) int64 {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// memTotal is /proc/meminfo's MemTotal in bytes (0 when unknown).
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// heapSampler reads the live heap (runtime/metrics' /gc/heap/live:bytes: the
// bytes the last GC found reachable) at most every heapSampleEvery; between
// readings it answers the last one. Garbage is not counted: under GOMEMLIMIT
// the runtime collects it before the ceiling is reached.
type heapSampler struct {
	at  atomic.Int64 // monotonic nanoseconds since start of the last reading
	val atomic.Int64

	mu     sync.Mutex
	start  time.Time
	sample []metrics.Sample
}

func newHeapSampler() *heapSampler {
	h := &heapSampler{start: time.Now(), sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	h.at.Store(-int64(heapSampleEvery))
	return h
}

func (h *heapSampler) read() int64 {
	now := int64(time.Since(h.start))
	if now-h.at.Load() < int64(heapSampleEvery) || !h.mu.TryLock() {
		return h.val.Load()
	}
	defer h.mu.Unlock()
	metrics.Read(h.sample)
	if h.sample[0].Value.Kind() == metrics.KindUint64 {
		h.val.Store(int64(h.sample[0].Value.Uint64()))
	}
	h.at.Store(now)
	return h.val.Load()
}
