package rhai

import (
	"math"
	"strconv"
	"strings"
)

// The number functions of Rhai's standard library (ArithmeticPackage,
// BasicMathPackage, BitFieldPackage).

func stdMath(m *Module) {
	tI, tF, tS, tB := TypeInt, TypeFloat, TypeString, TypeBool
	fn1f := func(name string, f func(float64) float64) {
		m.SetFn(name, []Type{tF}, func(c *Context, a []Value) (Value, error) {
			return Float(f(a[0].AsFloat())), nil
		})
	}
	prop := func(name string, params []Type, f NativeFunc) {
		m.SetFn(name, params, f)
		m.SetFn("get$"+name, params, f)
	}

	// abs / sign / tests.
	m.SetFn("abs", []Type{tI}, func(c *Context, a []Value) (Value, error) {
		x := a[0].AsInt()
		if x < 0 {
			if x == math.MinInt64 {
				return Unit, &Error{Kind: ErrArithmetic, Message: "Negation overflow: -" + strconv.FormatInt(x, 10)}
			}
			x = -x
		}
		return Int(x), nil
	})
	fn1f("abs", math.Abs)
	m.SetFn("sign", []Type{tI}, func(c *Context, a []Value) (Value, error) {
		return Int(int64(cmpInt64(a[0].AsInt(), 0))), nil
	})
	m.SetFn("sign", []Type{tF}, func(c *Context, a []Value) (Value, error) {
		x := a[0].AsFloat()
		switch {
		case x != x:
			return Unit, &Error{Kind: ErrArithmetic, Message: "Sign of NaN is undefined"}
		case x == 0:
			return Int(0), nil
		case x < 0:
			return Int(-1), nil
		}
		return Int(1), nil
	})
	prop("is_zero", []Type{tI}, func(c *Context, a []Value) (Value, error) { return Bool(a[0].AsInt() == 0), nil })
	prop("is_zero", []Type{tF}, func(c *Context, a []Value) (Value, error) { return Bool(a[0].AsFloat() == 0), nil })
	prop("is_odd", []Type{tI}, func(c *Context, a []Value) (Value, error) { return Bool(a[0].AsInt()&1 != 0), nil })
	prop("is_even", []Type{tI}, func(c *Context, a []Value) (Value, error) { return Bool(a[0].AsInt()&1 == 0), nil })
	prop("is_nan", []Type{tF}, func(c *Context, a []Value) (Value, error) { return Bool(math.IsNaN(a[0].AsFloat())), nil })
	prop("is_finite", []Type{tF}, func(c *Context, a []Value) (Value, error) {
		x := a[0].AsFloat()
		return Bool(!math.IsNaN(x) && !math.IsInf(x, 0)), nil
	})
	prop("is_infinite", []Type{tF}, func(c *Context, a []Value) (Value, error) { return Bool(math.IsInf(a[0].AsFloat(), 0)), nil })

	// min / max; an int and a float give a float.
	m.SetFn("min", []Type{tI, tI}, func(c *Context, a []Value) (Value, error) { return Int(min(a[0].AsInt(), a[1].AsInt())), nil })
	m.SetFn("max", []Type{tI, tI}, func(c *Context, a []Value) (Value, error) { return Int(max(a[0].AsInt(), a[1].AsInt())), nil })
	minF := func(x, y float64) Value {
		if y < x {
			return Float(y)
		}
		return Float(x)
	}
	maxF := func(x, y float64) Value {
		if y > x {
			return Float(y)
		}
		return Float(x)
	}
	for _, ps := range [][]Type{{tF, tF}, {tI, tF}, {tF, tI}} {
		m.SetFn("min", ps, func(c *Context, a []Value) (Value, error) { return minF(toF(a[0]), toF(a[1])), nil })
		m.SetFn("max", ps, func(c *Context, a []Value) (Value, error) { return maxF(toF(a[0]), toF(a[1])), nil })
	}

	// Rounding (floats only); methods and properties.
	roundFns := map[string]func(float64) float64{
		"floor":   math.Floor,
		"ceiling": math.Ceil,
		"round":   math.Round,
		"int":     math.Trunc,
		"fraction": func(x float64) float64 {
			if math.IsInf(x, 0) {
				return math.NaN()
			}
			return x - math.Trunc(x)
		},
	}
	for name, f := range roundFns {
		prop(name, []Type{tF}, func(c *Context, a []Value) (Value, error) { return Float(f(a[0].AsFloat())), nil })
	}

	// Transcendental functions (floats only).
	fn1f("sqrt", math.Sqrt)
	fn1f("exp", math.Exp)
	fn1f("ln", math.Log)
	fn1f("log10", math.Log10)
	fn1f("log", math.Log10)
	m.SetFn("log", []Type{tF, tF}, func(c *Context, a []Value) (Value, error) {
		x, base := a[0].AsFloat(), a[1].AsFloat()
		if base == 10 {
			return Float(math.Log10(x)), nil
		}
		if base == 2 {
			return Float(math.Log2(x)), nil
		}
		return Float(math.Log(x) / math.Log(base)), nil
	})
	fn1f("sin", math.Sin)
	fn1f("cos", math.Cos)
	fn1f("tan", math.Tan)
	fn1f("sinh", math.Sinh)
	fn1f("cosh", math.Cosh)
	fn1f("tanh", math.Tanh)
	fn1f("asin", math.Asin)
	fn1f("acos", math.Acos)
	fn1f("atan", math.Atan)
	fn1f("asinh", math.Asinh)
	fn1f("acosh", math.Acosh)
	fn1f("atanh", math.Atanh)
	m.SetFn("atan", []Type{tF, tF}, func(c *Context, a []Value) (Value, error) {
		return Float(math.Atan2(a[0].AsFloat(), a[1].AsFloat())), nil
	})
	m.SetFn("hypot", []Type{tF, tF}, func(c *Context, a []Value) (Value, error) {
		return Float(math.Hypot(a[0].AsFloat(), a[1].AsFloat())), nil
	})
	fn1f("to_degrees", func(x float64) float64 { return x * (180 / math.Pi) })
	fn1f("to_radians", func(x float64) float64 { return x * (math.Pi / 180) })
	m.SetFn("PI", nil, func(c *Context, a []Value) (Value, error) { return Float(math.Pi), nil })
	m.SetFn("E", nil, func(c *Context, a []Value) (Value, error) { return Float(math.E), nil })

	// Conversions.
	m.SetFn("to_float", []Type{tI}, func(c *Context, a []Value) (Value, error) { return Float(float64(a[0].AsInt())), nil })
	m.SetFn("to_float", []Type{tF}, func(c *Context, a []Value) (Value, error) { return a[0], nil })
	m.SetFn("to_int", []Type{tI}, func(c *Context, a []Value) (Value, error) { return a[0], nil })
	m.SetFn("to_int", []Type{tF}, func(c *Context, a []Value) (Value, error) {
		x := a[0].AsFloat()
		if x != x {
			return Int(0), nil
		}
		if x > math.MaxInt64 || x < math.MinInt64 {
			return Unit, &Error{Kind: ErrArithmetic, Message: "Integer overflow: to_int(" + rustFloatString(x) + ")"}
		}
		if x >= 9223372036854775807.0 {
			return Int(math.MaxInt64), nil
		}
		return Int(int64(x)), nil
	})
	m.SetFn("parse_int", []Type{tS}, func(c *Context, a []Value) (Value, error) {
		return parseInt(a[0].AsString(), 10)
	})
	m.SetFn("parse_int", []Type{tS, tI}, func(c *Context, a []Value) (Value, error) {
		radix := a[1].AsInt()
		if radix < 2 || radix > 36 {
			return Unit, &Error{Kind: ErrArithmetic, Message: "Invalid radix: '" + strconv.FormatInt(radix, 10) + "'"}
		}
		return parseInt(a[0].AsString(), int(radix))
	})
	m.SetFn("parse_float", []Type{tS}, func(c *Context, a []Value) (Value, error) {
		return parseFloat(a[0].AsString())
	})
	m.SetFn("to_hex", []Type{tI}, func(c *Context, a []Value) (Value, error) {
		return String(strconv.FormatUint(uint64(a[0].AsInt()), 16)), nil
	})
	m.SetFn("to_octal", []Type{tI}, func(c *Context, a []Value) (Value, error) {
		return String(strconv.FormatUint(uint64(a[0].AsInt()), 8)), nil
	})
	m.SetFn("to_binary", []Type{tI}, func(c *Context, a []Value) (Value, error) {
		return String(strconv.FormatUint(uint64(a[0].AsInt()), 2)), nil
	})

	// Bit-fields.
	m.SetFn("get_bit", []Type{tI, tI}, func(c *Context, a []Value) (Value, error) {
		bit, err := bitIndex(a[1].AsInt())
		if err != nil {
			return Unit, err
		}
		return Bool(uint64(a[0].AsInt())&(1<<bit) != 0), nil
	})
	m.SetFn("index$get", []Type{tI, tI}, func(c *Context, a []Value) (Value, error) {
		bit, err := bitIndex(a[1].AsInt())
		if err != nil {
			return Unit, err
		}
		return Bool(uint64(a[0].AsInt())&(1<<bit) != 0), nil
	})
	setBit := func(c *Context, a []Value) (Value, error) {
		bit, err := bitIndex(a[1].AsInt())
		if err != nil {
			return Unit, err
		}
		x := uint64(a[0].AsInt())
		if a[2].AsBool() {
			x |= 1 << bit
		} else {
			x &^= 1 << bit
		}
		a[0] = Int(int64(x))
		return Unit, nil
	}
	m.SetMutFn("set_bit", []Type{tI, tI, tB}, setBit)
	m.SetMutFn("index$set", []Type{tI, tI, tB}, setBit)
	m.SetMutFn("index$set", []Type{tI, tI, TypeAny}, func(c *Context, a []Value) (Value, error) {
		return Unit, mismatchErr(a[2], "bool")
	})
	m.SetFn("get_bits", []Type{tI, tI, tI}, func(c *Context, a []Value) (Value, error) {
		start, n, err := bitSpan(a[1].AsInt(), a[2].AsInt())
		if err != nil {
			return Unit, err
		}
		return Int(getBits(a[0].AsInt(), start, n)), nil
	})
	m.SetMutFn("set_bits", []Type{tI, tI, tI, tI}, func(c *Context, a []Value) (Value, error) {
		start, n, err := bitSpan(a[1].AsInt(), a[2].AsInt())
		if err != nil {
			return Unit, err
		}
		a[0] = Int(setBits(a[0].AsInt(), start, n, a[3].AsInt()))
		return Unit, nil
	})
	for _, rt := range []Type{TypeRange, TypeRangeInclusive} {
		getR := func(c *Context, a []Value) (Value, error) {
			start, n, err := bitRange(a[1])
			if err != nil {
				return Unit, err
			}
			return Int(getBits(a[0].AsInt(), start, n)), nil
		}
		m.SetFn("get_bits", []Type{tI, rt}, getR)
		m.SetFn("index$get", []Type{tI, rt}, getR)
		setR := func(c *Context, a []Value) (Value, error) {
			start, n, err := bitRange(a[1])
			if err != nil {
				return Unit, err
			}
			a[0] = Int(setBits(a[0].AsInt(), start, n, a[2].AsInt()))
			return Unit, nil
		}
		m.SetMutFn("set_bits", []Type{tI, rt, tI}, setR)
		m.SetMutFn("index$set", []Type{tI, rt, tI}, setR)
		m.SetMutFn("index$set", []Type{tI, rt, TypeAny}, func(c *Context, a []Value) (Value, error) {
			return Unit, mismatchErr(a[2], "i64")
		})
		m.SetFn("bits", []Type{tI, rt}, func(c *Context, a []Value) (Value, error) {
			start, n, err := bitRange(a[1])
			if err != nil {
				return Unit, err
			}
			return NewCustom("range", bitsIter{a[0].AsInt(), start, n}), nil
		})
	}
	bitsAll := func(c *Context, a []Value) (Value, error) {
		return NewCustom("range", bitsIter{a[0].AsInt(), 0, 64}), nil
	}
	m.SetFn("bits", []Type{tI}, bitsAll)
	m.SetFn("get$bits", []Type{tI}, bitsAll)
	m.SetFn("bits", []Type{tI, tI}, func(c *Context, a []Value) (Value, error) {
		start, n, err := bitSpan(a[1].AsInt(), 64)
		if err != nil {
			return Unit, err
		}
		return NewCustom("range", bitsIter{a[0].AsInt(), start, n}), nil
	})
	m.SetFn("bits", []Type{tI, tI, tI}, func(c *Context, a []Value) (Value, error) {
		start, n, err := bitSpan(a[1].AsInt(), a[2].AsInt())
		if err != nil {
			return Unit, err
		}
		return NewCustom("range", bitsIter{a[0].AsInt(), start, n}), nil
	})
}

// mismatchErr is ErrorMismatchDataType for a value of the wrong type.
func mismatchErr(v Value, want string) *Error {
	return &Error{Kind: ErrMismatchDataType, Message: "Data type incorrect: " + v.TypeName() + " (expecting " + want + ")"}
}

func toF(v Value) float64 {
	if v.t == TypeInt {
		return float64(v.AsInt())
	}
	return v.AsFloat()
}

// parseInt is Rust's i64::from_str_radix on the trimmed string, with Rhai's
// error text.
func parseInt(s string, radix int) (Value, error) {
	t := strings.TrimSpace(s)
	fail := func(why string) (Value, error) {
		return Unit, &Error{Kind: ErrArithmetic, Message: "Error parsing integer number '" + s + "': " + why}
	}
	if t == "" {
		return fail("cannot parse integer from empty string")
	}
	digits := t
	neg := false
	if digits[0] == '+' || digits[0] == '-' {
		neg = digits[0] == '-'
		digits = digits[1:]
		if digits == "" {
			return fail("invalid digit found in string")
		}
	}
	var v uint64
	overflow := false
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		var d int
		switch {
		case c >= '0' && c <= '9':
			d = int(c - '0')
		case c >= 'a' && c <= 'z':
			d = int(c-'a') + 10
		case c >= 'A' && c <= 'Z':
			d = int(c-'A') + 10
		default:
			return fail("invalid digit found in string")
		}
		if d >= radix {
			return fail("invalid digit found in string")
		}
		if !overflow {
			nv := v*uint64(radix) + uint64(d)
			if v > (1<<64-1)/uint64(radix) || nv < v*uint64(radix) || nv > 1<<63 {
				overflow = true
			} else {
				v = nv
			}
		}
	}
	if overflow || (!neg && v > math.MaxInt64) {
		if neg {
			return fail("number too small to fit in target type")
		}
		return fail("number too large to fit in target type")
	}
	if neg {
		return Int(int64(-v)), nil
	}
	return Int(int64(v)), nil
}

// parseFloat is Rust's f64::from_str on the trimmed string.
func parseFloat(s string) (Value, error) {
	t := strings.TrimSpace(s)
	fail := func(why string) (Value, error) {
		return Unit, &Error{Kind: ErrArithmetic, Message: "Error parsing floating-point number '" + s + "': " + why}
	}
	if t == "" {
		return fail("cannot parse float from empty string")
	}
	body := t
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	switch strings.ToLower(body) {
	case "inf", "infinity", "nan":
	default:
		for i := 0; i < len(body); i++ {
			c := body[i]
			if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
				return fail("invalid float literal")
			}
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return Float(f), nil
		}
		return fail("invalid float literal")
	}
	return Float(f), nil
}

func bitsErr(i int64) *Error {
	return &Error{Kind: ErrBitFieldBounds, Message: "Bit-field index " + strconv.FormatInt(i, 10) + " out of bounds: only 64 bits in bit-field"}
}

// bitIndex maps a bit number (negative from the MSB) to 0..63.
func bitIndex(i int64) (uint, *Error) {
	switch {
	case i >= 0 && i < 64:
		return uint(i), nil
	case i < 0 && i >= -64:
		return uint(64 + i), nil
	}
	return 0, bitsErr(i)
}

// bitSpan maps a start bit (negative from the MSB) and a count into a start in
// 0..63 and a count clamped to the MSB.
func bitSpan(start, n int64) (uint, uint, *Error) {
	s, err := bitIndex(start)
	if err != nil {
		return 0, 0, err
	}
	if n <= 0 {
		return s, 0, nil
	}
	if n > int64(64-s) {
		n = int64(64 - s)
	}
	return s, uint(n), nil
}

// bitRange maps a range of bit numbers (counted from the LSB) to a start and a
// count.
func bitRange(v Value) (uint, uint, *Error) {
	r := v.AsRange()
	start, end := r.Start, r.End
	if v.t == TypeRangeInclusive {
		if end < math.MaxInt64 {
			end++
		}
	}
	if start < 0 || start >= 64 {
		return 0, 0, bitsErr(start)
	}
	if end <= start {
		return uint(start), 0, nil
	}
	if end > 64 {
		return 0, 0, bitsErr(r.End)
	}
	return uint(start), uint(end - start), nil
}

func getBits(x int64, start, n uint) int64 {
	if n == 0 {
		return 0
	}
	v := uint64(x) >> start
	if n < 64 {
		v &= 1<<n - 1
	}
	return int64(v)
}

func setBits(x int64, start, n uint, value int64) int64 {
	if n == 0 {
		return x
	}
	var mask uint64 = math.MaxUint64
	if n < 64 {
		mask = 1<<n - 1
	}
	u := uint64(x)
	u &^= mask << start
	u |= (uint64(value) & mask) << start
	return int64(u)
}

// bitsIter iterates bits start..start+n of x as booleans.
type bitsIter struct {
	x        int64
	start, n uint
}

func (b bitsIter) Each(yield func(Value) bool) {
	for i := b.start; i < b.start+b.n && i < 64; i++ {
		if !yield(Bool(uint64(b.x)&(1<<i) != 0)) {
			return
		}
	}
}
