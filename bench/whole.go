package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RealRhaiWhole is real Rhai 1.25's own runner as a whole process (start-up,
// compile and evaluation) on this kind of machine, 2026-12-06, quoted from
// ../shared/bench/README.md ("Whole process"): wall time low and high of two
// or three runs, and peak resident memory. Not measured by this program: the
// machine was faster that day than on 2026-11-27, so compare ratios measured
// in one session when real Rhai's runner is at hand.
var RealRhaiWhole = map[string]struct{ WallLo, WallHi, RSSMB float64 }{
	"fib":      {2.0, 2.3, 4.5},
	"loop":     {0.12, 0.12, 4.4},
	"sieve":    {0.62, 0.66, 20},
	"matmul":   {0.05, 0.06, 4.7},
	"strmap":   {0.62, 0.64, 56},
	"arraysum": {0.42, 0.43, 35},
}

// wholeWorkloads are the six of ../shared/bench (not handler: it needs a
// request body).
var wholeWorkloads = []string{"fib", "loop", "sieve", "matmul", "strmap", "arraysum"}

// ProcRun is one run of a process: wall time from start to exit as the
// parent sees it, peak resident memory (wait4's ru_maxrss), the evaluation
// time `picloud rhai run --time` printed (0: none), and, for the start-up
// table, the package initialisers' clock summed (GODEBUG=inittrace=1).
type ProcRun struct {
	Wall    time.Duration
	MaxRSS  int64 // bytes
	Eval    time.Duration
	InitSum time.Duration
	// CPU is the child's own user+system time (wait4's rusage), and
	// Faults its minor page faults: set only for a run started directly
	// (not under /usr/bin/time, whose own would be counted).
	CPU    time.Duration
	Faults int64
}

// runWhole is the `whole` subcommand: `picloud rhai run` as a user runs it,
// one process per run, on the six workloads (bench/scripts/*.rhai), beside
// real Rhai's published whole-process figures; and the start of a one-line
// script against a Go hello-world's.
//
//	cd bench && go run . whole [-runs 5] [-picloud BIN] [-workloads fib,loop]
func runWhole(args []string) int {
	fs := flag.NewFlagSet("whole", flag.ContinueOnError)
	runs := fs.Int("runs", 5, "runs per workload (interleaved)")
	binary := fs.String("picloud", "", "a built picloud binary (default: build ../cmd/picloud)")
	static := fs.String("picloud-static", "", "a picloud binary built with CGO_ENABLED=0 for the start-up table (default: build ../cmd/picloud so)")
	workloads := fs.String("workloads", strings.Join(wholeWorkloads, ","), "comma-separated workloads, or none (the start-up table alone)")
	startRuns := fs.Int("start-runs", 200, "runs of the start-up table's programs")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var ws []string
	if *workloads != "none" {
		for _, w := range strings.Split(*workloads, ",") {
			if !slices.Contains(wholeWorkloads, w) {
				fmt.Fprintf(os.Stderr, "bench whole: unknown workload %q (have %s)\n", w, strings.Join(wholeWorkloads, ","))
				return 2
			}
			ws = append(ws, w)
		}
	}
	if *runs < 1 || *startRuns < 1 {
		fmt.Fprintln(os.Stderr, "bench whole: -runs and -start-runs must be at least 1")
		return 2
	}
	if err := benchWhole(*binary, *static, ws, *runs, *startRuns, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench whole:", err)
		return 1
	}
	return 0
}

func benchWhole(binary, static string, ws []string, runs, startRuns int, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "picloud-whole-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if binary == "" {
		binary = filepath.Join(tmp, "picloud")
		logf("building ../cmd/picloud")
		if err := goBuild("..", binary, "./cmd/picloud"); err != nil {
			return err
		}
	}
	if static == "" {
		static = filepath.Join(tmp, "picloud-static")
		logf("building ../cmd/picloud with CGO_ENABLED=0")
		if err := goBuildEnv("..", static, "./cmd/picloud", "CGO_ENABLED=0"); err != nil {
			return err
		}
	}
	hello := filepath.Join(tmp, "hello")
	if err := writeHello(tmp, hello); err != nil {
		return err
	}
	floor, floorStatic := filepath.Join(tmp, "floor"), filepath.Join(tmp, "floor-static")
	nimports, err := writeFloor(tmp, floor, floorStatic)
	if err != nil {
		return err
	}
	engine := filepath.Join(tmp, "engine")
	if err := writeEngineAlone(tmp, engine); err != nil {
		return err
	}
	loadStart := loadAvg()
	oneLine := filepath.Join(tmp, "one.rhai")
	if err := os.WriteFile(oneLine, []byte("print(\"hello\");\n"), 0o644); err != nil {
		return err
	}

	// Start-up: interleaved, many runs (each is a few milliseconds).
	starts := []struct {
		name string
		argv []string
	}{
		{"Go hello-world (fmt.Println)", []string{hello}},
		{fmt.Sprintf("floor: the %d packages PiCloud imports, blank-imported, printing hello", nimports), []string{floor}},
		{"the floor, `CGO_ENABLED=0` (static) build", []string{floorStatic}},
		{"`picloud rhai run one.rhai` (`print(\"hello\")`)", []string{binary, "rhai", "run", oneLine}},
		{"the same, `CGO_ENABLED=0` (static) build", []string{static, "rhai", "run", oneLine}},
		{"`picloud version`", []string{binary, "version"}},
		{"the engine alone (`rhai` + `internal/rhairun`, no server), one.rhai", []string{engine, oneLine}},
	}
	logf("start-up: %d runs of each", startRuns)
	startRes := make([][]ProcRun, len(starts))
	startMem := make([][]ProcRun, len(starts))
	for i := range startRuns {
		for j, s := range starts {
			// Every tenth run reads peak memory and the initialisers (the
			// shell and the trace cost time); the others, the wall time.
			measured := i%10 == 0
			r, err := runProc(s.argv, measured, measured)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			if measured {
				startMem[j] = append(startMem[j], r)
			} else {
				startRes[j] = append(startRes[j], r)
			}
		}
	}

	scripts := map[string]string{}
	for _, w := range ws {
		src, err := scriptFS.ReadFile("scripts/" + w + ".rhai")
		if err != nil {
			return err
		}
		scripts[w] = filepath.Join(tmp, w+".rhai")
		if err := os.WriteFile(scripts[w], src, 0o644); err != nil {
			return err
		}
	}
	res := map[string][]ProcRun{}
	for i := range runs {
		for _, w := range ws {
			r, err := runProc([]string{binary, "rhai", "run", "--time", scripts[w]}, true, false)
			if err != nil {
				return fmt.Errorf("%s: %w", w, err)
			}
			logf("run %d/%d %-8s wall %s eval %s peak RSS %s", i+1, runs, w, FmtDur(float64(r.Wall)), FmtDur(float64(r.Eval)), fmtMB(float64(r.MaxRSS)))
			res[w] = append(res[w], r)
		}
	}

	fmt.Fprintf(out, "## Start-up (%d runs each, interleaved)\n\n", startRuns)
	fmt.Fprintln(out, "CPU is the process's own user+system time (wait4's rusage), which other processes on the machine move far less than wall time.")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| program | wall median | wall min | CPU median | CPU min | page faults | peak RSS | init summed (inittrace, median) | wall ÷ hello-world's | CPU ÷ hello-world's |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	helloWall := medianOf(startRes[0], func(r ProcRun) float64 { return float64(r.Wall) })
	helloCPU := medianOf(startRes[0], func(r ProcRun) float64 { return float64(r.CPU) })
	for j, s := range starts {
		rs := startRes[j]
		wall := medianOf(rs, func(r ProcRun) float64 { return float64(r.Wall) })
		minWall := slices.MinFunc(rs, func(a, b ProcRun) int { return int(a.Wall - b.Wall) }).Wall
		cpu := medianOf(rs, func(r ProcRun) float64 { return float64(r.CPU) })
		minCPU := slices.MinFunc(rs, func(a, b ProcRun) int { return int(a.CPU - b.CPU) }).CPU
		mem := startMem[j]
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %.0f | %s | %s | %s | %s |\n", s.name, FmtDur(wall), FmtDur(float64(minWall)),
			FmtDur(cpu), FmtDur(float64(minCPU)), medianOf(rs, func(r ProcRun) float64 { return float64(r.Faults) }),
			fmtMB(medianOf(mem, func(r ProcRun) float64 { return float64(r.MaxRSS) })),
			FmtDur(medianOf(mem, func(r ProcRun) float64 { return float64(r.InitSum) })),
			FmtRatio(wall/helloWall), FmtRatio(cpu/helloCPU))
	}
	if len(ws) == 0 {
		fmt.Fprintf(out, "\nLoad average (/proc/loadavg) (1 minute) at the start: %s; at the end: %s.\n", loadStart, loadAvg())
		return nil
	}
	fmt.Fprintf(out, "\n## `picloud rhai run FILE`, whole process (median of %d runs, interleaved)\n\n", runs)
	fmt.Fprintln(out, "| script | wall (min–max) | eval alone (`--time`) | peak RSS | real Rhai wall | real Rhai peak RSS | real Rhai ÷ picloud (wall; best run) | picloud ÷ real Rhai (RSS) |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, w := range ws {
		rs := res[w]
		wall := medianOf(rs, func(r ProcRun) float64 { return float64(r.Wall) })
		lo := slices.MinFunc(rs, func(a, b ProcRun) int { return int(a.Wall - b.Wall) }).Wall
		hi := slices.MaxFunc(rs, func(a, b ProcRun) int { return int(a.Wall - b.Wall) }).Wall
		rss := medianOf(rs, func(r ProcRun) float64 { return float64(r.MaxRSS) })
		rr := RealRhaiWhole[w]
		realMid := (rr.WallLo + rr.WallHi) / 2 * 1e9
		realWall := fmt.Sprintf("%s–%s", sig3(rr.WallLo), sig3(rr.WallHi)) + " s"
		if rr.WallLo == rr.WallHi {
			realWall = sig3(rr.WallLo) + " s"
		}
		fmt.Fprintf(out, "| `%s` | %s (%s–%s) | %s | %s | %s | %s MB | %s | %s |\n", w, FmtDur(wall),
			FmtDur(float64(lo)), FmtDur(float64(hi)),
			FmtDur(medianOf(rs, func(r ProcRun) float64 { return float64(r.Eval) })),
			fmtMB(rss), realWall, sig3(rr.RSSMB), FmtRatio(realMid/wall)+"; "+FmtRatio(realMid/float64(lo)), FmtRatio(rss/(rr.RSSMB*1e6)))
	}
	fmt.Fprintln(out, "\nReal Rhai's figures: ../shared/bench/README.md (its own runner, whole process, 2026-12-06), not measured here.")
	fmt.Fprintf(out, "Load average (/proc/loadavg) (1 minute) at the start: %s; at the end: %s.\n", loadStart, loadAvg())
	return nil
}

// runProc runs argv to completion with stdout discarded. With mem it runs
// argv under /usr/bin/time and reads the peak resident memory (else argv
// starts directly, and only the wall time counts). With trace it sets
// GODEBUG=inittrace=1 and sums the initialisers' clock from stderr.
//
// /usr/bin/time is there because Linux carries ru_maxrss over an exec, and
// Go starts a child with vfork: the child's own wait4 figure has this
// process's peak (~17 MB) as its floor, and so does a shell's started by it.
// /usr/bin/time forks the program from its own small address space and
// reports the program's peak alone, as real Rhai's figures were taken.
func runProc(argv []string, mem, trace bool) (ProcRun, error) {
	if mem {
		argv = append([]string{timeBin, "-f", maxRSSTag + "%M"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	cmd.Env = os.Environ()
	if trace {
		cmd.Env = append(cmd.Env, "GODEBUG=inittrace=1")
	}
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return ProcRun{}, fmt.Errorf("%v: %w: %s", argv, err, lastLines(stderr.String(), 5))
	}
	r := ProcRun{Wall: wall}
	if !mem {
		r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.Faults = ru.Minflt + ru.Majflt
		}
	}
	for line := range strings.Lines(stderr.String()) {
		line = strings.TrimSpace(line)
		if d, ok := strings.CutPrefix(line, "eval time: "); ok {
			r.Eval, _ = time.ParseDuration(d)
		}
		if kb, ok := strings.CutPrefix(line, maxRSSTag); ok {
			n, _ := strconv.ParseInt(kb, 10, 64)
			r.MaxRSS = n * 1024 // GNU time's %M is in kilobytes
		}
	}
	if mem && r.MaxRSS == 0 {
		return r, fmt.Errorf("%v: no peak memory from %s: %s", argv, timeBin, lastLines(stderr.String(), 3))
	}
	if trace {
		r.InitSum = SumInitTrace(stderr.String())
	}
	return r, nil
}

const (
	timeBin   = "/usr/bin/time" // GNU time (Debian's package "time")
	maxRSSTag = "picloud-bench-maxrss-kb "
)

// SumInitTrace sums the clock of every "init PKG @T ms, D ms clock, ..."
// line GODEBUG=inittrace=1 writes.
func SumInitTrace(trace string) time.Duration {
	var sum float64
	for line := range strings.Lines(trace) {
		f := strings.Fields(line)
		// init PKG @0.5 ms, 0.012 ms clock, ...
		if len(f) >= 7 && f[0] == "init" && f[5] == "ms" && f[6] == "clock," {
			if ms, err := strconv.ParseFloat(f[4], 64); err == nil {
				sum += ms
			}
		}
	}
	return time.Duration(sum * float64(time.Millisecond))
}

// fmtMB prints bytes in megabytes (10^6), as real Rhai's figures are quoted.
func fmtMB(b float64) string { return sig3(b/1e6) + " MB" }

func medianOf(rs []ProcRun, f func(ProcRun) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	slices.Sort(xs)
	return quantile(xs, 0.5)
}

func goBuild(dir, out, pkg string) error { return goBuildEnv(dir, out, pkg) }

// goBuildEnv is goBuild with env (NAME=value) added to the environment.
func goBuildEnv(dir, out, pkg string, env ...string) error {
	build := exec.Command("go", "build", "-o", out, pkg)
	build.Dir, build.Stdout, build.Stderr = dir, os.Stderr, os.Stderr
	build.Env = append(os.Environ(), env...)
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

// writeHello builds the smallest Go program that prints: the floor a Go
// binary's start-up is compared with.
func writeHello(tmp, out string) error {
	dir := filepath.Join(tmp, "hello-src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"go.mod":  "module hello\n\ngo 1.26\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			return err
		}
	}
	if err := goBuild(dir, out, "."); err != nil {
		return errors.New("building the hello-world: " + err.Error())
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// writeFloor builds the start-up floor of PiCloud's chosen dependencies: a
// program that blank-imports every package (standard library or not) that
// one of PiCloud's packages imports, and prints hello. It runs every
// initialiser `picloud` runs except PiCloud's own, and none of PiCloud's
// code; what `picloud rhai run` costs above it is PiCloud's share. (The
// linker drops the dependencies' code the floor never calls, so its binary
// is smaller than PiCloud's: what is left in PiCloud's share is PiCloud's
// code and what it uses of the dependencies.)
//
// It is built in a temporary module whose go.mod is the main module's with
// another module path, and whose go.sum is the main module's: the same
// versions, from the module cache, offline. It returns how many packages
// the floor imports. It builds it twice: to out, and with CGO_ENABLED=0 to
// outStatic.
func writeFloor(tmp, out, outStatic string) (int, error) {
	list := exec.Command("go", "list", "-deps", "-f",
		`{{if and (not .Standard) .Module}}{{if eq .Module.Path "github.com/picloud/picloud"}}{{range .Imports}}{{.}}
{{end}}{{end}}{{end}}`, "./cmd/picloud")
	list.Dir, list.Stderr = "..", os.Stderr
	b, err := list.Output()
	if err != nil {
		return 0, fmt.Errorf("go list ./cmd/picloud: %w", err)
	}
	seen := map[string]bool{"fmt": true}
	var imports []string
	for line := range strings.Lines(string(b)) {
		p := strings.TrimSpace(line)
		if p == "" || p == "C" || seen[p] || p == "github.com/picloud/picloud" || strings.HasPrefix(p, "github.com/picloud/picloud/") {
			continue
		}
		seen[p] = true
		imports = append(imports, p)
	}
	slices.Sort(imports)
	var src strings.Builder
	src.WriteString("// Code generated by bench whole (writeFloor). DO NOT EDIT.\n\npackage main\n\nimport (\n\t\"fmt\"\n")
	for _, p := range imports {
		fmt.Fprintf(&src, "\t_ %q\n", p)
	}
	src.WriteString(")\n\nfunc main() { fmt.Println(\"hello\") }\n")
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		return 0, err
	}
	gosum, err := os.ReadFile("../go.sum")
	if err != nil {
		return 0, err
	}
	modLines := strings.Split(string(gomod), "\n")
	for i, l := range modLines {
		if strings.HasPrefix(l, "module ") {
			modLines[i] = "module picloudfloor"
		}
	}
	dir := filepath.Join(tmp, "floor-src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	files := map[string]string{"go.mod": strings.Join(modLines, "\n"), "go.sum": string(gosum), "main.go": src.String()}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return 0, err
		}
	}
	if err := goBuild(dir, out, "."); err != nil {
		return 0, errors.New("building the floor: " + err.Error())
	}
	if err := goBuildEnv(dir, outStatic, ".", "CGO_ENABLED=0"); err != nil {
		return 0, errors.New("building the static floor: " + err.Error())
	}
	return len(imports) + 1, nil
}

// engineAloneMain runs a script as `picloud rhai run` does (rhairun.Run,
// print to stdout), in a program that links nothing of the server.
const engineAloneMain = `// Code generated by bench whole (writeEngineAlone). DO NOT EDIT.

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/picloud/picloud/internal/rhairun"
)

func main() {
	src, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	res := rhairun.Run(context.Background(), string(src), rhairun.Options{Output: func(s string) { fmt.Println(s) }})
	if !res.OK {
		fmt.Fprintln(os.Stderr, res.Error)
		os.Exit(1)
	}
}
`

// writeEngineAlone builds what a separate engine-only binary would start
// in: PiCloud's engine and its runner without the server's packages and
// dependencies. Its temporary module is named under PiCloud's path
// (github.com/picloud/picloud/enginealone) so that it may import
// internal/rhairun, and replaces PiCloud with this checkout.
func writeEngineAlone(tmp, out string) error {
	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		return err
	}
	gosum, err := os.ReadFile("../go.sum")
	if err != nil {
		return err
	}
	goLine := "go 1.26.0"
	for l := range strings.Lines(string(gomod)) {
		if strings.HasPrefix(l, "go ") {
			goLine = strings.TrimSpace(l)
		}
	}
	dir := filepath.Join(tmp, "engine-src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"go.mod":  fmt.Sprintf("module github.com/picloud/picloud/enginealone\n\n%s\n\nrequire github.com/picloud/picloud v0.0.0\n\nreplace github.com/picloud/picloud => %s\n", goLine, root),
		"go.sum":  string(gosum),
		"main.go": engineAloneMain,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	if err := goBuild(dir, out, "."); err != nil {
		return errors.New("building the engine alone: " + err.Error())
	}
	return nil
}
