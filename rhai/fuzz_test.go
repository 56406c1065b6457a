package rhai_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/rhai"
	"github.com/picloud/picloud/rhai/internal/corpus"
	"github.com/picloud/picloud/rhai/syntax"
)

// FuzzEval compiles and evaluates arbitrary input under tight limits. Every run
// must end with a value or an error within its budget:
//
//   - no panic escapes the engine;
//   - no ErrorSystem (the engine's recovered internal fault) and no parse
//     InternalError: either means a bug;
//   - the reported operations never exceed the budget by more than opsSlack.
//
// Seeded with every script of the conformance corpora, testdata/scripts and
// the hostile suite. Run it with
//
//	go test ./rhai -run '^$' -fuzz FuzzEval -fuzztime 10m -parallel 2
//
// and commit what it writes to testdata/fuzz/FuzzEval (the regression cases).
func FuzzEval(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	eng := rhai.New()
	eng.SetLimits(fuzzLimits)
	f.Fuzz(func(t *testing.T, src string) {
		checkFuzzRun(t, eng, src)
	})
}

var fuzzLimits = rhai.Limits{
	MaxOperations: 100_000,
	MaxCallDepth:  32,
	MaxStringSize: 10_000,
	MaxArraySize:  10_000,
	MaxMapSize:    1_000,
	MaxVariables:  1_000,
	MaxFunctions:  100,
	MaxModules:    10,
}

func checkFuzzRun(t *testing.T, eng *rhai.Engine, src string) {
	ast, err := eng.Compile("fuzz", src)
	if err != nil {
		var pe *syntax.Error
		if errors.As(err, &pe) && pe.Kind == "InternalError" {
			t.Fatalf("internal parse error: %v\nscript: %q", err, src)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	opts := &rhai.EvalOptions{OnPrint: func(string) {}, OnDebug: func(string, string, syntax.Pos) {}}
	_, err = eng.EvalWith(ctx, ast, opts)
	var re *rhai.Error
	if errors.As(err, &re) && re.Root().Kind == rhai.ErrSystem {
		t.Fatalf("internal error: %v\nscript: %q", err, src)
	}
	if opts.Operations > fuzzLimits.MaxOperations+opsSlack {
		t.Fatalf("%d operations reported, budget %d\nscript: %q", opts.Operations, fuzzLimits.MaxOperations, src)
	}
}

// fuzzSeeds are the scripts of the corpora (sorted, deduplicated).
func fuzzSeeds(tb testing.TB) []string {
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && len(s) < 1<<16 {
			seen[s] = true
		}
	}
	if corpusAvailable() {
		for _, s := range corpus.Scripts(loadCorpus(tb)) {
			add(s)
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "scripts", "*.rhai"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		for _, c := range strings.Split(string(b), "\n---\n") {
			add(c)
		}
	}
	hostile, _ := filepath.Glob(filepath.Join("testdata", "hostile", "*.rhai"))
	for _, f := range hostile {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		add(string(b))
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
