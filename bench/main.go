// Command bench runs the same programs on PiCloud's Rhai engine and on the other
// interpreters embeddable in Go (gopher-lua, goja, go.starlark.net, tengo) and
// prints markdown tables: time per run (median and spread), allocations per
// run, each engine's ratio to PiCloud's, and compile time of a generated
// 200-line script.
//
//	cd bench && go run . [-workloads fib,loop] [-engines picloud,goja] [-runs 5]
//
// Every program is checked to compute the expected answer before it is timed.
// Runs are interleaved (run 1 of every engine on every workload, then run 2…)
// so that a noisy neighbour on a shared machine spreads over all engines.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// RealRhai holds real Rhai 1.25's figures (release build, default features,
// evaluation only, median of 5 runs, 2 cores, 2026-11-27), quoted from
// ../shared/bench/README.md. They were not measured by this program.
var RealRhai = map[string]float64{ // ns per run
	"fib": 3.24e9, "loop": 0.208e9, "sieve": 1.14e9,
	"matmul": 0.080e9, "strmap": 0.69e9, "arraysum": 0.56e9,
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "server" { // the server comparison: server.go
		os.Exit(runServer(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "bare-server" { // server.go's bare side, in a process of its own
		os.Exit(runBareServer())
	}
	if len(os.Args) > 1 && os.Args[1] == "cluster" { // cluster mode through Caddy: cluster.go
		os.Exit(runCluster(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "stats" { // the stats query on 1,000,000 rows: stats.go
		os.Exit(runStats(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "whole" { // `picloud rhai run` as a whole process: whole.go
		os.Exit(runWhole(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "idle" { // idle CPU of the real binary: idle.go
		os.Exit(runIdle(os.Args[2:]))
	}
	var (
		workloads = flag.String("workloads", "all", "comma-separated workloads ("+names(workloadNames())+"), or all, or none")
		engines   = flag.String("engines", "all", "comma-separated engines ("+names(engineNames())+"), or all")
		runs      = flag.Int("runs", 5, "timed runs per engine and workload (≥5 for a meaningful spread)")
		minTime   = flag.Duration("mintime", 100*time.Millisecond, "a run repeats the program until it has taken at least this long (for short programs)")
		compile   = flag.Bool("compile", true, "also time compiling a generated script")
		lines     = flag.Int("compile-lines", 200, "length in lines of the generated Rhai script for the compile table")
		list      = flag.Bool("list", false, "list workloads and engines, then exit")
	)
	flag.Parse()
	if *list {
		for _, w := range Workloads {
			fmt.Printf("workload %-9s %s\n", w.Name, w.What)
		}
		for _, e := range Engines {
			fmt.Printf("engine   %-11s scripts/*.%s\n", e.Name, e.Ext)
		}
		return
	}
	ws, err := pickWorkloads(*workloads)
	if err == nil && *runs < 1 {
		err = fmt.Errorf("-runs must be at least 1")
	}
	es, err2 := pickEngines(*engines)
	if err == nil {
		err = err2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	r := &Runner{Engines: es, Workloads: ws, Runs: *runs, MinTime: *minTime, Log: os.Stderr}
	res := r.RunWorkloads()
	var comp []CompileResult
	if *compile {
		comp = r.RunCompile(*lines)
	}
	out := bufio.NewWriter(os.Stdout)
	PrintHeader(out, *runs, *minTime)
	PrintWorkloads(out, es, res)
	if *compile {
		PrintCompile(out, *lines, comp)
	}
	PrintRealRhai(out, res)
	out.Flush()
	if res.Failed() {
		os.Exit(1)
	}
}

func names(xs []string) string { return strings.Join(xs, ",") }

func workloadNames() []string {
	var s []string
	for _, w := range Workloads {
		s = append(s, w.Name)
	}
	return s
}

func engineNames() []string {
	var s []string
	for _, e := range Engines {
		s = append(s, e.Name)
	}
	return s
}

func pickWorkloads(s string) ([]*Workload, error) {
	switch s {
	case "all", "":
		return Workloads, nil
	case "none":
		return nil, nil
	}
	var out []*Workload
	for _, n := range strings.Split(s, ",") {
		w := WorkloadByName(strings.TrimSpace(n))
		if w == nil {
			return nil, fmt.Errorf("unknown workload %q (have %s)", n, names(workloadNames()))
		}
		out = append(out, w)
	}
	return out, nil
}

func pickEngines(s string) ([]*Engine, error) {
	if s == "all" || s == "" {
		return Engines, nil
	}
	var out []*Engine
	for _, n := range strings.Split(s, ",") {
		e := EngineByName(strings.TrimSpace(n))
		if e == nil {
			return nil, fmt.Errorf("unknown engine %q (have %s)", n, names(engineNames()))
		}
		out = append(out, e)
	}
	return out, nil
}

// Runner runs the workloads and the compile benchmark.
type Runner struct {
	Engines   []*Engine
	Workloads []*Workload
	Runs      int
	MinTime   time.Duration
	Log       io.Writer
}

// Cell is one engine on one workload.
type Cell struct {
	Samples []Sample
	Err     error
	Stats   Stats
}

// Results maps workload name → engine name → cell.
type Results struct {
	Workloads []*Workload
	Cells     map[string]map[string]*Cell
}

func (r *Results) Failed() bool {
	for _, m := range r.Cells {
		for _, c := range m {
			if c.Err != nil {
				return true
			}
		}
	}
	return false
}

func (r *Runner) logf(format string, a ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", a...)
	}
}

// RunWorkloads compiles and checks every program, then times Runs rounds.
func (r *Runner) RunWorkloads() *Results {
	res := &Results{Workloads: r.Workloads, Cells: map[string]map[string]*Cell{}}
	type job struct {
		w     *Workload
		e     *Engine
		p     Program
		iters int
		cell  *Cell
	}
	var jobs []*job
	for _, w := range r.Workloads {
		res.Cells[w.Name] = map[string]*Cell{}
		for _, e := range r.Engines {
			c := &Cell{}
			res.Cells[w.Name][e.Name] = c
			src, err := w.Source(e)
			if err != nil {
				c.Err = err
				continue
			}
			p, err := e.Compile(w.Name+"."+e.Ext, src, w.Body)
			if err == nil {
				err = Check(w, p) // also the warm-up run
			}
			var iters int
			if err == nil {
				iters, err = Calibrate(p.Run, r.MinTime)
			}
			if err != nil {
				c.Err = err
				r.logf("%-8s %-10s FAILED: %v", w.Name, e.Name, err)
				continue
			}
			r.logf("%-8s %-10s answer ok, %d evaluation(s) per run", w.Name, e.Name, iters)
			jobs = append(jobs, &job{w, e, p, iters, c})
		}
	}
	for round := 1; round <= r.Runs; round++ {
		t0 := time.Now()
		for _, j := range jobs {
			if j.cell.Err != nil {
				continue
			}
			s, err := Measure(j.p.Run, j.iters)
			if err != nil {
				j.cell.Err = err
				continue
			}
			j.cell.Samples = append(j.cell.Samples, s)
		}
		r.logf("round %d/%d done in %.1fs", round, r.Runs, time.Since(t0).Seconds())
	}
	for _, j := range jobs {
		j.cell.Stats = Summarise(j.cell.Samples)
	}
	return res
}

// CompileResult is one engine's compile time for the generated script.
type CompileResult struct {
	Engine *Engine
	Lines  int
	Err    error
	Stats  Stats
}

// RunCompile times compiling GenScript(lines) on every engine, after checking
// that the compiled program computes GenAnswer.
func (r *Runner) RunCompile(lines int) []CompileResult {
	want := &Workload{Name: "compile", Want: GenAnswer(lines)}
	out := make([]CompileResult, len(r.Engines))
	iters := make([]int, len(r.Engines))
	srcs := make([]string, len(r.Engines))
	for i, e := range r.Engines {
		src := GenScript(e.Ext, lines)
		srcs[i] = src
		out[i] = CompileResult{Engine: e, Lines: strings.Count(src, "\n")}
		p, err := e.Compile("gen."+e.Ext, src, "")
		if err == nil {
			err = Check(want, p)
		}
		if err == nil {
			iters[i], err = Calibrate(func() error { return e.CompileOnly("gen."+e.Ext, src) }, r.MinTime)
		}
		out[i].Err = err
		if err != nil {
			r.logf("compile  %-10s FAILED: %v", e.Name, err)
		}
	}
	samples := make([][]Sample, len(r.Engines))
	for range r.Runs {
		for i, e := range r.Engines {
			if out[i].Err != nil {
				continue
			}
			src := srcs[i]
			s, err := Measure(func() error { return e.CompileOnly("gen."+e.Ext, src) }, iters[i])
			if err != nil {
				out[i].Err = err
				continue
			}
			samples[i] = append(samples[i], s)
		}
	}
	for i := range out {
		out[i].Stats = Summarise(samples[i])
	}
	r.logf("compile done")
	return out
}

// ---------------------------------------------------------------------------
// Output

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func depVersions() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var parts []string
	for _, d := range bi.Deps {
		switch d.Path {
		case "github.com/yuin/gopher-lua", "github.com/dop251/goja", "go.starlark.net", "github.com/d5/tengo/v2":
			parts = append(parts, d.Path+" "+d.Version)
		}
	}
	return strings.Join(parts, ", ")
}

func PrintHeader(w io.Writer, runs int, minTime time.Duration) {
	fmt.Fprintf(w, "Measured %s on %d CPUs (%s), %s %s/%s, GOMAXPROCS=%d.\n",
		time.Now().Format("2006-01-02"), runtime.NumCPU(), cpuModel(), runtime.Version(),
		runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	if v := depVersions(); v != "" {
		fmt.Fprintf(w, "Peers: %s.\n", v)
	}
	fmt.Fprintf(w, "Command: `%s` (%d interleaved runs; a run repeats a program for at least %v and reports the mean per evaluation).\n",
		"go run . "+strings.Join(os.Args[1:], " "), runs, minTime)
	fmt.Fprintf(w, "Ratio = engine median ÷ PiCloud median: above 1× PiCloud is faster, below 1× it is slower. Compile time is excluded from the workload tables.\n\n")
}

func PrintWorkloads(w io.Writer, es []*Engine, res *Results) {
	if len(res.Workloads) == 0 {
		return
	}
	fmt.Fprintf(w, "## Median time per run (ratio to PiCloud)\n\n| workload |")
	for _, e := range es {
		fmt.Fprintf(w, " %s |", e.Name)
	}
	fmt.Fprintf(w, " fastest |\n|---|")
	for range es {
		fmt.Fprintf(w, "---:|")
	}
	fmt.Fprintf(w, "---|\n")
	for _, wl := range res.Workloads {
		cells := res.Cells[wl.Name]
		base := cells[es[0].Name].Stats.Median
		best, bestName := 0.0, ""
		for _, e := range es {
			if c := cells[e.Name]; c.Err == nil && c.Stats.N > 0 && (best == 0 || c.Stats.Median < best) {
				best, bestName = c.Stats.Median, e.Name
			}
		}
		fmt.Fprintf(w, "| %s |", wl.Name)
		for _, e := range es {
			c := cells[e.Name]
			switch {
			case c.Err != nil:
				fmt.Fprintf(w, " failed |")
			case c.Stats.N == 0:
				fmt.Fprintf(w, " – |")
			default:
				s := FmtDur(c.Stats.Median)
				if e.Name == bestName {
					s = "**" + s + "**"
				}
				if e != es[0] && base > 0 {
					s += " (" + FmtRatio(c.Stats.Median/base) + ")"
				}
				fmt.Fprintf(w, " %s |", s)
			}
		}
		fmt.Fprintf(w, " %s |\n", bestName)
	}
	fmt.Fprintln(w)

	for _, wl := range res.Workloads {
		cells := res.Cells[wl.Name]
		base := cells[es[0].Name].Stats.Median
		fmt.Fprintf(w, "### %s — %s\n\n", wl.Name, wl.What)
		fmt.Fprintf(w, "| engine | median | min … max | IQR | allocs/run | bytes/run | ratio to PiCloud |\n")
		fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|\n")
		for _, e := range es {
			c := cells[e.Name]
			if c.Err != nil {
				fmt.Fprintf(w, "| %s | failed: %s | | | | | |\n", e.Name, oneLine(c.Err))
				continue
			}
			st := c.Stats
			if st.N == 0 {
				continue
			}
			ratio := "1×"
			if e != es[0] {
				ratio = FmtRatio(st.Median / base)
			}
			fmt.Fprintf(w, "| %s | %s | %s … %s | %s (±%.1f%%) | %s | %s | %s |\n", e.Name,
				FmtDur(st.Median), FmtDur(st.Min), FmtDur(st.Max), FmtDur(st.Q3-st.Q1),
				50*(st.Q3-st.Q1)/st.Median, FmtCount(st.Allocs), FmtBytes(st.Bytes), ratio)
		}
		fmt.Fprintln(w)
	}
}

func oneLine(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

func PrintCompile(w io.Writer, lines int, comp []CompileResult) {
	if len(comp) == 0 {
		return
	}
	fmt.Fprintf(w, "## Compile time of a generated %d-line script\n\n", lines)
	fmt.Fprintf(w, "Source text to executable form (Rhai AST, Lua proto, goja program, Starlark program, tengo bytecode), nothing run. The same %d functions in each language.\n\n", (lines-2)/11)
	fmt.Fprintf(w, "| engine | lines | median | min … max | allocs | bytes | ratio to PiCloud |\n|---|---:|---:|---:|---:|---:|---:|\n")
	base := comp[0].Stats.Median
	for i, c := range comp {
		if c.Err != nil {
			fmt.Fprintf(w, "| %s | %d | failed: %s | | | | |\n", c.Engine.Name, c.Lines, oneLine(c.Err))
			continue
		}
		ratio := "1×"
		if i > 0 {
			ratio = FmtRatio(c.Stats.Median / base)
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s … %s | %s | %s | %s |\n", c.Engine.Name, c.Lines,
			FmtDur(c.Stats.Median), FmtDur(c.Stats.Min), FmtDur(c.Stats.Max),
			FmtCount(c.Stats.Allocs), FmtBytes(c.Stats.Bytes), ratio)
	}
	fmt.Fprintln(w)
}

func PrintRealRhai(w io.Writer, res *Results) {
	var rows []string
	for _, wl := range res.Workloads {
		ref, ok := RealRhai[wl.Name]
		c := res.Cells[wl.Name]["picloud"]
		if !ok || c == nil || c.Err != nil || c.Stats.N == 0 {
			continue
		}
		m := c.Stats.Median
		verdict := "yes"
		if m > ref/2 {
			verdict = "**no**"
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %.2f× | %s | %s |", wl.Name, FmtDur(ref), FmtDur(m), ref/m, FmtDur(ref/2), verdict))
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "## PiCloud against real Rhai\n\n")
	fmt.Fprintf(w, "Real Rhai 1.25 figures are quoted from ../shared/bench/README.md (release build, evaluation only, median of 5 runs, same kind of machine, 2026-11-27), not measured here. Speed-up = real Rhai ÷ PiCloud; the bar is 2×.\n\n")
	fmt.Fprintf(w, "| workload | real Rhai | PiCloud | speed-up | bar (½ real Rhai) | meets bar |\n|---|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		fmt.Fprintln(w, r)
	}
	fmt.Fprintln(w)
}
