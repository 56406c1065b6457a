package executor

import (
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// Every failed execution points at a line and column, even where Rhai's error
// carries no position (arithmetic, limits), while the message stays Rhai's.
func TestErrorPositions(t *testing.T) {
	x := newTestExecutor(t, Config{})
	cases := []struct {
		name, src    string
		lim          Limits
		status       picloud.ExecutionStatus
		kind         string
		line, column int
		message      string // the message exactly, when it matters
	}{
		{name: "division by zero", src: "let n = 1;\nlet d = n / 0;\nd",
			status: picloud.StatusError, kind: "ErrorArithmetic", line: 2, column: 11, message: "Division by zero: 1 / 0"},
		{name: "overflow", src: "let n = 9223372036854775807;\n\n  n * 2",
			status: picloud.StatusError, kind: "ErrorArithmetic", line: 3, column: 5, message: "Multiplication overflow: 9223372036854775807 * 2"},
		{name: "overflow in a function", src: "fn grow(n) {\n  n + 1\n}\ngrow(9223372036854775807)",
			status: picloud.StatusError, kind: "ErrorArithmetic", line: 2, column: 5},
		{name: "operations limit", src: "let n = 0;\nwhile true {\n  n += 1;\n}",
			lim: Limits{MaxOperations: 500}, status: picloud.StatusBudgetExceeded, kind: "ErrorTooManyOperations", message: "Too many operations"},
		{name: "operations limit in a function", src: "fn spin() {\n  loop { }\n}\nspin()",
			lim: Limits{MaxOperations: 500}, status: picloud.StatusBudgetExceeded, kind: "ErrorTooManyOperations", line: 2, column: 3},
		{name: "host module error", src: "let s = \"zz\";\n\nlet b = hex::decode(s);",
			status: picloud.StatusError, kind: "ErrorRuntime", line: 3, column: 14},
		{name: "timeout", src: "let n = 0;\nloop {\n  n += 1;\n}",
			lim: Limits{Timeout: 10 * time.Millisecond, MaxOperations: 1 << 50}, status: picloud.StatusTimeout, kind: "ErrorTerminated"},
		{name: "memory limit", src: "let s = \"abcdefgh\";\nloop {\n  s += s;\n}",
			lim: Limits{MaxMemoryBytes: 1 << 16}, status: picloud.StatusBudgetExceeded, kind: "ErrorDataTooLarge"},
		{name: "response too large", src: "let a = [];\nfor i in 0..100 { a.push(i); }\n\n  a",
			lim: Limits{MaxResponseBytes: 20}, status: picloud.StatusBudgetExceeded, kind: "ErrorDataTooLarge", line: 4, column: 3},
		{name: "invalid response", src: "let s = 99;\nreturn #{status: s, body: \"\"};",
			status: picloud.StatusError, kind: "InvalidResponse", line: 2, column: 1},
		{name: "thrown", src: "\n  throw \"no\";",
			status: picloud.StatusError, kind: "ErrorRuntime", line: 2, column: 3, message: "Runtime error: no (line 2, position 3)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, x, c.src, c.lim, Options{})
			if res.Status != c.status || res.Err == nil || res.Err.Kind != c.kind {
				t.Fatalf("status %s err %+v, want %s %s", res.Status, res.Err, c.status, c.kind)
			}
			if res.Err.Line == 0 || res.Err.Column == 0 {
				t.Fatalf("no position: %+v", res.Err)
			}
			if c.line != 0 && (res.Err.Line != c.line || res.Err.Column != c.column) {
				t.Errorf("position %d:%d, want %d:%d (%s)", res.Err.Line, res.Err.Column, c.line, c.column, res.Err.Message)
			}
			if c.message != "" && res.Err.Message != c.message {
				t.Errorf("message %q, want Rhai's %q", res.Err.Message, c.message)
			}
		})
	}
}
