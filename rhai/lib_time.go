package rhai

import (
	"math"
	"time"
)

// stdTime registers timestamps (BasicTimePackage): timestamp(), elapsed, and
// the arithmetic and comparison operators on timestamps.
func stdTime(m *Module) { registerLib(m, timeFns) }

// timeFns is the table stdTime registers, in order (see registerLib).
var timeFns = []libFn{
	{name: "timestamp", fn: timestampNow},
	{name: "elapsed", params: []Type{TypeTimestamp}, fn: timestampElapsed, prop: true},
	{name: "-", params: []Type{TypeTimestamp, TypeTimestamp}, fn: timestampDiff},

	// Shifting by a number of seconds, i64 then f64.
	{name: "+", params: []Type{TypeTimestamp, TypeInt}, fn: timestampAdd},
	{name: "-", params: []Type{TypeTimestamp, TypeInt}, fn: timestampSub},
	{name: "+=", params: []Type{TypeTimestamp, TypeInt}, fn: timestampAddAssign, mut: true},
	{name: "-=", params: []Type{TypeTimestamp, TypeInt}, fn: timestampSubAssign, mut: true},
	{name: "+", params: []Type{TypeTimestamp, TypeFloat}, fn: timestampAdd},
	{name: "-", params: []Type{TypeTimestamp, TypeFloat}, fn: timestampSub},
	{name: "+=", params: []Type{TypeTimestamp, TypeFloat}, fn: timestampAddAssign, mut: true},
	{name: "-=", params: []Type{TypeTimestamp, TypeFloat}, fn: timestampSubAssign, mut: true},

	// Comparison.
	{name: "==", params: []Type{TypeTimestamp, TypeTimestamp}, fn: timestampEq},
	{name: "!=", params: []Type{TypeTimestamp, TypeTimestamp}, fn: timestampNe},
	{name: "<", params: []Type{TypeTimestamp, TypeTimestamp}, fn: timestampLt},
	{name: "<=", params: []Type{TypeTimestamp, TypeTimestamp}, fn: timestampLe},
	{name: ">", params: []Type{TypeTimestamp, TypeTimestamp}, fn: timestampGt},
	{name: ">=", params: []Type{TypeTimestamp, TypeTimestamp}, fn: timestampGe},
}

// timestampNow is timestamp(): the current time.
func timestampNow(c *Context, a []Value) (Value, error) { return NewTimestamp(time.Now()), nil }

// timestampElapsed is elapsed(timestamp), also the property t.elapsed: the
// seconds since t, as an f64.
func timestampElapsed(c *Context, a []Value) (Value, error) {
	return Float(time.Since(a[0].AsTimestamp()).Seconds()), nil
}

// timestampDiff is timestamp - timestamp: the seconds between them, as an
// f64.
func timestampDiff(c *Context, a []Value) (Value, error) {
	return Float(a[0].AsTimestamp().Sub(a[1].AsTimestamp()).Seconds()), nil
}

// timestampAdd is timestamp + seconds (i64 or f64).
func timestampAdd(c *Context, a []Value) (Value, error) {
	t, err := shiftTimestamp(a[0].AsTimestamp(), a[1], 1)
	if err != nil {
		return Unit, err
	}
	return NewTimestamp(t), nil
}

// timestampSub is timestamp - seconds (i64 or f64).
func timestampSub(c *Context, a []Value) (Value, error) {
	t, err := shiftTimestamp(a[0].AsTimestamp(), a[1], -1)
	if err != nil {
		return Unit, err
	}
	return NewTimestamp(t), nil
}

// timestampAddAssign is timestamp += seconds (i64 or f64), in place; on an
// error the timestamp is unchanged.
func timestampAddAssign(c *Context, a []Value) (Value, error) {
	v, err := timestampAdd(c, a)
	if err == nil {
		a[0] = v
	}
	return Unit, err
}

// timestampSubAssign is timestamp -= seconds (i64 or f64), in place; on an
// error the timestamp is unchanged.
func timestampSubAssign(c *Context, a []Value) (Value, error) {
	v, err := timestampSub(c, a)
	if err == nil {
		a[0] = v
	}
	return Unit, err
}

// timestampEq is timestamp == timestamp.
func timestampEq(c *Context, a []Value) (Value, error) {
	return Bool(a[0].AsTimestamp().Equal(a[1].AsTimestamp())), nil
}

// timestampNe is timestamp != timestamp.
func timestampNe(c *Context, a []Value) (Value, error) {
	return Bool(!a[0].AsTimestamp().Equal(a[1].AsTimestamp())), nil
}

// timestampLt is timestamp < timestamp.
func timestampLt(c *Context, a []Value) (Value, error) {
	return Bool(a[0].AsTimestamp().Before(a[1].AsTimestamp())), nil
}

// timestampLe is timestamp <= timestamp.
func timestampLe(c *Context, a []Value) (Value, error) {
	return Bool(!a[0].AsTimestamp().After(a[1].AsTimestamp())), nil
}

// timestampGt is timestamp > timestamp.
func timestampGt(c *Context, a []Value) (Value, error) {
	return Bool(a[0].AsTimestamp().After(a[1].AsTimestamp())), nil
}

// timestampGe is timestamp >= timestamp.
func timestampGe(c *Context, a []Value) (Value, error) {
	return Bool(!a[0].AsTimestamp().Before(a[1].AsTimestamp())), nil
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
