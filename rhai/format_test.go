package rhai

import (
	"math"
	"testing"
)

func TestFloatForms(t *testing.T) {
	cases := []struct {
		f              float64
		display, debug string
	}{
		{1.0, "1.0", "1.0"},
		{0.5, "0.5", "0.5"},
		{100.0, "100.0", "100.0"},
		{1e13, "1e13", "10000000000000.0"},
		{1e14, "1e14", "100000000000000.0"},
		{123456789012.5, "123456789012.5", "123456789012.5"},
		{1e-13, "0.0000000000001", "1e-13"},
		{1e-14, "1e-14", "1e-14"},
		{-2.0e-3, "-0.002", "-0.002"},
		{1.0 / 3.0, "0.3333333333333333", "0.3333333333333333"},
		{math.Inf(1), "inf", "inf"},
		{math.Inf(-1), "-inf", "-inf"},
		{math.NaN(), "NaN", "NaN"},
		{math.Copysign(0, -1), "0.0", "-0.0"},
		{1.5e-7, "0.00000015", "1.5e-7"},
		{1e15, "1e15", "1000000000000000.0"},
		{1e16, "1e16", "1e16"},
		{1e-5, "0.00001", "1e-5"},
		{9.223372036854776e18, "9.223372036854776e18", "9.223372036854776e18"},
		{123456789012345.68, "1.2345678901234569e14", "123456789012345.69"},
		{5e-324, "5e-324", "5e-324"},
		{9999999999999.0, "9.999999999999e12", "9999999999999.0"},
		{2.5e10, "25000000000.0", "25000000000.0"},
		{1e15 + 0.3, "1.0000000000000003e15", "1000000000000000.3"},
		{0.30000000000000004, "0.30000000000000004", "0.30000000000000004"},
		{-1.49999985, "-1.49999985", "-1.49999985"},
		{1.7976931348623157e308, "1.7976931348623157e308", "1.7976931348623157e308"},
	}
	for _, c := range cases {
		if got := toDisplay(Float(c.f)); got != c.display {
			t.Errorf("display %v: got %q want %q", c.f, got, c.display)
		}
		if got := Float(c.f).DebugString(); got != c.debug {
			t.Errorf("debug %v: got %q want %q", c.f, got, c.debug)
		}
	}
}

func TestContainerForms(t *testing.T) {
	arr := NewArray([]Value{Int(1), String("a"), Char('c'), Float(2.5), Bool(true), Unit,
		NewArray([]Value{Float(1e20), Float(math.Copysign(0, -1))}),
		NewMap(map[string]Value{"k": String("v\"q"), "x": Char('y')})})
	if got, want := toDisplay(arr), `[1, "a", c, 2.5, true, (), [1e20, -0.0], #{"k": "v\"q", "x": y}]`; got != want {
		t.Errorf("display: got %s want %s", got, want)
	}
	if got, want := arr.String(), `[1, "a", 'c', 2.5, true, (), [1e20, -0.0], #{"k": "v\"q", "x": 'y'}]`; got != want {
		t.Errorf("host: got %s want %s", got, want)
	}
	s := NewArray([]Value{String("quote\"d"), String("back\\slash"), String("nl\n"), Char('\n'), String("é\u0301\u00a0")})
	if got, want := s.DebugString(), `["quote\"d", "back\\slash", "nl\n", '\n', "é\u{301}\u{a0}"]`; got != want {
		t.Errorf("escapes: got %s want %s", got, want)
	}
	if got := toDebug(String("q\"q")); got != `"q\"q"` {
		t.Errorf("debug string: %s", got)
	}
	if got := toDebug(Char('q')); got != `q` {
		t.Errorf("debug char: %s", got)
	}
	if got := Char('\'').DebugString(); got != `'\''` {
		t.Errorf("debug quote char: %s", got)
	}
	if got := NewBlob([]byte{1, 2, 0xff}).String(); got != "[0102ff]" {
		t.Errorf("blob: %s", got)
	}
	if got := NewBlob([]byte{0xab, 0xcd, 0xef, 0x12, 0x34, 0x56, 0x78, 0x90, 0x0a, 0x0b, 0x0c, 0x0d}).String(); got != "[abcdef1234567890 0a0b0c0d]" {
		t.Errorf("long blob: %s", got)
	}
	if got := NewRange(1, 5, true).String(); got != "1..=5" {
		t.Errorf("range: %s", got)
	}
	if got := toDisplay(Unit); got != "" {
		t.Errorf("unit: %q", got)
	}
	if got := toDebug(Unit); got != "()" {
		t.Errorf("unit debug: %q", got)
	}
	if got := rustFloatString(-1e30); got != "-1000000000000000000000000000000" {
		t.Errorf("rust float: %s", got)
	}
}
