package rhai

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// docNameExceptions lists the functions (file:name) whose doc comment may
// start with something other than their name. Keep it short; it is empty
// today.
var docNameExceptions = map[string]bool{}

// TestDocCommentsStartWithName checks Go's convention on the engine's own
// code (rhai and rhai/syntax, tests aside: a test's comment describes what it
// checks): a function's or method's doc comment starts with its name, so that
// a comment left behind by a rename shows up here rather than misleading a
// reader.
func TestDocCommentsStartWithName(t *testing.T) {
	var files []string
	for _, pattern := range []string{"*.go", "syntax/*.go"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range m {
			if !strings.HasSuffix(path, "_test.go") {
				files = append(files, path)
			}
		}
	}
	if len(files) < 20 {
		t.Fatalf("found %d Go files; run from the rhai folder", len(files))
	}
	fset := token.NewFileSet()
	checked := 0
	for _, path := range files {
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Doc == nil {
				continue
			}
			checked++
			name := fd.Name.Name
			if docNameExceptions[filepath.ToSlash(path)+":"+name] {
				continue
			}
			if !startsWithName(fd.Doc.Text(), name) {
				first, _, _ := strings.Cut(strings.TrimSpace(fd.Doc.Text()), "\n")
				t.Errorf("%s: the doc comment of %s does not start with its name: %q",
					fset.Position(fd.Pos()), name, first)
			}
		}
	}
	if checked < 100 {
		t.Errorf("checked %d doc comments; expected the engine's hundreds", checked)
	}
}

// startsWithName reports whether text starts with the word name: name
// followed by anything but a letter, digit or underscore.
func startsWithName(text, name string) bool {
	rest, ok := strings.CutPrefix(text, name)
	if !ok {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return rest == "" || !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r))
}
