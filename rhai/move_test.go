package rhai_test

import (
	"context"
	"testing"

	"github.com/picloud/picloud/rhai"
)

// The main script's last expression stores a variable it names once without a
// copy (finalMoves); these check the result still has value semantics.
func TestFinalExpressionMoves(t *testing.T) {
	eng := rhai.New()
	eval := func(t *testing.T, ast *rhai.AST) rhai.Value {
		t.Helper()
		v, err := eng.Eval(context.Background(), ast, nil)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	compile := func(t *testing.T, src string) *rhai.AST {
		t.Helper()
		ast, err := eng.Compile("move.rhai", src)
		if err != nil {
			t.Fatal(err)
		}
		return ast
	}
	first := func(v rhai.Value) *rhai.Value { return &v.AsArray().Items[0] }

	t.Run("moved once, evaluations independent", func(t *testing.T) {
		ast := compile(t, `let a = [1, 2]; let b = #{k: [3]}; #{a: a, b: b, n: a.len()}`)
		v := eval(t, ast)
		if got := v.String(); got != `#{"a": [1, 2], "b": #{"k": [3]}, "n": 2}` {
			t.Fatalf("got %s", got)
		}
		*first(v.AsMap().M["a"]) = rhai.Int(9)
		if got := eval(t, ast).String(); got != `#{"a": [1, 2], "b": #{"k": [3]}, "n": 2}` {
			t.Fatalf("second evaluation sees the first's change: %s", got)
		}
	})
	t.Run("named twice is copied", func(t *testing.T) {
		v := eval(t, compile(t, `let a = [1]; #{x: a, y: [a]}`))
		*first(v.AsMap().M["x"]) = rhai.Int(9)
		if got := v.String(); got != `#{"x": [9], "y": [[1]]}` {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("stored in a loop is copied each time", func(t *testing.T) {
		v := eval(t, compile(t, `let a = [1]; { let r = []; for i in 0..2 { r.push(#{l: a}); } r }`))
		*first(v.AsArray().Items[0].AsMap().M["l"]) = rhai.Int(9)
		if got := v.String(); got != `[#{"l": [9]}, #{"l": [1]}]` {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("mutated later in the expression", func(t *testing.T) {
		v := eval(t, compile(t, `let a = [1]; #{x: a, y: { a.push(2); a }}`))
		if got := v.String(); got != `#{"x": [1], "y": [1, 2]}` {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("read by a closure", func(t *testing.T) {
		v := eval(t, compile(t, `let a = [1]; let f = || { a.push(2); a.len() }; #{x: a, n: f.call()}`))
		if got := v.String(); got != `#{"n": 2, "x": [1]}` {
			t.Fatalf("got %s", got)
		}
	})
}
