package rhai

import (
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/picloud/picloud/rhai/syntax"
)

// stdArray registers Rhai's array functions (BasicArrayPackage).
func stdArray(m *Module) { registerLib(m, arrayFns()) }

// arrayFns is the array library, in registration order: the functions taking
// a callback are registered for a function pointer, then for a function name
// given as a string (arrayCallbackFns), then the default sorts. It is built
// on first use, not at package initialisation, which every command of the
// binary would pay for.
var arrayFns = sync.OnceValue(func() []libFn {
	return slices.Concat(arrayBaseFns, arrayCallbackFns(TypeFnPtr), arrayCallbackFns(TypeString), arraySortFns)
})

// arrayBaseFns are the array functions without a callback.
var arrayBaseFns = []libFn{
	// take(x) returns x and leaves () in its place (LanguageCorePackage).
	{name: "take", params: []Type{TypeAny}, fn: takeValue, mut: true},

	// Length.
	{name: "len", params: []Type{TypeArray}, fn: arrayLen, prop: true},
	{name: "is_empty", params: []Type{TypeArray}, fn: arrayIsEmpty, prop: true},

	// Adding elements and operators.
	{name: "push", params: []Type{TypeArray, TypeAny}, fn: arrayPush, mut: true},
	{name: "append", params: []Type{TypeArray, TypeArray}, fn: arrayAppend, mut: true},
	{name: "+=", params: []Type{TypeArray, TypeArray}, fn: arrayAppend, mut: true},
	{name: "append", params: []Type{TypeArray, TypeAny}, fn: arrayPush, mut: true},
	{name: "+=", params: []Type{TypeArray, TypeAny}, fn: arrayPush, mut: true},
	{name: "+", params: []Type{TypeArray, TypeArray}, fn: arrayConcat},
	{name: "==", params: []Type{TypeArray, TypeArray}, fn: arrayEqual},
	{name: "!=", params: []Type{TypeArray, TypeArray}, fn: arrayNotEqual},

	// Changing an array in place.
	{name: "insert", params: []Type{TypeArray, TypeInt, TypeAny}, fn: arrayInsert, mut: true},
	{name: "pop", params: []Type{TypeArray}, fn: arrayPop, mut: true},
	{name: "shift", params: []Type{TypeArray}, fn: arrayShift, mut: true},
	{name: "remove", params: []Type{TypeArray, TypeInt}, fn: arrayRemove, mut: true},
	{name: "clear", params: []Type{TypeArray}, fn: arrayClear, mut: true},
	{name: "truncate", params: []Type{TypeArray, TypeInt}, fn: arrayTruncate, mut: true},
	{name: "chop", params: []Type{TypeArray, TypeInt}, fn: arrayChop, mut: true},
	{name: "reverse", params: []Type{TypeArray}, fn: arrayReverse, mut: true},
	{name: "pad", params: []Type{TypeArray, TypeInt, TypeAny}, fn: padArray, mut: true},

	// Elements by position.
	{name: "get", params: []Type{TypeArray, TypeInt}, fn: arrayGet},
	{name: "set", params: []Type{TypeArray, TypeInt, TypeAny}, fn: arraySet, mut: true},

	// Parts of an array: by start (and length) or by range.
	{name: "extract", params: []Type{TypeArray, TypeInt}, fn: arrayExtractFrom},
	{name: "extract", params: []Type{TypeArray, TypeInt, TypeInt}, fn: arrayExtract},
	{name: "extract", params: []Type{TypeArray, TypeRange}, fn: arrayExtractRange},
	{name: "extract", params: []Type{TypeArray, TypeRangeInclusive}, fn: arrayExtractRange},
	{name: "split", params: []Type{TypeArray, TypeInt}, fn: arraySplit, mut: true},
	{name: "drain", params: []Type{TypeArray, TypeInt, TypeInt}, fn: arrayDrain, mut: true},
	{name: "retain", params: []Type{TypeArray, TypeInt, TypeInt}, fn: arrayRetain, mut: true},
	{name: "drain", params: []Type{TypeArray, TypeRange}, fn: arrayDrain, mut: true},
	{name: "retain", params: []Type{TypeArray, TypeRange}, fn: arrayRetain, mut: true},
	{name: "drain", params: []Type{TypeArray, TypeRangeInclusive}, fn: arrayDrain, mut: true},
	{name: "retain", params: []Type{TypeArray, TypeRangeInclusive}, fn: arrayRetain, mut: true},
	{name: "splice", params: []Type{TypeArray, TypeInt, TypeInt, TypeArray}, fn: arraySplice, mut: true},
	{name: "splice", params: []Type{TypeArray, TypeRange, TypeArray}, fn: arraySpliceRange, mut: true},
	{name: "splice", params: []Type{TypeArray, TypeRangeInclusive, TypeArray}, fn: arraySpliceRange, mut: true},

	// Searching by value (a string may name a predicate, a function pointer is
	// one).
	{name: "contains", params: []Type{TypeArray, TypeAny}, fn: arrayContains},
	{name: "index_of", params: []Type{TypeArray, TypeAny}, fn: indexOfValueFn},
	{name: "index_of", params: []Type{TypeArray, TypeAny, TypeInt}, fn: indexOfValueFn},
	{name: "index_of", params: []Type{TypeArray, TypeString}, fn: indexOfStringFn},
	{name: "index_of", params: []Type{TypeArray, TypeString, TypeInt}, fn: indexOfStringFn},
	{name: "index_of", params: []Type{TypeArray, TypeFnPtr}, fn: indexOfPredicateFn},
	{name: "index_of", params: []Type{TypeArray, TypeFnPtr, TypeInt}, fn: indexOfPredicateFn},
}

// arrayCallbackFns are the array functions taking a callback, for the
// callback's type ft: a function pointer, or a function name as a string.
func arrayCallbackFns(ft Type) []libFn {
	return []libFn{
		// Searches, with an optional start position.
		{name: "find", params: []Type{TypeArray, ft}, fn: arrayFind},
		{name: "find", params: []Type{TypeArray, ft, TypeInt}, fn: arrayFind},
		{name: "find_map", params: []Type{TypeArray, ft}, fn: arrayFindMap},
		{name: "find_map", params: []Type{TypeArray, ft, TypeInt}, fn: arrayFindMap},

		// Element by element.
		{name: "map", params: []Type{TypeArray, ft}, fn: arrayMap},
		{name: "filter", params: []Type{TypeArray, ft}, fn: arrayFilter},
		{name: "some", params: []Type{TypeArray, ft}, fn: arraySome},
		{name: "all", params: []Type{TypeArray, ft}, fn: arrayAll},
		{name: "for_each", params: []Type{TypeArray, ft}, fn: arrayForEach, mut: true},
		{name: "reduce", params: []Type{TypeArray, ft}, fn: arrayReduce},
		{name: "reduce", params: []Type{TypeArray, ft, TypeAny}, fn: arrayReduce},
		{name: "reduce_rev", params: []Type{TypeArray, ft}, fn: arrayReduceRev},
		{name: "reduce_rev", params: []Type{TypeArray, ft, TypeAny}, fn: arrayReduceRev},

		// Removing by predicate.
		{name: "drain", params: []Type{TypeArray, ft}, fn: arrayDrainWhere, mut: true},
		{name: "retain", params: []Type{TypeArray, ft}, fn: arrayRetainWhere, mut: true},
		{name: "dedup", params: []Type{TypeArray, ft}, fn: arrayDedupWith, mut: true},

		// Sorting with a comparer, and zip.
		{name: "sort", params: []Type{TypeArray, ft}, fn: arraySortWith, mut: true},
		{name: "sort_by", params: []Type{TypeArray, ft}, fn: arraySortWith, mut: true},
		{name: "order", params: []Type{TypeArray, ft}, fn: arrayOrderWith},
		{name: "order_by", params: []Type{TypeArray, ft}, fn: arrayOrderWith},
		{name: "zip", params: []Type{TypeArray, TypeArray, ft}, fn: arrayZipWith},
	}
}

// arraySortFns are zip without a callback, dedup by ==, and the sorts by the
// elements' natural order, registered after the callback forms.
var arraySortFns = []libFn{
	{name: "zip", params: []Type{TypeArray, TypeArray}, fn: arrayZip},
	{name: "dedup", params: []Type{TypeArray}, fn: arrayDedup, mut: true},
	{name: "sort", params: []Type{TypeArray}, fn: arraySort, mut: true},
	{name: "sort_desc", params: []Type{TypeArray}, fn: arraySortDesc, mut: true},
	{name: "order", params: []Type{TypeArray}, fn: arrayOrder},
	{name: "order_desc", params: []Type{TypeArray}, fn: arrayOrderDesc},
}

// takeValue is take(x): returns x and leaves () in its place.
func takeValue(c *Context, a []Value) (Value, error) {
	v := a[0]
	a[0] = Unit
	return v, nil
}

// arrayLen is len(array) and array.len, packed or not.
func arrayLen(c *Context, a []Value) (Value, error) {
	return Int(int64(a[0].array().Len())), nil
}

// arrayIsEmpty is is_empty(array) and array.is_empty, packed or not.
func arrayIsEmpty(c *Context, a []Value) (Value, error) {
	return Bool(a[0].array().Len() == 0), nil
}

// arrayPush is push(array, x), append(array, x) and array += x for an x that
// is not an array; a packed array stays packed when x fits (see packed.go).
func arrayPush(c *Context, a []Value) (Value, error) {
	arr := a[0].array() // packed or not (see packed.go)
	if err := collCheckArray(c, arr.Len()+1); err != nil {
		return Unit, err
	}
	arr.push(c.own(a, 1))
	return Unit, nil
}

// arrayAppend is append(array, array) and array += array: copies of the
// other array's elements.
func arrayAppend(c *Context, a []Value) (Value, error) {
	arr := a[0].AsArray()
	other := a[1].AsArray().Items
	if len(other) == 0 {
		return Unit, nil
	}
	if err := collCheckArray(c, len(arr.Items)+len(other)); err != nil {
		return Unit, err
	}
	for _, v := range other {
		arr.Items = append(arr.Items, c.clone(v))
	}
	return Unit, nil
}

// arrayConcat is array + array: a new array.
func arrayConcat(c *Context, a []Value) (Value, error) {
	x, y := a[0].AsArray().Items, a[1].AsArray().Items
	if err := collCheckArray(c, len(x)+len(y)); err != nil {
		return Unit, err
	}
	items := make([]Value, 0, len(x)+len(y))
	for _, v := range x {
		items = append(items, c.clone(v))
	}
	for _, v := range y {
		items = append(items, c.clone(v))
	}
	return NewArray(items), nil
}

// arrayEqual is array == array, element by element.
func arrayEqual(c *Context, a []Value) (Value, error) {
	eq, err := arraysEqual(c, a[0].AsArray().Items, a[1].AsArray().Items)
	return Bool(eq), err
}

// arrayNotEqual is array != array.
func arrayNotEqual(c *Context, a []Value) (Value, error) {
	eq, err := arraysEqual(c, a[0].AsArray().Items, a[1].AsArray().Items)
	return Bool(!eq), err
}

// arrayInsert is insert(array, position, x): a negative position counts from
// the end (before the first element when too far back), past the end appends.
func arrayInsert(c *Context, a []Value) (Value, error) {
	arr := a[0].AsArray()
	n := len(arr.Items)
	if err := collCheckArray(c, n+1); err != nil {
		return Unit, err
	}
	pos := a[1].AsInt()
	item := c.own(a, 2)
	var at int
	switch {
	case pos < 0:
		if -pos > int64(n) {
			at = 0
		} else {
			at = n + int(pos)
		}
	case pos >= int64(n):
		at = n
	default:
		at = int(pos)
	}
	arr.Items = append(arr.Items, Unit)
	copy(arr.Items[at+1:], arr.Items[at:])
	arr.Items[at] = item
	return Unit, nil
}

// arrayPop is pop(array): removes and returns the last element (() when
// empty).
func arrayPop(c *Context, a []Value) (Value, error) {
	arr := a[0].AsArray()
	n := len(arr.Items)
	if n == 0 {
		return Unit, nil
	}
	v := arr.Items[n-1]
	arr.Items[n-1] = Unit
	arr.Items = arr.Items[:n-1]
	return v, nil
}

// arrayShift is shift(array): removes and returns the first element (() when
// empty).
func arrayShift(c *Context, a []Value) (Value, error) {
	arr := a[0].AsArray()
	if len(arr.Items) == 0 {
		return Unit, nil
	}
	v := arr.Items[0]
	arr.Items = removeAt(arr.Items, 0)
	return v, nil
}

// arrayRemove is remove(array, index): removes and returns that element (()
// when the index is out of range).
func arrayRemove(c *Context, a []Value) (Value, error) {
	arr := a[0].AsArray()
	idx, ok := indexStrict(a[1].AsInt(), len(arr.Items))
	if !ok {
		return Unit, nil
	}
	v := arr.Items[idx]
	arr.Items = removeAt(arr.Items, idx)
	return v, nil
}

// arrayClear is clear(array).
func arrayClear(c *Context, a []Value) (Value, error) {
	arr := a[0].AsArray()
	clear(arr.Items)
	arr.Items = arr.Items[:0]
	return Unit, nil
}

// arrayTruncate is truncate(array, len): keeps the first len elements.
func arrayTruncate(c *Context, a []Value) (Value, error) {
	arr := a[0].AsArray()
	n := a[1].AsInt()
	if n <= 0 {
		n = 0
	}
	if n < int64(len(arr.Items)) {
		clear(arr.Items[n:])
		arr.Items = arr.Items[:n]
	}
	return Unit, nil
}

// arrayChop is chop(array, len): keeps the last len elements.
func arrayChop(c *Context, a []Value) (Value, error) {
	arr := a[0].AsArray()
	n := a[1].AsInt()
	if n <= 0 {
		n = 0
	}
	if n < int64(len(arr.Items)) {
		cut := len(arr.Items) - int(n)
		copy(arr.Items, arr.Items[cut:])
		clear(arr.Items[n:])
		arr.Items = arr.Items[:n]
	}
	return Unit, nil
}

// arrayReverse is reverse(array), in place, charged as it goes.
func arrayReverse(c *Context, a []Value) (Value, error) {
	items := a[0].AsArray().Items
	for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
		if i%copyStep == 0 {
			if err := charge(c, min(2*copyStep, j-i+1)); err != nil {
				return Unit, err
			}
		}
		items[i], items[j] = items[j], items[i]
	}
	return Unit, nil
}

// padArray is pad(array, len, x): appends copies of x until the array has len
// elements; an empty or packed array padded with a scalar of its type stays
// packed (see packed.go).
func padArray(c *Context, a []Value) (Value, error) {
	arr := a[0].array() // packed or not (see packed.go)
	n := a[1].AsInt()
	if n <= int64(arr.Len()) {
		return Unit, nil
	}
	if n > int64(maxInt32) {
		return Unit, collCheckArray(c, maxInt)
	}
	if err := collCheckArray(c, int(n)); err != nil {
		return Unit, err
	}
	if c != nil && !c.th.fits(int(n)*valueBytes) {
		return Unit, errMemory()
	}
	if arr.Len() == 0 && packable(a[2]) || arr.packed != TypeUnit && a[2].t == arr.packed && a[2].tag == 0 {
		return Unit, padPacked(c, arr, n, a[2])
	}
	arr = a[0].AsArray()
	if int64(cap(arr.Items)) < n {
		grown := make([]Value, len(arr.Items), n)
		copy(grown, arr.Items)
		arr.Items = grown
	}
	// Charged as it goes, a step at a time (see memory.go).
	for int64(len(arr.Items)) < n {
		k := int(min(n-int64(len(arr.Items)), copyStep))
		if err := charge(c, k); err != nil {
			return Unit, err
		}
		for ; k > 0; k-- {
			arr.Items = append(arr.Items, c.clone(a[2]))
		}
	}
	return Unit, nil
}

// arrayGet is get(array, index): a copy of the element, () when out of range.
func arrayGet(c *Context, a []Value) (Value, error) {
	items := a[0].AsArray().Items
	idx, ok := elemIndex(a[1].AsInt(), len(items))
	if !ok {
		return Unit, nil
	}
	return c.clone(items[idx]), nil
}

// arraySet is set(array, index, x): nothing when out of range.
func arraySet(c *Context, a []Value) (Value, error) {
	items := a[0].AsArray().Items
	idx, ok := elemIndex(a[1].AsInt(), len(items))
	if ok {
		items[idx] = c.clone(a[2])
	}
	return Unit, nil
}

// arrayExtractFrom is extract(array, start): copies of the elements from
// start on.
func arrayExtractFrom(c *Context, a []Value) (Value, error) {
	items := a[0].AsArray().Items
	s, l := sliceBounds(a[1].AsInt(), int64(len(items)), len(items))
	return NewArray(cloneValues(c, items[s:s+l])), nil
}

// arrayExtract is extract(array, start, len).
func arrayExtract(c *Context, a []Value) (Value, error) {
	items := a[0].AsArray().Items
	s, l := sliceBounds(a[1].AsInt(), a[2].AsInt(), len(items))
	return NewArray(cloneValues(c, items[s:s+l])), nil
}

// arrayExtractRange is extract(array, range) for both kinds of range.
func arrayExtractRange(c *Context, a []Value) (Value, error) {
	items := a[0].AsArray().Items
	s, l := rangeSliceBounds(a[1], len(items))
	return NewArray(cloneValues(c, items[s:s+l])), nil
}

// arraySplit is split(array, position): cuts the array at position and
// returns the tail.
func arraySplit(c *Context, a []Value) (Value, error) {
	arr := a[0].AsArray()
	n := len(arr.Items)
	at := splitIndex(a[1].AsInt(), n)
	tail := append([]Value(nil), arr.Items[at:]...)
	clear(arr.Items[at:])
	arr.Items = arr.Items[:at]
	return NewArray(tail), nil
}

// drainSpan removes the l elements at s from arr and returns them.
func drainSpan(arr *Array, s, l int) Value {
	out := append([]Value(nil), arr.Items[s:s+l]...)
	old := len(arr.Items)
	arr.Items = append(arr.Items[:s], arr.Items[s+l:]...)
	clear(arr.Items[len(arr.Items):old])
	return NewArray(out)
}

// retainSpan keeps only the l elements at s in arr and returns the others.
func retainSpan(arr *Array, s, l int) Value {
	out := make([]Value, 0, len(arr.Items)-l)
	out = append(out, arr.Items[:s]...)
	out = append(out, arr.Items[s+l:]...)
	n := copy(arr.Items, arr.Items[s:s+l])
	clear(arr.Items[n:])
	arr.Items = arr.Items[:n]
	return NewArray(out)
}

// arraySpanArgs is the array in a[0] and the span of it that a call names
// (argSpan).
func arraySpanArgs(a []Value) (*Array, int, int) {
	arr := a[0].AsArray()
	s, l := argSpan(a, len(arr.Items))
	return arr, s, l
}

// arrayDrain is drain(array, start, len) and drain(array, range) for both
// kinds of range (argSpan reads either).
func arrayDrain(c *Context, a []Value) (Value, error) {
	return drainSpan(arraySpanArgs(a)), nil
}

// arrayRetain is retain(array, start, len) and retain(array, range) for both
// kinds of range.
func arrayRetain(c *Context, a []Value) (Value, error) {
	return retainSpan(arraySpanArgs(a)), nil
}

// spliceSpan replaces the l elements at s in arr with copies of repl, within
// the size limits.
func spliceSpan(c *Context, arr *Array, s, l int, repl []Value) error {
	n := len(arr.Items) - l + len(repl)
	if err := collCheckArray(c, n); err != nil {
		return err
	}
	out := make([]Value, 0, n)
	out = append(out, arr.Items[:s]...)
	for _, v := range repl {
		out = append(out, c.clone(v))
	}
	out = append(out, arr.Items[s+l:]...)
	arr.Items = out
	return nil
}

// arraySplice is splice(array, start, len, array).
func arraySplice(c *Context, a []Value) (Value, error) {
	arr, s, l := arraySpanArgs(a)
	return Unit, spliceSpan(c, arr, s, l, a[3].AsArray().Items)
}

// arraySpliceRange is splice(array, range, array) for both kinds of range.
func arraySpliceRange(c *Context, a []Value) (Value, error) {
	arr, s, l := arraySpanArgs(a)
	return Unit, spliceSpan(c, arr, s, l, a[2].AsArray().Items)
}

// arrayContains is contains(array, x): whether an element == x, one
// operation per element.
func arrayContains(c *Context, a []Value) (Value, error) {
	for i, v := range a[0].AsArray().Items {
		if i%copyStep == 0 { // one operation per element, charged as it goes
			if err := charge(c, min(copyStep, len(a[0].AsArray().Items)-i)); err != nil {
				return Unit, err
			}
		}
		eq, err := valuesEqual(c, v, a[1])
		if err != nil {
			return Unit, err
		}
		if eq {
			return Bool(true), nil
		}
	}
	return Bool(false), nil
}

// searchStart returns the elements of a search's array a[0] and where the
// search starts: 0, or the optional start position a[2] (ok is false when it
// is at or past the end).
func searchStart(a []Value) (items []Value, start int, ok bool) {
	items = a[0].AsArray().Items
	if len(a) < 3 {
		return items, 0, true
	}
	start, ok = startIndex(a[2].AsInt(), len(items))
	return items, start, ok
}

// indexOfValueFn is index_of(array, x) and index_of(array, x, start) for an x
// that is neither a string nor a function pointer.
func indexOfValueFn(c *Context, a []Value) (Value, error) {
	items, start, ok := searchStart(a)
	if !ok {
		return Int(-1), nil
	}
	return indexOfValue(c, items, a[1], start)
}

// indexOfStringFn is index_of(array, string) and index_of(array, string,
// start): the string names a predicate when such a function exists, else it
// is a value to look for.
func indexOfStringFn(c *Context, a []Value) (Value, error) {
	items, start, ok := searchStart(a)
	if !ok {
		return Int(-1), nil
	}
	return indexOfStr(c, items, a[1], start)
}

// indexOfPredicateFn is index_of(array, f) and index_of(array, f, start): the
// index of the first element f is true for, -1 if none.
func indexOfPredicateFn(c *Context, a []Value) (Value, error) {
	items, start, ok := searchStart(a)
	if !ok {
		return Int(-1), nil
	}
	return indexOfPredicate(c, items, a[1], start)
}

// indexOfValue is the index of the first of items from start on that == x,
// -1 if none, one operation per element.
func indexOfValue(c *Context, items []Value, x Value, start int) (Value, error) {
	for i := start; i < len(items); i++ {
		if (i-start)%copyStep == 0 { // one operation per element, charged as it goes
			if err := charge(c, min(copyStep, len(items)-i)); err != nil {
				return Unit, err
			}
		}
		eq, err := valuesEqual(c, items[i], x)
		if err != nil {
			return Unit, err
		}
		if eq {
			return Int(int64(i)), nil
		}
	}
	return Int(-1), nil
}

// indexOfPredicate is the index of the first of items from start on that the
// predicate fp is true for, -1 if none.
func indexOfPredicate(c *Context, items []Value, fp Value, start int) (Value, error) {
	for i := start; i < len(items); i++ {
		r, err := callPredicate(c, "index_of", fp, items, i)
		if err != nil {
			return Unit, err
		}
		if r {
			return Int(int64(i)), nil
		}
	}
	return Int(-1), nil
}

// indexOfStr is index_of with a string x: a string names a predicate function
// when such a function exists; otherwise it is a value to look for.
func indexOfStr(c *Context, items []Value, x Value, start int) (Value, error) {
	if start >= len(items) {
		return Int(-1), nil
	}
	if c == nil || c.th == nil {
		return indexOfValue(c, items, x, start)
	}
	fp := fnArg(x)
	r, err := callPredicate(c, "index_of", fp, items, start)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Kind == ErrInFunctionCall && e.Inner != nil && isFnNotFoundFor(e.Inner, fp) {
			return indexOfValue(c, items, x, start)
		}
		return Unit, err
	}
	if r {
		return Int(int64(start)), nil
	}
	return indexOfPredicate(c, items, fp, start+1)
}

// arrayFind is find(array, f) and find(array, f, start): a copy of the first
// element f is true for, () if none.
func arrayFind(c *Context, a []Value) (Value, error) {
	items, start, ok := searchStart(a)
	if !ok {
		return Unit, nil
	}
	fp := a[1]
	for i := start; i < len(items); i++ {
		r, err := callPredicate(c, "find", fp, items, i)
		if err != nil {
			return Unit, err
		}
		if r {
			return c.clone(items[i]), nil
		}
	}
	return Unit, nil
}

// arrayFindMap is find_map(array, f) and find_map(array, f, start): the first
// result of f that is not (), () if none.
func arrayFindMap(c *Context, a []Value) (Value, error) {
	items, start, ok := searchStart(a)
	if !ok {
		return Unit, nil
	}
	fp := a[1]
	for i := start; i < len(items); i++ {
		v := items[i]
		r, err := callElem(c, "find_map", fp, &v, nil, []Value{Int(int64(i))}, 0)
		if err != nil {
			return Unit, err
		}
		if !r.IsUnit() {
			return r, nil
		}
	}
	return Unit, nil
}

// arrayMap is map(array, f): f's results, element by element.
func arrayMap(c *Context, a []Value) (Value, error) {
	items := a[0].AsArray().Items
	out := make([]Value, 0, len(items))
	for i := range items {
		v := items[i]
		r, err := callElem(c, "map", a[1], &v, nil, []Value{Int(int64(i))}, 0)
		if err != nil {
			return Unit, err
		}
		out = append(out, r)
	}
	return NewArray(out), nil
}

// arrayFilter is filter(array, f): copies of the elements f is true for.
func arrayFilter(c *Context, a []Value) (Value, error) {
	items := a[0].AsArray().Items
	var out []Value
	for i := range items {
		ok, err := callPredicate(c, "filter", a[1], items, i)
		if err != nil {
			return Unit, err
		}
		if ok {
			out = append(out, c.clone(items[i]))
		}
	}
	if out == nil {
		out = []Value{}
	}
	return NewArray(out), nil
}

// arraySome is some(array, f): whether f is true for an element.
func arraySome(c *Context, a []Value) (Value, error) {
	items := a[0].AsArray().Items
	for i := range items {
		ok, err := callPredicate(c, "some", a[1], items, i)
		if err != nil {
			return Unit, err
		}
		if ok {
			return Bool(true), nil
		}
	}
	return Bool(false), nil
}

// arrayAll is all(array, f): whether f is true for every element.
func arrayAll(c *Context, a []Value) (Value, error) {
	items := a[0].AsArray().Items
	for i := range items {
		ok, err := callPredicate(c, "all", a[1], items, i)
		if err != nil {
			return Unit, err
		}
		if !ok {
			return Bool(false), nil
		}
	}
	return Bool(true), nil
}

// arrayForEach is for_each(array, f): calls f with each element as `this`,
// keeping its changes.
func arrayForEach(c *Context, a []Value) (Value, error) {
	items := a[0].AsArray().Items
	for i := range items {
		// `this` is bound to the element (and written back); the
		// index is the optional argument.
		if _, err := callElem(c, "for_each", a[1], &items[i], nil, []Value{Int(int64(i))}, -1); err != nil {
			return Unit, err
		}
	}
	return Unit, nil
}

// arrayReduce is reduce(array, f) and reduce(array, f, initial): folds the
// elements first to last, starting from initial or ().
func arrayReduce(c *Context, a []Value) (Value, error) {
	acc := Unit
	if len(a) > 2 {
		acc = a[2]
	}
	return reduceArray(c, "reduce", a[0].AsArray().Items, a[1], acc, false)
}

// arrayReduceRev is reduce_rev(array, f) and reduce_rev(array, f, initial):
// folds the elements last to first.
func arrayReduceRev(c *Context, a []Value) (Value, error) {
	acc := Unit
	if len(a) > 2 {
		acc = a[2]
	}
	return reduceArray(c, "reduce_rev", a[0].AsArray().Items, a[1], acc, true)
}

// reduceArray folds items with fp from acc, last to first when rev.
func reduceArray(c *Context, name string, items []Value, fp Value, acc Value, rev bool) (Value, error) {
	n := len(items)
	for k := 0; k < n; k++ {
		i := k
		if rev {
			i = n - 1 - k
		}
		v := items[i]
		r, err := callElem(c, name, fp, &v, []Value{acc}, []Value{Int(int64(i))}, 1)
		if err != nil {
			return Unit, err
		}
		acc = r
	}
	return acc, nil
}

// arrayDrainWhere is drain(array, f): removes the elements f is true for and
// returns them.
func arrayDrainWhere(c *Context, a []Value) (Value, error) {
	arr := a[0].AsArray()
	return partition(c, "drain", arr, a[1], true)
}

// arrayRetainWhere is retain(array, f): keeps the elements f is true for and
// returns the others.
func arrayRetainWhere(c *Context, a []Value) (Value, error) {
	arr := a[0].AsArray()
	return partition(c, "retain", arr, a[1], false)
}

// arrayDedupWith is dedup(array, f): removes consecutive elements f reports
// equal to the previous kept one (a failing f counts as "different").
func arrayDedupWith(c *Context, a []Value) (Value, error) {
	arr := a[0].AsArray()
	return Unit, dedup(c, arr, func(prev, cur Value) (bool, error) {
		r, err := c.Call(fnArg(a[1]), prev, cur)
		if err != nil {
			// A failing comparer counts as "different".
			return false, nil
		}
		return r.t == TypeBool && r.AsBool(), nil
	})
}

// arraySortWith is sort(array, f) and sort_by(array, f): a stable sort by the
// comparer f.
func arraySortWith(c *Context, a []Value) (Value, error) {
	arr := a[0].AsArray()
	if len(arr.Items) <= 1 {
		return Unit, nil
	}
	var callErr error
	fp := fnArg(a[1])
	sort.SliceStable(arr.Items, func(i, j int) bool {
		if callErr != nil {
			return false
		}
		r, err := c.Call(fp, arr.Items[i], arr.Items[j])
		if err != nil {
			if e, ok := err.(*Error); ok && e.IsLimit() {
				callErr = err
			} else if err := c.Tick(1); err != nil {
				// A failed call ran nothing: charge it one operation,
				// or a comparer that can never be called makes every
				// sort free and a loop of them escapes max_operations.
				callErr = err
			}
			return false
		}
		// An integer orders by its sign; a bool true means "x first"
		// (false: after), as Rhai 1.25 reads a comparer's answer.
		return r.t == TypeInt && r.AsInt() < 0 || r.t == TypeBool && r.AsBool()
	})
	return Unit, callErr
}

// arrayOrderWith is order(array, f) and order_by(array, f): a sorted copy.
func arrayOrderWith(c *Context, a []Value) (Value, error) {
	cp := NewArray(cloneValues(c, a[0].AsArray().Items))
	_, err := arraySortWith(c, []Value{cp, a[1]})
	return cp, err
}

// arrayZipWith is zip(array, array, f): f's results for the pairs of
// elements, as long as the shorter array.
func arrayZipWith(c *Context, a []Value) (Value, error) {
	x, y := a[0].AsArray().Items, a[1].AsArray().Items
	n := min(len(x), len(y))
	out := make([]Value, 0, n)
	for i := 0; i < n; i++ {
		v := x[i]
		r, err := callElem(c, "zip", a[2], &v, []Value{y[i]}, []Value{Int(int64(i))}, 0)
		if err != nil {
			return Unit, err
		}
		out = append(out, r)
	}
	return NewArray(out), nil
}

// arrayZip is zip(array, array): the pairs of elements as two-element arrays.
func arrayZip(c *Context, a []Value) (Value, error) {
	x, y := a[0].AsArray().Items, a[1].AsArray().Items
	n := min(len(x), len(y))
	out := make([]Value, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, NewArray([]Value{c.clone(x[i]), c.clone(y[i])}))
	}
	return NewArray(out), nil
}

// arrayDedup is dedup(array): removes consecutive elements == the previous
// kept one.
func arrayDedup(c *Context, a []Value) (Value, error) {
	arr := a[0].AsArray()
	return Unit, dedup(c, arr, func(prev, cur Value) (bool, error) {
		return valuesEqual(c, prev, cur)
	})
}

// sortDefault sorts arr's elements, all of one sortable type, by their
// natural order (descending when desc), stably, one operation per comparison.
func sortDefault(c *Context, arr *Array, desc bool) error {
	items := arr.Items
	if len(items) <= 1 {
		return nil
	}
	t := items[0].t
	for _, v := range items[1:] {
		if v.t != t {
			return NewError(ErrFunctionNotFound, "Function not found: elements of different types cannot be sorted")
		}
	}
	var less func(a, b Value) bool
	switch t {
	case TypeInt:
		less = func(a, b Value) bool { return a.AsInt() < b.AsInt() }
	case TypeFloat:
		less = func(a, b Value) bool { return a.AsFloat() < b.AsFloat() }
	case TypeChar:
		less = func(a, b Value) bool { return a.AsChar() < b.AsChar() }
	case TypeString:
		less = func(a, b Value) bool { return a.AsString() < b.AsString() }
	case TypeBool:
		less = func(a, b Value) bool { return !a.AsBool() && b.AsBool() }
	case TypeUnit:
		return nil
	default:
		return NewError(ErrFunctionNotFound, "Function not found: elements of %s cannot be sorted", items[0].TypeName())
	}
	// One operation per comparison, charged as the sort goes (a refused
	// charge panics out of the sort; the evaluation ends with it).
	var th *thread
	if c != nil {
		th = c.th
	}
	n := 0
	tick := func() {
		if n++; n == copyStep && th != nil {
			th.work(n * bytesPerOp)
			n = 0
		}
	}
	if desc {
		sort.SliceStable(items, func(i, j int) bool { tick(); return less(items[j], items[i]) })
	} else {
		sort.SliceStable(items, func(i, j int) bool { tick(); return less(items[i], items[j]) })
	}
	return nil
}

// arraySort is sort(array): ascending, natural order.
func arraySort(c *Context, a []Value) (Value, error) {
	return Unit, sortDefault(c, a[0].AsArray(), false)
}

// arraySortDesc is sort_desc(array): descending, natural order.
func arraySortDesc(c *Context, a []Value) (Value, error) {
	return Unit, sortDefault(c, a[0].AsArray(), true)
}

// arrayOrder is order(array): an ascending sorted copy.
func arrayOrder(c *Context, a []Value) (Value, error) {
	cp := NewArray(cloneValues(c, a[0].AsArray().Items))
	return cp, sortDefault(c, cp.AsArray(), false)
}

// arrayOrderDesc is order_desc(array): a descending sorted copy.
func arrayOrderDesc(c *Context, a []Value) (Value, error) {
	cp := NewArray(cloneValues(c, a[0].AsArray().Items))
	return cp, sortDefault(c, cp.AsArray(), true)
}

const (
	maxInt32 = 1<<31 - 1
	maxInt   = int(^uint(0) >> 1)
)

// collCheckArray is CheckArraySize made safe for a Context without an
// evaluation behind it (unit tests).
func collCheckArray(c *Context, n int) error {
	if c == nil || c.th == nil {
		return nil
	}
	return c.CheckArraySize(n)
}

// padPacked pads arr, empty or packed with fill's type, with the scalar fill
// to n elements (the checks done), keeping it packed.
func padPacked(c *Context, arr *Array, n int64, fill Value) (err error) {
	if arr.packed == TypeUnit {
		arr.Items, arr.words, arr.bools, arr.packed = nil, arr.words[:0], arr.bools[:0], fill.t
	}
	if fill.t == TypeBool {
		arr.bools, err = padSlice(c, arr.bools, n, fill.n != 0)
	} else {
		arr.words, err = padSlice(c, arr.words, n, fill.n)
	}
	return err
}

// padSlice appends x to s until it has n elements, charged as it goes, a
// step at a time (see memory.go).
func padSlice[T any](c *Context, s []T, n int64, x T) ([]T, error) {
	if int64(cap(s)) < n {
		grown := make([]T, len(s), n)
		copy(grown, s)
		s = grown
	}
	for int64(len(s)) < n {
		k := int(min(n-int64(len(s)), copyStep))
		if err := charge(c, k); err != nil {
			return s, err
		}
		for ; k > 0; k-- {
			s = append(s, x)
		}
	}
	return s, nil
}

// removeAt removes items[i], keeping order, and clears the freed slot.
func removeAt(items []Value, i int) []Value {
	copy(items[i:], items[i+1:])
	items[len(items)-1] = Unit
	return items[:len(items)-1]
}

// cloneValues copies items; c may be nil outside an evaluation.
func cloneValues(c *Context, items []Value) []Value {
	var th *thread
	if c != nil {
		th = c.th
	}
	out := make([]Value, len(items))
	for i, v := range items {
		out[i] = th.clone(v)
	}
	return out
}

// elemIndex resolves an element index for get, set and remove: a negative
// index counts from the end and is clamped to the first element (Rhai's
// calc_index); ok is false when the index is past the end (or the collection
// is empty).
func elemIndex(i int64, n int) (int, bool) {
	if i < 0 {
		i += int64(n)
		if i < 0 {
			i = 0
		}
	}
	if i >= int64(n) {
		return 0, false
	}
	return int(i), true
}

// startIndex resolves a start position for searches: negative counts from the
// end (clamped to 0); ok is false when it is at or past the end.
func startIndex(i int64, n int) (int, bool) {
	if i < 0 {
		i += int64(n)
		if i < 0 {
			i = 0
		}
	}
	if i >= int64(n) {
		return 0, false
	}
	return int(i), true
}

// sliceBounds resolves Rhai's (start, length) arguments against a collection of
// n elements: a negative start counts from the end (clamped to 0), a start past
// the end selects nothing, a length ≤ 0 selects nothing.
func sliceBounds(start, length int64, n int) (int, int) {
	if start < 0 {
		start += int64(n)
		if start < 0 {
			start = 0
		}
	}
	if start >= int64(n) {
		return n, 0
	}
	if length <= 0 {
		return int(start), 0
	}
	if length > int64(n)-start {
		length = int64(n) - start
	}
	return int(start), int(length)
}

// argSpan resolves the span a call names against n items: (start, length)
// in a[1], a[2], or a range of either kind in a[1].
func argSpan(a []Value, n int) (s, l int) {
	if a[1].t == TypeInt {
		return sliceBounds(a[1].AsInt(), a[2].AsInt(), n)
	}
	return rangeSliceBounds(a[1], n)
}

// rangeSliceBounds turns a range argument into (start, length) for a
// collection of n elements; negative bounds are clamped to 0.
func rangeSliceBounds(rv Value, n int) (int, int) {
	r := rv.AsRange()
	start := max(r.Start, 0)
	end := max(r.End, start)
	if rv.t == TypeRangeInclusive {
		// An inclusive range always covers its start, even when reversed.
		if end-start >= int64(n) {
			return sliceBounds(start, int64(n), n)
		}
		return sliceBounds(start, end-start+1, n)
	}
	return sliceBounds(start, end-start, n)
}

// splitIndex resolves split's position: negative counts from the end (clamped
// to 0), past the end means "nothing split off".
func splitIndex(i int64, n int) int {
	if i < 0 {
		i += int64(n)
		if i < 0 {
			i = 0
		}
	}
	if i > int64(n) {
		i = int64(n)
	}
	return int(i)
}

// fnArg turns a callback argument into a function pointer: a string names a
// function.
func fnArg(v Value) Value {
	if v.t == TypeString {
		return NewFnPtr(v.AsString())
	}
	return v
}

// callElem calls the callback fp for one element the way Rhai's collection
// functions do. The element (*this) is the callback's `this`; args come first
// and extras (the element's index) are passed only when the callback takes
// them. When moveAt ≥ 0, a callback that takes one more parameter than args
// gets the element as a parameter at position moveAt instead of as `this`.
// With moveAt < 0 (for_each), *this is updated with the callback's changes to
// `this`.
func callElem(c *Context, name string, fp Value, this *Value, args, extras []Value, moveAt int) (Value, error) {
	fp = fnArg(fp)
	arity := c.FnArity(fp)
	withItem := func(withExtras bool) []Value {
		full := make([]Value, 0, len(args)+1+len(extras))
		if moveAt >= 0 {
			full = append(full, args[:moveAt]...)
			full = append(full, *this)
			full = append(full, args[moveAt:]...)
		} else {
			full = append(full, args...)
		}
		if withExtras {
			full = append(full, extras...)
		}
		return full
	}
	var r Value
	var err error
	switch {
	case arity >= 0 && arity == len(args) && (moveAt >= 0 || len(extras) > 0):
		r, err = c.CallThis(fp, this, args)
	case arity >= 0 && moveAt < 0 && arity == len(args)+len(extras):
		r, err = c.CallThis(fp, this, withItem(true))
	case arity >= 0 && moveAt >= 0 && arity == len(args)+1:
		r, err = c.Call(fp, withItem(false)...)
	case arity >= 0 && moveAt >= 0 && arity == len(args)+1+len(extras):
		r, err = c.Call(fp, withItem(true)...)
	default:
		// Unknown arity (a native function) or no form fits: try the short
		// form, then the one with the extras, as Rhai does.
		if moveAt < 0 {
			r, err = c.CallThis(fp, this, withItem(false))
		} else {
			r, err = c.Call(fp, withItem(false)...)
		}
		if err != nil && len(extras) > 0 && isFnNotFoundFor(err, fp) {
			if moveAt < 0 {
				r, err = c.CallThis(fp, this, withItem(true))
			} else {
				r, err = c.Call(fp, withItem(true)...)
			}
		}
	}
	return r, wrapCallbackErr(c, name, err, fp)
}

// callPredicate calls fp on items[i] (with the index when the callback takes
// it) and reports whether it returned true; any other result is false.
func callPredicate(c *Context, name string, fp Value, items []Value, i int) (bool, error) {
	v := items[i]
	r, err := callElem(c, name, fp, &v, nil, []Value{Int(int64(i))}, 0)
	if err != nil {
		return false, err
	}
	return r.t == TypeBool && r.AsBool(), nil
}

// isFnNotFoundFor reports whether err says that fp's own function was not found
// (as opposed to a failure inside it).
func isFnNotFoundFor(err error, fp Value) bool {
	e, ok := err.(*Error)
	if !ok || e.Kind != ErrFunctionNotFound {
		return false
	}
	f := fp.AsFnPtr()
	if f == nil {
		return false
	}
	sig := e.Var
	if sig == "" {
		sig = strings.TrimPrefix(e.Message, "Function not found: ")
	}
	return strings.HasPrefix(sig, f.Name+" (")
}

// wrapCallbackErr reports a callback whose function does not exist as Rhai
// does: inside a call to the collection function name, both naming the
// calling script as their source.
func wrapCallbackErr(c *Context, name string, err error, fp Value) error {
	if err == nil {
		return nil
	}
	if isFnNotFoundFor(err, fp) {
		inner, src := err.(*Error), ""
		if c.th.ast != nil {
			src = c.th.ast.name
		}
		if inner.Source == "" {
			inner.Source = src
		}
		return &Error{Kind: ErrInFunctionCall, Fn: name, FnSource: src, Inner: inner}
	}
	return err
}

// partition removes from arr the elements for which the predicate is true
// (drain) or not true (retain) and returns them as an array.
func partition(c *Context, name string, arr *Array, fp Value, removeMatching bool) (Value, error) {
	items := arr.Items
	var removed []Value
	keep := make([]Value, 0, len(items))
	for i := range items {
		ok, err := callPredicate(c, name, fp, items, i)
		if err != nil {
			return Unit, err
		}
		if ok == removeMatching {
			removed = append(removed, items[i])
		} else {
			keep = append(keep, items[i])
		}
	}
	arr.Items = keep
	if removed == nil {
		removed = []Value{}
	}
	return NewArray(removed), nil
}

// dedup removes consecutive elements that same reports as equal to the
// previous kept one.
func dedup(c *Context, arr *Array, same func(prev, cur Value) (bool, error)) error {
	items := arr.Items
	if len(items) <= 1 {
		return nil
	}
	if err := charge(c, len(items)); err != nil {
		return err
	}
	w := 1
	for r := 1; r < len(items); r++ {
		eq, err := same(items[w-1], items[r])
		if err != nil {
			return err
		}
		if !eq {
			items[w] = items[r]
			w++
		}
	}
	clear(items[w:])
	arr.Items = items[:w]
	return nil
}

// arraysEqual compares two arrays element by element with ==.
func arraysEqual(c *Context, x, y []Value) (bool, error) { return arraysEqualD(c, x, y, 0) }

func arraysEqualD(c *Context, x, y []Value, depth int) (bool, error) {
	if depth >= maxDataDepth {
		return false, fmtTooDeep()
	}
	if len(x) != len(y) {
		return false, nil
	}
	if err := charge(c, len(x)); err != nil {
		return false, err
	}
	for i := range x {
		eq, err := valuesEqualD(c, x[i], y[i], depth+1)
		if err != nil || !eq {
			return false, err
		}
	}
	return true, nil
}

// valuesEqual is Rhai's == as the collection functions use it (contains,
// index_of, dedup, array and map equality): values of different types are not
// equal (except the built-in int/float and char/string mixes).
func valuesEqual(c *Context, a, b Value) (bool, error) { return valuesEqualD(c, a, b, 0) }

func valuesEqualD(c *Context, a, b Value, depth int) (bool, error) {
	switch {
	case a.t == TypeArray && b.t == TypeArray:
		return arraysEqualD(c, a.AsArray().Items, b.AsArray().Items, depth)
	case a.t == TypeMap && b.t == TypeMap:
		return mapsEqualD(c, a.AsMap(), b.AsMap(), depth)
	case a.t == TypeBlob && b.t == TypeBlob:
		return string(a.AsBlob().B) == string(b.AsBlob().B), nil
	case a.IsRange() && b.IsRange():
		return rangesEqual(a, b), nil
	}
	if v, ok, err := binaryOp(syntax.EqEq, a, b); ok {
		if err != nil {
			return false, err
		}
		return v.t == TypeBool && v.AsBool(), nil
	}
	// Fallback for the primitive types.
	switch {
	case a.t == b.t:
		switch a.t {
		case TypeUnit:
			return true, nil
		case TypeBool, TypeInt, TypeChar, TypeU8:
			return a.n == b.n, nil
		case TypeFloat:
			return a.AsFloat() == b.AsFloat(), nil
		case TypeString:
			return a.AsString() == b.AsString(), nil
		case TypeTimestamp:
			return a.AsTimestamp().Equal(b.AsTimestamp()), nil
		}
	case a.t == TypeInt && b.t == TypeFloat:
		return float64(a.AsInt()) == b.AsFloat(), nil
	case a.t == TypeFloat && b.t == TypeInt:
		return a.AsFloat() == float64(b.AsInt()), nil
	case a.t == TypeChar && b.t == TypeString:
		return string(a.AsChar()) == b.AsString(), nil
	case a.t == TypeString && b.t == TypeChar:
		return a.AsString() == string(b.AsChar()), nil
	}
	return false, nil
}
