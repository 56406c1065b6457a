package rhai

import (
	"math"
	"strconv"
)

// stdRange registers the range constructors range(...) and the functions and
// properties of `..` / `..=` ranges (BasicIteratorPackage).
func stdRange(m *Module) { registerLib(m, rangeFns) }

// rangeFns is the table stdRange registers, in order (see registerLib).
var rangeFns = []libFn{
	// Constructors. Only exclusive ranges take a step: range(1..=10, 3) is
	// not found.
	{name: "range", params: []Type{TypeInt, TypeInt}, fn: rangeInts},
	{name: "range", params: []Type{TypeInt, TypeInt, TypeInt}, fn: rangeIntsStep},
	{name: "range", params: []Type{TypeRange, TypeInt}, fn: rangeRangeStep},
	{name: "range", params: []Type{TypeFloat, TypeFloat}, fn: rangeFloats},
	{name: "range", params: []Type{TypeFloat, TypeFloat, TypeFloat}, fn: rangeFloatsStep},

	// `..` ranges: properties (also methods), tests and comparison.
	{name: "start", params: []Type{TypeRange}, fn: rangeStart, prop: true},
	{name: "end", params: []Type{TypeRange}, fn: rangeEnd, prop: true},
	{name: "is_inclusive", params: []Type{TypeRange}, fn: rangeIsInclusive, prop: true},
	{name: "is_exclusive", params: []Type{TypeRange}, fn: rangeIsExclusive, prop: true},
	{name: "is_empty", params: []Type{TypeRange}, fn: rangeIsEmpty, prop: true},
	{name: "contains", params: []Type{TypeRange, TypeInt}, fn: rangeContainsInt},
	{name: "==", params: []Type{TypeRange, TypeRange}, fn: rangeEq},
	{name: "!=", params: []Type{TypeRange, TypeRange}, fn: rangeNe},

	// `..=` ranges: the same functions.
	{name: "start", params: []Type{TypeRangeInclusive}, fn: rangeStart, prop: true},
	{name: "end", params: []Type{TypeRangeInclusive}, fn: rangeEnd, prop: true},
	{name: "is_inclusive", params: []Type{TypeRangeInclusive}, fn: rangeIsInclusive, prop: true},
	{name: "is_exclusive", params: []Type{TypeRangeInclusive}, fn: rangeIsExclusive, prop: true},
	{name: "is_empty", params: []Type{TypeRangeInclusive}, fn: rangeIsEmpty, prop: true},
	{name: "contains", params: []Type{TypeRangeInclusive, TypeInt}, fn: rangeContainsInt},
	{name: "==", params: []Type{TypeRangeInclusive, TypeRangeInclusive}, fn: rangeEq},
	{name: "!=", params: []Type{TypeRangeInclusive, TypeRangeInclusive}, fn: rangeNe},
}

// rangeInts is range(from i64, to i64): the range from..to.
func rangeInts(c *Context, a []Value) (Value, error) {
	return NewRange(a[0].AsInt(), a[1].AsInt(), false), nil
}

// rangeIntsStep is range(from i64, to i64, step i64).
func rangeIntsStep(c *Context, a []Value) (Value, error) {
	return newIntStepRange(a[0].AsInt(), a[1].AsInt(), a[2].AsInt(), false)
}

// rangeRangeStep is range(from..to, step i64).
func rangeRangeStep(c *Context, a []Value) (Value, error) {
	r := a[0].AsRange()
	return newIntStepRange(r.Start, r.End, a[1].AsInt(), false)
}

// rangeFloats is range(from f64, to f64), in steps of 1.
func rangeFloats(c *Context, a []Value) (Value, error) {
	return newFloatStepRange(a[0].AsFloat(), a[1].AsFloat(), 1)
}

// rangeFloatsStep is range(from f64, to f64, step f64).
func rangeFloatsStep(c *Context, a []Value) (Value, error) {
	return newFloatStepRange(a[0].AsFloat(), a[1].AsFloat(), a[2].AsFloat())
}

// rangeStart is start(range), also the property r.start.
func rangeStart(c *Context, a []Value) (Value, error) { return Int(a[0].AsRange().Start), nil }

// rangeEnd is end(range), also the property r.end: the bound as written
// (included for `..=`).
func rangeEnd(c *Context, a []Value) (Value, error) { return Int(a[0].AsRange().End), nil }

// rangeIsInclusive is is_inclusive(range), also the property r.is_inclusive:
// true for `..=`.
func rangeIsInclusive(c *Context, a []Value) (Value, error) {
	return Bool(a[0].t == TypeRangeInclusive), nil
}

// rangeIsExclusive is is_exclusive(range), also the property r.is_exclusive:
// true for `..`.
func rangeIsExclusive(c *Context, a []Value) (Value, error) {
	return Bool(a[0].t != TypeRangeInclusive), nil
}

// rangeIsEmpty is is_empty(range), also the property r.is_empty.
func rangeIsEmpty(c *Context, a []Value) (Value, error) {
	r := a[0].AsRange()
	if a[0].t == TypeRangeInclusive {
		return Bool(r.Start > r.End), nil
	}
	return Bool(r.Start >= r.End), nil
}

// rangeContainsInt is contains(range, i64).
func rangeContainsInt(c *Context, a []Value) (Value, error) {
	return Bool(rangeContains(a[0], a[1].AsInt())), nil
}

// rangeEq is range == range (both `..` or both `..=`).
func rangeEq(c *Context, a []Value) (Value, error) { return Bool(rangesEqual(a[0], a[1])), nil }

// rangeNe is range != range (both `..` or both `..=`).
func rangeNe(c *Context, a []Value) (Value, error) { return Bool(!rangesEqual(a[0], a[1])), nil }

// rangeContains reports whether x lies in the range r.
func rangeContains(r Value, x int64) bool {
	rg := r.AsRange()
	if r.t == TypeRangeInclusive {
		return x >= rg.Start && x <= rg.End
	}
	return x >= rg.Start && x < rg.End
}

// rangesEqual compares two ranges: same kind and bounds.
func rangesEqual(a, b Value) bool {
	if a.t != b.t {
		return false
	}
	x, y := a.AsRange(), b.AsRange()
	return x.Start == y.Start && x.End == y.End
}

// stepRangeError is the error range(...) reports for a zero step: Rhai reports
// it inside a call to `range`.
func stepRangeError() error {
	return &Error{Kind: ErrInFunctionCall, Fn: "range",
		Inner: NewError(ErrArithmetic, "step value cannot be zero")}
}

// intStepRange is what range(from, to, step) returns: an iterable over from,
// from+step, ... up to (not including) to, counting down for a negative step.
type intStepRange struct {
	from, to, step int64
	inclusive      bool
}

// newIntStepRange makes range(from, to, step) over i64; a zero step is an
// error.
func newIntStepRange(from, to, step int64, inclusive bool) (Value, error) {
	if step == 0 {
		return Unit, stepRangeError()
	}
	return NewCustom("range", &intStepRange{from: from, to: to, step: step, inclusive: inclusive}), nil
}

// Each implements Iterable.
func (r *intStepRange) Each(yield func(Value) bool) {
	x := r.from
	for {
		if r.step > 0 {
			if x > r.to || (x == r.to && !r.inclusive) {
				return
			}
		} else if x < r.to || (x == r.to && !r.inclusive) {
			return
		}
		if !yield(Int(x)) {
			return
		}
		next := x + r.step
		if (r.step > 0 && next < x) || (r.step < 0 && next > x) {
			return // overflow ends the range
		}
		x = next
	}
}

// String is the range's display form.
func (r *intStepRange) String() string {
	return strconv.FormatInt(r.from, 10) + ".." + strconv.FormatInt(r.to, 10) + " step " + strconv.FormatInt(r.step, 10)
}

// floatStepRange is what range(from, to, step) returns for floats.
type floatStepRange struct {
	from, to, step float64
}

// newFloatStepRange makes range(from, to, step) over f64; a zero or NaN step
// is an error.
func newFloatStepRange(from, to, step float64) (Value, error) {
	if step == 0 || math.IsNaN(step) {
		return Unit, stepRangeError()
	}
	return NewCustom("range", &floatStepRange{from: from, to: to, step: step}), nil
}

// Each implements Iterable.
func (r *floatStepRange) Each(yield func(Value) bool) {
	for x := r.from; ; x += r.step {
		if r.step > 0 && !(x < r.to) || r.step < 0 && !(x > r.to) {
			return
		}
		if !yield(Float(x)) {
			return
		}
		if x+r.step == x { // the step is lost in rounding: stop rather than spin
			return
		}
	}
}
