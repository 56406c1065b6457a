package rhai

import (
	"math"
	"testing"

	"github.com/picloud/picloud/rhai/syntax"
)

func TestBinaryOps(t *testing.T) {
	minInt := Int(math.MinInt64)
	cases := []struct {
		op   syntax.Token
		a, b Value
		want string // host debug form, or "ERR:message", or "NOTFOUND"
	}{
		{syntax.Plus, Int(9223372036854775800), Int(100), "ERR:Addition overflow: 9223372036854775800 + 100"},
		{syntax.Minus, minInt, Int(1), "ERR:Subtraction overflow: -9223372036854775808 - 1"},
		{syntax.Star, Int(4611686018427387904), Int(2), "ERR:Multiplication overflow: 4611686018427387904 * 2"},
		{syntax.Slash, Int(10), Int(0), "ERR:Division by zero: 10 / 0"},
		{syntax.Slash, minInt, Int(-1), "ERR:Division overflow: -9223372036854775808 / -1"},
		{syntax.Percent, Int(10), Int(0), "ERR:Modulo division by zero or overflow: 10 % 0"},
		{syntax.StarStar, Int(2), Int(-1), "ERR:Integer raised to a negative power: 2 ** -1"},
		{syntax.StarStar, Int(2), Int(63), "ERR:Exponential overflow: 2 ** 63"},
		{syntax.StarStar, Int(2), Int(62), "4611686018427387904"},
		{syntax.StarStar, Int(-2), Int(63), "-9223372036854775808"},
		{syntax.Percent, Int(-7), Int(3), "-1"},
		{syntax.Slash, Int(-7), Int(2), "-3"},
		{syntax.Shl, Int(16), Int(-2), "4"},
		{syntax.Shl, Int(1), Int(64), "0"},
		{syntax.Shr, Int(-1), Int(64), "-1"},
		{syntax.Shr, Int(-16), Int(-1), "-32"},
		{syntax.Shl, Int(-1), Int(-63), "-1"},
		{syntax.Shl, Int(0x7fffffffffffffff), Int(1), "-2"},
		{syntax.Plus, Int(1), Float(0.5), "1.5"},
		{syntax.Star, Int(3), Float(2.0), "6.0"},
		{syntax.Slash, Float(1.5), Int(0), "inf"},
		{syntax.Percent, Float(-4.0), Float(2.0), "-0.0"},
		{syntax.Percent, Float(7.5), Int(2), "1.5"},
		{syntax.StarStar, Float(2.0), Float(0.5), "1.4142135623730951"},
		{syntax.StarStar, Int(4), Float(0.5), "2.0"},
		{syntax.StarStar, Float(10.0), Int(-1), "0.1"},
		{syntax.StarStar, Float(-8.0), Float(1.0 / 3.0), "NaN"},
		{syntax.StarStar, Float(2.2), Float(3.3), "13.489468760533386"},
		{syntax.StarStar, Float(10), Float(-0.5), "0.31622776601683794"},
		{syntax.StarStar, Float(1e300), Float(1.5), "inf"},
		{syntax.StarStar, Float(2), Float(0.1), "1.0717734625362931"},
		{syntax.EqEq, Float(0.1 + 0.2), Float(0.3), "true"},
		{syntax.EqEq, Float(1e-16), Float(0), "true"},
		{syntax.Gt, Float(1e-16), Float(0), "false"},
		{syntax.Gt, Float(1e-15), Float(0), "true"},
		{syntax.Gt, Float(1e-28), Float(1e-29), "true"},
		{syntax.NotEq, Float(math.NaN()), Float(math.NaN()), "false"},
		{syntax.EqEq, Int(1), Float(1.0), "true"},
		{syntax.EqEq, Int(9007199254740993), Float(9007199254740992.0), "true"},
		{syntax.EqEq, Int(1), String("1"), "false"},
		{syntax.NotEq, Int(1), String("1"), "true"},
		{syntax.Lt, String("1"), Int(2), "false"},
		{syntax.EqEq, Char('a'), String("a"), "true"},
		{syntax.Lt, String("a"), Char('b'), "true"},
		{syntax.Lt, String("ÅngströM"), String("banana"), "false"},
		{syntax.Lt, Bool(false), Bool(true), "true"},
		{syntax.Plus, Bool(true), Bool(false), "NOTFOUND"},
		{syntax.Plus, Int(1), Unit, "NOTFOUND"},
		{syntax.Plus, Char('a'), Int(1), "NOTFOUND"},
		{syntax.Plus, Char('a'), NewArray(nil), "NOTFOUND"},
		{syntax.Star, String("ab"), Int(3), "NOTFOUND"},
		{syntax.Amp, Float(1.5), Int(1), "NOTFOUND"},
		{syntax.Amp, Int(6), Bool(true), "NOTFOUND"},
		{syntax.Plus, Int(5), String("=n"), `"5=n"`},
		{syntax.Plus, String("b="), Unit, `"b="`},
		{syntax.Plus, NewArray([]Value{Int(1), Int(2)}), String("x"), `"[1, 2]x"`},
		{syntax.Plus, Char('a'), Char('b'), `"ab"`},
		{syntax.Plus, String("x"), Float(1.0), `"x1.0"`},
		{syntax.Plus, String("s:"), Float(1e-5), `"s:0.00001"`},
		{syntax.Minus, String("banana"), String("an"), `"ba"`},
		{syntax.Minus, String("hello world"), Char('o'), `"hell wrld"`},
		{syntax.Minus, String(""), String("a"), `"a"`},
		{syntax.Plus, NewBlob([]byte{0x61, 0x61}), String("b"), `"aab"`},
		{syntax.Plus, String("text:"), NewBlob([]byte{65, 65}), `"text:AA"`},
		{syntax.EqEq, NewArray([]Value{Int(1), Int(2), NewArray([]Value{Int(3)})}), NewArray([]Value{Int(1), Int(2), NewArray([]Value{Int(3)})}), "true"},
		{syntax.EqEq, NewArray([]Value{Int(1)}), NewArray([]Value{Float(1)}), "true"},
		{syntax.EqEq, NewMap(map[string]Value{"a": Int(1)}), NewMap(map[string]Value{"a": Int(1), "b": Unit}), "false"},
		{syntax.Lt, NewArray(nil), NewArray(nil), "NOTFOUND"},
		{syntax.EqEq, NewFnPtr("a"), NewFnPtr("a"), "NOTFOUND"},
		{syntax.EqEq, Unit, Unit, "true"},
	}
	for _, c := range cases {
		v, ok, err := binaryOp(c.op, c.a, c.b)
		var got string
		switch {
		case !ok:
			got = "NOTFOUND"
		case err != nil:
			got = "ERR:" + err.Message
			if err.Kind != ErrArithmetic {
				got += " kind " + err.Kind
			}
		default:
			got = v.DebugString()
		}
		if got != c.want {
			t.Errorf("%s %s %s: got %s want %s", c.a.DebugString(), c.op, c.b.DebugString(), got, c.want)
		}
	}
}

func TestUnaryOps(t *testing.T) {
	_, ok, err := unaryOp(syntax.Minus, Int(math.MinInt64))
	if !ok || err == nil || err.Message != "Negation overflow: --9223372036854775808" {
		t.Errorf("negation overflow: %v %v", ok, err)
	}
	if _, ok, _ := unaryOp(syntax.Bang, Int(1)); ok {
		t.Errorf("!1 should not be built in")
	}
	if v, _, _ := unaryOp(syntax.Minus, Float(2.5)); v.AsFloat() != -2.5 {
		t.Errorf("-2.5")
	}
}

func TestSwitchEqual(t *testing.T) {
	if switchEqual(Int(1), Float(1)) {
		t.Error("1 matched 1.0")
	}
	if !switchEqual(String("a"), String("a")) || !switchEqual(Float(1), Float(1)) {
		t.Error("equal values did not match")
	}
}
