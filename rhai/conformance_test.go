package rhai_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/rhairun"
	"github.com/picloud/picloud/rhai"
)

// The conformance test runs every case of ../shared/conformance/*.jsonl (what
// real Rhai 1.25 does) in process and fails on any case that disagrees and is
// not listed in testdata/conformance_known_failures.txt. That file may only
// shrink: a listed case that passes fails the test too, so the list stays true.

const knownFailuresFile = "testdata/conformance_known_failures.txt"

// corpusPath is where the corpora stand, relative to this package.
var corpusPath = filepath.Join("..", "..", "shared", "conformance")

// corpusAvailable reports whether the corpora are there.
func corpusAvailable() bool {
	_, err := os.Stat(corpusPath)
	return err == nil
}

func corpusDir(t testing.TB) string {
	dir := corpusPath
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("conformance corpora not found at %s: %v", dir, err)
	}
	return dir
}

type corpusCase struct {
	ID         string            `json:"id"`
	Script     string            `json:"script"`
	Files      map[string]string `json:"files"`
	Stdout     []string          `json:"stdout"`
	Result     *rhairun.Result   `json:"result"`
	Duplicate  string            `json:"duplicate_of"`
	Engine     string            `json:"engine"`
	Mode       string            `json:"mode"`
	EvalType   string            `json:"eval_type"`
	Expect     json.RawMessage   `json:"expect"`
	SourceFile string            `json:"-"`
}

func loadCorpus(t testing.TB) []corpusCase {
	dir := corpusDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	sort.Strings(files)
	var all []corpusCase
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var c corpusCase
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if c.Duplicate != "" {
				continue
			}
			c.SourceFile = filepath.Base(f)
			all = append(all, c)
		}
		fh.Close()
	}
	return all
}

func loadKnownFailures(t testing.TB) map[string]string {
	m := make(map[string]string)
	b, err := os.ReadFile(knownFailuresFile)
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, _ := strings.Cut(line, "\t")
		m[strings.TrimSpace(id)] = strings.TrimSpace(reason)
	}
	return m
}

// runCase runs one corpus case and returns "" when it agrees with real Rhai,
// or a description of the difference.
func runCase(c corpusCase) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []string
	opts := rhairun.Options{
		Name:  "main.rhai",
		Files: c.Files,
		// The corpus recorded standard output split into lines.
		Output: func(s string) { out = append(out, strings.Split(s, "\n")...) },
		Limits: rhai.Limits{MaxOperations: 50_000_000},
	}
	if c.Result != nil {
		got := rhairun.Run(ctx, c.Script, opts)
		return compareResult(c, got, out)
	}
	// rhai-tests.jsonl: typed expectations.
	opts.Raw = c.Engine == "new_raw"
	switch c.Mode {
	case "compile":
		opts.CompileOnly = true
	case "compile_expression":
		opts.CompileOnly, opts.Expression = true, true
	case "eval_expression":
		opts.Expression = true
	}
	opts.Name = ""
	got := rhairun.Run(ctx, c.Script, opts)
	if got.OK && c.Mode == "eval" || got.OK && c.Mode == "eval_expression" {
		if !typeMatches(c.EvalType, got.Type) {
			got = rhairun.Result{Phase: "eval", Kind: rhai.ErrMismatchOutputType, RootKind: rhai.ErrMismatchOutputType,
				Error: "Output type incorrect: " + got.Type}
		}
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
			if c.Mode == "run" || c.Mode == "compile" || c.Mode == "compile_expression" {
				// These modes only say "it fails" at some phase; a clean run disagrees.
			}
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
	if d := compareTyped(got.Val, exp.Type, exp.Value, exp.Tol); d != "" {
		return d
	}
	return ""
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

func compareResult(c corpusCase, got rhairun.Result, out []string) string {
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

func TestConformance(t *testing.T) {
	cases := loadCorpus(t)
	known := loadKnownFailures(t)
	type tally struct{ pass, fail, known int }
	per := map[string]*tally{}
	var unexpected, fixed []string
	for _, c := range cases {
		tl := per[c.SourceFile]
		if tl == nil {
			tl = &tally{}
			per[c.SourceFile] = tl
		}
		diff := runCase(c)
		_, isKnown := known[c.ID]
		switch {
		case diff == "" && isKnown:
			tl.pass++
			fixed = append(fixed, c.ID)
		case diff == "":
			tl.pass++
		case isKnown:
			tl.known++
		default:
			tl.fail++
			unexpected = append(unexpected, c.ID+"\t"+diff)
		}
	}
	names := make([]string, 0, len(per))
	for n := range per {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		tl := per[n]
		total := tl.pass + tl.fail + tl.known
		t.Logf("%-18s %4d/%4d pass (%d known failures, %d unexpected)", n, tl.pass, total, tl.known, tl.fail)
	}
	if path := os.Getenv("RHAI_CONFORMANCE_DUMP"); path != "" {
		os.WriteFile(path, []byte(strings.Join(unexpected, "\n")+"\n"), 0o644)
	}
	for _, u := range unexpected {
		t.Errorf("%s", u)
	}
	for _, id := range fixed {
		t.Errorf("%s passes now: remove it from %s", id, knownFailuresFile)
	}
}
