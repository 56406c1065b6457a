package rhai

import (
	"strings"
	"testing"
)

func iterAll(t *testing.T, v Value) string {
	t.Helper()
	it, ok := v.AsCustom().V.(Iterable)
	if !ok {
		t.Fatalf("%s is not iterable", v.TypeName())
	}
	var parts []string
	it.Each(func(x Value) bool {
		parts = append(parts, collShow(x))
		return len(parts) < 100
	})
	return strings.Join(parts, " ")
}

func TestRangeConstructors(t *testing.T) {
	for _, tc := range []struct {
		args []Value
		want string
	}{
		{[]Value{Int(1), Int(6), Int(3)}, "1 4"},
		{[]Value{Int(10), Int(1), Int(-2)}, "10 8 6 4 2"},
		{[]Value{Int(-4), Int(2), Int(-3)}, ""},
		{[]Value{Int(9223372036854775807), Int(0), Int(9223372036854775807)}, ""},
		{[]Value{Int(0), Int(9223372036854775807), Int(9223372036854775807)}, "0"},
		{[]Value{NewRange(50, 40, false), Int(-3)}, "50 47 44 41"},
		{[]Value{Float(1), Float(10), Float(2)}, "1 3 5 7 9"},
		{[]Value{Float(10), Float(1), Float(2)}, ""},
		{[]Value{Float(1), Float(10), Float(-2)}, ""},
		{[]Value{Float(1), Float(2.5), Float(0.25)}, "1 1.25 1.5 1.75 2 2.25"},
	} {
		v, err := collCall(t, stdRange, "range", tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		if v.TypeName() != "range" {
			t.Errorf("type_of = %s", v.TypeName())
		}
		if got := iterAll(t, v); got != tc.want {
			t.Errorf("range%v = %q, want %q", tc.args, got, tc.want)
		}
	}
	v, _ := collCall(t, stdRange, "range", Int(1), Int(5))
	if v.Type() != TypeRange || v.TypeName() != "range" {
		t.Errorf("range(1, 5) is %s", v.TypeName())
	}
	_, err := collCall(t, stdRange, "range", Int(3), Int(0), Int(0))
	if err == nil || err.Error() != "step value cannot be zero\nin call to function 'range'" {
		t.Errorf("zero step: %v", err)
	}
}

func TestRangeNatives(t *testing.T) {
	cases := []collCase{
		{name: "start", args: []Value{NewRange(5, 0, true)}, result: "5"},
		{name: "get$end", args: []Value{NewRange(5, 0, true)}, result: "0"},
		{name: "get$is_inclusive", args: []Value{NewRange(5, 0, true)}, result: "true"},
		{name: "is_exclusive", args: []Value{NewRange(5, 0, true)}, result: "false"},
		{name: "get$is_empty", args: []Value{NewRange(5, 0, true)}, result: "true"},
		{name: "get$is_empty", args: []Value{NewRange(5, 5, true)}, result: "false"},
		{name: "is_empty", args: []Value{NewRange(5, 5, false)}, result: "true"},
		{name: "contains", args: []Value{NewRange(5, 10, false), Int(10)}, result: "false"},
		{name: "contains", args: []Value{NewRange(4, 5, true), Int(5)}, result: "true"},
		{name: "==", args: []Value{NewRange(1, 2, false), NewRange(1, 2, false)}, result: "true"},
		{name: "!=", args: []Value{NewRange(1, 2, true), NewRange(1, 3, true)}, result: "true"},
	}
	runCollCases(t, stdRange, cases)
}
