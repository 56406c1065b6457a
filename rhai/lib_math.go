package rhai

import (
	"math"
	"strconv"
	"strings"
)

// The number functions of Rhai's standard library (ArithmeticPackage,
// BasicMathPackage, BitFieldPackage).

// stdMath registers the number functions.
func stdMath(m *Module) { registerLib(m, mathFns) }

// mathFns is the table stdMath registers, in order (see registerLib).
var mathFns = []libFn{
	// abs / sign / tests.
	{name: "abs", params: []Type{TypeInt}, fn: absInt},
	{name: "abs", params: []Type{TypeFloat}, fn: absFloat},
	{name: "sign", params: []Type{TypeInt}, fn: signInt},
	{name: "sign", params: []Type{TypeFloat}, fn: signFloat},
	{name: "is_zero", params: []Type{TypeInt}, fn: isZeroInt, prop: true},
	{name: "is_zero", params: []Type{TypeFloat}, fn: isZeroFloat, prop: true},
	{name: "is_odd", params: []Type{TypeInt}, fn: isOddInt, prop: true},
	{name: "is_even", params: []Type{TypeInt}, fn: isEvenInt, prop: true},
	{name: "is_nan", params: []Type{TypeFloat}, fn: isNaNFloat, prop: true},
	{name: "is_finite", params: []Type{TypeFloat}, fn: isFiniteFloat, prop: true},
	{name: "is_infinite", params: []Type{TypeFloat}, fn: isInfiniteFloat, prop: true},

	// min / max; an int and a float give a float.
	{name: "min", params: []Type{TypeInt, TypeInt}, fn: minInts},
	{name: "max", params: []Type{TypeInt, TypeInt}, fn: maxInts},
	{name: "min", params: []Type{TypeFloat, TypeFloat}, fn: minFloat},
	{name: "max", params: []Type{TypeFloat, TypeFloat}, fn: maxFloat},
	{name: "min", params: []Type{TypeInt, TypeFloat}, fn: minFloat},
	{name: "max", params: []Type{TypeInt, TypeFloat}, fn: maxFloat},
	{name: "min", params: []Type{TypeFloat, TypeInt}, fn: minFloat},
	{name: "max", params: []Type{TypeFloat, TypeInt}, fn: maxFloat},

	// Rounding (floats only); methods and properties.
	{name: "floor", params: []Type{TypeFloat}, fn: floorFloat, prop: true},
	{name: "ceiling", params: []Type{TypeFloat}, fn: ceilingFloat, prop: true},
	{name: "round", params: []Type{TypeFloat}, fn: roundFloat, prop: true},
	{name: "int", params: []Type{TypeFloat}, fn: intFloat, prop: true},
	{name: "fraction", params: []Type{TypeFloat}, fn: fractionFloat, prop: true},

	// Transcendental functions (floats only).
	{name: "sqrt", params: []Type{TypeFloat}, fn: sqrtFloat},
	{name: "exp", params: []Type{TypeFloat}, fn: expFloat},
	{name: "ln", params: []Type{TypeFloat}, fn: lnFloat},
	{name: "log10", params: []Type{TypeFloat}, fn: log10Float},
	{name: "log", params: []Type{TypeFloat}, fn: log10Float},
	{name: "log", params: []Type{TypeFloat, TypeFloat}, fn: logFloatBase},
	{name: "sin", params: []Type{TypeFloat}, fn: sinFloat},
	{name: "cos", params: []Type{TypeFloat}, fn: cosFloat},
	{name: "tan", params: []Type{TypeFloat}, fn: tanFloat},
	{name: "sinh", params: []Type{TypeFloat}, fn: sinhFloat},
	{name: "cosh", params: []Type{TypeFloat}, fn: coshFloat},
	{name: "tanh", params: []Type{TypeFloat}, fn: tanhFloat},
	{name: "asin", params: []Type{TypeFloat}, fn: asinFloat},
	{name: "acos", params: []Type{TypeFloat}, fn: acosFloat},
	{name: "atan", params: []Type{TypeFloat}, fn: atanFloat},
	{name: "asinh", params: []Type{TypeFloat}, fn: asinhFloat},
	{name: "acosh", params: []Type{TypeFloat}, fn: acoshFloat},
	{name: "atanh", params: []Type{TypeFloat}, fn: atanhFloat},
	{name: "atan", params: []Type{TypeFloat, TypeFloat}, fn: atan2Float},
	{name: "hypot", params: []Type{TypeFloat, TypeFloat}, fn: hypotFloat},
	{name: "to_degrees", params: []Type{TypeFloat}, fn: toDegreesFloat},
	{name: "to_radians", params: []Type{TypeFloat}, fn: toRadiansFloat},
	{name: "PI", fn: piConst},
	{name: "E", fn: eConst},

	// Conversions.
	{name: "to_float", params: []Type{TypeInt}, fn: toFloatInt},
	{name: "to_float", params: []Type{TypeFloat}, fn: identityFn},
	{name: "to_int", params: []Type{TypeInt}, fn: identityFn},
	{name: "to_int", params: []Type{TypeFloat}, fn: toIntFloat},
	{name: "parse_int", params: []Type{TypeString}, fn: parseIntString},
	{name: "parse_int", params: []Type{TypeString, TypeInt}, fn: parseIntRadix},
	{name: "parse_float", params: []Type{TypeString}, fn: parseFloatString},
	{name: "to_hex", params: []Type{TypeInt}, fn: toHexInt},
	{name: "to_octal", params: []Type{TypeInt}, fn: toOctalInt},
	{name: "to_binary", params: []Type{TypeInt}, fn: toBinaryInt},

	// Bit-fields: one bit.
	{name: "get_bit", params: []Type{TypeInt, TypeInt}, fn: getBitInt},
	{name: "index$get", params: []Type{TypeInt, TypeInt}, fn: getBitInt},
	{name: "set_bit", params: []Type{TypeInt, TypeInt, TypeBool}, fn: setBitInt, mut: true},
	{name: "index$set", params: []Type{TypeInt, TypeInt, TypeBool}, fn: setBitInt, mut: true},
	{name: "index$set", params: []Type{TypeInt, TypeInt, TypeAny}, fn: setBitMismatch, mut: true},

	// Bit-fields: a start and a count.
	{name: "get_bits", params: []Type{TypeInt, TypeInt, TypeInt}, fn: getBitsSpan},
	{name: "set_bits", params: []Type{TypeInt, TypeInt, TypeInt, TypeInt}, fn: setBitsSpan, mut: true},

	// Bit-fields: a range of bit numbers, `..` then `..=`.
	{name: "get_bits", params: []Type{TypeInt, TypeRange}, fn: getBitsRange},
	{name: "index$get", params: []Type{TypeInt, TypeRange}, fn: getBitsRange},
	{name: "set_bits", params: []Type{TypeInt, TypeRange, TypeInt}, fn: setBitsRange, mut: true},
	{name: "index$set", params: []Type{TypeInt, TypeRange, TypeInt}, fn: setBitsRange, mut: true},
	{name: "index$set", params: []Type{TypeInt, TypeRange, TypeAny}, fn: setBitsMismatch, mut: true},
	{name: "bits", params: []Type{TypeInt, TypeRange}, fn: bitsRange},
	{name: "get_bits", params: []Type{TypeInt, TypeRangeInclusive}, fn: getBitsRange},
	{name: "index$get", params: []Type{TypeInt, TypeRangeInclusive}, fn: getBitsRange},
	{name: "set_bits", params: []Type{TypeInt, TypeRangeInclusive, TypeInt}, fn: setBitsRange, mut: true},
	{name: "index$set", params: []Type{TypeInt, TypeRangeInclusive, TypeInt}, fn: setBitsRange, mut: true},
	{name: "index$set", params: []Type{TypeInt, TypeRangeInclusive, TypeAny}, fn: setBitsMismatch, mut: true},
	{name: "bits", params: []Type{TypeInt, TypeRangeInclusive}, fn: bitsRange},

	// Bit-fields: iterating bits.
	{name: "bits", params: []Type{TypeInt}, fn: bitsAll, prop: true},
	{name: "bits", params: []Type{TypeInt, TypeInt}, fn: bitsFrom},
	{name: "bits", params: []Type{TypeInt, TypeInt, TypeInt}, fn: bitsSpan},
}

// absInt is abs(i64): the absolute value; abs of i64's minimum overflows.
func absInt(c *Context, a []Value) (Value, error) {
	x := a[0].AsInt()
	if x < 0 {
		if x == math.MinInt64 {
			return Unit, &Error{Kind: ErrArithmetic, Message: "Negation overflow: -" + strconv.FormatInt(x, 10)}
		}
		x = -x
	}
	return Int(x), nil
}

// absFloat is abs(f64).
func absFloat(c *Context, a []Value) (Value, error) { return Float(math.Abs(a[0].AsFloat())), nil }

// signInt is sign(i64): -1, 0 or 1.
func signInt(c *Context, a []Value) (Value, error) {
	return Int(int64(cmpInt64(a[0].AsInt(), 0))), nil
}

// signFloat is sign(f64): -1, 0 or 1 as an i64; the sign of NaN is an error.
func signFloat(c *Context, a []Value) (Value, error) {
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
}

// isZeroInt is is_zero(i64), also the property x.is_zero.
func isZeroInt(c *Context, a []Value) (Value, error) { return Bool(a[0].AsInt() == 0), nil }

// isZeroFloat is is_zero(f64), also the property x.is_zero.
func isZeroFloat(c *Context, a []Value) (Value, error) { return Bool(a[0].AsFloat() == 0), nil }

// isOddInt is is_odd(i64), also the property x.is_odd.
func isOddInt(c *Context, a []Value) (Value, error) { return Bool(a[0].AsInt()&1 != 0), nil }

// isEvenInt is is_even(i64), also the property x.is_even.
func isEvenInt(c *Context, a []Value) (Value, error) { return Bool(a[0].AsInt()&1 == 0), nil }

// isNaNFloat is is_nan(f64), also the property x.is_nan.
func isNaNFloat(c *Context, a []Value) (Value, error) { return Bool(math.IsNaN(a[0].AsFloat())), nil }

// isFiniteFloat is is_finite(f64), also the property x.is_finite: neither NaN
// nor infinite.
func isFiniteFloat(c *Context, a []Value) (Value, error) {
	x := a[0].AsFloat()
	return Bool(!math.IsNaN(x) && !math.IsInf(x, 0)), nil
}

// isInfiniteFloat is is_infinite(f64), also the property x.is_infinite.
func isInfiniteFloat(c *Context, a []Value) (Value, error) {
	return Bool(math.IsInf(a[0].AsFloat(), 0)), nil
}

// minInts is min(i64, i64).
func minInts(c *Context, a []Value) (Value, error) { return Int(min(a[0].AsInt(), a[1].AsInt())), nil }

// maxInts is max(i64, i64).
func maxInts(c *Context, a []Value) (Value, error) { return Int(max(a[0].AsInt(), a[1].AsInt())), nil }

// minFloat is min(f64, f64), min(i64, f64) and min(f64, i64): an f64, the
// first argument unless the second is smaller (so a NaN first wins).
func minFloat(c *Context, a []Value) (Value, error) {
	x, y := toF(a[0]), toF(a[1])
	if y < x {
		return Float(y), nil
	}
	return Float(x), nil
}

// maxFloat is max(f64, f64), max(i64, f64) and max(f64, i64): an f64, the
// first argument unless the second is larger (so a NaN first wins).
func maxFloat(c *Context, a []Value) (Value, error) {
	x, y := toF(a[0]), toF(a[1])
	if y > x {
		return Float(y), nil
	}
	return Float(x), nil
}

// floorFloat is floor(f64), also the property x.floor.
func floorFloat(c *Context, a []Value) (Value, error) { return Float(math.Floor(a[0].AsFloat())), nil }

// ceilingFloat is ceiling(f64), also the property x.ceiling.
func ceilingFloat(c *Context, a []Value) (Value, error) { return Float(math.Ceil(a[0].AsFloat())), nil }

// roundFloat is round(f64), also the property x.round: half away from zero.
func roundFloat(c *Context, a []Value) (Value, error) { return Float(math.Round(a[0].AsFloat())), nil }

// intFloat is int(f64), also the property x.int: the integer part, as an f64.
func intFloat(c *Context, a []Value) (Value, error) { return Float(math.Trunc(a[0].AsFloat())), nil }

// fractionFloat is fraction(f64), also the property x.fraction: x minus its
// integer part; NaN for an infinity.
func fractionFloat(c *Context, a []Value) (Value, error) {
	x := a[0].AsFloat()
	if math.IsInf(x, 0) {
		return Float(math.NaN()), nil
	}
	return Float(x - math.Trunc(x)), nil
}

// sqrtFloat is sqrt(f64).
func sqrtFloat(c *Context, a []Value) (Value, error) { return Float(math.Sqrt(a[0].AsFloat())), nil }

// expFloat is exp(f64).
func expFloat(c *Context, a []Value) (Value, error) { return Float(math.Exp(a[0].AsFloat())), nil }

// lnFloat is ln(f64), the natural logarithm.
func lnFloat(c *Context, a []Value) (Value, error) { return Float(math.Log(a[0].AsFloat())), nil }

// log10Float is log10(f64) and log(f64): the base-10 logarithm.
func log10Float(c *Context, a []Value) (Value, error) { return Float(math.Log10(a[0].AsFloat())), nil }

// logFloatBase is log(f64, base f64); bases 10 and 2 are exact.
func logFloatBase(c *Context, a []Value) (Value, error) {
	x, base := a[0].AsFloat(), a[1].AsFloat()
	if base == 10 {
		return Float(math.Log10(x)), nil
	}
	if base == 2 {
		return Float(math.Log2(x)), nil
	}
	return Float(math.Log(x) / math.Log(base)), nil
}

// sinFloat is sin(f64), in radians.
func sinFloat(c *Context, a []Value) (Value, error) { return Float(math.Sin(a[0].AsFloat())), nil }

// cosFloat is cos(f64), in radians.
func cosFloat(c *Context, a []Value) (Value, error) { return Float(math.Cos(a[0].AsFloat())), nil }

// tanFloat is tan(f64), in radians.
func tanFloat(c *Context, a []Value) (Value, error) { return Float(math.Tan(a[0].AsFloat())), nil }

// sinhFloat is sinh(f64).
func sinhFloat(c *Context, a []Value) (Value, error) { return Float(math.Sinh(a[0].AsFloat())), nil }

// coshFloat is cosh(f64).
func coshFloat(c *Context, a []Value) (Value, error) { return Float(math.Cosh(a[0].AsFloat())), nil }

// tanhFloat is tanh(f64).
func tanhFloat(c *Context, a []Value) (Value, error) { return Float(math.Tanh(a[0].AsFloat())), nil }

// asinFloat is asin(f64).
func asinFloat(c *Context, a []Value) (Value, error) { return Float(math.Asin(a[0].AsFloat())), nil }

// acosFloat is acos(f64).
func acosFloat(c *Context, a []Value) (Value, error) { return Float(math.Acos(a[0].AsFloat())), nil }

// atanFloat is atan(f64).
func atanFloat(c *Context, a []Value) (Value, error) { return Float(math.Atan(a[0].AsFloat())), nil }

// asinhFloat is asinh(f64).
func asinhFloat(c *Context, a []Value) (Value, error) { return Float(math.Asinh(a[0].AsFloat())), nil }

// acoshFloat is acosh(f64).
func acoshFloat(c *Context, a []Value) (Value, error) { return Float(math.Acosh(a[0].AsFloat())), nil }

// atanhFloat is atanh(f64).
func atanhFloat(c *Context, a []Value) (Value, error) { return Float(math.Atanh(a[0].AsFloat())), nil }

// atan2Float is atan(y f64, x f64), the angle of the point (x, y).
func atan2Float(c *Context, a []Value) (Value, error) {
	return Float(math.Atan2(a[0].AsFloat(), a[1].AsFloat())), nil
}

// hypotFloat is hypot(f64, f64).
func hypotFloat(c *Context, a []Value) (Value, error) {
	return Float(math.Hypot(a[0].AsFloat(), a[1].AsFloat())), nil
}

// toDegreesFloat is to_degrees(f64): radians to degrees.
func toDegreesFloat(c *Context, a []Value) (Value, error) {
	return Float(a[0].AsFloat() * (180 / math.Pi)), nil
}

// toRadiansFloat is to_radians(f64): degrees to radians.
func toRadiansFloat(c *Context, a []Value) (Value, error) {
	return Float(a[0].AsFloat() * (math.Pi / 180)), nil
}

// piConst is PI().
func piConst(c *Context, a []Value) (Value, error) { return Float(math.Pi), nil }

// eConst is E().
func eConst(c *Context, a []Value) (Value, error) { return Float(math.E), nil }

// identityFn is to_float(f64) and to_int(i64): the argument itself.
func identityFn(c *Context, a []Value) (Value, error) { return a[0], nil }

// toFloatInt is to_float(i64).
func toFloatInt(c *Context, a []Value) (Value, error) { return Float(float64(a[0].AsInt())), nil }

// toIntFloat is to_int(f64): truncates toward zero; NaN is 0, a value beyond
// i64 overflows (Rhai's error text).
func toIntFloat(c *Context, a []Value) (Value, error) {
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
}

// parseIntString is parse_int(string), in base 10.
func parseIntString(c *Context, a []Value) (Value, error) {
	return parseInt(a[0].AsString(), 10)
}

// parseIntRadix is parse_int(string, radix i64); the radix is 2 to 36.
func parseIntRadix(c *Context, a []Value) (Value, error) {
	radix := a[1].AsInt()
	if radix < 2 || radix > 36 {
		return Unit, &Error{Kind: ErrArithmetic, Message: "Invalid radix: '" + strconv.FormatInt(radix, 10) + "'"}
	}
	return parseInt(a[0].AsString(), int(radix))
}

// parseFloatString is parse_float(string).
func parseFloatString(c *Context, a []Value) (Value, error) {
	return parseFloat(a[0].AsString())
}

// toHexInt is to_hex(i64): two's complement digits, no prefix.
func toHexInt(c *Context, a []Value) (Value, error) {
	return String(strconv.FormatUint(uint64(a[0].AsInt()), 16)), nil
}

// toOctalInt is to_octal(i64): two's complement digits, no prefix.
func toOctalInt(c *Context, a []Value) (Value, error) {
	return String(strconv.FormatUint(uint64(a[0].AsInt()), 8)), nil
}

// toBinaryInt is to_binary(i64): two's complement digits, no prefix.
func toBinaryInt(c *Context, a []Value) (Value, error) {
	return String(strconv.FormatUint(uint64(a[0].AsInt()), 2)), nil
}

// getBitInt is get_bit(i64, bit i64) and the indexer x[bit]: bit numbers
// below 0 count from the most significant bit.
func getBitInt(c *Context, a []Value) (Value, error) {
	bit, err := bitIndex(a[1].AsInt())
	if err != nil {
		return Unit, err
	}
	return Bool(uint64(a[0].AsInt())&(1<<bit) != 0), nil
}

// setBitInt is set_bit(i64, bit i64, bool) and x[bit] = bool: sets or
// clears one bit of the first argument in place.
func setBitInt(c *Context, a []Value) (Value, error) {
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

// setBitMismatch is x[bit] = value for a value that is not a bool: a type
// error.
func setBitMismatch(c *Context, a []Value) (Value, error) {
	return Unit, mismatchErr(a[2], "bool")
}

// getBitsSpan is get_bits(i64, start i64, count i64).
func getBitsSpan(c *Context, a []Value) (Value, error) {
	start, n, err := bitSpan(a[1].AsInt(), a[2].AsInt())
	if err != nil {
		return Unit, err
	}
	return Int(getBits(a[0].AsInt(), start, n)), nil
}

// setBitsSpan is set_bits(i64, start i64, count i64, value i64), in place.
func setBitsSpan(c *Context, a []Value) (Value, error) {
	start, n, err := bitSpan(a[1].AsInt(), a[2].AsInt())
	if err != nil {
		return Unit, err
	}
	a[0] = Int(setBits(a[0].AsInt(), start, n, a[3].AsInt()))
	return Unit, nil
}

// getBitsRange is get_bits(i64, range) and the indexer x[range], for `..` and
// `..=` ranges.
func getBitsRange(c *Context, a []Value) (Value, error) {
	start, n, err := bitRange(a[1])
	if err != nil {
		return Unit, err
	}
	return Int(getBits(a[0].AsInt(), start, n)), nil
}

// setBitsRange is set_bits(i64, range, value i64) and x[range] = value, in
// place.
func setBitsRange(c *Context, a []Value) (Value, error) {
	start, n, err := bitRange(a[1])
	if err != nil {
		return Unit, err
	}
	a[0] = Int(setBits(a[0].AsInt(), start, n, a[2].AsInt()))
	return Unit, nil
}

// setBitsMismatch is x[range] = value for a value that is not an i64: a type
// error.
func setBitsMismatch(c *Context, a []Value) (Value, error) {
	return Unit, mismatchErr(a[2], "i64")
}

// bitsRange is bits(i64, range): the bits in the range, as bools.
func bitsRange(c *Context, a []Value) (Value, error) {
	start, n, err := bitRange(a[1])
	if err != nil {
		return Unit, err
	}
	return NewCustom("range", bitsIter{a[0].AsInt(), start, n}), nil
}

// bitsAll is bits(i64), also the property x.bits: all 64 bits, as bools.
func bitsAll(c *Context, a []Value) (Value, error) {
	return NewCustom("range", bitsIter{a[0].AsInt(), 0, 64}), nil
}

// bitsFrom is bits(i64, start i64): the bits from start to the most
// significant one.
func bitsFrom(c *Context, a []Value) (Value, error) {
	start, n, err := bitSpan(a[1].AsInt(), 64)
	if err != nil {
		return Unit, err
	}
	return NewCustom("range", bitsIter{a[0].AsInt(), start, n}), nil
}

// bitsSpan is bits(i64, start i64, count i64).
func bitsSpan(c *Context, a []Value) (Value, error) {
	start, n, err := bitSpan(a[1].AsInt(), a[2].AsInt())
	if err != nil {
		return Unit, err
	}
	return NewCustom("range", bitsIter{a[0].AsInt(), start, n}), nil
}

// mismatchErr is ErrorMismatchDataType for a value of the wrong type.
func mismatchErr(v Value, want string) *Error {
	return &Error{Kind: ErrMismatchDataType, Message: "Data type incorrect: " + v.TypeName() + " (expecting " + want + ")"}
}

// toF is an i64 or f64 argument as an f64.
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

// bitsErr is the error for bit number i outside the 64 bits.
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

// getBits is the n bits of x from bit start, as an unsigned number.
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

// setBits is x with its n bits from bit start replaced by the low n bits of
// value.
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

// Each implements Iterable.
func (b bitsIter) Each(yield func(Value) bool) {
	for i := b.start; i < b.start+b.n && i < 64; i++ {
		if !yield(Bool(uint64(b.x)&(1<<i) != 0)) {
			return
		}
	}
}
