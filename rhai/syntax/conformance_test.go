package syntax

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/picloud/picloud/rhai/internal/corpus"
)

// The engine's known-differences lists (rhai/testdata), which its conformance
// tests keep shrinking: a parse-error kind that differs from Rhai 1.25 is
// listed in the first, a position or message in the second.
const (
	knownFailures = "../testdata/known-failures.txt"
	knownStrict   = "../testdata/known-strict.txt"
)

func loadConformance(t *testing.T) []corpus.Case {
	return corpus.Load(t, corpus.Dir(2))
}

// TestConformance parses every corpus script: parse errors must have Rhai's
// kind, everything else must parse, and a parse error's position and message
// must be Rhai's unless the case is in the strict known-differences list.
func TestConformance(t *testing.T) {
	recs := loadConformance(t)
	strict := corpus.MustReadList(t, knownStrict)
	known := corpus.MustReadList(t, knownFailures)
	pass, fail, posOK, posTotal, msgOK := 0, 0, 0, 0, 0
	for _, r := range recs {
		wantKind, wantParseErr := "", false
		var wantPos Pos
		wantMsg := ""
		if r.Result != nil && !r.Result.OK && r.Result.Phase == "parse" {
			wantKind, wantParseErr = r.Result.RootKind, true
			wantPos = Pos{int32(r.Result.Line), int32(r.Result.Col)}
			wantMsg = r.Result.Error
		}
		var expect struct{ Error, Phase string }
		if len(r.Expect) > 0 {
			if err := json.Unmarshal(r.Expect, &expect); err != nil {
				t.Fatalf("%s: expect: %v", r.ID, err)
			}
		}
		if expect.Phase == "parse" {
			wantKind, wantParseErr = expect.Error, true
		}
		if expect.Error == "any" && expect.Phase == "" {
			continue // may fail at either phase
		}
		// Module files beside a script are scripts too, and must parse.
		for name, src := range r.Files {
			if _, err := Parse(name, src, Options{}); err != nil {
				t.Errorf("%s: module file %s: %v", r.ID, name, err)
			}
		}
		var err error
		if r.Mode == "compile_expression" || r.Mode == "eval_expression" {
			_, err = ParseExpression("main.rhai", r.Script, Options{})
		} else {
			_, err = Parse("main.rhai", r.Script, Options{})
		}
		ok := false
		var got string
		if err != nil {
			got = err.(*Error).FullKind()
		}
		switch {
		case !wantParseErr:
			ok = err == nil
		case err == nil:
		case wantKind == "ParseError" || wantKind == "any":
			ok = true
		case wantKind == "BadInput":
			ok = err.(*Error).Kind == "BadInput"
		default:
			ok = got == wantKind
		}
		if ok && err != nil && wantPos.IsValid() {
			posTotal++
			e := err.(*Error)
			if e.Pos == wantPos {
				posOK++
			} else if !strict.Has(r.ID) {
				t.Errorf("position %s: got %v want %v (%s)", r.ID, e.Pos, wantPos, e.Error())
			}
			if strings.HasSuffix(wantMsg, e.Error()) {
				msgOK++
			} else if !strict.Has(r.ID) {
				t.Errorf("message %s: got %q want %q", r.ID, e.Error(), wantMsg)
			}
		}
		if ok {
			pass++
			continue
		}
		if known.Has(r.ID) {
			t.Logf("known failure %s", r.ID)
			continue
		}
		fail++
		t.Errorf("%s: want parse error %q (%v), got %v\n%s", r.ID, wantKind, wantParseErr, err, clip(r.Script))
	}
	t.Logf("conformance: %d passed, %d failed, %d known failures; parse-error positions %d/%d, messages %d/%d",
		pass, fail, known.Len(), posOK, posTotal, msgOK, posTotal)
}

func clip(s string) string {
	if len(s) > 400 {
		return s[:400] + "..."
	}
	return s
}

// TestEvalErrorPositions checks that run-time error positions recorded in the
// corpus fall on some AST node: the evaluator reports errors at node
// positions, so a miss means the parser does not record a position Rhai
// reports. A miss fails unless the case is in the strict known-differences
// list.
func TestEvalErrorPositions(t *testing.T) {
	recs := loadConformance(t)
	strict := corpus.MustReadList(t, knownStrict)
	hit, total := 0, 0
	for _, r := range recs {
		if r.Result == nil || r.Result.OK || r.Result.Phase != "eval" || r.Result.Line == 0 {
			continue
		}
		if strings.HasPrefix(r.Result.RootKind, "ErrorParsing") || strings.Contains(r.Result.Error, "in call to function") {
			continue
		}
		s, err := Parse("main.rhai", r.Script, Options{})
		if err != nil {
			continue
		}
		want := Pos{int32(r.Result.Line), int32(r.Result.Col)}
		found := false
		f := func(n Node) bool {
			switch v := n.(type) {
			case *PathExpr:
				found = found || v.NamePos == want
			case *CallExpr:
				found = found || v.NsPos == want
			}
			if n.Position() == want {
				found = true
			}
			return !found
		}
		for _, st := range s.Stmts {
			Inspect(st, f)
		}
		for _, fn := range s.Fns {
			Inspect(fn, f)
		}
		total++
		if found {
			hit++
		} else {
			lines := strings.Split(r.Script, "\n")
			line := ""
			if int(want.Line) <= len(lines) {
				line = lines[want.Line-1]
			}
			if !strict.Has(r.ID) {
				t.Errorf("no node at %v for %s: %s\n\t%s", want, r.ID, r.Result.Error, line)
			}
		}
	}
	t.Logf("eval error positions on AST nodes: %d/%d", hit, total)
	if total == 0 {
		t.Error("no run-time error position was checked")
	}
}
