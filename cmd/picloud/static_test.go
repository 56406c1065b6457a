package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestStaticBuild keeps the install docs' recommendation true:
// `CGO_ENABLED=0 go install ./cmd/picloud` (docs/getting-started.md) builds
// a binary with no dynamic loader and no shared library, which runs a
// script. A dependency that needs cgo would fail the build here, or leave
// the binary without what it needs.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("checks an ELF binary")
	}
	bin, dir := buildPicloud(t, "CGO_ENABLED=0")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the static build has a %v program header: it is linked dynamically", p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		t.Errorf("the static build needs shared libraries: %v", libs)
	}

	script := filepath.Join(dir, "one.rhai")
	if err := os.WriteFile(script, []byte(`print("hello");`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "rhai", "run", script).CombinedOutput()
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("static rhai run: %v, output %q", err, out)
	}
}
