package syntax

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// confRecord is the subset of a conformance record the parser cares about.
type confRecord struct {
	ID     string            `json:"id"`
	Mode   string            `json:"mode"`
	Script string            `json:"script"`
	Files  map[string]string `json:"files"`
	Expect *struct {
		Error string `json:"error"`
		Phase string `json:"phase"`
	} `json:"expect"`
	Result *struct {
		OK       bool   `json:"ok"`
		Phase    string `json:"phase"`
		RootKind string `json:"root_kind"`
		Error    string `json:"error"`
		Line     int32  `json:"line"`
		Col      int32  `json:"col"`
	} `json:"result"`
}

// knownFailures lists records the parser cannot match yet, with the reason.
var knownFailures = map[string]string{}

func confDir(t *testing.T) string {
	dir := filepath.Join("..", "..", "..", "shared", "conformance")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("conformance corpus not found at %s: %v", dir, err)
	}
	return dir
}

func loadConformance(t *testing.T) []confRecord {
	dir := confDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	var recs []confRecord
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		for sc.Scan() {
			var r confRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			recs = append(recs, r)
		}
		fh.Close()
	}
	return recs
}

// TestConformance parses every corpus script: parse errors must have Rhai's
// kind, everything else must parse. Positions and messages are compared too
// and reported, but only kinds fail the test.
func TestConformance(t *testing.T) {
	recs := loadConformance(t)
	pass, fail, posOK, posTotal, msgOK := 0, 0, 0, 0, 0
	for _, r := range recs {
		wantKind, wantParseErr := "", false
		var wantPos Pos
		wantMsg := ""
		if r.Result != nil && !r.Result.OK && r.Result.Phase == "parse" {
			wantKind, wantParseErr = r.Result.RootKind, true
			wantPos = Pos{r.Result.Line, r.Result.Col}
			wantMsg = r.Result.Error
		}
		if r.Expect != nil && r.Expect.Phase == "parse" {
			wantKind, wantParseErr = r.Expect.Error, true
		}
		if r.Expect != nil && r.Expect.Error == "any" && r.Expect.Phase == "" {
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
			} else {
				t.Logf("position %s: got %v want %v (%s)", r.ID, e.Pos, wantPos, e.Error())
			}
			if strings.HasSuffix(wantMsg, e.Error()) {
				msgOK++
			} else {
				t.Logf("message %s: got %q want %q", r.ID, e.Error(), wantMsg)
			}
		}
		if ok {
			pass++
			continue
		}
		if reason, known := knownFailures[r.ID]; known {
			t.Logf("known failure %s: %s", r.ID, reason)
			continue
		}
		fail++
		t.Errorf("%s: want parse error %q (%v), got %v\n%s", r.ID, wantKind, wantParseErr, err, clip(r.Script))
	}
	t.Logf("conformance: %d passed, %d failed, %d known failures; parse-error positions %d/%d, messages %d/%d",
		pass, fail, len(knownFailures), posOK, posTotal, msgOK, posTotal)
}

func clip(s string) string {
	if len(s) > 400 {
		return s[:400] + "..."
	}
	return s
}

// TestEvalErrorPositions checks that run-time error positions recorded in the
// corpus fall on some AST node: the evaluator reports errors at node
// positions, so a miss hints at a position convention that differs from
// Rhai's. It only reports.
func TestEvalErrorPositions(t *testing.T) {
	recs := loadConformance(t)
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
		want := Pos{r.Result.Line, r.Result.Col}
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
			t.Logf("no node at %v for %s: %s\n\t%s", want, r.ID, r.Result.Error, line)
		}
	}
	t.Logf("eval error positions on AST nodes: %d/%d", hit, total)
}
