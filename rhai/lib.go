package rhai

// The standard library is registered from tables: each entry names a Rhai
// function, its parameter types and the Go function that implements it. The
// implementations are named, documented Go functions (absInt, padArray), not
// closures inside a registration function, so that a profile names the Rhai
// function that was running and each one can be read, tested and documented
// on its own.

// libFn is one overload of a standard-library function.
type libFn struct {
	// name is the Rhai name ("abs", "get$len" for a property getter written
	// by hand; see prop).
	name string
	// params are the parameter types; the first is the receiver of a method
	// call (x.abs() is abs(x)).
	params []Type
	fn     NativeFunc
	// mut: the function changes its first argument in place (SetMutFn).
	mut bool
	// prop: also registered as the property getter get$name, so that x.name
	// reads it (x.len, x.is_zero).
	prop bool
}

// registerLib registers every entry of fns on m, in order (a later entry with
// the same name and parameter types replaces an earlier one, as SetFn does).
func registerLib(m *Module, fns []libFn) {
	for i := range fns {
		f := &fns[i]
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
