package rhai

// stdMap registers Rhai's object map functions (BasicMapPackage). Maps have no
// property getters: `m.len` is a missing property, only the methods exist.
func stdMap(m *Module) { registerLib(m, mapFns) }

// mapFns is the table stdMap registers, in order (see registerLib).
var mapFns = []libFn{
	// Size and keys.
	{name: "len", params: []Type{TypeMap}, fn: mapLen},
	{name: "is_empty", params: []Type{TypeMap}, fn: mapIsEmpty},
	{name: "contains", params: []Type{TypeMap, TypeString}, fn: mapContains},
	{name: "contains", params: []Type{TypeMap, TypeChar}, fn: mapContainsChar},

	// Reading and changing entries.
	{name: "get", params: []Type{TypeMap, TypeString}, fn: mapGet},
	{name: "set", params: []Type{TypeMap, TypeString, TypeAny}, fn: mapSet, mut: true},
	{name: "remove", params: []Type{TypeMap, TypeString}, fn: mapRemove, mut: true},
	{name: "clear", params: []Type{TypeMap}, fn: mapClear, mut: true},

	// Merging.
	{name: "mixin", params: []Type{TypeMap, TypeMap}, fn: mapMixin, mut: true},
	{name: "+=", params: []Type{TypeMap, TypeMap}, fn: mapMixin, mut: true},
	{name: "+", params: []Type{TypeMap, TypeMap}, fn: mapPlus},
	{name: "fill_with", params: []Type{TypeMap, TypeMap}, fn: mapFillWith, mut: true},

	// Comparison.
	{name: "==", params: []Type{TypeMap, TypeMap}, fn: mapEq},
	{name: "!=", params: []Type{TypeMap, TypeMap}, fn: mapNe},

	// Listing, in key order.
	{name: "keys", params: []Type{TypeMap}, fn: mapKeys},
	{name: "values", params: []Type{TypeMap}, fn: mapValues},

	// Predicates: a function pointer, then a function's name.
	{name: "filter", params: []Type{TypeMap, TypeFnPtr}, fn: mapFilter},
	{name: "drain", params: []Type{TypeMap, TypeFnPtr}, fn: mapDrain, mut: true},
	{name: "retain", params: []Type{TypeMap, TypeFnPtr}, fn: mapRetain, mut: true},
	{name: "filter", params: []Type{TypeMap, TypeString}, fn: mapFilter},
	{name: "drain", params: []Type{TypeMap, TypeString}, fn: mapDrain, mut: true},
	{name: "retain", params: []Type{TypeMap, TypeString}, fn: mapRetain, mut: true},

	{name: "to_json", params: []Type{TypeMap}, fn: mapToJSON},
}

// mapLen is len(map): the number of entries.
func mapLen(c *Context, a []Value) (Value, error) {
	return Int(int64(len(a[0].AsMap().M))), nil
}

// mapIsEmpty is is_empty(map).
func mapIsEmpty(c *Context, a []Value) (Value, error) {
	return Bool(len(a[0].AsMap().M) == 0), nil
}

// mapContains is contains(map, key string).
func mapContains(c *Context, a []Value) (Value, error) {
	_, ok := a[0].AsMap().M[a[1].AsString()]
	return Bool(ok), nil
}

// mapContainsChar is contains(map, key char): the one-character key.
func mapContainsChar(c *Context, a []Value) (Value, error) {
	_, ok := a[0].AsMap().M[string(a[1].AsChar())]
	return Bool(ok), nil
}

// mapGet is get(map, key string): a copy of the value, or () when the key is
// missing.
func mapGet(c *Context, a []Value) (Value, error) {
	return c.clone(a[0].AsMap().M[a[1].AsString()]), nil
}

// mapSet is set(map, key string, value): adds or replaces the entry, within
// the map size limit.
func mapSet(c *Context, a []Value) (Value, error) {
	mp := a[0].AsMap()
	k := a[1].AsString()
	if _, ok := mp.M[k]; !ok {
		if err := collCheckMap(c, len(mp.M)+1); err != nil {
			return Unit, err
		}
	}
	mp.M[k] = c.clone(a[2])
	return Unit, nil
}

// mapRemove is remove(map, key string): removes the entry and returns its
// value, or () when the key is missing.
func mapRemove(c *Context, a []Value) (Value, error) {
	mp := a[0].AsMap()
	k := a[1].AsString()
	v, ok := mp.M[k]
	if !ok {
		return Unit, nil
	}
	delete(mp.M, k)
	return v, nil
}

// mapClear is clear(map): removes every entry.
func mapClear(c *Context, a []Value) (Value, error) {
	clear(a[0].AsMap().M)
	return Unit, nil
}

// mapMixin is mixin(map, map) and map += map: copies every entry of the
// second map into the first, replacing those with the same key.
func mapMixin(c *Context, a []Value) (Value, error) {
	return mapMerge(c, a, true)
}

// mapPlus is map + map: a new map with the entries of both, the second's
// winning on equal keys.
func mapPlus(c *Context, a []Value) (Value, error) {
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
}

// mapFillWith is fill_with(map, map): copies the entries of the second map
// whose keys the first lacks.
func mapFillWith(c *Context, a []Value) (Value, error) {
	return mapMerge(c, a, false)
}

// mapMerge copies the entries of the map a[1] into the map a[0], within the
// limits: all of them if replace, else only those whose keys a[0] lacks.
func mapMerge(c *Context, a []Value, replace bool) (Value, error) {
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
		if !replace {
			if _, ok := dst.M[k]; ok {
				continue
			}
		}
		dst.M[k] = c.clone(v)
	}
	return Unit, nil
}

// mapEq is map == map: the same keys, values equal with ==.
func mapEq(c *Context, a []Value) (Value, error) {
	eq, err := mapsEqual(c, a[0].AsMap(), a[1].AsMap())
	return Bool(eq), err
}

// mapNe is map != map.
func mapNe(c *Context, a []Value) (Value, error) {
	eq, err := mapsEqual(c, a[0].AsMap(), a[1].AsMap())
	return Bool(!eq), err
}

// mapKeys is keys(map): the keys as an array of strings, in key order.
func mapKeys(c *Context, a []Value) (Value, error) {
	if err := mapListCheck(c, a[0].AsMap()); err != nil {
		return Unit, err
	}
	keys := sortedKeys(c, a[0].AsMap())
	out := make([]Value, len(keys))
	for i, k := range keys {
		out[i] = String(k)
	}
	return NewArray(out), nil
}

// mapValues is values(map): copies of the values as an array, in key order.
func mapValues(c *Context, a []Value) (Value, error) {
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
}

// mapFilter is filter(map, predicate), the predicate a function pointer or a
// function's name called as f(key, value): a new map of the entries for which
// it returns true, called in key order.
func mapFilter(c *Context, a []Value) (Value, error) {
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
}

// mapDrain is drain(map, predicate): removes the entries for which the
// predicate returns true and returns them as a map.
func mapDrain(c *Context, a []Value) (Value, error) {
	return mapPartition(c, "drain", a[0].AsMap(), a[1], true)
}

// mapRetain is retain(map, predicate): keeps the entries for which the
// predicate returns true and returns the others as a map.
func mapRetain(c *Context, a []Value) (Value, error) {
	return mapPartition(c, "retain", a[0].AsMap(), a[1], false)
}

// mapToJSON is to_json(map): the map as JSON text.
func mapToJSON(c *Context, a []Value) (Value, error) {
	s, err := rhaiJSONChecked(c, a[0])
	return String(s), err
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

// mapsEqualD is mapsEqual at nesting depth depth; too deep is an error.
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
