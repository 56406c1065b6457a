package prom

import (
	"os"
	"runtime"
	"strconv"
	"strings"
)

// goCollector reports the Go runtime's basics under client_golang's names:
// go_goroutines, go_info{version}, go_memstats_alloc_bytes,
// go_memstats_heap_inuse_bytes and go_memstats_sys_bytes.
type goCollector struct{}

// NewGoCollector reports the Go runtime's figures when scraped.
func NewGoCollector() Collector { return goCollector{} }

func (goCollector) Describe() []string {
	return []string{"go_goroutines", "go_info", "go_memstats_alloc_bytes", "go_memstats_heap_inuse_bytes",
		"go_memstats_sys_bytes"}
}

func (goCollector) Collect() []*Family {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	g := func(name, help string, v float64) *Family {
		return &Family{Name: name, Help: help, Type: "gauge", Metric: []*Sample{{Gauge: &Value{v}}}}
	}
	return []*Family{
		g("go_goroutines", "Number of goroutines that currently exist.", float64(runtime.NumGoroutine())),
		{Name: "go_info", Help: "Information about the Go environment.", Type: "gauge",
			Metric: []*Sample{{Label: []*LabelPair{{"version", runtime.Version()}}, Gauge: &Value{1}}}},
		g("go_memstats_alloc_bytes", "Number of bytes allocated in heap and currently in use.", float64(ms.HeapAlloc)),
		g("go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use.", float64(ms.HeapInuse)),
		g("go_memstats_sys_bytes", "Number of bytes obtained from system.", float64(ms.Sys)),
	}
}

// processCollector reports the process's CPU, memory, file descriptors and
// start time under client_golang's names (Linux: read from /proc; elsewhere
// nothing).
type processCollector struct{}

// NewProcessCollector reports the process's figures when scraped.
func NewProcessCollector() Collector { return processCollector{} }

func (processCollector) Describe() []string {
	return []string{"process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
		"process_open_fds", "process_max_fds", "process_start_time_seconds"}
}

// clockTicks is USER_HZ, 100 on every Linux platform Go supports.
const clockTicks = 100

func (processCollector) Collect() []*Family {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14, stime 15, starttime 22,
	// vsize 23, rss 24.
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 22 {
		return nil
	}
	num := func(i int) float64 { v, _ := strconv.ParseFloat(f[i-3], 64); return v }
	fam := func(name, help, typ string, v float64) *Family {
		smp := &Sample{Gauge: &Value{v}}
		if typ == "counter" {
			smp = &Sample{Counter: &Value{v}}
		}
		return &Family{Name: name, Help: help, Type: typ, Metric: []*Sample{smp}}
	}
	fs := []*Family{
		fam("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter", (num(14)+num(15))/clockTicks),
		fam("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", num(24)*float64(os.Getpagesize())),
		fam("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", num(23)),
	}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		fs = append(fs, fam("process_open_fds", "Number of open file descriptors.", "gauge", float64(len(ents))))
	}
	if n, ok := maxFDs(); ok {
		fs = append(fs, fam("process_max_fds", "Maximum number of open file descriptors.", "gauge", n))
	}
	if boot := bootTime(); boot > 0 {
		fs = append(fs, fam("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge", boot+num(22)/clockTicks))
	}
	return fs
}

// bootTime is /proc/stat's btime (0 when unknown).
func bootTime() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return n
		}
	}
	return 0
}
