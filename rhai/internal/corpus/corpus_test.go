package corpus

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records what a loader does to its test:
// errors, a skip or a fatal stop (Fatal and Skip end the call, as they do).
type recorder struct {
	testing.TB
	errors  []string
	skipped bool
	failed  bool
}

type stop struct{}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Log(...any)          {}
func (r *recorder) Error(a ...any)      { r.errors = append(r.errors, fmt.Sprint(a...)) }
func (r *recorder) Errorf(f string, a ...any) {
	r.errors = append(r.errors, fmt.Sprintf(f, a...))
}
func (r *recorder) Fatal(a ...any)            { r.Error(a...); r.FailNow() }
func (r *recorder) Fatalf(f string, a ...any) { r.Errorf(f, a...); r.FailNow() }
func (r *recorder) FailNow()                  { r.failed = true; panic(stop{}) }
func (r *recorder) Skipf(string, ...any)      { r.skipped = true; panic(stop{}) }
func (r *recorder) Skip(...any)               { r.skipped = true; panic(stop{}) }

// run calls f with a recorder and returns it once f has ended or stopped.
func run(f func(tb testing.TB)) (r *recorder) {
	r = &recorder{}
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(stop); !ok {
				panic(v)
			}
		}
	}()
	f(r)
	return r
}

// writeCorpus writes a corpus folder with n cases in each named file.
func writeCorpus(t *testing.T, counts map[string]int) string {
	dir := t.TempDir()
	for name, n := range counts {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, `{"id":"%s:%d","script":"%d","result":{"ok":true,"type":"i64","value":"%d"}}`+"\n", name, i, i, i)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func full() map[string]int {
	m := map[string]int{}
	for n, min := range Minimums {
		m[n] = min
	}
	return m
}

func TestLoadMissingFolder(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nowhere")
	t.Setenv("CI", "")
	r := run(func(tb testing.TB) { Load(tb, missing) })
	if !r.skipped || r.failed {
		t.Errorf("outside CI a missing folder skips: skipped %v, failed %v", r.skipped, r.failed)
	}
	t.Setenv("CI", "true")
	r = run(func(tb testing.TB) { Load(tb, missing) })
	if r.skipped || !r.failed || !strings.Contains(strings.Join(r.errors, "\n"), "not found") {
		t.Errorf("in CI a missing folder fails: skipped %v, failed %v, %q", r.skipped, r.failed, r.errors)
	}
}

// An empty folder used to pass with "0 passed": in CI it fails, naming every
// expected file.
func TestLoadEmptyFolderFailsInCI(t *testing.T) {
	t.Setenv("CI", "1")
	dir := t.TempDir()
	r := run(func(tb testing.TB) { Load(tb, dir) })
	if !r.failed || len(r.errors) != len(Minimums) {
		t.Fatalf("failed %v, errors %q", r.failed, r.errors)
	}
	for name := range Minimums {
		if !strings.Contains(strings.Join(r.errors, "\n"), name+" is missing") {
			t.Errorf("no error names %s: %q", name, r.errors)
		}
	}
}

func TestLoadShortFileFailsInCI(t *testing.T) {
	counts := full()
	counts["rhai-own.jsonl"] = Minimums["rhai-own.jsonl"] - 1
	dir := writeCorpus(t, counts)
	t.Setenv("CI", "1")
	r := run(func(tb testing.TB) { Load(tb, dir) })
	want := fmt.Sprintf("rhai-own.jsonl has %d cases, at least %d expected", counts["rhai-own.jsonl"], Minimums["rhai-own.jsonl"])
	if !r.failed || len(r.errors) != 1 || !strings.Contains(r.errors[0], want) {
		t.Errorf("failed %v, errors %q, want one naming %q", r.failed, r.errors, want)
	}
	// Outside CI the same folder loads, with the shortfall logged.
	t.Setenv("CI", "")
	var cases []Case
	r = run(func(tb testing.TB) { cases = Load(tb, dir) })
	if r.failed || r.skipped || len(r.errors) > 0 || len(cases) == 0 {
		t.Errorf("outside CI: failed %v, skipped %v, errors %q, %d cases", r.failed, r.skipped, r.errors, len(cases))
	}
}

func TestLoadFullFolder(t *testing.T) {
	counts := full()
	counts["held-out.jsonl"] = 3 // any other file is loaded too
	dir := writeCorpus(t, counts)
	t.Setenv("CI", "1")
	var cases []Case
	r := run(func(tb testing.TB) { cases = Load(tb, dir) })
	if r.failed || len(r.errors) > 0 {
		t.Fatalf("failed %v, errors %q", r.failed, r.errors)
	}
	want := 3
	for _, n := range Minimums {
		want += n
	}
	if len(cases) != want {
		t.Errorf("%d cases, want %d", len(cases), want)
	}
	if c := cases[0]; c.Corpus != "held-out.jsonl" || c.ID != "held-out.jsonl:0" || c.Result == nil || *c.Result.Value != "0" {
		t.Errorf("first case %+v", c)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.jsonl")
	os.WriteFile(path, []byte(`{"id":"a","script":"1","files":{"m.rhai":"fn f() {}"}}

{"id":"b","script":"1","duplicate_of":"a"}
{"id":"c","engine":"new_raw","mode":"eval","eval_type":"i64","script":"2","expect":{"type":"i64","value":2}}
`), 0o644)
	cases, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 2 || cases[0].ID != "a" || cases[1].ID != "c" || cases[1].Engine != "new_raw" ||
		string(cases[1].Expect) != `{"type":"i64","value":2}` {
		t.Fatalf("duplicates are left out, the rest read: %+v", cases)
	}
	if got := Scripts(cases); strings.Join(got, "|") != "1|2|fn f() {}" {
		t.Errorf("scripts %q", got)
	}
	os.WriteFile(path, []byte("{\"id\":\"a\"}\n{\"script\":\"1\"}\n"), 0o644)
	if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), "x.jsonl:2") {
		t.Errorf("a case without an id: %v", err)
	}
	os.WriteFile(path, []byte("{\"id\":\n"), 0o644)
	if _, err := ReadFile(path); err == nil {
		t.Error("a broken line reads")
	}
}

func TestListOnlyShrinks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known.txt")
	os.WriteFile(path, []byte("# comment\nfixed\tused to differ\nstill\tdiffers\ngone\tno such case\n\n"), 0o644)
	l, err := ReadList(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 3 || !l.Has("still") || l.Has("# comment") {
		t.Fatalf("read %d cases", l.Len())
	}
	l.Record("fixed", "")
	l.Record("still", "value 1, want 2")
	l.Record("new", "at 1:2, want 1:3\nsecond line")
	l.Record("fine", "")
	got := strings.Join(l.Problems(true), "\n")
	for _, want := range []string{
		"not in " + path + ": new\tat 1:2, want 1:3\\nsecond line",
		"fixed agrees with Rhai 1.25 now: remove fixed from " + path,
		"gone is in no corpus: remove gone from " + path,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "still") || strings.Contains(got, "fine") {
		t.Errorf("a listed difference or an agreeing case reported:\n%s", got)
	}
	if n := len(l.Problems(false)); n != 2 {
		t.Errorf("without every case run, stale ids are not reported: %d problems", n)
	}
	r := run(func(tb testing.TB) { l.Check(tb, false, 2) })
	if !strings.Contains(strings.Join(r.errors, "\n"), "more than its bound 2") {
		t.Errorf("a list over its bound passes: %q", r.errors)
	}
	os.WriteFile(path, []byte("a\tx\na\ty\n"), 0o644)
	if _, err := ReadList(path); err == nil {
		t.Error("an id listed twice is accepted")
	}
	if l, err := ReadList(filepath.Join(t.TempDir(), "none")); err != nil || l.Len() != 0 {
		t.Errorf("a missing list: %v", err)
	}
}

func TestDir(t *testing.T) {
	if got := Dir(1); got != filepath.Join("..", "..", "shared", "conformance") {
		t.Errorf("Dir(1) = %s", got)
	}
	if got := Dir(2); got != filepath.Join("..", "..", "..", "shared", "conformance") {
		t.Errorf("Dir(2) = %s", got)
	}
}

// The real corpora, when present, meet the minimums (outside CI too).
func TestRealCorpusMeetsMinimums(t *testing.T) {
	dir := Dir(3)
	if !Available(dir) {
		if InCI() {
			t.Fatalf("conformance corpora not found at %s", dir)
		}
		t.Skipf("conformance corpora not found at %s", dir)
	}
	counts := map[string]int{}
	for name := range Minimums {
		cases, err := ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		counts[name] = len(cases)
	}
	for _, p := range CheckCounts(counts) {
		t.Error(p)
	}
}
