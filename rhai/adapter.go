package rhai

import (
	"errors"
	"fmt"
	"reflect"
)

// RegisterFunc registers an ordinary Go function, converting arguments and
// results by reflection: the convenient way to expose a few host functions.
// (Module.SetFn with a NativeFunc is the fast path, with no reflection.)
//
// Parameters may be int, int64, float64, bool, string, rune (a Rhai char),
// []byte (a BLOB), Value, or *Context as the first parameter. The function
// returns nothing, one value (converted with FromGo), or one value and an error.
func (e *Engine) RegisterFunc(name string, fn any) error {
	f, params, err := adapt(fn)
	if err != nil {
		return fmt.Errorf("rhai: RegisterFunc %s: %w", name, err)
	}
	e.globals[0].SetFn(name, params, f)
	return nil
}

var (
	typeValue   = reflect.TypeOf(Value{})
	typeContext = reflect.TypeOf(&Context{})
	typeError   = reflect.TypeOf((*error)(nil)).Elem()
	typeBytes   = reflect.TypeOf([]byte(nil))
)

func adapt(fn any) (NativeFunc, []Type, error) {
	fv := reflect.ValueOf(fn)
	ft := fv.Type()
	if ft.Kind() != reflect.Func || ft.IsVariadic() {
		return nil, nil, errors.New("not a non-variadic function")
	}
	wantsCtx := ft.NumIn() > 0 && ft.In(0) == typeContext
	first := 0
	if wantsCtx {
		first = 1
	}
	var params []Type
	var convs []func(Value) reflect.Value
	for i := first; i < ft.NumIn(); i++ {
		t, conv, err := paramConv(ft.In(i))
		if err != nil {
			return nil, nil, fmt.Errorf("parameter %d: %w", i, err)
		}
		params = append(params, t)
		convs = append(convs, conv)
	}
	switch {
	case ft.NumOut() > 2,
		ft.NumOut() == 2 && ft.Out(1) != typeError:
		return nil, nil, errors.New("results must be (), (T) or (T, error)")
	}
	f := func(c *Context, args []Value) (Value, error) {
		in := make([]reflect.Value, 0, ft.NumIn())
		if wantsCtx {
			in = append(in, reflect.ValueOf(c))
		}
		for i, a := range args {
			in = append(in, convs[i](a))
		}
		out := fv.Call(in)
		if len(out) == 2 && !out[1].IsNil() {
			return Unit, out[1].Interface().(error)
		}
		if len(out) == 0 || (len(out) == 1 && ft.Out(0) == typeError) {
			if len(out) == 1 && !out[0].IsNil() {
				return Unit, out[0].Interface().(error)
			}
			return Unit, nil
		}
		if v, ok := out[0].Interface().(Value); ok {
			return v, nil
		}
		return FromGo(out[0].Interface())
	}
	return f, params, nil
}

func paramConv(t reflect.Type) (Type, func(Value) reflect.Value, error) {
	switch {
	case t == typeValue:
		return TypeAny, func(v Value) reflect.Value { return reflect.ValueOf(v) }, nil
	case t == typeBytes:
		return TypeBlob, func(v Value) reflect.Value { return reflect.ValueOf(v.AsBlob().B) }, nil
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return TypeInt, func(v Value) reflect.Value { return reflect.ValueOf(v.AsInt()).Convert(t) }, nil
	case reflect.Int32: // rune
		return TypeChar, func(v Value) reflect.Value { return reflect.ValueOf(v.AsChar()).Convert(t) }, nil
	case reflect.Float64:
		return TypeFloat, func(v Value) reflect.Value { return reflect.ValueOf(v.AsFloat()) }, nil
	case reflect.Bool:
		return TypeBool, func(v Value) reflect.Value { return reflect.ValueOf(v.AsBool()) }, nil
	case reflect.String:
		return TypeString, func(v Value) reflect.Value { return reflect.ValueOf(v.AsString()).Convert(t) }, nil
	}
	return 0, nil, fmt.Errorf("unsupported type %s", t)
}
