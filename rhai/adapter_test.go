package rhai_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/picloud/picloud/rhai"
)

func TestRegisterFunc(t *testing.T) {
	eng := rhai.New()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(eng.RegisterFunc("shout", func(s string, n int64) string { return strings.Repeat(strings.ToUpper(s), int(n)) }))
	must(eng.RegisterFunc("half", func(x float64) (float64, error) {
		if x < 0 {
			return 0, errors.New("negative")
		}
		return x / 2, nil
	}))
	must(eng.RegisterFunc("pair", func(c *rhai.Context, a rhai.Value, b bool) []any { return []any{a.TypeName(), b} }))
	if err := eng.RegisterFunc("bad", func(ch chan int) {}); err == nil {
		t.Fatal("a channel parameter was accepted")
	}
	for _, tc := range []struct{ src, want string }{
		{`shout("ab", 2)`, "ABAB"},
		{`half(3.0)`, "1.5"},
		{`pair([1], true)`, `["array", true]`},
		{`"x".shout(3)`, "XXX"},
	} {
		v, err := eng.EvalString(context.Background(), tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if got := v.String(); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.src, got, tc.want)
		}
	}
	_, err := eng.EvalString(context.Background(), `half(-1.0)`)
	if err == nil || !strings.Contains(err.Error(), "negative") {
		t.Fatalf("half(-1.0): %v", err)
	}
	_, err = eng.EvalString(context.Background(), `shout(1, 2)`)
	var re *rhai.Error
	if !errors.As(err, &re) || re.Kind != rhai.ErrFunctionNotFound {
		t.Fatalf("shout(1, 2): %v", err)
	}
}
