package rhai

import "math"

// stdCore registers the core functions that belong to no area: type_of, a
// value's tag, is_shared and a function pointer's name and is_anonymous.
func stdCore(m *Module) { registerLib(m, coreFns) }

// coreFns is the table stdCore registers.
var coreFns = []libFn{
	{name: "type_of", params: []Type{TypeAny}, fn: typeOf},

	// Tags: every value carries a 32-bit tag (x.tag, x.tag = 3, x.set_tag(3)).
	{name: "get$tag", params: []Type{TypeAny}, fn: getTag},
	{name: "tag", params: []Type{TypeAny}, fn: getTag},
	{name: "set$tag", params: []Type{TypeAny, TypeInt}, fn: setTag, mut: true},
	{name: "set_tag", params: []Type{TypeAny, TypeInt}, fn: setTag, mut: true},

	{name: "is_shared", params: []Type{TypeAny}, fn: isShared},

	// Function pointers (also properties: f.name, f.is_anonymous).
	{name: "name", params: []Type{TypeFnPtr}, fn: fnPtrName, prop: true},
	{name: "is_anonymous", params: []Type{TypeFnPtr}, fn: fnPtrIsAnonymous, prop: true},
}

// typeOf is type_of(any): the name of the value's type ("i64", "map").
func typeOf(c *Context, a []Value) (Value, error) {
	return String(a[0].TypeName()), nil
}

// getTag is tag(any) and the property x.tag: the value's tag.
func getTag(c *Context, a []Value) (Value, error) { return Int(int64(a[0].tag)), nil }

// setTag is set_tag(any, i64) and the property setter x.tag = n; a tag
// outside the i32 range is ErrorArithmetic.
func setTag(c *Context, a []Value) (Value, error) {
	n := a[1].AsInt()
	if n < math.MinInt32 || n > math.MaxInt32 {
		return Unit, NewError(ErrArithmetic, "%d is too large to fit into a tag (must be between %d and %d)", n, math.MinInt32, math.MaxInt32)
	}
	a[0].tag = int32(n)
	return Unit, nil
}

// isShared is is_shared(any): false for every value in this engine.
func isShared(c *Context, a []Value) (Value, error) { return Bool(false), nil }

// fnPtrName is name(Fn) and the property f.name: the function's name.
func fnPtrName(c *Context, a []Value) (Value, error) {
	return String(a[0].AsFnPtr().Name), nil
}

// fnPtrIsAnonymous is is_anonymous(Fn) and the property f.is_anonymous: true
// for a closure's pointer.
func fnPtrIsAnonymous(c *Context, a []Value) (Value, error) {
	return Bool(a[0].AsFnPtr().IsAnonymous()), nil
}
