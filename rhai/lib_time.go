package rhai

import (
	"math"
	"time"

	"github.com/picloud/picloud/rhai/syntax"
)

// stdTime registers timestamps (BasicTimePackage): timestamp(), elapsed, and
// the arithmetic and comparison operators on timestamps.
func stdTime(m *Module) {
	T := TypeTimestamp
	I := TypeInt
	F := TypeFloat

	m.SetFn("timestamp", nil, func(c *Context, a []Value) (Value, error) {
		return NewTimestamp(time.Now()), nil
	})
	elapsed := func(c *Context, a []Value) (Value, error) {
		return Float(time.Since(a[0].AsTimestamp()).Seconds()), nil
	}
	m.SetFn("elapsed", []Type{T}, elapsed)
	m.SetFn("get$elapsed", []Type{T}, elapsed)

	m.SetFn("-", []Type{T, T}, func(c *Context, a []Value) (Value, error) {
		return Float(a[0].AsTimestamp().Sub(a[1].AsTimestamp()).Seconds()), nil
	})

	for _, nt := range []Type{I, F} {
		add := func(c *Context, a []Value) (Value, error) {
			t, err := shiftTimestamp(a[0].AsTimestamp(), a[1], 1)
			if err != nil {
				return Unit, err
			}
			return NewTimestamp(t), nil
		}
		sub := func(c *Context, a []Value) (Value, error) {
			t, err := shiftTimestamp(a[0].AsTimestamp(), a[1], -1)
			if err != nil {
				return Unit, err
			}
			return NewTimestamp(t), nil
		}
		m.SetFn("+", []Type{T, nt}, add)
		m.SetFn("-", []Type{T, nt}, sub)
		m.SetMutFn("+=", []Type{T, nt}, func(c *Context, a []Value) (Value, error) {
			v, err := add(c, a)
			if err == nil {
				a[0] = v
			}
			return Unit, err
		})
		m.SetMutFn("-=", []Type{T, nt}, func(c *Context, a []Value) (Value, error) {
			v, err := sub(c, a)
			if err == nil {
				a[0] = v
			}
			return Unit, err
		})
	}

	cmp := func(op syntax.Token) NativeFunc {
		return func(c *Context, a []Value) (Value, error) {
			x, y := a[0].AsTimestamp(), a[1].AsTimestamp()
			var r bool
			switch op {
			case syntax.EqEq:
				r = x.Equal(y)
			case syntax.NotEq:
				r = !x.Equal(y)
			case syntax.Lt:
				r = x.Before(y)
			case syntax.Le:
				r = !x.After(y)
			case syntax.Gt:
				r = x.After(y)
			case syntax.Ge:
				r = !x.Before(y)
			}
			return Bool(r), nil
		}
	}
	for _, op := range []syntax.Token{syntax.EqEq, syntax.NotEq, syntax.Lt, syntax.Le, syntax.Gt, syntax.Ge} {
		m.SetFn(op.String(), []Type{T, T}, cmp(op))
	}
}

// shiftTimestamp adds sign × seconds (an i64 or f64) to t.
func shiftTimestamp(t time.Time, secs Value, sign float64) (time.Time, error) {
	var s float64
	if secs.t == TypeInt {
		s = float64(secs.AsInt())
	} else {
		s = secs.AsFloat()
	}
	s *= sign
	if math.IsNaN(s) || math.IsInf(s, 0) || math.Abs(s) > 9e9 {
		op := "add"
		if sign < 0 {
			op = "subtract"
		}
		return t, NewError(ErrArithmetic, "Integer overflow for timestamp %s: %v", op, s)
	}
	return t.Add(time.Duration(s * float64(time.Second))), nil
}
