package rhai_test

import (
	"context"
	"testing"

	"github.com/picloud/picloud/rhai"
)

// TestScopePushLazy: a lazy variable is made the first time it is looked up
// (read, assigned, is_def_var, eval, Get), once, and never when the script
// does not name it.
func TestScopePushLazy(t *testing.T) {
	eng := rhai.New()
	cases := []struct {
		src   string
		calls int
		want  string
	}{
		{`40 + 2`, 0, "42"},
		{`let x = 1; fn f(req) { req } f(x)`, 0, "1"}, // a parameter of the same name is not it
		{`req.n + 1`, 1, "8"},
		{`req.n + req.n`, 1, "14"},
		{`if false { req.n } else { 0 }`, 0, "0"},
		{`req.n = 9; req.n`, 1, "9"},
		{`req = 3; req`, 1, "3"},
		{`is_def_var("req")`, 1, "true"},
		{`eval("req.n")`, 1, "7"},
		{`let req = 1; req`, 0, "1"}, // shadowed by a local
	}
	for _, c := range cases {
		calls := 0
		scope := rhai.NewScope()
		scope.PushLazy("req", func() rhai.Value {
			calls++
			return rhai.NewMap(map[string]rhai.Value{"n": rhai.Int(7)})
		})
		ast, err := eng.Compile("t", c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		v, err := eng.Eval(context.Background(), ast, scope)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if v.String() != c.want || calls != c.calls {
			t.Errorf("%s = %s with %d builds, want %s with %d", c.src, v, calls, c.want, c.calls)
		}
	}

	// Get makes it too; Set replaces it without making it.
	calls := 0
	s := rhai.NewScope()
	s.PushLazy("a", func() rhai.Value { calls++; return rhai.Int(1) })
	s.PushLazy("b", func() rhai.Value { calls++; return rhai.Int(2) })
	s.Set("b", rhai.Int(5))
	if v, ok := s.Get("a"); !ok || v.AsInt() != 1 || calls != 1 {
		t.Errorf("Get(a) = %v, %v after %d builds", v, ok, calls)
	}
	if v, ok := s.Get("b"); !ok || v.AsInt() != 5 || calls != 1 {
		t.Errorf("Get(b) = %v, %v after %d builds", v, ok, calls)
	}
	s.Get("a")
	if calls != 1 {
		t.Errorf("%d builds, want 1", calls)
	}
}

// TestScopeMany: past the one variable stored inside a Scope, the rest
// still shadow and are found in order.
func TestScopeMany(t *testing.T) {
	s := rhai.NewScope()
	s.Push("a", rhai.Int(1))
	s.PushConstant("b", rhai.Int(2))
	s.Push("a", rhai.Int(3))
	v, err := rhai.New().Eval(context.Background(), mustCompile(t, `a * 10 + b`), s)
	if err != nil || v.AsInt() != 32 {
		t.Fatalf("got %v, %v", v, err)
	}
	if _, err := rhai.New().Eval(context.Background(), mustCompile(t, `b = 1`), s); err == nil {
		t.Fatal("assigning the constant b: no error")
	}
}

func mustCompile(t *testing.T, src string) *rhai.AST {
	t.Helper()
	ast, err := rhai.New().Compile("t", src)
	if err != nil {
		t.Fatal(err)
	}
	return ast
}
