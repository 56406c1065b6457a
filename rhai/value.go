package rhai

import (
	"math"
	"sort"
	"time"
	"unsafe"
)

// Type is the dynamic type of a Value.
type Type uint8

const (
	TypeUnit Type = iota
	TypeBool
	TypeInt
	TypeFloat
	TypeChar
	TypeString
	TypeArray
	TypeMap
	TypeBlob
	TypeFnPtr
	TypeRange          // start..end (exclusive), integers
	TypeRangeInclusive // start..=end
	TypeTimestamp
	TypeU8     // a byte produced by iterating a BLOB
	TypeCustom // a Go value registered by the host
)

// Value is a Rhai value. It is a small struct: integers, floats, booleans,
// characters and unit live in n and never allocate; other types keep a pointer
// (or a Go string) in p. The zero Value is unit `()`.
//
// Arrays, maps and BLOBs have value semantics in Rhai: the engine copies them
// where a script stores one (let, assignment, argument binding, pushing into a
// collection), so a Value read out of a variable may share its backing store with
// that variable until it is stored.
type Value struct {
	t   Type
	tag int32 // Rhai's Dynamic tag (x.tag); sits in padding, costs no space
	n   uint64
	p   any
}

// Array is the backing store of a Rhai array.
//
// While every element is an untagged integer, float, boolean or character of
// one type, the engine may keep the array packed (see packed.go): the
// elements' payloads in a pointer-free []uint64 (or []bool) and Items empty. AsArray
// unpacks such an array into Items first, so Items always holds the elements
// for code that reads it through AsArray; like writing to the array, that is
// not safe concurrently with other uses of the same array.
type Array struct {
	Items []Value

	words  []uint64 // the payloads of a packed array's elements
	bools  []bool   // or its booleans
	packed Type     // their type; TypeUnit when the array is not packed
}

// Map is the backing store of a Rhai object map. Rhai's maps iterate in byte
// order of their keys; SortedKeys gives that order.
type Map struct{ M map[string]Value }

// Blob is the backing store of a Rhai BLOB.
type Blob struct{ B []byte }

// Range is an integer range; Inclusive for `..=`.
type Range struct {
	Start, End int64
}

// Custom is a Go value exposed to scripts; TypeName is what type_of returns.
type Custom struct {
	TypeName string
	V        any
}

// Unit is the value `()`.
var Unit = Value{}

// Constructors. They are small enough to be inlined on hot paths.

func Int(i int64) Value     { return Value{t: TypeInt, n: uint64(i)} }
func Float(f float64) Value { return Value{t: TypeFloat, n: math.Float64bits(f)} }
func Char(r rune) Value     { return Value{t: TypeChar, n: uint64(r)} }

// String makes a string value. The string's bytes are kept as a bare pointer
// (with the length in n), which an interface holds without allocating; boxing
// the string header itself would cost an allocation per string value.
func String(s string) Value {
	return Value{t: TypeString, n: uint64(len(s)), p: unsafe.Pointer(unsafe.StringData(s))}
}
func U8(b byte) Value { return Value{t: TypeU8, n: uint64(b)} }
func Bool(b bool) Value {
	if b {
		return Value{t: TypeBool, n: 1}
	}
	return Value{t: TypeBool}
}

// NewArray wraps items (not copied) as an array value.
func NewArray(items []Value) Value { return Value{t: TypeArray, p: &Array{Items: items}} }

// NewMap wraps m (not copied) as a map value; a nil m makes an empty map.
func NewMap(m map[string]Value) Value {
	if m == nil {
		m = make(map[string]Value)
	}
	return Value{t: TypeMap, p: &Map{M: m}}
}

// NewBlob wraps b (not copied) as a BLOB value.
func NewBlob(b []byte) Value { return Value{t: TypeBlob, p: &Blob{B: b}} }

// NewRange makes start..end, or start..=end when inclusive.
func NewRange(start, end int64, inclusive bool) Value {
	t := TypeRange
	if inclusive {
		t = TypeRangeInclusive
	}
	return Value{t: t, p: &Range{Start: start, End: end}}
}

// NewTimestamp makes a timestamp value.
func NewTimestamp(t time.Time) Value { return Value{t: TypeTimestamp, p: t} }

// NewCustom wraps a Go value whose type_of is typeName.
func NewCustom(typeName string, v any) Value {
	return Value{t: TypeCustom, p: &Custom{TypeName: typeName, V: v}}
}

// NewFnPtr makes a function pointer to the named function.
func NewFnPtr(name string) Value { return Value{t: TypeFnPtr, p: &FnPtr{Name: name}} }

// Accessors. The As* methods assume the caller checked Type().

func (v Value) Type() Type       { return v.t }
func (v Value) IsUnit() bool     { return v.t == TypeUnit }
func (v Value) AsInt() int64     { return int64(v.n) }
func (v Value) AsFloat() float64 { return math.Float64frombits(v.n) }
func (v Value) AsBool() bool     { return v.n != 0 }
func (v Value) AsChar() rune     { return rune(v.n) }
func (v Value) AsString() string {
	p, _ := v.p.(unsafe.Pointer)
	if p == nil {
		return ""
	}
	return unsafe.String((*byte)(p), int(v.n))
}

// AsArray returns the array's backing store with its elements in Items
// (unpacking a packed array; see Array).
func (v Value) AsArray() *Array {
	a, _ := v.p.(*Array)
	if a != nil && a.packed != TypeUnit {
		a.unpack()
	}
	return a
}
func (v Value) AsMap() *Map       { m, _ := v.p.(*Map); return m }
func (v Value) AsBlob() *Blob     { b, _ := v.p.(*Blob); return b }
func (v Value) AsRange() *Range   { r, _ := v.p.(*Range); return r }
func (v Value) AsFnPtr() *FnPtr   { f, _ := v.p.(*FnPtr); return f }
func (v Value) AsCustom() *Custom { c, _ := v.p.(*Custom); return c }
func (v Value) AsTimestamp() time.Time {
	t, _ := v.p.(time.Time)
	return t
}

// IsRange reports whether v is an exclusive or inclusive range.
func (v Value) IsRange() bool { return v.t == TypeRange || v.t == TypeRangeInclusive }

// IsNumber reports whether v is an i64 or f64.
func (v Value) IsNumber() bool { return v.t == TypeInt || v.t == TypeFloat }

// TypeName is what Rhai's type_of returns for v.
func (v Value) TypeName() string {
	switch v.t {
	case TypeUnit:
		return "()"
	case TypeBool:
		return "bool"
	case TypeInt:
		return "i64"
	case TypeFloat:
		return "f64"
	case TypeChar:
		return "char"
	case TypeString:
		return "string"
	case TypeArray:
		return "array"
	case TypeMap:
		return "map"
	case TypeBlob:
		return "blob"
	case TypeFnPtr:
		return "Fn"
	case TypeRange:
		return "range"
	case TypeRangeInclusive:
		return "range="
	case TypeTimestamp:
		return "timestamp"
	case TypeU8:
		return "u8"
	case TypeCustom:
		return v.AsCustom().TypeName
	}
	return "?"
}

// Clone returns a copy of v that shares nothing mutable with it: arrays, maps and
// BLOBs are copied deeply; everything else is immutable and returned as is.
func (v Value) Clone() Value {
	switch v.t {
	case TypeArray:
		if a := v.array(); a != nil && a.packed != TypeUnit {
			return Value{t: TypeArray, p: a.packedCopy()}
		}
		src := v.AsArray().Items
		items := make([]Value, len(src))
		for i, e := range src {
			items[i] = e.Clone()
		}
		return NewArray(items)
	case TypeMap:
		src := v.AsMap().M
		m := make(map[string]Value, len(src))
		for k, e := range src {
			m[k] = e.Clone()
		}
		return NewMap(m)
	case TypeBlob:
		return NewBlob(append([]byte(nil), v.AsBlob().B...))
	}
	return v
}

// identical reports whether *a and *b hold the same bits: type, tag, payload
// and the two words of p compared as words (it never looks inside p, so it
// cannot panic on an uncomparable dynamic type). The engine uses it to skip
// storing a value over itself: a pointer store costs a write barrier while the
// collector marks.
func identical(a, b *Value) bool {
	return a.t == b.t && a.tag == b.tag && a.n == b.n &&
		*(*[2]unsafe.Pointer)(unsafe.Pointer(&a.p)) == *(*[2]unsafe.Pointer)(unsafe.Pointer(&b.p))
}

// store sets *dst = v. When neither the old nor the new value holds a pointer
// (integers, floats, booleans, characters, ()), it writes the scalar words
// alone: assigning the whole Value passes p through the write barrier, which
// while the collector marks costs a buffer entry per store, flushed and
// looked up in batches. Loop variables and counters are stored this way.
func store(dst *Value, v Value) {
	if v.p == nil && dst.p == nil {
		dst.t, dst.tag, dst.n = v.t, v.tag, v.n
		return
	}
	*dst = v
}

// IsMutableContainer reports whether v is an array, map or BLOB, the types with
// value semantics that must be copied when stored.
func (v Value) IsMutableContainer() bool {
	return v.t == TypeArray || v.t == TypeMap || v.t == TypeBlob
}

// SortedKeys returns m's keys in byte order, the order Rhai iterates them.
func (m *Map) SortedKeys() []string {
	keys := make([]string, 0, len(m.M))
	for k := range m.M {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Iterable is implemented by the Go value inside a TypeCustom Value that `for`
// can iterate (for example the stepped ranges range(from, to, step) returns).
// Each calls yield with every element in order and stops when yield returns false.
type Iterable interface {
	Each(yield func(Value) bool)
}
