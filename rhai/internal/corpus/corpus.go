// Package corpus loads the Rhai conformance corpora (../shared/conformance/*.jsonl:
// what real Rhai 1.25 does with a script, recorded as data) for the engine's
// tests, and keeps the known-differences lists that may only shrink. It is the
// one loader: the engine's tests and the parser's tests both use it, and it
// imports only the standard library.
//
// The corpora are read in place, never copied. Without the environment
// variable CI a missing corpus folder skips the tests that need it; with CI set
// it fails them, and so do a missing expected file and a file with fewer cases
// than its minimum, so that a conformance run cannot pass by running nothing.
package corpus

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Minimums are the corpus files a conformance run requires and the fewest
// cases (duplicates not counted) each must hold: a little under the counts of
// 2026-12-06 (book 164, fuzz 3000, own 710, tests 445), so that a truncated or
// emptied file fails instead of passing with fewer cases.
var Minimums = map[string]int{
	"rhai-book.jsonl":  160,
	"rhai-fuzz.jsonl":  2950,
	"rhai-own.jsonl":   700,
	"rhai-tests.jsonl": 440,
}

// Result is a run's outcome in the `picloud rhai eval --json` contract, the
// shape the corpora record.
type Result struct {
	OK       bool    `json:"ok"`
	Type     string  `json:"type,omitempty"`
	Value    *string `json:"value,omitempty"`
	Debug    *string `json:"debug,omitempty"`
	Phase    string  `json:"phase,omitempty"`
	Kind     string  `json:"kind,omitempty"`
	RootKind string  `json:"root_kind,omitempty"`
	Error    string  `json:"error,omitempty"`
	Line     int     `json:"line,omitempty"`
	Col      int     `json:"col,omitempty"`
}

// Case is one corpus record. Records of rhai-book, rhai-own and rhai-fuzz carry
// Result and Stdout; records of rhai-tests carry Engine, Mode, EvalType and
// Expect (a typed value or an error kind).
type Case struct {
	ID        string            `json:"id"`
	Feature   string            `json:"feature"`
	Script    string            `json:"script"`
	Files     map[string]string `json:"files"`
	Stdout    []string          `json:"stdout"`
	Result    *Result           `json:"result"`
	Duplicate string            `json:"duplicate_of"`
	Engine    string            `json:"engine"`
	Mode      string            `json:"mode"`
	EvalType  string            `json:"eval_type"`
	Expect    json.RawMessage   `json:"expect"`

	// Corpus is the file the case came from ("rhai-own.jsonl").
	Corpus string `json:"-"`
}

// Dir is the corpus folder for a test whose package directory is depth levels
// below the repository root (rhai: 1, rhai/syntax: 2).
func Dir(depth int) string {
	parts := make([]string, 0, depth+3)
	for i := 0; i <= depth; i++ {
		parts = append(parts, "..")
	}
	return filepath.Join(append(parts, "shared", "conformance")...)
}

// InCI reports whether the tests run in CI, where a missing corpus fails.
func InCI() bool { return os.Getenv("CI") != "" }

// Available reports whether the corpus folder exists.
func Available(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}

// Load reads every *.jsonl file of dir, duplicates left out, in file then line
// order. A missing folder skips the test, or fails it in CI; in CI a missing
// expected file or one under its minimum fails it too (outside CI they are
// logged).
func Load(tb testing.TB, dir string) []Case {
	tb.Helper()
	if !Available(dir) {
		if InCI() {
			tb.Fatalf("conformance corpora not found at %s (CI is set: they are required)", dir)
		}
		tb.Skipf("conformance corpora not found at %s", dir)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(files)
	var all []Case
	counts := map[string]int{}
	for _, f := range files {
		cases, err := ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		counts[filepath.Base(f)] = len(cases)
		all = append(all, cases...)
	}
	if problems := CheckCounts(counts); len(problems) > 0 {
		for _, p := range problems {
			if InCI() {
				tb.Errorf("corpus %s: %s", dir, p)
			} else {
				tb.Logf("corpus %s: %s (a failure when CI is set)", dir, p)
			}
		}
		if InCI() {
			tb.FailNow()
		}
	}
	return all
}

// CheckCounts compares the number of cases per file with Minimums and returns
// what falls short, in file order.
func CheckCounts(counts map[string]int) []string {
	names := make([]string, 0, len(Minimums))
	for n := range Minimums {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		got, ok := counts[n]
		switch {
		case !ok:
			out = append(out, n+" is missing")
		case got < Minimums[n]:
			out = append(out, fmt.Sprintf("%s has %d cases, at least %d expected", n, got, Minimums[n]))
		}
	}
	return out
}

// ReadFile reads one corpus file, duplicates left out.
func ReadFile(path string) ([]Case, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []Case
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var c Case
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		if c.ID == "" {
			return nil, fmt.Errorf("%s:%d: a case without an id", path, n)
		}
		if c.Duplicate != "" {
			continue
		}
		c.Corpus = filepath.Base(path)
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return out, nil
}

// Scripts returns every script of the cases and of their module files, sorted
// and without repeats: the seeds of the fuzz targets.
func Scripts(cases []Case) []string {
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.Script] = true
		for _, src := range c.Files {
			seen[src] = true
		}
	}
	delete(seen, "")
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Lines returns every non-empty line of every *.jsonl file of dir, as read:
// each is a JSON document, seeds for JSON fuzzing. None when dir is absent.
func Lines(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				out = append(out, line)
			}
		}
	}
	return out, nil
}
