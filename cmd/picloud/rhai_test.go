package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runCmd runs `picloud args...` in process and returns stdout, stderr and the error.
func runCmd(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestRhaiEvalJSON(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		args      []string
		want      map[string]any
	}{
		{"value", `let x = [1, 'c']; x`, nil,
			map[string]any{"ok": true, "type": "array", "value": "[1, 'c']"}},
		{"runtime error", "let x = 1;\nx / 0", nil,
			map[string]any{"ok": false, "phase": "eval", "kind": "ErrorArithmetic", "error": "Division by zero: 1 / 0"}},
		{"parse error", `let x = ;`, nil,
			map[string]any{"ok": false, "phase": "parse", "line": 1.0, "col": 9.0}},
		{"operation limit", `loop {}`, []string{"--max-operations", "500"},
			map[string]any{"ok": false, "kind": "ErrorTooManyOperations", "root_kind": "ErrorTooManyOperations"}},
		{"timeout", `loop {}`, []string{"--timeout", "20ms"},
			map[string]any{"ok": false, "kind": "ErrorTerminated"}},
		{"string limit", `let s = "x"; loop { s += s; }`, []string{"--max-string-size", "1000"},
			map[string]any{"ok": false, "kind": "ErrorDataTooLarge"}},
		{"raw engine", `"abc".len()`, []string{"--raw"},
			map[string]any{"ok": false, "kind": "ErrorFunctionNotFound"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"rhai", "eval", "--json"}, tc.args...)
			args = append(args, "-")
			out, _, err := runCmd(t, tc.src, args...)
			var got map[string]any
			if jerr := json.Unmarshal([]byte(out), &got); jerr != nil {
				t.Fatalf("output %q is not one JSON line: %v", out, jerr)
			}
			for k, v := range tc.want {
				if k == "error" {
					if !strings.HasPrefix(got[k].(string), v.(string)) {
						t.Errorf("%s = %v, want prefix %v", k, got[k], v)
					}
					continue
				}
				if got[k] != v {
					t.Errorf("%s = %v, want %v (output %s)", k, got[k], v, out)
				}
			}
			if ok := got["ok"] == true; ok != (err == nil) {
				t.Errorf("ok=%v but the command returned %v", got["ok"], err)
			}
			if _, has := got["operations"]; !has {
				t.Errorf("no operations field in %s", out)
			}
		})
	}
}

func TestRhaiRunImportsBesideTheScript(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("util.rhai", "fn double(x) { x * 2 }\nexport const NAME = \"util\";\n")
	write("main.rhai", "import \"util\" as u;\nprint(u::double(21));\ndebug(u::NAME);\n")
	out, errOut, err := runCmd(t, "", "rhai", "run", filepath.Join(dir, "main.rhai"))
	if err != nil {
		t.Fatalf("run: %v (%s)", err, errOut)
	}
	if want := "42\nmain.rhai @ 3:1 | \"util\"\n"; out != want {
		t.Fatalf("stdout %q, want %q", out, want)
	}
	// A script from standard input has no directory: imports are not found.
	out, _, err = runCmd(t, `import "util" as u; 1`, "rhai", "eval", "--json", "-")
	if err == nil || !strings.Contains(out, "ErrorModuleNotFound") {
		t.Fatalf("import from stdin: %v %s", err, out)
	}
	// Paths that leave the directory are refused.
	write("escape.rhai", "import \"../etc/passwd\" as p; 1\n")
	out, _, err = runCmd(t, "", "rhai", "eval", "--json", filepath.Join(dir, "escape.rhai"))
	if err == nil || !strings.Contains(out, "ErrorModuleNotFound") {
		t.Fatalf("escaping import: %v %s", err, out)
	}
}

// --time prints the evaluation time alone on stderr, in Go's duration syntax;
// stdout keeps the script's output only.
func TestRhaiRunTime(t *testing.T) {
	src := "let n = 0; let i = 0; while i < 20000 { n += i; i += 1; } print(n);"
	out, errOut, err := runCmd(t, src, "rhai", "run", "--time", "-")
	if err != nil {
		t.Fatal(err, errOut)
	}
	if out != "199990000\n" {
		t.Errorf("stdout %q, want the print alone", out)
	}
	line, ok := strings.CutPrefix(strings.TrimSpace(errOut), "eval time: ")
	if !ok || strings.Contains(line, "\n") {
		t.Fatalf("stderr %q, want one line \"eval time: DURATION\"", errOut)
	}
	d, perr := time.ParseDuration(line)
	if perr != nil || d <= 0 {
		t.Errorf("eval time %q: %v (want a positive duration)", line, perr)
	}
	// A failing script still reports how long it ran.
	_, errOut, err = runCmd(t, "let x = 1; x / 0", "rhai", "run", "--time", "-")
	if err == nil || !strings.Contains(errOut, "eval time: ") {
		t.Errorf("failing script: err %v, stderr %q", err, errOut)
	}
	// Without --time, and with --compile-only (nothing evaluated), no time.
	for _, args := range [][]string{{"rhai", "run", "-"}, {"rhai", "run", "--time", "--compile-only", "-"}} {
		_, errOut, err = runCmd(t, src, args...)
		if err != nil || strings.Contains(errOut, "eval time") {
			t.Errorf("%v: err %v, stderr %q", args, err, errOut)
		}
	}
}
