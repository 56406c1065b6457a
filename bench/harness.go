package main

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"
)

// Sample is one timed run: the mean over Iters evaluations (more than one only
// for workloads that take less than the -mintime).
type Sample struct {
	Ns, Allocs, Bytes float64 // per evaluation
	Iters             int
}

// Measure times iters calls of run after a GC, with the allocation counts.
func Measure(run func() error, iters int) (Sample, error) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	for range iters {
		if err := run(); err != nil {
			return Sample{}, err
		}
	}
	d := time.Since(t0)
	runtime.ReadMemStats(&m1)
	n := float64(iters)
	return Sample{
		Ns:     float64(d.Nanoseconds()) / n,
		Allocs: float64(m1.Mallocs-m0.Mallocs) / n,
		Bytes:  float64(m1.TotalAlloc-m0.TotalAlloc) / n,
		Iters:  iters,
	}, nil
}

// Calibrate times one call and returns how many calls make up minTime.
func Calibrate(run func() error, minTime time.Duration) (int, error) {
	t0 := time.Now()
	if err := run(); err != nil {
		return 0, err
	}
	d := time.Since(t0)
	if d >= minTime {
		return 1, nil
	}
	n := int(math.Ceil(float64(minTime) / float64(max(d, time.Microsecond))))
	return min(n, 1_000_000), nil
}

// Stats summarises the samples of one engine on one workload.
type Stats struct {
	N                        int
	Median, Min, Max, Q1, Q3 float64 // ns per evaluation
	Allocs, Bytes            float64 // medians, per evaluation
	Iters                    int
}

func Summarise(ss []Sample) Stats {
	if len(ss) == 0 {
		return Stats{}
	}
	ns := make([]float64, len(ss))
	al := make([]float64, len(ss))
	by := make([]float64, len(ss))
	for i, s := range ss {
		ns[i], al[i], by[i] = s.Ns, s.Allocs, s.Bytes
	}
	slices.Sort(ns)
	slices.Sort(al)
	slices.Sort(by)
	return Stats{
		N: len(ss), Median: quantile(ns, 0.5), Min: ns[0], Max: ns[len(ns)-1],
		Q1: quantile(ns, 0.25), Q3: quantile(ns, 0.75),
		Allocs: quantile(al, 0.5), Bytes: quantile(by, 0.5), Iters: ss[0].Iters,
	}
}

// quantile of sorted xs, linear interpolation between closest ranks.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 1 {
		return xs[0]
	}
	pos := q * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(xs)-1)
	return xs[lo] + (xs[hi]-xs[lo])*(pos-float64(lo))
}

// FmtDur prints nanoseconds with three significant digits.
func FmtDur(ns float64) string {
	switch {
	case ns >= 1e9:
		return sig3(ns/1e9) + " s"
	case ns >= 1e6:
		return sig3(ns/1e6) + " ms"
	case ns >= 1e3:
		return sig3(ns/1e3) + " µs"
	}
	return sig3(ns) + " ns"
}

func sig3(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// FmtCount prints a count with k/M suffixes.
func FmtCount(x float64) string {
	switch {
	case x >= 1e6:
		return sig3(x/1e6) + " M"
	case x >= 1e3:
		return sig3(x/1e3) + " k"
	}
	return fmt.Sprintf("%.0f", x)
}

// FmtBytes prints a byte count in binary units.
func FmtBytes(x float64) string {
	switch {
	case x >= 1<<30:
		return sig3(x/(1<<30)) + " GiB"
	case x >= 1<<20:
		return sig3(x/(1<<20)) + " MiB"
	case x >= 1<<10:
		return sig3(x/(1<<10)) + " KiB"
	}
	return fmt.Sprintf("%.0f B", x)
}

// FmtRatio prints other/picloud.
func FmtRatio(r float64) string {
	if r == 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return "–"
	}
	if r >= 10 {
		return fmt.Sprintf("%.0f×", r)
	}
	return fmt.Sprintf("%.2f×", r)
}
