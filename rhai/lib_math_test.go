package rhai

import (
	"math"
	"testing"
)

func TestMathFunctions(t *testing.T) {
	I, F, S := Int, Float, String
	cases := []struct {
		name string
		args []Value
		want string
	}{
		{"abs", []Value{I(math.MinInt64)}, "ERR:Negation overflow: --9223372036854775808"},
		{"sign", []Value{F(math.NaN())}, "ERR:Sign of NaN is undefined"},
		{"sign", []Value{F(-0.5)}, "-1"},
		{"min", []Value{I(3), F(2.5)}, "2.5"},
		{"max", []Value{I(3), F(2.5)}, "3.0"},
		{"round", []Value{F(2.5)}, "3.0"},
		{"round", []Value{F(-2.5)}, "-3.0"},
		{"to_int", []Value{F(math.NaN())}, "0"},
		{"to_int", []Value{F(1e19)}, "ERR:Integer overflow: to_int(10000000000000000000)"},
		{"to_int", []Value{F(math.Inf(-1))}, "ERR:Integer overflow: to_int(-inf)"},
		{"to_int", []Value{F(1e18)}, "1000000000000000000"},
		{"sqrt", []Value{I(16)}, "NOTFOUND"},
		{"parse_int", []Value{S("12abc")}, "ERR:Error parsing integer number '12abc': invalid digit found in string"},
		{"parse_int", []Value{S("")}, "ERR:Error parsing integer number '': cannot parse integer from empty string"},
		{"parse_int", []Value{S("+5")}, "5"},
		{"parse_int", []Value{S("-9223372036854775808")}, "-9223372036854775808"},
		{"parse_int", []Value{S("9223372036854775808")}, "ERR:Error parsing integer number '9223372036854775808': number too large to fit in target type"},
		{"parse_int", []Value{S("ab"), I(16)}, "171"},
		{"parse_int", []Value{S("10"), I(37)}, "ERR:Invalid radix: '37'"},
		{"parse_float", []Value{S(" 2.25 ")}, "2.25"},
		{"parse_float", []Value{S("1.2.3")}, "ERR:Error parsing floating-point number '1.2.3': invalid float literal"},
		{"to_hex", []Value{I(-1)}, `"ffffffffffffffff"`},
		{"get_bits", []Value{I(0x1234), I(4), I(8)}, "35"},
		{"get_bits", []Value{I(-16), I(-65), I(4)}, "ERR:Bit-field index -65 out of bounds: only 64 bits in bit-field"},
		{"get_bit", []Value{I(math.MinInt64), I(-1)}, "true"},
		{"to_degrees", []Value{F(math.Pi)}, "180.0"},
		{"atan", []Value{F(1), F(1)}, "0.7853981633974483"},
	}
	for _, c := range cases {
		got, _ := callStd(t, c.name, c.args...)
		if got != c.want {
			t.Errorf("%s%v: got %s want %s", c.name, c.args, got, c.want)
		}
	}
	_, self := callStd(t, "set_bits", I(0x1234), I(0), I(4), I(0xf))
	if self.AsInt() != 4671 {
		t.Errorf("set_bits: %d", self.AsInt())
	}
}
