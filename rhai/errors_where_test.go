package rhai_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/picloud/picloud/rhai"
)

// Where locates the errors Rhai reports without a position, without changing
// their text (the conformance contract) or Pos.
func TestErrorWhere(t *testing.T) {
	cases := []struct {
		name, src      string
		limits         rhai.Limits
		kind           string
		line, col      int32
		wantPosInvalid bool
	}{
		{name: "division", src: "let x = 1;\nlet y = x / 0;", kind: rhai.ErrArithmetic, line: 2, col: 11, wantPosInvalid: true},
		{name: "overflow", src: "let x = 9223372036854775807;\n\nx + 1", kind: rhai.ErrArithmetic, line: 3, col: 3, wantPosInvalid: true},
		// A compound assignment's and a negation's overflow have Rhai's own
		// position (its corpora record it), which Where repeats.
		{name: "compound", src: "let x = 9223372036854775807;\nx += 1;", kind: rhai.ErrArithmetic, line: 2, col: 3},
		{name: "negation", src: "let x = -9223372036854775807 - 1;\nlet y = -x;", kind: rhai.ErrArithmetic, line: 2, col: 9},
		{name: "operations", src: "let x = 0;\n\nloop { }", limits: rhai.Limits{MaxOperations: 1000}, kind: rhai.ErrTooManyOperations, line: 3, col: 1, wantPosInvalid: true},
		{name: "operations in a function", src: "fn spin() {\n  loop { }\n}\nlet a = 1;\nspin();", limits: rhai.Limits{MaxOperations: 1000}, kind: rhai.ErrTooManyOperations, line: 2, col: 3, wantPosInvalid: true},
		{name: "after a call", src: "fn f() { 1 }\nlet a = f();\nlet b = a / 0;", kind: rhai.ErrArithmetic, line: 3, col: 11, wantPosInvalid: true},
		{name: "rhai's own position kept", src: "let a = [1];\na[5]", kind: rhai.ErrArrayBounds, line: 2, col: 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eng := rhai.New()
			eng.SetLimits(c.limits)
			ast, err := eng.Compile("", c.src)
			if err != nil {
				t.Fatal(err)
			}
			_, err = eng.Eval(context.Background(), ast, nil)
			var re *rhai.Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a *rhai.Error", err)
			}
			root := re.Root()
			if root.Kind != c.kind {
				t.Fatalf("kind = %s (%v), want %s", root.Kind, err, c.kind)
			}
			if c.wantPosInvalid && (root.Pos.IsValid() || strings.Contains(err.Error(), "(line ")) {
				t.Errorf("Rhai's position changed: Pos %v, text %q", root.Pos, err.Error())
			}
			w := root.Where()
			if w.Line != c.line || (c.col != 0 && w.Col != c.col) {
				t.Errorf("Where = %d:%d, want %d:%d (%v)", w.Line, w.Col, c.line, c.col, err)
			}
		})
	}
}
