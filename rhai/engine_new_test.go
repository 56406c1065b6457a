package rhai

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// BenchmarkNew is what every engine costs to make: the standard library's
// function tables built into the engine's maps. `picloud rhai run` makes one
// per process, so its allocations are start-up time (docs/performance.md,
// "Start-up").
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		New()
	}
}

// registerBySet is registerLib as one SetFn/SetMutFn call per entry: what
// registerLib must leave in the module.
func registerBySet(m *Module, fns []libFn) {
	for _, f := range fns {
		if f.mut {
			m.SetMutFn(f.name, f.params, f.fn)
		} else {
			m.SetFn(f.name, f.params, f.fn)
		}
		if f.prop {
			m.SetFn("get$"+f.name, f.params, f.fn)
		}
	}
}

// sameFns reports the first difference between two modules' function
// lists: names, and per name the overloads in order (parameters, flags and
// the Go function).
func sameFns(got, want *Module) error {
	if len(got.fns) != len(want.fns) {
		return fmt.Errorf("%d names, want %d", len(got.fns), len(want.fns))
	}
	for name, wl := range want.fns {
		gl, ok := got.fns[name]
		if !ok {
			return fmt.Errorf("%s missing", name)
		}
		if len(gl) != len(wl) {
			return fmt.Errorf("%s: %d overloads, want %d", name, len(gl), len(wl))
		}
		for i := range wl {
			g, w := gl[i], wl[i]
			if g.name != w.name || !slices.Equal(g.params, w.params) || g.flags != w.flags ||
				reflect.ValueOf(g.fn).Pointer() != reflect.ValueOf(w.fn).Pointer() {
				return fmt.Errorf("%s overload %d: %s%v flags %d, want %s%v flags %d", name, i, g.name, g.params, g.flags, w.name, w.params, w.flags)
			}
		}
	}
	return nil
}

func libTestFn(tag int64) NativeFunc {
	switch tag {
	case 1:
		return func(*Context, []Value) (Value, error) { return Int(1), nil }
	case 2:
		return func(*Context, []Value) (Value, error) { return Int(2), nil }
	default:
		return func(*Context, []Value) (Value, error) { return Int(3), nil }
	}
}

// TestRegisterLibAsSetFn: registerLib, which builds a table's overloads in
// a few blocks, leaves exactly what one SetFn/SetMutFn per entry would: the
// same overloads per name in the same order (specific ones first, newest
// first; TypeAny ones after, in registration order; a repeated signature
// replacing the earlier one in place), with names already in the module.
func TestRegisterLibAsSetFn(t *testing.T) {
	f1, f2, f3 := libTestFn(1), libTestFn(2), libTestFn(3)
	table := []libFn{
		{name: "b", params: []Type{TypeInt}, fn: f1, prop: true},
		{name: "a", params: []Type{TypeAny}, fn: f1},
		{name: "a", params: []Type{TypeInt}, fn: f1, mut: true},
		{name: "a", params: []Type{TypeString}, fn: f2},
		{name: "a", params: []Type{TypeAny, TypeInt}, fn: f2},
		{name: "a", params: []Type{TypeInt}, fn: f3}, // replaces a(INT) in place, not Mut
		{name: "get$b", params: []Type{TypeFloat}, fn: f2},
		{name: "c", params: []Type{TypeInt, TypeAny}, fn: f3, prop: true},
		{name: "a", params: []Type{TypeAny}, fn: f3}, // replaces the first a(?)
		{name: "pre", params: []Type{TypeInt}, fn: f2},
	}
	setup := func() *Module {
		m := NewModule()
		m.SetFn("pre", []Type{TypeAny}, f1)
		m.SetFn("pre", []Type{TypeFloat}, f1)
		m.SetMutFn("a", []Type{TypeBool}, f3)
		return m
	}
	got, want := setup(), setup()
	registerLib(got, table)
	registerBySet(want, table)
	if err := sameFns(got, want); err != nil {
		t.Fatal(err)
	}
	// Each name's list is full: registering more on one name must not
	// write into its neighbour's (they share one block).
	got.SetFn("a", []Type{TypeAny, TypeAny}, f1)
	got.SetFn("b", []Type{TypeAny, TypeAny}, f1)
	want.SetFn("a", []Type{TypeAny, TypeAny}, f1)
	want.SetFn("b", []Type{TypeAny, TypeAny}, f1)
	if err := sameFns(got, want); err != nil {
		t.Fatal("after SetFn:", err)
	}
}

// TestNewAsSetFn: New's standard library is what registering its tables
// one SetFn at a time gives. A table added to stdLibs must be added here.
func TestNewAsSetFn(t *testing.T) {
	want := NewModule()
	for _, fns := range [][]libFn{mathFns, scanChargedLib(stringFns), arrayFns(), mapFns, blobFns, rangeFns, timeFns, jsonFns, coreFns} {
		registerBySet(want, fns)
	}
	if err := sameFns(New().global, want); err != nil {
		t.Fatal(err)
	}
}

// TestStdNames keeps stdNames, the room New makes in its map, above the
// standard library's number of names.
func TestStdNames(t *testing.T) {
	if n := len(New().global.fns); n > stdNames {
		t.Fatalf("the standard library has %d names, stdNames is %d: raise it", n, stdNames)
	}
}
