package rhai

import (
	"math"
	"strconv"
)

// stdRange registers the range constructors range(...) and the functions and
// properties of `..` / `..=` ranges (BasicIteratorPackage).
func stdRange(m *Module) {
	I := TypeInt
	F := TypeFloat
	R := TypeRange
	RI := TypeRangeInclusive

	m.SetFn("range", []Type{I, I}, func(c *Context, a []Value) (Value, error) {
		return NewRange(a[0].AsInt(), a[1].AsInt(), false), nil
	})
	m.SetFn("range", []Type{I, I, I}, func(c *Context, a []Value) (Value, error) {
		return newIntStepRange(a[0].AsInt(), a[1].AsInt(), a[2].AsInt(), false)
	})
	// Only exclusive ranges take a step: range(1..=10, 3) is not found.
	m.SetFn("range", []Type{R, I}, func(c *Context, a []Value) (Value, error) {
		r := a[0].AsRange()
		return newIntStepRange(r.Start, r.End, a[1].AsInt(), false)
	})
	m.SetFn("range", []Type{F, F}, func(c *Context, a []Value) (Value, error) {
		return newFloatStepRange(a[0].AsFloat(), a[1].AsFloat(), 1)
	})
	m.SetFn("range", []Type{F, F, F}, func(c *Context, a []Value) (Value, error) {
		return newFloatStepRange(a[0].AsFloat(), a[1].AsFloat(), a[2].AsFloat())
	})

	for _, rt := range []Type{R, RI} {
		incl := rt == RI
		start := func(c *Context, a []Value) (Value, error) { return Int(a[0].AsRange().Start), nil }
		end := func(c *Context, a []Value) (Value, error) { return Int(a[0].AsRange().End), nil }
		isIncl := func(c *Context, a []Value) (Value, error) { return Bool(incl), nil }
		isExcl := func(c *Context, a []Value) (Value, error) { return Bool(!incl), nil }
		isEmpty := func(c *Context, a []Value) (Value, error) {
			r := a[0].AsRange()
			if incl {
				return Bool(r.Start > r.End), nil
			}
			return Bool(r.Start >= r.End), nil
		}
		for name, fn := range map[string]NativeFunc{
			"start": start, "end": end, "is_inclusive": isIncl, "is_exclusive": isExcl, "is_empty": isEmpty,
		} {
			m.SetFn(name, []Type{rt}, fn)
			m.SetFn("get$"+name, []Type{rt}, fn)
		}
		m.SetFn("contains", []Type{rt, I}, func(c *Context, a []Value) (Value, error) {
			return Bool(rangeContains(a[0], a[1].AsInt())), nil
		})
		m.SetFn("==", []Type{rt, rt}, func(c *Context, a []Value) (Value, error) {
			return Bool(rangesEqual(a[0], a[1])), nil
		})
		m.SetFn("!=", []Type{rt, rt}, func(c *Context, a []Value) (Value, error) {
			return Bool(!rangesEqual(a[0], a[1])), nil
		})
	}
}

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
