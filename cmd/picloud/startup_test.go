package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// initRecord is one line of GODEBUG=inittrace=1:
// "init PKG @T ms, D ms clock, B bytes, A allocs".
type initRecord struct {
	pkg           string
	bytes, allocs int
}

func parseInitTrace(t *testing.T, trace string) []initRecord {
	t.Helper()
	var recs []initRecord
	for line := range strings.Lines(trace) {
		f := strings.Fields(line)
		if len(f) < 11 || f[0] != "init" || f[8] != "bytes," || f[10] != "allocs" {
			continue
		}
		b, err1 := strconv.Atoi(f[7])
		a, err2 := strconv.Atoi(f[9])
		if err1 != nil || err2 != nil {
			t.Fatalf("unexpected inittrace line %q", line)
		}
		recs = append(recs, initRecord{pkg: f[1], bytes: b, allocs: a})
	}
	return recs
}

// TestRhaiRunInitialisers keeps `picloud rhai run` from paying at start-up for
// what only the server uses. It checks what the binary's initialisers do, not
// how long they take (a timed assertion would fail on a busy machine):
//   - PiCloud's own packages do next to nothing at initialisation (no regexp
//     compiled, no table built, no registry filled: those are made on first
//     use);
//   - no package outside PiCloud and the standard library initialises unless
//     testdata/init-allowed.txt lists it, so a new dependency's initialiser
//     is noticed and measured before every command pays for it.
//
// The measured figures (init summed, start against a Go hello-world) are in
// docs/performance.md, from `cd bench && go run . whole`.
func TestRhaiRunInitialisers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the allowed list is Linux's (platform packages differ)")
	}
	bin, dir := buildPicloud(t)
	script := filepath.Join(dir, "one.rhai")
	if err := os.WriteFile(script, []byte(`print("hello");`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "rhai", "run", script)
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stdout.String() != "hello\n" {
		t.Fatalf("rhai run: %v, stdout %q, stderr %s", err, stdout.String(), stderr.String())
	}
	recs := parseInitTrace(t, stderr.String())
	if len(recs) < 10 {
		t.Fatalf("only %d inittrace lines: is GODEBUG=inittrace=1 still honoured?\n%s", len(recs), stderr.String())
	}

	// PiCloud's packages: a few errors.New and small literal maps at most;
	// main also builds the command table every command is dispatched with.
	for _, r := range recs {
		maxAllocs, maxBytes := 100, 8<<10
		if r.pkg == "main" {
			maxAllocs, maxBytes = 200, 32<<10
		}
		if (r.pkg == "main" || strings.HasPrefix(r.pkg, "github.com/picloud/picloud")) && (r.allocs > maxAllocs || r.bytes > maxBytes) {
			t.Errorf("%s allocates %d times (%d bytes) at initialisation, on every command: build what it needs on first use (sync.OnceValue) (bound: %d allocs, %d bytes)",
				r.pkg, r.allocs, r.bytes, maxAllocs, maxBytes)
		}
	}

	// Other packages: only the listed ones.
	allowed := map[string]bool{}
	f, err := os.Open("testdata/init-allowed.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			allowed[line] = true
		}
	}
	seen := map[string]bool{}
	for _, r := range recs {
		first, _, _ := strings.Cut(r.pkg, "/")
		if r.pkg == "main" || strings.HasPrefix(r.pkg, "github.com/picloud/picloud") || !strings.Contains(first, ".") {
			continue // PiCloud's (above) or the standard library's
		}
		seen[r.pkg] = true
		if !allowed[r.pkg] {
			t.Errorf("%s now initialises on every command (%d allocs, %d bytes): keep it off what `rhai run` links, make it lazy, or, its cost measured (docs/performance.md), add it to testdata/init-allowed.txt",
				r.pkg, r.allocs, r.bytes)
		}
	}
	for pkg := range allowed {
		if !seen[pkg] {
			t.Errorf("%s no longer initialises: remove it from testdata/init-allowed.txt", pkg)
		}
	}
}

// buildPicloud builds this command into a temporary directory with the
// environment's settings plus env ("CGO_ENABLED=0"), and returns the binary
// and its directory (for the test's other files).
func buildPicloud(t *testing.T, env ...string) (bin, dir string) {
	t.Helper()
	dir = t.TempDir()
	bin = filepath.Join(dir, "picloud")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s go build: %v\n%s", strings.Join(env, " "), err, out)
	}
	return bin, dir
}
