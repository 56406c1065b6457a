package rhai_test

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/rhai"
)

// TestConcurrentHostileAndCorpus compiles the hostile suite and (a
// deterministic sample of) the conformance corpus once, then evaluates the
// shared ASTs on shared engines from many goroutines at once, with limits set,
// and checks that every result equals the sequential run: same value or error,
// same output, same operation count. Run it under -race (.ci/run does).

const (
	concurrentWorkers = 8
	// corpusSampleMax bounds how many corpus cases run, so the test stays well
	// under a minute with -race on two cores.
	corpusSampleMax = 700
)

// concurrentJob is one compiled script and where to run it.
type concurrentJob struct {
	name    string
	eng     *rhai.Engine
	ast     *rhai.AST
	files   map[string]string
	timeout bool // ends by its context's deadline: only the error kind is stable
	h       *hostileScript
	want    outcome
}

type filesKey struct{}

// ctxFileResolver resolves `import "x"` from the files map the evaluation's
// context carries, so one engine serves cases with different modules.
func ctxFileResolver(ctx context.Context, eng *rhai.Engine, path string) (*rhai.AST, error) {
	files, _ := ctx.Value(filesKey{}).(map[string]string)
	name := path
	if !strings.HasSuffix(name, ".rhai") {
		name += ".rhai"
	}
	if src, ok := files[name]; ok {
		return eng.Compile(name, src)
	}
	return nil, rhai.NewError(rhai.ErrModuleNotFound, "Module not found: %s", path)
}

func (j *concurrentJob) run(ctx context.Context) outcome {
	if j.files != nil {
		ctx = context.WithValue(ctx, filesKey{}, j.files)
	}
	var timeout time.Duration
	if j.h != nil {
		timeout = j.h.timeout
	}
	return evalOutcome(ctx, j.eng, j.ast, timeout)
}

func (j *concurrentJob) same(got outcome) string {
	if got.Panic != "" {
		return "panic: " + got.Panic
	}
	if j.timeout {
		if got.Kind != j.want.Kind {
			return fmt.Sprintf("got %s, want error %s", got, j.want.Kind)
		}
		return ""
	}
	if got != j.want {
		return fmt.Sprintf("got  %s\nwant %s", got, j.want)
	}
	return ""
}

var corpusLimits = rhai.Limits{
	MaxOperations: 2_000_000,
	MaxStringSize: 1 << 20,
	MaxArraySize:  100_000,
	MaxMapSize:    100_000,
}

func TestConcurrentHostileAndCorpus(t *testing.T) {
	ctx := context.Background()
	var jobs []*concurrentJob

	// The hostile suite: one shared engine per distinct set of limits.
	engines := map[rhai.Limits]*rhai.Engine{}
	for _, h := range loadHostile(t) {
		h := h
		eng := engines[h.limits]
		if eng == nil {
			eng = hostileEngine(h)
			engines[h.limits] = eng
		}
		ast, _, ok := compileOutcome(eng, h.name, h.src)
		if !ok {
			continue // parse bombs: nothing to share
		}
		jobs = append(jobs, &concurrentJob{name: h.name, eng: eng, ast: ast, h: &h,
			timeout: h.expect == rhai.ErrTerminated})
	}
	nHostile := len(jobs)

	// The conformance corpus: two shared engines (with and without the standard
	// library), a deterministic sample.
	std := rhai.New()
	std.SetLimits(corpusLimits)
	std.SetModuleResolver(ctxFileResolver)
	raw := rhai.NewRaw()
	raw.SetLimits(corpusLimits)
	raw.SetModuleResolver(ctxFileResolver)
	var cases []corpusCase
	var corpus []corpusCase
	if corpusAvailable() {
		corpus = loadCorpus(t)
	} else {
		t.Logf("conformance corpora not found at %s: the hostile suite runs alone", corpusPath)
	}
	for _, c := range corpus {
		switch c.Mode {
		case "compile", "compile_expression":
			continue
		}
		cases = append(cases, c)
	}
	step := (len(cases) + corpusSampleMax - 1) / corpusSampleMax
	for i := 0; i < len(cases); i += max(step, 1) {
		c := cases[i]
		eng := std
		if c.Engine == "new_raw" {
			eng = raw
		}
		var ast *rhai.AST
		var err error
		if c.Mode == "eval_expression" {
			ast, err = eng.CompileExpression("", c.Script)
		} else {
			ast, err = eng.Compile("main.rhai", c.Script)
		}
		if err != nil {
			continue
		}
		jobs = append(jobs, &concurrentJob{name: c.ID, eng: eng, ast: ast, files: c.Files})
	}

	// The sequential reference runs. Scripts whose result depends on the clock
	// (timestamps, elapsed time) are the ones two sequential runs disagree on;
	// they are dropped.
	kept := jobs[:0]
	for _, j := range jobs {
		j.want = j.run(ctx)
		if j.want.Panic != "" {
			t.Fatalf("%s: panic: %s", j.name, j.want.Panic)
		}
		if j.want.Kind == rhai.ErrSystem {
			t.Fatalf("%s: internal error: %s", j.name, j.want.Error)
		}
		if !j.timeout && j.same(j.run(ctx)) != "" {
			continue
		}
		kept = append(kept, j)
	}
	jobs = kept
	t.Logf("%d hostile scripts and %d corpus cases, %d goroutines", nHostile, len(jobs)-nHostile, concurrentWorkers)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for w := 0; w < concurrentWorkers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			order := rand.New(rand.NewSource(int64(w))).Perm(len(jobs))
			for _, i := range order {
				j := jobs[i]
				if d := j.same(j.run(ctx)); d != "" {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s (worker %d):\n%s", j.name, w, d))
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	for i, f := range failures {
		if i == 20 {
			t.Errorf("... and %d more", len(failures)-20)
			break
		}
		t.Error(f)
	}
}
