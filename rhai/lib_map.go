package rhai

// stdMap registers Rhai's object map functions (BasicMapPackage). Maps have no
// property getters: `m.len` is a missing property, only the methods exist.
func stdMap(m *Module) {
	M := TypeMap
	S := TypeString
	X := TypeAny

	m.SetFn("len", []Type{M}, func(c *Context, a []Value) (Value, error) {
		return Int(int64(len(a[0].AsMap().M))), nil
	})
	m.SetFn("is_empty", []Type{M}, func(c *Context, a []Value) (Value, error) {
		return Bool(len(a[0].AsMap().M) == 0), nil
	})
	m.SetFn("contains", []Type{M, S}, func(c *Context, a []Value) (Value, error) {
		_, ok := a[0].AsMap().M[a[1].AsString()]
		return Bool(ok), nil
	})
	m.SetFn("contains", []Type{M, TypeChar}, func(c *Context, a []Value) (Value, error) {
		_, ok := a[0].AsMap().M[string(a[1].AsChar())]
		return Bool(ok), nil
	})
	m.SetFn("get", []Type{M, S}, func(c *Context, a []Value) (Value, error) {
		return c.clone(a[0].AsMap().M[a[1].AsString()]), nil
	})
	m.SetMutFn("set", []Type{M, S, X}, func(c *Context, a []Value) (Value, error) {
		mp := a[0].AsMap()
		k := a[1].AsString()
		if _, ok := mp.M[k]; !ok {
			if err := collCheckMap(c, len(mp.M)+1); err != nil {
				return Unit, err
			}
		}
		mp.M[k] = c.clone(a[2])
		return Unit, nil
	})
	m.SetMutFn("remove", []Type{M, S}, func(c *Context, a []Value) (Value, error) {
		mp := a[0].AsMap()
		k := a[1].AsString()
		v, ok := mp.M[k]
		if !ok {
			return Unit, nil
		}
		delete(mp.M, k)
		return v, nil
	})
	m.SetMutFn("clear", []Type{M}, func(c *Context, a []Value) (Value, error) {
		clear(a[0].AsMap().M)
		return Unit, nil
	})

	mixin := func(c *Context, a []Value) (Value, error) {
		dst, src := a[0].AsMap(), a[1].AsMap()
		if dst == src {
			return Unit, nil
		}
		if err := charge(c, len(src.M)); err != nil {
			return Unit, err
		}
		if err := collCheckMap(c, mergedLen(dst, src)); err != nil {
			return Unit, err
		}
		for k, v := range src.M {
			dst.M[k] = c.clone(v)
		}
		return Unit, nil
	}
	m.SetMutFn("mixin", []Type{M, M}, mixin)
	m.SetMutFn("+=", []Type{M, M}, mixin)
	m.SetFn("+", []Type{M, M}, func(c *Context, a []Value) (Value, error) {
		x, y := a[0].AsMap(), a[1].AsMap()
		if err := charge(c, len(x.M)+len(y.M)); err != nil {
			return Unit, err
		}
		if err := collCheckMap(c, mergedLen(x, y)); err != nil {
			return Unit, err
		}
		out := make(map[string]Value, len(x.M)+len(y.M))
		for k, v := range x.M {
			out[k] = c.clone(v)
		}
		for k, v := range y.M {
			out[k] = c.clone(v)
		}
		return NewMap(out), nil
	})
	m.SetMutFn("fill_with", []Type{M, M}, func(c *Context, a []Value) (Value, error) {
		dst, src := a[0].AsMap(), a[1].AsMap()
		if dst == src {
			return Unit, nil
		}
		if err := charge(c, len(src.M)); err != nil {
			return Unit, err
		}
		if err := collCheckMap(c, mergedLen(dst, src)); err != nil {
			return Unit, err
		}
		for k, v := range src.M {
			if _, ok := dst.M[k]; !ok {
				dst.M[k] = c.clone(v)
			}
		}
		return Unit, nil
	})

	m.SetFn("==", []Type{M, M}, func(c *Context, a []Value) (Value, error) {
		eq, err := mapsEqual(c, a[0].AsMap(), a[1].AsMap())
		return Bool(eq), err
	})
	m.SetFn("!=", []Type{M, M}, func(c *Context, a []Value) (Value, error) {
		eq, err := mapsEqual(c, a[0].AsMap(), a[1].AsMap())
		return Bool(!eq), err
	})

	m.SetFn("keys", []Type{M}, func(c *Context, a []Value) (Value, error) {
		if err := mapListCheck(c, a[0].AsMap()); err != nil {
			return Unit, err
		}
		keys := sortedKeys(c, a[0].AsMap())
		out := make([]Value, len(keys))
		for i, k := range keys {
			out[i] = String(k)
		}
		return NewArray(out), nil
	})
	m.SetFn("values", []Type{M}, func(c *Context, a []Value) (Value, error) {
		mp := a[0].AsMap()
		if err := mapListCheck(c, mp); err != nil {
			return Unit, err
		}
		keys := sortedKeys(c, mp)
		out := make([]Value, len(keys))
		for i, k := range keys {
			out[i] = c.clone(mp.M[k])
		}
		return NewArray(out), nil
	})

	for _, ft := range []Type{TypeFnPtr, TypeString} {
		m.SetFn("filter", []Type{M, ft}, func(c *Context, a []Value) (Value, error) {
			mp := a[0].AsMap()
			out := make(map[string]Value)
			for _, k := range sortedKeys(c, mp) {
				ok, err := callMapPredicate(c, "filter", a[1], k, mp.M[k])
				if err != nil {
					return Unit, err
				}
				if ok {
					out[k] = c.clone(mp.M[k])
				}
			}
			return NewMap(out), nil
		})
		m.SetMutFn("drain", []Type{M, ft}, func(c *Context, a []Value) (Value, error) {
			return mapPartition(c, "drain", a[0].AsMap(), a[1], true)
		})
		m.SetMutFn("retain", []Type{M, ft}, func(c *Context, a []Value) (Value, error) {
			return mapPartition(c, "retain", a[0].AsMap(), a[1], false)
		})
	}

	m.SetFn("to_json", []Type{M}, func(c *Context, a []Value) (Value, error) {
		s, err := rhaiJSONChecked(c, a[0])
		return String(s), err
	})
}

// mapListCheck checks that the keys or values of mp fit in an array and
// charges for listing them in key order.
func mapListCheck(c *Context, mp *Map) error {
	if err := collCheckArray(c, len(mp.M)); err != nil {
		return err
	}
	if c != nil && !c.th.fits(len(mp.M)*valueBytes) {
		return errMemory()
	}
	return nil
}

// sortedKeys is mp's keys in iteration order, the sort charged as it goes
// inside an evaluation.
func sortedKeys(c *Context, mp *Map) []string {
	if c == nil || c.th == nil {
		return mp.SortedKeys()
	}
	return c.th.sortedKeys(mp)
}

// collCheckMap is CheckMapSize made safe for a Context without an evaluation.
func collCheckMap(c *Context, n int) error {
	if c == nil || c.th == nil {
		return nil
	}
	return c.CheckMapSize(n)
}

// mergedLen is the number of entries x would have after merging y into it.
func mergedLen(x, y *Map) int {
	n := len(x.M)
	for k := range y.M {
		if _, ok := x.M[k]; !ok {
			n++
		}
	}
	return n
}

// callMapPredicate calls fp(key, value) and reports whether it returned true.
func callMapPredicate(c *Context, name string, fp Value, k string, v Value) (bool, error) {
	fp = fnArg(fp)
	r, err := c.Call(fp, String(k), v)
	if err != nil {
		return false, wrapCallbackErr(c, name, err, fp)
	}
	return r.t == TypeBool && r.AsBool(), nil
}

// mapPartition removes the entries for which the predicate is true (drain) or
// not true (retain) and returns them as a map.
func mapPartition(c *Context, name string, mp *Map, fp Value, removeMatching bool) (Value, error) {
	out := make(map[string]Value)
	for _, k := range sortedKeys(c, mp) {
		ok, err := callMapPredicate(c, name, fp, k, mp.M[k])
		if err != nil {
			return Unit, err
		}
		if ok == removeMatching {
			out[k] = mp.M[k]
			delete(mp.M, k)
		}
	}
	return NewMap(out), nil
}

// mapsEqual compares two maps: same keys, values equal with ==.
func mapsEqual(c *Context, x, y *Map) (bool, error) { return mapsEqualD(c, x, y, 0) }

func mapsEqualD(c *Context, x, y *Map, depth int) (bool, error) {
	if depth >= maxDataDepth {
		return false, fmtTooDeep()
	}
	if len(x.M) != len(y.M) {
		return false, nil
	}
	if err := charge(c, len(x.M)); err != nil {
		return false, err
	}
	for k, v := range x.M {
		w, ok := y.M[k]
		if !ok {
			return false, nil
		}
		eq, err := valuesEqualD(c, v, w, depth+1)
		if err != nil || !eq {
			return false, err
		}
	}
	return true, nil
}
