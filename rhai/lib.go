package rhai

import "strings"

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
//
// Every engine made by New registers the whole standard library (about 450
// overloads), and `picloud rhai run` makes one engine per process, so this is
// start-up time: it builds what one SetFn/SetMutFn call per entry would, with
// a few allocations per table instead of two or three per entry (the
// overloads in one block, the get$ names in one string, the per-name lists in
// one block). TestRegisterLibAsSetFn checks it against SetFn/SetMutFn.
func registerLib(m *Module, fns []libFn) {
	n, propBytes := len(fns), 0
	for i := range fns {
		if fns[i].prop {
			n++
			propBytes += len("get$") + len(fns[i].name)
		}
	}
	var props strings.Builder
	props.Grow(propBytes)
	for i := range fns {
		if fns[i].prop {
			props.WriteString("get$")
			props.WriteString(fns[i].name)
		}
	}
	propNames := props.String()

	// The overloads in the order SetFn/SetMutFn would register them: each
	// entry, then its property getter.
	pool := make([]nativeFn, 0, n)
	for i := range fns {
		f := &fns[i]
		var flags FnFlags
		if f.mut {
			flags = Mut
		}
		pool = append(pool, nativeFn{name: f.name, params: f.params, fn: f.fn, flags: flags})
		if f.prop {
			name := propNames[:len("get$")+len(f.name)]
			propNames = propNames[len(name):]
			pool = append(pool, nativeFn{name: name, params: f.params, fn: f.fn})
		}
	}

	// Add them run by run: a run is consecutive overloads of one name, whose
	// list is copied once to the end of one shared block and grown there
	// (what set leaves in a name's list depends on that name's overloads
	// alone, in order). Tables list a name's overloads together, so most
	// names take one run; a name met again (a property getter between its
	// overloads) starts a new run from the list the last one left.
	var lists []*nativeFn
	for i := 0; i < n; {
		name := pool[i].name
		j := i + 1
		for j < n && pool[j].name == name {
			j++
		}
		old := m.fns[name]
		if need := len(old) + j - i; cap(lists)-len(lists) < need {
			lists = make([]*nativeFn, 0, max(need, 2*(n-i)))
		}
		start := len(lists)
		lists = append(lists, old...)
		for k := i; k < j; k++ {
			lists = insertOverload(lists, start, &pool[k])
		}
		m.fns[name] = lists[start:len(lists):len(lists)] // full: a later set copies
		i = j
	}
}

// insertOverload adds f to the list lists[start:] (the end of lists) as
// Module.set adds an overload to a name's list: in place of one with the
// same parameter types, else last when it takes TypeAny, else first (more
// specific overloads first, so TypeAny ones only catch what is left).
// lists has room for f (registerLib sized it).
func insertOverload(lists []*nativeFn, start int, f *nativeFn) []*nativeFn {
	list := lists[start:]
	for i, g := range list {
		if sameParams(g.params, f.params) {
			list[i] = f
			return lists
		}
	}
	lists = append(lists, f)
	if !hasAny(f.params) {
		list = lists[start:]
		copy(list[1:], list[:len(list)-1])
		list[0] = f
	}
	return lists
}
