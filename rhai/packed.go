package rhai

// Packed arrays.
//
// A Value is 32 bytes and holds a pointer word, so an array of a million
// integers is 32 MB that the garbage collector scans on every cycle, and
// growing it holds the old and the new backing store at once. Most large
// arrays scripts build are homogeneous scalars (a sieve's booleans, pushed
// integers, a row of floats), so an array whose elements are all untagged
// values of one scalar type is kept packed: their payloads (Value.n) in a
// []uint64 and the type once, 8 bytes per element and no pointers.
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
func (a *Array) Len() int { return len(a.Items) + len(a.words) }

// capacity is the number of element slots the backing store holds.
func (a *Array) capacity() int { return cap(a.Items) + cap(a.words) }

// at returns element i, 0 <= i < Len().
func (a *Array) at(i int) Value {
	if a.packed != TypeUnit {
		return Value{t: a.packed, n: a.words[i]}
	}
	return a.Items[i]
}

// get returns element i when 0 <= i < Len().
func (a *Array) get(i int64) (Value, bool) {
	if uint64(i) < uint64(len(a.Items)) {
		return a.Items[i], true
	}
	if uint64(i) < uint64(len(a.words)) {
		return Value{t: a.packed, n: a.words[i]}, true
	}
	return Unit, false
}

// set stores v as element i when 0 <= i < Len() and reports whether it did.
func (a *Array) set(i int64, v Value) bool {
	if uint64(i) < uint64(len(a.Items)) {
		a.Items[i] = v
		return true
	}
	if uint64(i) < uint64(len(a.words)) {
		if v.t == a.packed && v.tag == 0 {
			a.words[i] = v.n
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
	if a.packed != TypeUnit {
		if v.t == a.packed && v.tag == 0 {
			if n := len(a.words); n == cap(a.words) && n >= 256 {
				grown := make([]uint64, n, 2*n)
				copy(grown, a.words)
				a.words = grown
			}
			a.words = append(a.words, v.n)
			return
		}
		a.unpack()
	} else if len(a.Items) == 0 && packable(v) {
		a.Items = nil
		a.packed = v.t
		a.words = append(a.words[:0], v.n)
		return
	}
	if n := len(a.Items); n == cap(a.Items) && n >= 256 {
		grown := make([]Value, n, 2*n)
		copy(grown, a.Items)
		a.Items = grown
	}
	a.Items = append(a.Items, v)
}

// unpack moves a packed array's elements into Items.
func (a *Array) unpack() {
	items := make([]Value, len(a.words))
	for i, w := range a.words {
		items[i] = Value{t: a.packed, n: w}
	}
	a.Items, a.words, a.packed = items, nil, TypeUnit
}

// packedWords returns a packed array's payloads and their type (ok false when
// it is not packed); a copy of them when snapshot.
func (a *Array) packedWords(snapshot bool) (words []uint64, t Type, ok bool) {
	if a.packed == TypeUnit {
		return nil, TypeUnit, false
	}
	words = a.words
	if snapshot {
		words = append([]uint64(nil), words...)
	}
	return words, a.packed, true
}

// clonePacked copies the packed array a (v's), accounted as clone accounts an
// unpacked one.
func (c cloner) clonePacked(v Value, a *Array) Value {
	src := a.words
	if !c.th.fits(len(src) * valueBytes) {
		panic(errMemory())
	}
	words := make([]uint64, 0, len(src))
	// In steps, so that a long copy meets the checks along the way.
	for lo := 0; lo < len(src); lo += copyStep {
		hi := min(lo+copyStep, len(src))
		c.count((hi - lo) * valueBytes)
		words = append(words, src[lo:hi]...)
	}
	c.count(containerBytes)
	return Value{t: TypeArray, tag: v.tag, p: &Array{words: words, packed: a.packed}}
}
