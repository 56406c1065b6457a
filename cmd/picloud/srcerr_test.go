package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestRenderSourceError(t *testing.T) {
	src := "let n = 1;\n\tlet d = n / 0;\r\nd é x"
	cases := []struct {
		name      string
		line, col int
		msg, want string
	}{
		{"a tab before the column", 2, 12, "Division by zero: 1 / 0",
			"f.rhai:2:12: Division by zero: 1 / 0\n 2 | \tlet d = n / 0;\n   | \t          ^\n"},
		{"Rhai's own position is not repeated", 1, 5, "Unexpected ';' (line 1, position 5)",
			"f.rhai:1:5: Unexpected ';'\n 1 | let n = 1;\n   |     ^\n"},
		{"columns count characters", 3, 5, "Variable not found: x",
			"f.rhai:3:5: Variable not found: x\n 3 | d é x\n   |     ^\n"},
		{"the call chain after the caret", 1, 9, "Addition overflow: 1 + 1\nin call to function 'f' (line 3, position 1)",
			"f.rhai:1:9: Addition overflow: 1 + 1\n 1 | let n = 1;\n   |         ^\nin call to function 'f' (line 3, position 1)\n"},
		{"no position", 0, 0, "Too many operations", "f.rhai: Too many operations\n"},
		{"a line beyond the source", 9, 1, "boom", "f.rhai:9:1: boom\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			renderSourceError(&b, "f.rhai", src, c.line, c.col, c.msg)
			if b.String() != c.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), c.want)
			}
		})
	}
	// Ten lines and more: the gutter is as wide as the number.
	var b bytes.Buffer
	renderSourceError(&b, "f.rhai", strings.Repeat("\n", 11)+"x", 12, 1, "m")
	if want := "f.rhai:12:1: m\n 12 | x\n    | ^\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// The commands print a failing script's error as file:line:col: message, the
// line and a caret, even where Rhai's error has no position; rhai eval
// --json keeps Rhai's exact output.
func TestCommandsRenderErrors(t *testing.T) {
	dir := t.TempDir()
	div := script(t, dir, "div.rhai", "let n = 1;\nlet d = n / 0;\nd")
	ops := script(t, dir, "ops.rhai", "let n = 0;\nloop {\n  n += 1;\n}")
	script(t, dir, "ops.toml", "max_operations = 1000\n")
	parse := script(t, dir, "parse.rhai", "let x = 1;\nlet y = ;")
	cases := []struct {
		name string
		args []string
		want []string // lines of stderr, in order
	}{
		{"run: division by zero", []string{"run", div, "--kv", "memory"}, []string{
			div + ":2:11: error (ErrorArithmetic): Division by zero: 1 / 0", " 2 | let d = n / 0;", "   |           ^"}},
		{"run: operations limit", []string{"run", ops, "--kv", "memory"}, []string{
			ops + ":", "budget_exceeded (ErrorTooManyOperations): Too many operations", "   | ", "^"}},
		{"run: parse error", []string{"run", parse, "--kv", "memory"}, []string{
			parse + ":2:9: error (ErrorParsing/", " 2 | let y = ;", "   |         ^"}},
		{"rhai run: division by zero", []string{"rhai", "run", div}, []string{
			div + ":2:11: eval error: Division by zero: 1 / 0", " 2 | let d = n / 0;", "   |           ^"}},
		{"rhai eval: operations limit", []string{"rhai", "eval", "--max-operations", "100", ops}, []string{
			ops + ":", ": eval error: Too many operations", "^"}},
		{"rhai eval: parse error", []string{"rhai", "eval", parse}, []string{
			parse + ":2:9: parse error: Unexpected ';'", " 2 | let y = ;", "   |         ^"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o, e bytes.Buffer
			if code := mainCode(context.Background(), c.args, strings.NewReader(""), &o, &e); code != 1 {
				t.Fatalf("exit %d, stderr %s", code, e.String())
			}
			rest := e.String()
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("stderr lacks %q (in order):\n%s", w, e.String())
				}
				rest = rest[i+len(w):]
			}
			if strings.Contains(e.String(), "picloud:") {
				t.Errorf("the error is printed twice:\n%s", e.String())
			}
		})
	}

	// The conformance contract: Rhai's text, no position where Rhai has none.
	var o, e bytes.Buffer
	mainCode(context.Background(), []string{"rhai", "eval", "--json", div}, strings.NewReader(""), &o, &e)
	var res map[string]any
	if err := json.Unmarshal(o.Bytes(), &res); err != nil {
		t.Fatalf("eval --json: %v: %s", err, o.String())
	}
	if res["error"] != "Division by zero: 1 / 0" || res["line"] != nil || res["col"] != nil {
		t.Errorf("eval --json changed Rhai's output: %s", o.String())
	}
}

// deploy of a source the server refuses prints the place with the line and a
// caret; with --json the API's error object is written unchanged.
func TestDeployRendersSourceError(t *testing.T) {
	url, token, stop := startServer(t, t.TempDir())
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)
	file := script(t, t.TempDir(), "broken.rhai", "let a = 1;\nlet b = ;\n")
	var o, e bytes.Buffer
	if code := mainCode(context.Background(), []string{"deploy", file}, strings.NewReader(""), &o, &e); code != 1 {
		t.Fatalf("exit %d: %s", code, e.String())
	}
	want := file + ":2:9: invalid_source (HTTP 400): "
	if !strings.HasPrefix(e.String(), want) || !strings.Contains(e.String(), "\n 2 | let b = ;\n   |         ^\n") {
		t.Errorf("stderr:\n%s\nwant %s, the line and a caret", e.String(), want)
	}
	o.Reset()
	e.Reset()
	mainCode(context.Background(), []string{"deploy", "--json", file}, strings.NewReader(""), &o, &e)
	var obj struct {
		Error struct {
			Code   string `json:"code"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"error"`
	}
	if err := json.Unmarshal(e.Bytes(), &obj); err != nil || obj.Error.Code != "invalid_source" || obj.Error.Line != 2 || obj.Error.Column != 9 {
		t.Errorf("--json: %v %s", err, e.String())
	}
}
