package rhai

import (
	"context"

	"github.com/picloud/picloud/rhai/syntax"
)

// TypeAny in a native function's parameter list matches a value of any type.
const TypeAny Type = 255

// NativeFunc is a Go function callable from scripts. args are borrowed: a
// function that keeps an argument inside a collection it returns or mutates must
// store a copy (c.clone(arg) inside this package, arg.Clone() elsewhere), because
// arrays, maps and BLOBs are values in Rhai. A
// returned error is normally an *Error made with NewError; the engine adds the
// position of the call.
type NativeFunc func(c *Context, args []Value) (Value, error)

// FnFlags modify how a native function is called.
type FnFlags uint8

const (
	// Mut marks a method that changes its first argument in place (push, append,
	// trim, clear): the engine writes args[0] back to the variable or element the
	// method was called on, and refuses the call on a constant
	// (ErrorNonPureMethodCallOnConstant).
	Mut FnFlags = 1 << iota
)

// nativeFn is one overload of a native function.
type nativeFn struct {
	name   string
	params []Type
	fn     NativeFunc
	flags  FnFlags
}

func (f *nativeFn) matches(args []Value) bool {
	if len(args) != len(f.params) {
		return false
	}
	for i, p := range f.params {
		if p != TypeAny && p != args[i].t {
			return false
		}
	}
	return true
}

// Module is a set of native functions and constants. The standard library is a
// Module registered globally; the platform's host modules (log::...) are Modules
// registered under a name and called as name::fn(...). Properties are functions
// named "get$prop" / "set$prop"; custom indexers "index$get" / "index$set".
//
// A Module is filled before it is registered with an Engine and must not change
// afterwards.
type Module struct {
	fns  map[string][]*nativeFn
	vars map[string]Value
	subs map[string]*Module
}

// NewModule makes an empty module.
func NewModule() *Module {
	return &Module{fns: make(map[string][]*nativeFn), vars: make(map[string]Value)}
}

// SetFn registers fn as name(params...). Registering the same name and parameter
// types again replaces the earlier overload.
func (m *Module) SetFn(name string, params []Type, fn NativeFunc) {
	m.set(&nativeFn{name: name, params: params, fn: fn})
}

// SetMutFn registers a method that changes its first argument (see Mut).
func (m *Module) SetMutFn(name string, params []Type, fn NativeFunc) {
	m.set(&nativeFn{name: name, params: params, fn: fn, flags: Mut})
}

func (m *Module) set(f *nativeFn) {
	list := m.fns[f.name]
	for i, g := range list {
		if sameParams(g.params, f.params) {
			list[i] = f
			return
		}
	}
	// More specific overloads first, so TypeAny ones only catch what is left.
	if hasAny(f.params) {
		m.fns[f.name] = append(list, f)
	} else {
		m.fns[f.name] = append([]*nativeFn{f}, list...)
	}
}

func sameParams(a, b []Type) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func hasAny(ps []Type) bool {
	for _, p := range ps {
		if p == TypeAny {
			return true
		}
	}
	return false
}

// SetVar sets a constant that scripts read as module::name. Rhai exposes
// module variables only through a namespace: a variable of a module
// registered globally is not a free variable of scripts.
func (m *Module) SetVar(name string, v Value) { m.vars[name] = v }

// SetSubModule nests sub under m as m::name::...
func (m *Module) SetSubModule(name string, sub *Module) {
	if m.subs == nil {
		m.subs = make(map[string]*Module)
	}
	m.subs[name] = sub
}

// lookup finds the overload of name matching args, or nil.
func (m *Module) lookup(name string, args []Value) *nativeFn {
	for _, f := range m.fns[name] {
		if f.matches(args) {
			return f
		}
	}
	return nil
}

// Context is what a native function gets to talk to the evaluation that called
// it: call back into script functions, account for long work, and reach the
// evaluation's context.Context.
type Context struct {
	th    *thread
	pos   syntax.Pos
	owned uint32 // bit i: args[i] is a temporary the native may keep as is
}

// Context returns the evaluation's context.Context.
func (c *Context) Context() context.Context { return c.th.ctx }

// Engine returns the engine running the script.
func (c *Context) Engine() *Engine { return c.th.eng }

// Position is the position of the call in the script.
func (c *Context) Position() syntax.Pos { return c.pos }

// Call calls a function pointer (a named function, an anonymous function or a
// closure) with args, as script code calling fp.call(args...) would.
func (c *Context) Call(fp Value, args ...Value) (Value, error) {
	return c.th.callFnPtrSafe(fp, args, c.pos)
}

// Tick accounts for n operations of work done by a long native (sorting, padding,
// copying) and reports ErrorTooManyOperations or ErrorTerminated when a limit is
// hit, so that no single call can outlive the script's budget.
func (c *Context) Tick(n int) error { return c.th.tick(n) }

// Print sends s to the engine's print hook, as print(s) in a script would.
func (c *Context) Print(s string) { c.th.print(s) }

// CheckStringSize reports ErrorDataTooLarge when a string of n bytes would exceed
// the engine's string limit. Natives that grow strings call it before they
// allocate.
func (c *Context) CheckStringSize(n int) error { return c.th.checkSize(sizeString, n) }

// CheckArraySize is CheckStringSize for arrays (n elements) and BLOBs (n bytes).
func (c *Context) CheckArraySize(n int) error { return c.th.checkSize(sizeArray, n) }

// CheckMapSize is CheckStringSize for maps (n entries).
func (c *Context) CheckMapSize(n int) error { return c.th.checkSize(sizeMap, n) }
