package rhai

import "unsafe"

// Packed arrays.
//
// A Value is 32 bytes and holds a pointer word, so an array of a million
// integers is 32 MB that the garbage collector scans on every cycle, and
// growing it holds the old and the new backing store at once. Most large
// arrays scripts build are homogeneous scalars (a sieve's booleans, pushed
// integers, a row of floats), so an array whose elements are all untagged
// values of one scalar type is kept packed: their payloads (Value.n) in a
// []uint64 and the type once, 8 bytes per element and no pointers; booleans
// in a []bool, one byte each.
//
// An array starts packed when a scalar is pushed onto it or it is padded with
// one while it is empty, and stays packed while what is stored into it is of
// the same type. The hot paths read and write packed arrays directly (push,
// pad, len, indexing, element assignment, for, copying, the memory walk);
// everything else goes through AsArray, which unpacks the array into Items
// for good. Storing anything else (another type, a tagged value, a
// container) unpacks it too.
//
// Memory accounting does not change: a packed element is counted as a Value
// slot (valueBytes), what it takes once unpacked, so that unpacking, which can
// happen anywhere, never holds more than was accounted.

// array returns v's backing store as it is, possibly packed (v must be an array).
func (v Value) array() *Array { a, _ := v.p.(*Array); return a }

// packable reports whether v can be an element of a packed array.
func packable(v Value) bool {
	switch v.t {
	case TypeBool, TypeInt, TypeFloat, TypeChar:
		return v.tag == 0
	}
	return false
}

// Len is the number of elements, packed or not.
func (a *Array) Len() int { return len(a.Items) + len(a.words) + len(a.bools) }

// capacity is the number of element slots the backing store holds.
func (a *Array) capacity() int { return cap(a.Items) + cap(a.words) + cap(a.bools) }

// at returns element i, 0 <= i < Len().
func (a *Array) at(i int) Value {
	switch a.packed {
	case TypeUnit:
		return a.Items[i]
	case TypeBool:
		return Bool(a.bools[i])
	}
	return Value{t: a.packed, n: a.words[i]}
}

// get returns element i when 0 <= i < Len().
func (a *Array) get(i int64) (Value, bool) {
	if uint64(i) < uint64(len(a.Items)) {
		return a.Items[i], true
	}
	if uint64(i) < uint64(len(a.words)) {
		return Value{t: a.packed, n: a.words[i]}, true
	}
	if uint64(i) < uint64(len(a.bools)) {
		return Bool(a.bools[i]), true
	}
	return Unit, false
}

// set stores v as element i when 0 <= i < Len() and reports whether it did.
func (a *Array) set(i int64, v Value) bool {
	if uint64(i) < uint64(len(a.Items)) {
		a.Items[i] = v
		return true
	}
	if uint64(i) < uint64(a.Len()) {
		if v.t == a.packed && v.tag == 0 {
			if v.t == TypeBool {
				a.bools[i] = v.n != 0
			} else {
				a.words[i] = v.n
			}
			return true
		}
		a.unpack()
		a.Items[i] = v
		return true
	}
	return false
}

// push appends v (already owned by the array). A large backing store doubles
// rather than growing by append's 1.25: a script that pushes a million items
// should not copy the array a dozen times.
func (a *Array) push(v Value) {
	if a.packed == TypeUnit && len(a.Items) == 0 && packable(v) {
		a.Items, a.words, a.bools, a.packed = nil, a.words[:0], a.bools[:0], v.t
	}
	if a.packed != TypeUnit {
		if v.t == a.packed && v.tag == 0 {
			if v.t == TypeBool {
				pushOnto(&a.bools, v.n != 0)
			} else {
				pushOnto(&a.words, v.n)
			}
			return
		}
		a.unpack()
	}
	pushOnto(&a.Items, v)
}

// pushOnto appends x to *s. While the capacity lasts only the length is
// stored back: storing the whole slice header would pass its pointer through
// the write barrier, on every push while the collector marks.
func pushOnto[T any](s *[]T, x T) {
	if n := len(*s); n < cap(*s) {
		*s = (*s)[:n+1]
		(*s)[n] = x
		return
	}
	*s = appendDoubling(*s, x)
}

// appendDoubling appends x to s, doubling a large backing store when full.
func appendDoubling[T any](s []T, x T) []T {
	if n := len(s); n == cap(s) && n >= 256 {
		grown := make([]T, n, 2*n)
		copyPreemptible(grown, s)
		s = grown
	}
	return append(s, x)
}

// copyChunk bounds one memmove of copyPreemptible, as the runtime bounds its
// own clearing of large allocations (256 KiB chunks).
const copyChunk = 256 << 10

// copyPreemptible is copy(dst, src) for a freshly made, still zero dst, in a
// way the goroutine can be stopped while it runs. A memmove cannot be
// preempted, and copying megabytes into fresh pages spends milliseconds in
// page faults: a collector that wants to scan the goroutine's stack meanwhile
// spins and keeps signalling it, each signal landing in the memmove and
// slowing it further (arraysum's doublings at GOGC=100: 13% of the process's
// CPU in signal delivery, 13% in the mark worker's spin). So each chunk's
// pages are faulted in first by a Go loop, where a signal can preempt, and
// the memmove then copies into memory that is already there.
func copyPreemptible[T any](dst, src []T) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	step := max(copyChunk/max(size, 1), 1)
	for len(src) > 0 {
		k := min(step, len(src))
		touchPages(unsafe.Pointer(unsafe.SliceData(dst)), k*size)
		copy(dst[:k], src[:k])
		dst, src = dst[k:], src[k:]
	}
}

// touchPages stores a zero byte into every page of the n zero bytes at p.
func touchPages(p unsafe.Pointer, n int) {
	for off := 0; off < n; off += 4096 {
		*(*byte)(unsafe.Add(p, off)) = 0
	}
}

// unpack moves a packed array's elements into Items.
func (a *Array) unpack() {
	items := make([]Value, a.Len())
	for i, w := range a.words {
		items[i] = Value{t: a.packed, n: w}
	}
	for i, b := range a.bools {
		items[i] = Bool(b)
	}
	a.Items, a.words, a.bools, a.packed = items, nil, nil, TypeUnit
}

// eachPacked calls step with every element of a packed array until it
// returns false (over a copy of them when snapshot: the caller may change the
// array meanwhile) and reports whether a was packed.
func (a *Array) eachPacked(snapshot bool, step func(Value) bool) bool {
	switch a.packed {
	case TypeUnit:
		return false
	case TypeBool:
		bools := a.bools
		if snapshot {
			bools = append([]bool(nil), bools...)
		}
		for i := 0; i < len(bools); i++ {
			if !step(Bool(bools[i])) {
				break
			}
		}
	default:
		words, t := a.words, a.packed
		if snapshot {
			words = append([]uint64(nil), words...)
		}
		for i := 0; i < len(words); i++ {
			if !step(Value{t: t, n: words[i]}) {
				break
			}
		}
	}
	return true
}

// clonePacked copies the packed array a (v's), accounted as clone accounts an
// unpacked one.
func (c cloner) clonePacked(v Value, a *Array) Value {
	n := a.Len()
	if !c.th.fits(n * valueBytes) {
		panic(errMemory())
	}
	// In steps, so that a long copy meets the checks along the way.
	for lo := 0; lo < n; lo += copyStep {
		c.count((min(lo+copyStep, n) - lo) * valueBytes)
	}
	c.count(containerBytes)
	return Value{t: TypeArray, tag: v.tag, p: a.packedCopy()}
}

// packedCopy is a copy of the packed array a.
func (a *Array) packedCopy() *Array {
	return &Array{words: append([]uint64(nil), a.words...), bools: append([]bool(nil), a.bools...), packed: a.packed}
}
