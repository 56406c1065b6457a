package rhai_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/rhairun"
	"github.com/picloud/picloud/rhai"
)

// scriptCase is one case of a testdata/scripts file (format in testdata/README.md).
type scriptCase struct {
	file    string
	line    int // first line of the case in the file
	src     string
	okType  string
	okValue string
	hasOK   bool
	errKind string
	errPos  string
	prints  []string
}

func parseScriptFile(t *testing.T, path string) []scriptCase {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []scriptCase
	lines := strings.Split(string(b), "\n")
	start := 0
	flush := func(end int) {
		c := scriptCase{file: filepath.Base(path), line: start + 1, src: strings.Join(lines[start:end], "\n")}
		for _, l := range lines[start:end] {
			l = strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(l, "// ok:"):
				typ, val, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(l, "// ok:")), " ")
				c.okType, c.okValue, c.hasOK = typ, val, true
			case strings.HasPrefix(l, "// error:"):
				kind, pos, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(l, "// error:")), " @ ")
				c.errKind, c.errPos = strings.TrimSpace(kind), strings.TrimSpace(pos)
			case strings.HasPrefix(l, "// print:"):
				c.prints = append(c.prints, strings.TrimPrefix(strings.TrimPrefix(l, "// print:"), " "))
			}
		}
		if strings.TrimSpace(c.src) != "" {
			cases = append(cases, c)
		}
	}
	for i, l := range lines {
		if l == "---" {
			flush(i)
			start = i + 1
		}
	}
	flush(len(lines))
	return cases
}

func TestScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/scripts/*.rhai")
	if len(files) == 0 {
		t.Fatal("no script tests found")
	}
	n := 0
	for _, f := range files {
		for _, c := range parseScriptFile(t, f) {
			n++
			t.Run(fmt.Sprintf("%s:%d", c.file, c.line), func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				var out []string
				res := rhairun.Run(ctx, c.src, rhairun.Options{
					Name:   "main.rhai",
					Dir:    "testdata/scripts",
					Limits: rhai.Limits{MaxOperations: 10_000_000},
					Output: func(s string) { out = append(out, strings.Split(s, "\n")...) },
				})
				switch {
				case c.errKind != "":
					if res.OK {
						t.Fatalf("want error %s, got %s %s", c.errKind, res.Type, *res.Value)
					}
					if res.RootKind != c.errKind && res.Kind != c.errKind {
						t.Fatalf("want error %s, got %s: %s", c.errKind, res.RootKind, res.Error)
					}
					if c.errPos != "" {
						if got := fmt.Sprintf("%d:%d", res.Line, res.Col); got != c.errPos {
							t.Fatalf("error at %s, want %s: %s", got, c.errPos, res.Error)
						}
					}
				case !res.OK:
					t.Fatalf("unexpected %s error %s: %s", res.Phase, res.RootKind, res.Error)
				case c.hasOK && (res.Type != c.okType || *res.Value != c.okValue):
					t.Fatalf("got %s %s, want %s %s", res.Type, *res.Value, c.okType, c.okValue)
				}
				if c.prints != nil {
					if strings.Join(out, "\n") != strings.Join(c.prints, "\n") {
						t.Fatalf("printed %q, want %q", out, c.prints)
					}
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no cases")
	}
}
