package rhai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/rhai"
	"github.com/picloud/picloud/rhai/internal/corpus"
	"github.com/picloud/picloud/rhai/syntax"
)

// The conformance tests run every case of ../shared/conformance/*.jsonl (what
// real Rhai 1.25 does, read in place by rhai/internal/corpus) in process, in
// two layers, each with its own known-differences list that may only shrink:
//
//   - TestConformance: the value and its type, or the error's phase and kinds,
//     and the printed lines (print and debug output, in order). A case that
//     disagrees fails unless testdata/known-failures.txt lists it.
//   - TestConformanceStrict: also the debug text of the value, the error's
//     text, line and column, for the cases that record them (rhai-book,
//     rhai-own, rhai-fuzz). Listed in testdata/known-strict.txt.
//
// A listed case that agrees fails the test ("remove X from the list"), and so
// does a list longer than its bound below: fixing something forces the list to
// shrink, and it cannot grow back quietly. With CI set a missing corpus, a
// missing expected file or a file under its minimum count fails (see package
// corpus). RHAI_CONFORMANCE_DUMP=FILE writes the unlisted differences, in the
// lists' line format, to FILE.
//
//	go test ./rhai -run 'TestConformance' -v    # per-corpus and strict rates

const (
	knownFailuresFile = "testdata/known-failures.txt"
	knownStrictFile   = "testdata/known-strict.txt"
	// Bounds on the lists' sizes (their sizes on 2026-12-06): they may only shrink;
	// lower a bound when its list shrinks.
	knownFailuresMax = 0
	knownStrictMax   = 0
)

// corpusPath is where the corpora stand, relative to this package.
var corpusPath = corpus.Dir(1)

// corpusAvailable reports whether the corpora are there.
func corpusAvailable() bool { return corpus.Available(corpusPath) }

type corpusCase = corpus.Case

// loadCorpus loads every corpus (skipping, or failing in CI, without them).
func loadCorpus(t testing.TB) []corpusCase {
	t.Helper()
	return corpus.Load(t, corpusPath)
}

// runResult is a run's outcome in the command-line contract, with the value.
type runResult struct {
	corpus.Result
	Val rhai.Value
}

// runOptions configure one run the way `picloud rhai eval --json` does.
type runOptions struct {
	name                         string
	raw, compileOnly, expression bool
	files                        map[string]string
	output                       func(string)
}

// runScript compiles and evaluates src the way the command does
// (internal/rhairun, which rhai/ does not import to test itself) and reports
// the outcome in the command's JSON contract.
func runScript(src string, o runOptions) runResult {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	eng := rhai.New()
	if o.raw {
		eng = rhai.NewRaw()
	}
	eng.SetLimits(rhai.Limits{MaxOperations: 50_000_000})
	if o.files != nil {
		files := o.files
		eng.SetModuleResolver(func(ctx context.Context, eng *rhai.Engine, path string) (*rhai.AST, error) {
			name := path
			if !strings.HasSuffix(name, ".rhai") {
				name += ".rhai"
			}
			if src, ok := files[name]; ok {
				return eng.Compile(name, src)
			}
			return nil, rhai.NewError(rhai.ErrModuleNotFound, "Module not found: %s", path)
		})
	}
	var ast *rhai.AST
	var err error
	if o.expression {
		ast, err = eng.CompileExpression(o.name, src)
	} else {
		ast, err = eng.Compile(o.name, src)
	}
	if err != nil {
		return errorResult(err, "parse")
	}
	if o.compileOnly {
		return runResult{Result: corpus.Result{OK: true, Type: "()", Value: strp(""), Debug: strp("()")}}
	}
	out := o.output
	if out == nil {
		out = func(string) {}
	}
	eo := &rhai.EvalOptions{
		OnPrint: out,
		OnDebug: func(text, source string, pos syntax.Pos) {
			if source == "" {
				out(fmt.Sprintf("%d:%d | %s", pos.Line, pos.Col, text))
			} else {
				out(fmt.Sprintf("%s @ %d:%d | %s", source, pos.Line, pos.Col, text))
			}
		},
	}
	v, err := eng.EvalWith(ctx, ast, eo)
	if err != nil {
		return errorResult(err, "eval")
	}
	return runResult{Result: corpus.Result{OK: true, Type: v.TypeName(), Value: strp(v.String()), Debug: strp(v.DebugString())}, Val: v}
}

func strp(s string) *string { return &s }

func errorResult(err error, phase string) runResult {
	r := corpus.Result{Phase: phase, Error: err.Error()}
	var pe *syntax.Error
	var re *rhai.Error
	switch {
	case errors.As(err, &pe):
		r.Kind, r.RootKind = pe.Kind, pe.FullKind()
		if pe.Pos.IsValid() {
			r.Line, r.Col = int(pe.Pos.Line), int(pe.Pos.Col)
		}
	case errors.As(err, &re):
		r.Kind, r.RootKind = re.Kind, re.RootKind()
		if re.Pos.IsValid() {
			r.Line, r.Col = int(re.Pos.Line), int(re.Pos.Col)
		}
	default:
		r.Kind, r.RootKind = rhai.ErrSystem, rhai.ErrSystem
	}
	return runResult{Result: r}
}

// runCase runs one corpus case and returns "" when it agrees with real Rhai,
// or a description of the difference, and the run's result.
func runCase(c corpusCase) (string, runResult) {
	var out []string
	if c.Result != nil {
		got := runScript(c.Script, runOptions{name: "main.rhai", files: c.Files,
			// The corpus recorded standard output split into lines.
			output: func(s string) { out = append(out, strings.Split(s, "\n")...) }})
		return compareResult(c, got, out), got
	}
	// rhai-tests.jsonl: typed expectations.
	o := runOptions{raw: c.Engine == "new_raw"}
	switch c.Mode {
	case "compile":
		o.compileOnly = true
	case "compile_expression":
		o.compileOnly, o.expression = true, true
	case "eval_expression":
		o.expression = true
	}
	got := runScript(c.Script, o)
	return compareTypedCase(c, got), got
}

func compareTypedCase(c corpusCase, got runResult) string {
	if got.OK && (c.Mode == "eval" || c.Mode == "eval_expression") && !typeMatches(c.EvalType, got.Type) {
		got = runResult{Result: corpus.Result{Phase: "eval", Kind: rhai.ErrMismatchOutputType,
			RootKind: rhai.ErrMismatchOutputType, Error: "Output type incorrect: " + got.Type}}
	}
	var exp struct {
		Error string          `json:"error"`
		Phase string          `json:"phase"`
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
		Tol   float64         `json:"tolerance"`
	}
	if err := json.Unmarshal(c.Expect, &exp); err != nil {
		return "bad expect: " + err.Error()
	}
	if exp.Error != "" {
		if got.OK {
			return fmt.Sprintf("expected error %s, got ok %s %s", exp.Error, got.Type, deref(got.Value))
		}
		switch exp.Error {
		case "any":
			return ""
		case "ParseError":
			if got.Phase == "parse" {
				return ""
			}
		default:
			if got.RootKind == exp.Error || got.Kind == exp.Error || strings.HasPrefix(got.RootKind, exp.Error+"/") {
				if exp.Phase == "" || exp.Phase == got.Phase {
					return ""
				}
			}
		}
		return fmt.Sprintf("expected error %s (%s), got %s/%s: %s", exp.Error, exp.Phase, got.Phase, got.RootKind, got.Error)
	}
	if !got.OK {
		return fmt.Sprintf("expected %s, got error %s: %s", string(c.Expect), got.RootKind, got.Error)
	}
	if c.Mode == "run" || c.Mode == "compile" || c.Mode == "compile_expression" {
		return ""
	}
	return compareTyped(got.Val, exp.Type, exp.Value, exp.Tol)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func typeMatches(evalType, got string) bool {
	switch evalType {
	case "", "dynamic":
		return true
	case "unit":
		return got == "()"
	}
	return evalType == got
}

func compareTyped(v rhai.Value, typ string, raw json.RawMessage, tol float64) string {
	gotType := v.TypeName()
	if typ == "unit" {
		typ = "()"
	}
	if gotType != typ {
		return fmt.Sprintf("type %s, want %s (value %s)", gotType, typ, v.String())
	}
	switch typ {
	case "i64":
		want, _ := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
		if v.AsInt() != want {
			return fmt.Sprintf("value %d, want %d", v.AsInt(), want)
		}
	case "f64":
		var want float64
		json.Unmarshal(raw, &want)
		got := v.AsFloat()
		if tol > 0 {
			if math.Abs(got-want) > tol {
				return fmt.Sprintf("value %v, want %v ± %v", got, want, tol)
			}
		} else if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			return fmt.Sprintf("value %v, want %v", got, want)
		}
	case "bool":
		var want bool
		json.Unmarshal(raw, &want)
		if v.AsBool() != want {
			return fmt.Sprintf("value %v, want %v", v.AsBool(), want)
		}
	case "string":
		var want string
		json.Unmarshal(raw, &want)
		if v.AsString() != want {
			return fmt.Sprintf("value %q, want %q", v.AsString(), want)
		}
	case "char":
		var want string
		json.Unmarshal(raw, &want)
		if string(v.AsChar()) != want {
			return fmt.Sprintf("value %q, want %q", string(v.AsChar()), want)
		}
	case "()":
	case "array":
		var want []struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		}
		json.Unmarshal(raw, &want)
		items := v.AsArray().Items
		if len(items) != len(want) {
			return fmt.Sprintf("array %s, want %d elements", v.String(), len(want))
		}
		for i, w := range want {
			if d := compareTyped(items[i], w.Type, w.Value, tol); d != "" {
				return fmt.Sprintf("[%d]: %s", i, d)
			}
		}
	case "blob":
		var want []int
		json.Unmarshal(raw, &want)
		b := v.AsBlob().B
		if len(b) != len(want) {
			return fmt.Sprintf("blob %v, want %v", b, want)
		}
		for i := range want {
			if int(b[i]) != want[i] {
				return fmt.Sprintf("blob %v, want %v", b, want)
			}
		}
	case "map":
		var want map[string]struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		}
		json.Unmarshal(raw, &want)
		m := v.AsMap().M
		if len(m) != len(want) {
			return fmt.Sprintf("map %s, want %d entries", v.String(), len(want))
		}
		for k, w := range want {
			e, ok := m[k]
			if !ok {
				return fmt.Sprintf("map lacks %q", k)
			}
			if d := compareTyped(e, w.Type, w.Value, tol); d != "" {
				return fmt.Sprintf("[%q]: %s", k, d)
			}
		}
	}
	return ""
}

func compareResult(c corpusCase, got runResult, out []string) string {
	want := c.Result
	if want.OK != got.OK {
		if want.OK {
			return fmt.Sprintf("want ok %s %s, got error %s: %s", want.Type, deref(want.Value), got.RootKind, got.Error)
		}
		return fmt.Sprintf("want error %s (%s), got ok %s %s", want.RootKind, want.Error, got.Type, deref(got.Value))
	}
	if want.OK {
		if want.Type != got.Type || deref(want.Value) != deref(got.Value) {
			return fmt.Sprintf("want %s %q, got %s %q", want.Type, deref(want.Value), got.Type, deref(got.Value))
		}
	} else if want.Phase != got.Phase || want.RootKind != got.RootKind || want.Kind != got.Kind {
		return fmt.Sprintf("want error %s/%s/%s (%s), got %s/%s/%s (%s)", want.Phase, want.Kind, want.RootKind, want.Error,
			got.Phase, got.Kind, got.RootKind, got.Error)
	}
	if len(out) != len(c.Stdout) {
		return fmt.Sprintf("stdout %q, want %q", out, c.Stdout)
	}
	for i := range out {
		if out[i] != c.Stdout[i] {
			return fmt.Sprintf("stdout line %d %q, want %q", i+1, out[i], c.Stdout[i])
		}
	}
	return ""
}

// compareStrict compares what the lax layer leaves out: the value's debug
// text, or the error's text, line and column ("" when they agree).
func compareStrict(want *corpus.Result, got runResult) string {
	var d []string
	if want.OK != got.OK {
		return "outcome differs (see TestConformance)"
	}
	if want.OK {
		if want.Debug != nil && deref(want.Debug) != deref(got.Debug) {
			d = append(d, fmt.Sprintf("debug %q, want %q", deref(got.Debug), deref(want.Debug)))
		}
		return strings.Join(d, "; ")
	}
	if want.Error != got.Error {
		d = append(d, fmt.Sprintf("error %q, want %q", got.Error, want.Error))
	}
	if want.Line != got.Line || want.Col != got.Col {
		d = append(d, fmt.Sprintf("at %d:%d, want %d:%d", got.Line, got.Col, want.Line, want.Col))
	}
	return strings.Join(d, "; ")
}

// conformanceRun is the outcome of running every case once, shared by both
// layers.
type conformanceRun struct {
	cases []corpusCase
	lax   []string // per case: "" or the difference
	got   []runResult
}

var conformanceOnce struct {
	run  *conformanceRun
	done bool
}

func runConformance(t *testing.T) *conformanceRun {
	t.Helper()
	if conformanceOnce.done {
		return conformanceOnce.run
	}
	cases := loadCorpus(t)
	r := &conformanceRun{cases: cases, lax: make([]string, len(cases)), got: make([]runResult, len(cases))}
	for i, c := range cases {
		r.lax[i], r.got[i] = runCase(c)
	}
	if len(cases) == 0 {
		t.Fatal("no conformance case ran")
	}
	conformanceOnce.run, conformanceOnce.done = r, true
	return r
}

type tally struct{ pass, total int }

func (t tally) String() string {
	return fmt.Sprintf("%4d/%4d (%.2f%%)", t.pass, t.total, 100*float64(t.pass)/float64(max(t.total, 1)))
}

func logTallies(t *testing.T, what string, per map[string]*tally) {
	names := make([]string, 0, len(per))
	var sum tally
	for n, tl := range per {
		names = append(names, n)
		sum.pass += tl.pass
		sum.total += tl.total
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("%s %-18s %s", what, n, per[n])
	}
	t.Logf("%s %-18s %s", what, "all", sum)
}

func dumpUnlisted(l *corpus.List) {
	if path := os.Getenv("RHAI_CONFORMANCE_DUMP"); path != "" {
		u := l.Unlisted()
		if len(u) > 0 {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err == nil {
				fmt.Fprintln(f, strings.Join(u, "\n"))
				f.Close()
			}
		}
	}
}

// TestConformance: value and type, or error phase and kinds, and the printed
// lines agree with Rhai 1.25 on every case not in testdata/known-failures.txt.
func TestConformance(t *testing.T) {
	r := runConformance(t)
	known := corpus.MustReadList(t, knownFailuresFile)
	per := map[string]*tally{}
	for i, c := range r.cases {
		tl := per[c.Corpus]
		if tl == nil {
			tl = &tally{}
			per[c.Corpus] = tl
		}
		tl.total++
		if r.lax[i] == "" {
			tl.pass++
		}
		known.Record(c.ID, r.lax[i])
	}
	logTallies(t, "agree", per)
	dumpUnlisted(known)
	known.Check(t, true, knownFailuresMax)
}

// TestConformanceStrict: for the cases that record them, the value's debug
// text and the error's text, line and column agree too, except the cases in
// testdata/known-strict.txt. A case the lax layer already fails is left to it.
func TestConformanceStrict(t *testing.T) {
	r := runConformance(t)
	known := corpus.MustReadList(t, knownStrictFile)
	per := map[string]*tally{}
	for i, c := range r.cases {
		if c.Result == nil {
			continue
		}
		tl := per[c.Corpus]
		if tl == nil {
			tl = &tally{}
			per[c.Corpus] = tl
		}
		tl.total++
		diff := r.lax[i]
		if diff == "" {
			diff = compareStrict(c.Result, r.got[i])
		}
		if diff == "" {
			tl.pass++
		}
		if r.lax[i] != "" && !known.Has(c.ID) {
			continue // TestConformance reports it
		}
		known.Record(c.ID, diff)
	}
	logTallies(t, "strict", per)
	dumpUnlisted(known)
	known.Check(t, true, knownStrictMax)
}

// TestConformanceDetects makes sure the comparisons can fail: every kind of
// case, its record altered, must disagree (a comparison that always agreed
// would let the conformance tests pass without checking anything).
func TestConformanceDetects(t *testing.T) {
	r := runConformance(t)
	var okCase, errCase, posCase, outCase, typedCase, typedErr int = -1, -1, -1, -1, -1, -1
	for i, c := range r.cases {
		switch {
		case r.lax[i] != "":
		case c.Result != nil && c.Result.OK && okCase < 0 && c.Result.Debug != nil:
			okCase = i
		case c.Result != nil && !c.Result.OK && c.Result.Line > 0 && posCase < 0 && compareStrict(c.Result, r.got[i]) == "":
			posCase = i
		case c.Result != nil && !c.Result.OK && errCase < 0:
			errCase = i
		case c.Result == nil && typedCase < 0 && c.Mode == "eval" && strings.Contains(string(c.Expect), `"i64"`):
			typedCase = i
		case c.Result == nil && typedErr < 0 && strings.Contains(string(c.Expect), `"ErrorArithmetic"`):
			typedErr = i
		}
		if c.Result != nil && len(c.Stdout) > 0 && outCase < 0 && r.lax[i] == "" {
			outCase = i
		}
	}
	for name, i := range map[string]int{"value": okCase, "error": errCase, "position": posCase,
		"stdout": outCase, "typed value": typedCase, "typed error": typedErr} {
		if i < 0 {
			t.Fatalf("no agreeing %s case to alter", name)
		}
	}
	alter := func(i int, f func(c *corpusCase)) corpusCase {
		c := r.cases[i]
		res := *c.Result
		c.Result = &res
		c.Stdout = append([]string(nil), c.Stdout...)
		f(&c)
		return c
	}
	checks := []struct {
		name string
		c    corpusCase
		lax  bool // the lax layer must notice (else the strict one)
	}{
		{"value", alter(okCase, func(c *corpusCase) { c.Result.Value = strp(deref(c.Result.Value) + "x") }), true},
		{"type", alter(okCase, func(c *corpusCase) { c.Result.Type += "x" }), true},
		{"ok", alter(okCase, func(c *corpusCase) { c.Result.OK = false }), true},
		{"debug", alter(okCase, func(c *corpusCase) { c.Result.Debug = strp(deref(c.Result.Debug) + "x") }), false},
		{"kind", alter(errCase, func(c *corpusCase) { c.Result.RootKind += "x" }), true},
		{"phase", alter(errCase, func(c *corpusCase) { c.Result.Phase += "x" }), true},
		{"error text", alter(errCase, func(c *corpusCase) { c.Result.Error += "x" }), false},
		{"line", alter(posCase, func(c *corpusCase) { c.Result.Line++ }), false},
		{"column", alter(posCase, func(c *corpusCase) { c.Result.Col++ }), false},
		{"stdout line", alter(outCase, func(c *corpusCase) { c.Stdout[0] += "x" }), true},
		{"stdout length", alter(outCase, func(c *corpusCase) { c.Stdout = append(c.Stdout, "") }), true},
	}
	for _, ch := range checks {
		lax, got := runCase(ch.c)
		strict := compareStrict(ch.c.Result, got)
		if ch.lax && lax == "" || !ch.lax && strict == "" {
			t.Errorf("%s altered in %s: not noticed (lax %q, strict %q)", ch.name, ch.c.ID, lax, strict)
		}
	}
	typed := r.cases[typedCase]
	typed.Expect = json.RawMessage(strings.Replace(string(typed.Expect), `"value":`, `"value":1`, 1))
	if strings.Contains(string(typed.Expect), `"value": `) {
		typed.Expect = json.RawMessage(strings.Replace(string(r.cases[typedCase].Expect), `"value": `, `"value": 1`, 1))
	}
	if d, _ := runCase(typed); d == "" {
		t.Errorf("typed value altered in %s (%s): not noticed", typed.ID, typed.Expect)
	}
	typed = r.cases[typedErr]
	typed.Expect = json.RawMessage(strings.Replace(string(typed.Expect), "ErrorArithmetic", "ErrorRuntime", 1))
	if d, _ := runCase(typed); d == "" {
		t.Errorf("typed error altered in %s (%s): not noticed", typed.ID, typed.Expect)
	}
}
