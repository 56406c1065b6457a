package rhai

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// stdBlob registers Rhai's BLOB functions (BasicBlobPackage). Bytes read out of
// a BLOB (get, pop, b[i]) are i64; values written are masked to their low byte.
func stdBlob(m *Module) { registerLib(m, blobFns) }

// blobFns is the BLOB library, in registration order. Entries wrapped in
// blobScan charge for the BLOB's length before they run.
var blobFns = []libFn{
	// Making BLOBs and their length.
	{name: "blob", params: nil, fn: blobEmpty},
	{name: "blob", params: []Type{TypeInt}, fn: blobOfLen},
	{name: "blob", params: []Type{TypeInt, TypeInt}, fn: blobOfLenFilled},
	{name: "len", params: []Type{TypeBlob}, fn: blobLen, prop: true},
	{name: "is_empty", params: []Type{TypeBlob}, fn: blobIsEmpty, prop: true},

	// Adding bytes.
	{name: "push", params: []Type{TypeBlob, TypeInt}, fn: blobPush, mut: true},
	{name: "append", params: []Type{TypeBlob, TypeInt}, fn: blobPush, mut: true},
	{name: "+=", params: []Type{TypeBlob, TypeInt}, fn: blobPush, mut: true},
	{name: "append", params: []Type{TypeBlob, TypeBlob}, fn: blobAppendBlob, mut: true},
	{name: "+=", params: []Type{TypeBlob, TypeBlob}, fn: blobAppendBlob, mut: true},
	{name: "append", params: []Type{TypeBlob, TypeString}, fn: blobAppendString, mut: true},
	{name: "+=", params: []Type{TypeBlob, TypeString}, fn: blobAppendString, mut: true},
	{name: "append", params: []Type{TypeBlob, TypeChar}, fn: blobAppendChar, mut: true},
	{name: "+=", params: []Type{TypeBlob, TypeChar}, fn: blobAppendChar, mut: true},

	// Operators.
	{name: "+", params: []Type{TypeBlob, TypeBlob}, fn: blobConcat},
	{name: "+", params: []Type{TypeBlob, TypeString}, fn: blobPlusString},
	{name: "==", params: []Type{TypeBlob, TypeBlob}, fn: blobScan(blobEqual)},
	{name: "!=", params: []Type{TypeBlob, TypeBlob}, fn: blobScan(blobNotEqual)},

	// Changing a BLOB in place.
	{name: "insert", params: []Type{TypeBlob, TypeInt, TypeInt}, fn: blobScan(blobInsert), mut: true},
	{name: "pop", params: []Type{TypeBlob}, fn: blobPop, mut: true},
	{name: "shift", params: []Type{TypeBlob}, fn: blobScan(blobShift), mut: true},
	{name: "remove", params: []Type{TypeBlob, TypeInt}, fn: blobScan(blobRemove), mut: true},
	{name: "clear", params: []Type{TypeBlob}, fn: blobClear, mut: true},
	{name: "truncate", params: []Type{TypeBlob, TypeInt}, fn: blobTruncate, mut: true},
	{name: "chop", params: []Type{TypeBlob, TypeInt}, fn: blobChop, mut: true},
	{name: "reverse", params: []Type{TypeBlob}, fn: blobScan(blobReverse), mut: true},
	{name: "pad", params: []Type{TypeBlob, TypeInt, TypeInt}, fn: blobPad, mut: true},
	{name: "contains", params: []Type{TypeBlob, TypeInt}, fn: blobScan(blobContains)},

	// Bytes by position.
	{name: "get", params: []Type{TypeBlob, TypeInt}, fn: blobGet},
	{name: "set", params: []Type{TypeBlob, TypeInt, TypeInt}, fn: blobSet, mut: true},
	{name: "index$get", params: []Type{TypeBlob, TypeInt}, fn: blobIndexGet},
	{name: "index$set", params: []Type{TypeBlob, TypeInt, TypeInt}, fn: blobIndexSet, mut: true},

	// Parts of a BLOB by start and length.
	{name: "extract", params: []Type{TypeBlob, TypeInt}, fn: blobScan(blobExtractFrom)},
	{name: "extract", params: []Type{TypeBlob, TypeInt, TypeInt}, fn: blobScan(blobExtract)},
	{name: "split", params: []Type{TypeBlob, TypeInt}, fn: blobScan(blobSplit), mut: true},
	{name: "drain", params: []Type{TypeBlob, TypeInt, TypeInt}, fn: blobScan(blobDrain), mut: true},
	{name: "retain", params: []Type{TypeBlob, TypeInt, TypeInt}, fn: blobScan(blobRetain), mut: true},
	{name: "splice", params: []Type{TypeBlob, TypeInt, TypeInt, TypeBlob}, fn: blobSplice, mut: true},

	// Binary parsing and writing: each takes the bytes as (start, length) or
	// as a range.
	{name: "parse_le_int", params: []Type{TypeBlob, TypeInt, TypeInt}, fn: parseLeInt},
	{name: "parse_le_int", params: []Type{TypeBlob, TypeRange}, fn: parseLeInt},
	{name: "parse_le_int", params: []Type{TypeBlob, TypeRangeInclusive}, fn: parseLeInt},
	{name: "parse_be_int", params: []Type{TypeBlob, TypeInt, TypeInt}, fn: parseBeInt},
	{name: "parse_be_int", params: []Type{TypeBlob, TypeRange}, fn: parseBeInt},
	{name: "parse_be_int", params: []Type{TypeBlob, TypeRangeInclusive}, fn: parseBeInt},
	{name: "parse_le_float", params: []Type{TypeBlob, TypeInt, TypeInt}, fn: parseLeFloat},
	{name: "parse_le_float", params: []Type{TypeBlob, TypeRange}, fn: parseLeFloat},
	{name: "parse_le_float", params: []Type{TypeBlob, TypeRangeInclusive}, fn: parseLeFloat},
	{name: "parse_be_float", params: []Type{TypeBlob, TypeInt, TypeInt}, fn: parseBeFloat},
	{name: "parse_be_float", params: []Type{TypeBlob, TypeRange}, fn: parseBeFloat},
	{name: "parse_be_float", params: []Type{TypeBlob, TypeRangeInclusive}, fn: parseBeFloat},
	{name: "write_le", params: []Type{TypeBlob, TypeInt, TypeInt, TypeInt}, fn: writeLe, mut: true},
	{name: "write_le", params: []Type{TypeBlob, TypeRange, TypeInt}, fn: writeLe, mut: true},
	{name: "write_le", params: []Type{TypeBlob, TypeRangeInclusive, TypeInt}, fn: writeLe, mut: true},
	{name: "write_le", params: []Type{TypeBlob, TypeInt, TypeInt, TypeFloat}, fn: writeLe, mut: true},
	{name: "write_le", params: []Type{TypeBlob, TypeRange, TypeFloat}, fn: writeLe, mut: true},
	{name: "write_le", params: []Type{TypeBlob, TypeRangeInclusive, TypeFloat}, fn: writeLe, mut: true},
	{name: "write_be", params: []Type{TypeBlob, TypeInt, TypeInt, TypeInt}, fn: writeBe, mut: true},
	{name: "write_be", params: []Type{TypeBlob, TypeRange, TypeInt}, fn: writeBe, mut: true},
	{name: "write_be", params: []Type{TypeBlob, TypeRangeInclusive, TypeInt}, fn: writeBe, mut: true},
	{name: "write_be", params: []Type{TypeBlob, TypeInt, TypeInt, TypeFloat}, fn: writeBe, mut: true},
	{name: "write_be", params: []Type{TypeBlob, TypeRange, TypeFloat}, fn: writeBe, mut: true},
	{name: "write_be", params: []Type{TypeBlob, TypeRangeInclusive, TypeFloat}, fn: writeBe, mut: true},
	{name: "write_utf8", params: []Type{TypeBlob, TypeInt, TypeInt, TypeString}, fn: blobScan(writeUTF8), mut: true},
	{name: "write_utf8", params: []Type{TypeBlob, TypeRange, TypeString}, fn: blobScan(writeUTF8), mut: true},
	{name: "write_utf8", params: []Type{TypeBlob, TypeRangeInclusive, TypeString}, fn: blobScan(writeUTF8), mut: true},
	{name: "write_ascii", params: []Type{TypeBlob, TypeInt, TypeInt, TypeString}, fn: blobScan(writeASCII), mut: true},
	{name: "write_ascii", params: []Type{TypeBlob, TypeRange, TypeString}, fn: blobScan(writeASCII), mut: true},
	{name: "write_ascii", params: []Type{TypeBlob, TypeRangeInclusive, TypeString}, fn: blobScan(writeASCII), mut: true},

	// Parts of a BLOB by range.
	{name: "extract", params: []Type{TypeBlob, TypeRange}, fn: blobScan(blobExtractRange)},
	{name: "drain", params: []Type{TypeBlob, TypeRange}, fn: blobScan(blobDrain), mut: true},
	{name: "retain", params: []Type{TypeBlob, TypeRange}, fn: blobScan(blobRetain), mut: true},
	{name: "splice", params: []Type{TypeBlob, TypeRange, TypeBlob}, fn: blobSpliceRange, mut: true},
	{name: "extract", params: []Type{TypeBlob, TypeRangeInclusive}, fn: blobScan(blobExtractRange)},
	{name: "drain", params: []Type{TypeBlob, TypeRangeInclusive}, fn: blobScan(blobDrain), mut: true},
	{name: "retain", params: []Type{TypeBlob, TypeRangeInclusive}, fn: blobScan(blobRetain), mut: true},
	{name: "splice", params: []Type{TypeBlob, TypeRangeInclusive, TypeBlob}, fn: blobSpliceRange, mut: true},

	// Conversions.
	{name: "as_string", params: []Type{TypeBlob}, fn: blobScan(blobAsString)},
	{name: "to_blob", params: []Type{TypeString}, fn: stringToBlob},
	{name: "to_array", params: []Type{TypeBlob}, fn: blobScan(blobToArray)},
	{name: "to_blob", params: []Type{TypeArray}, fn: arrayToBlob},
}

// blobScan wraps a BLOB function whose work grows with the BLOB's length: each
// call first charges one operation per 64 bytes of its first argument (see
// lib_guard.go).
func blobScan(f NativeFunc) NativeFunc {
	return func(c *Context, a []Value) (Value, error) {
		if b := a[0].AsBlob(); b != nil && len(b.B) >= bytesPerOp {
			if err := chargeBytes(c, len(b.B)); err != nil {
				return Unit, err
			}
		}
		return f(c, a)
	}
}

// newBlob makes a BLOB of n bytes of v (empty when n ≤ 0), within the size
// limits.
func newBlob(c *Context, n int64, v byte) (Value, error) {
	if n <= 0 {
		return NewBlob([]byte{}), nil
	}
	if n > maxInt32 {
		return Unit, collCheckArray(c, maxInt)
	}
	if err := collCheckArray(c, int(n)); err != nil {
		return Unit, err
	}
	if err := chargeBytes(c, int(n)); err != nil {
		return Unit, err
	}
	b := make([]byte, n)
	if v != 0 {
		for i := range b {
			b[i] = v
		}
	}
	return NewBlob(b), nil
}

// blobEmpty is blob(): an empty BLOB.
func blobEmpty(c *Context, a []Value) (Value, error) {
	return NewBlob([]byte{}), nil
}

// blobOfLen is blob(len): len zero bytes.
func blobOfLen(c *Context, a []Value) (Value, error) {
	return newBlob(c, a[0].AsInt(), 0)
}

// blobOfLenFilled is blob(len, value): len bytes of value's low byte.
func blobOfLenFilled(c *Context, a []Value) (Value, error) {
	return newBlob(c, a[0].AsInt(), byte(a[1].AsInt()))
}

// blobLen is len(blob) and blob.len.
func blobLen(c *Context, a []Value) (Value, error) { return Int(int64(len(a[0].AsBlob().B))), nil }

// blobIsEmpty is is_empty(blob) and blob.is_empty.
func blobIsEmpty(c *Context, a []Value) (Value, error) {
	return Bool(len(a[0].AsBlob().B) == 0), nil
}

// blobPush is push(blob, i64), append(blob, i64) and blob += i64: adds the
// value's low byte.
func blobPush(c *Context, a []Value) (Value, error) {
	b := a[0].AsBlob()
	if err := collCheckArray(c, len(b.B)+1); err != nil {
		return Unit, err
	}
	b.B = append(b.B, byte(a[1].AsInt()))
	return Unit, nil
}

// blobAppendBytes adds data to b, within the size limits.
func blobAppendBytes(c *Context, b *Blob, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	if err := collCheckArray(c, len(b.B)+len(data)); err != nil {
		return err
	}
	if err := chargeBytes(c, len(data)); err != nil {
		return err
	}
	b.B = append(b.B, data...)
	return nil
}

// blobAppendBlob is append(blob, blob) and blob += blob (a copy, so that
// b.append(b) works).
func blobAppendBlob(c *Context, a []Value) (Value, error) {
	return Unit, blobAppendBytes(c, a[0].AsBlob(), append([]byte(nil), a[1].AsBlob().B...))
}

// blobAppendString is append(blob, string) and blob += string: the string's
// UTF-8 bytes.
func blobAppendString(c *Context, a []Value) (Value, error) {
	return Unit, blobAppendBytes(c, a[0].AsBlob(), []byte(a[1].AsString()))
}

// blobAppendChar is append(blob, char) and blob += char: the character's
// UTF-8 bytes.
func blobAppendChar(c *Context, a []Value) (Value, error) {
	return Unit, blobAppendBytes(c, a[0].AsBlob(), utf8.AppendRune(nil, a[1].AsChar()))
}

// blobConcat is blob + blob: a new BLOB.
func blobConcat(c *Context, a []Value) (Value, error) {
	x, y := a[0].AsBlob().B, a[1].AsBlob().B
	if err := collCheckArray(c, len(x)+len(y)); err != nil {
		return Unit, err
	}
	if err := chargeBytes(c, len(x)+len(y)); err != nil {
		return Unit, err
	}
	out := make([]byte, 0, len(x)+len(y))
	out = append(append(out, x...), y...)
	return NewBlob(out), nil
}

// blobPlusString is blob + string: the BLOB read as UTF-8 (lossily) followed
// by the string.
func blobPlusString(c *Context, a []Value) (Value, error) {
	if err := growString(c, len(a[0].AsBlob().B)+len(a[1].AsString())); err != nil {
		return Unit, err
	}
	s := blobToString(a[0].AsBlob().B) + a[1].AsString()
	if c != nil && c.th != nil {
		if err := c.CheckStringSize(len(s)); err != nil {
			return Unit, err
		}
	}
	return String(s), nil
}

// blobEqual is blob == blob.
func blobEqual(c *Context, a []Value) (Value, error) {
	return Bool(string(a[0].AsBlob().B) == string(a[1].AsBlob().B)), nil
}

// blobNotEqual is blob != blob.
func blobNotEqual(c *Context, a []Value) (Value, error) {
	return Bool(string(a[0].AsBlob().B) != string(a[1].AsBlob().B)), nil
}

// blobInsert is insert(blob, position, i64): a negative position counts from
// the end (before the first byte when too far back), one past the end appends.
func blobInsert(c *Context, a []Value) (Value, error) {
	b := a[0].AsBlob()
	n := len(b.B)
	if err := collCheckArray(c, n+1); err != nil {
		return Unit, err
	}
	pos := a[1].AsInt()
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
	b.B = append(b.B, 0)
	copy(b.B[at+1:], b.B[at:])
	b.B[at] = byte(a[2].AsInt())
	return Unit, nil
}

// blobPop is pop(blob): removes and returns the last byte (0 when empty).
func blobPop(c *Context, a []Value) (Value, error) {
	b := a[0].AsBlob()
	if len(b.B) == 0 {
		return Int(0), nil
	}
	v := b.B[len(b.B)-1]
	b.B = b.B[:len(b.B)-1]
	return Int(int64(v)), nil
}

// blobShift is shift(blob): removes and returns the first byte (0 when empty).
func blobShift(c *Context, a []Value) (Value, error) {
	b := a[0].AsBlob()
	if len(b.B) == 0 {
		return Int(0), nil
	}
	v := b.B[0]
	b.B = append(b.B[:0], b.B[1:]...)
	return Int(int64(v)), nil
}

// blobRemove is remove(blob, index): removes and returns that byte (0 when the
// index is out of range).
func blobRemove(c *Context, a []Value) (Value, error) {
	b := a[0].AsBlob()
	i, ok := indexStrict(a[1].AsInt(), len(b.B))
	if !ok {
		return Int(0), nil
	}
	v := b.B[i]
	b.B = append(b.B[:i], b.B[i+1:]...)
	return Int(int64(v)), nil
}

// blobClear is clear(blob).
func blobClear(c *Context, a []Value) (Value, error) {
	b := a[0].AsBlob()
	b.B = b.B[:0]
	return Unit, nil
}

// blobTruncate is truncate(blob, len): keeps the first len bytes.
func blobTruncate(c *Context, a []Value) (Value, error) {
	b := a[0].AsBlob()
	n := max(a[1].AsInt(), 0)
	if n < int64(len(b.B)) {
		b.B = b.B[:n]
	}
	return Unit, nil
}

// blobChop is chop(blob, len): keeps the last len bytes.
func blobChop(c *Context, a []Value) (Value, error) {
	b := a[0].AsBlob()
	n := max(a[1].AsInt(), 0)
	if n < int64(len(b.B)) {
		k := copy(b.B, b.B[len(b.B)-int(n):])
		b.B = b.B[:k]
	}
	return Unit, nil
}

// blobReverse is reverse(blob), in place.
func blobReverse(c *Context, a []Value) (Value, error) {
	x := a[0].AsBlob().B
	for i, j := 0, len(x)-1; i < j; i, j = i+1, j-1 {
		x[i], x[j] = x[j], x[i]
	}
	return Unit, nil
}

// blobPad is pad(blob, len, i64): appends the value's low byte until the BLOB
// has len bytes.
func blobPad(c *Context, a []Value) (Value, error) {
	b := a[0].AsBlob()
	n := a[1].AsInt()
	if n <= int64(len(b.B)) {
		return Unit, nil
	}
	if n > maxInt32 {
		return Unit, collCheckArray(c, maxInt)
	}
	if err := collCheckArray(c, int(n)); err != nil {
		return Unit, err
	}
	if err := chargeBytes(c, int(n)-len(b.B)); err != nil {
		return Unit, err
	}
	v := byte(a[2].AsInt())
	for int64(len(b.B)) < n {
		b.B = append(b.B, v)
	}
	return Unit, nil
}

// blobContains is contains(blob, i64): false for a value outside 0..=255.
func blobContains(c *Context, a []Value) (Value, error) {
	v := a[1].AsInt()
	if v < 0 || v > 255 {
		return Bool(false), nil
	}
	for _, x := range a[0].AsBlob().B {
		if x == byte(v) {
			return Bool(true), nil
		}
	}
	return Bool(false), nil
}

// blobGet is get(blob, index): the byte as i64, 0 when out of range.
func blobGet(c *Context, a []Value) (Value, error) {
	x := a[0].AsBlob().B
	i, ok := elemIndex(a[1].AsInt(), len(x))
	if !ok {
		return Int(0), nil
	}
	return Int(int64(x[i])), nil
}

// blobSet is set(blob, index, i64): nothing when out of range.
func blobSet(c *Context, a []Value) (Value, error) {
	x := a[0].AsBlob().B
	if i, ok := elemIndex(a[1].AsInt(), len(x)); ok {
		x[i] = byte(a[2].AsInt())
	}
	return Unit, nil
}

// blobIndexGet is blob[index]: an out-of-range index is an error.
func blobIndexGet(c *Context, a []Value) (Value, error) {
	x := a[0].AsBlob().B
	i, ok := indexStrict(a[1].AsInt(), len(x))
	if !ok {
		return Unit, blobBoundsError(a[1].AsInt(), len(x))
	}
	return Int(int64(x[i])), nil
}

// blobIndexSet is blob[index] = i64: an out-of-range index is an error.
func blobIndexSet(c *Context, a []Value) (Value, error) {
	x := a[0].AsBlob().B
	i, ok := indexStrict(a[1].AsInt(), len(x))
	if !ok {
		return Unit, blobBoundsError(a[1].AsInt(), len(x))
	}
	x[i] = byte(a[2].AsInt())
	return Unit, nil
}

// blobExtractFrom is extract(blob, start): a copy of the bytes from start on.
func blobExtractFrom(c *Context, a []Value) (Value, error) {
	x := a[0].AsBlob().B
	s, l := sliceBounds(a[1].AsInt(), int64(len(x)), len(x))
	return NewBlob(append([]byte{}, x[s:s+l]...)), nil
}

// blobExtract is extract(blob, start, len): a copy of those bytes.
func blobExtract(c *Context, a []Value) (Value, error) {
	x := a[0].AsBlob().B
	s, l := sliceBounds(a[1].AsInt(), a[2].AsInt(), len(x))
	return NewBlob(append([]byte{}, x[s:s+l]...)), nil
}

// blobExtractRange is extract(blob, range) for both kinds of range.
func blobExtractRange(c *Context, a []Value) (Value, error) {
	x := a[0].AsBlob().B
	s, l := rangeSliceBounds(a[1], len(x))
	return NewBlob(append([]byte{}, x[s:s+l]...)), nil
}

// blobSplit is split(blob, position): cuts the BLOB at position and returns
// the tail.
func blobSplit(c *Context, a []Value) (Value, error) {
	b := a[0].AsBlob()
	at := splitIndex(a[1].AsInt(), len(b.B))
	tail := append([]byte{}, b.B[at:]...)
	b.B = b.B[:at]
	return NewBlob(tail), nil
}

// blobDrainSpan removes l bytes at s from b and returns them.
func blobDrainSpan(b *Blob, s, l int) Value {
	out := append([]byte{}, b.B[s:s+l]...)
	b.B = append(b.B[:s], b.B[s+l:]...)
	return NewBlob(out)
}

// blobRetainSpan keeps only the l bytes at s in b and returns the others.
func blobRetainSpan(b *Blob, s, l int) Value {
	out := make([]byte, 0, len(b.B)-l)
	out = append(append(out, b.B[:s]...), b.B[s+l:]...)
	k := copy(b.B, b.B[s:s+l])
	b.B = b.B[:k]
	return NewBlob(out)
}

// blobSpliceSpan replaces the l bytes at s in b with repl, within the size
// limits.
func blobSpliceSpan(c *Context, b *Blob, s, l int, repl []byte) error {
	n := len(b.B) - l + len(repl)
	if err := collCheckArray(c, n); err != nil {
		return err
	}
	if err := chargeBytes(c, n); err != nil {
		return err
	}
	out := make([]byte, 0, n)
	out = append(append(append(out, b.B[:s]...), repl...), b.B[s+l:]...)
	b.B = out
	return nil
}

// blobSpanArgs is the blob in a[0] and the span of it that a call names
// (argSpan).
func blobSpanArgs(a []Value) (*Blob, int, int) {
	b := a[0].AsBlob()
	s, l := argSpan(a, len(b.B))
	return b, s, l
}

// blobDrain is drain(blob, start, len) and drain(blob, range) for both kinds
// of range (argSpan reads either).
func blobDrain(c *Context, a []Value) (Value, error) {
	return blobDrainSpan(blobSpanArgs(a)), nil
}

// blobRetain is retain(blob, start, len) and retain(blob, range) for both
// kinds of range.
func blobRetain(c *Context, a []Value) (Value, error) {
	return blobRetainSpan(blobSpanArgs(a)), nil
}

// blobSplice is splice(blob, start, len, blob).
func blobSplice(c *Context, a []Value) (Value, error) {
	b, s, l := blobSpanArgs(a)
	return Unit, blobSpliceSpan(c, b, s, l, a[3].AsBlob().B)
}

// blobSpliceRange is splice(blob, range, blob) for both kinds of range.
func blobSpliceRange(c *Context, a []Value) (Value, error) {
	b, s, l := blobSpanArgs(a)
	return Unit, blobSpliceSpan(c, b, s, l, a[2].AsBlob().B)
}

// bytesUint64 reads up to 8 bytes of x[s:s+l] as an unsigned number, missing
// bytes being 0.
func bytesUint64(x []byte, s, l int, le bool) uint64 {
	var buf [8]byte
	copy(buf[:], x[s:s+min(l, 8)])
	if le {
		return binary.LittleEndian.Uint64(buf[:])
	}
	return binary.BigEndian.Uint64(buf[:])
}

// parseLeInt is parse_le_int(blob, start, len) and parse_le_int(blob, range):
// up to 8 bytes read as a little-endian i64.
func parseLeInt(c *Context, a []Value) (Value, error) {
	x := a[0].AsBlob().B
	s, l := argSpan(a, len(x))
	return Int(int64(bytesUint64(x, s, l, true))), nil
}

// parseBeInt is parse_be_int(blob, start, len) and parse_be_int(blob, range):
// up to 8 bytes read as a big-endian i64.
func parseBeInt(c *Context, a []Value) (Value, error) {
	x := a[0].AsBlob().B
	s, l := argSpan(a, len(x))
	return Int(int64(bytesUint64(x, s, l, false))), nil
}

// parseLeFloat is parse_le_float(blob, start, len) and parse_le_float(blob,
// range): up to 8 bytes read as a little-endian f64.
func parseLeFloat(c *Context, a []Value) (Value, error) {
	x := a[0].AsBlob().B
	s, l := argSpan(a, len(x))
	return Float(math.Float64frombits(bytesUint64(x, s, l, true))), nil
}

// parseBeFloat is parse_be_float(blob, start, len) and parse_be_float(blob,
// range): up to 8 bytes read as a big-endian f64.
func parseBeFloat(c *Context, a []Value) (Value, error) {
	x := a[0].AsBlob().B
	s, l := argSpan(a, len(x))
	return Float(math.Float64frombits(bytesUint64(x, s, l, false))), nil
}

// writeBits writes up to 8 bytes of bits into x[s:s+l].
func writeBits(x []byte, s, l int, bits uint64, le bool) {
	var buf [8]byte
	if le {
		binary.LittleEndian.PutUint64(buf[:], bits)
	} else {
		binary.BigEndian.PutUint64(buf[:], bits)
	}
	copy(x[s:s+l], buf[:min(l, 8)])
}

// writeNumber writes the last argument of a write_le/write_be call, an i64 or
// an f64 (its IEEE bits), into the bytes the call names.
func writeNumber(a []Value, le bool) {
	x := a[0].AsBlob().B
	s, l := argSpan(a, len(x))
	v := a[len(a)-1]
	var bits uint64
	if v.t == TypeFloat {
		bits = math.Float64bits(v.AsFloat())
	} else {
		bits = uint64(v.AsInt())
	}
	writeBits(x, s, l, bits, le)
}

// writeLe is write_le(blob, start, len, i64|f64) and write_le(blob, range,
// i64|f64): the number's bytes, little-endian.
func writeLe(c *Context, a []Value) (Value, error) {
	writeNumber(a, true)
	return Unit, nil
}

// writeBe is write_be(blob, start, len, i64|f64) and write_be(blob, range,
// i64|f64): the number's bytes, big-endian.
func writeBe(c *Context, a []Value) (Value, error) {
	writeNumber(a, false)
	return Unit, nil
}

// writeText writes the last argument of a write_utf8/write_ascii call, a
// string, into the bytes the call names; ascii skips non-ASCII bytes.
func writeText(a []Value, ascii bool) {
	x := a[0].AsBlob().B
	s, l := argSpan(a, len(x))
	str := a[len(a)-1].AsString()
	dst := x[s : s+l]
	if !ascii {
		copy(dst, str)
		return
	}
	k := 0
	for i := 0; i < len(str) && k < len(dst); i++ {
		if str[i] < 0x80 {
			dst[k] = str[i]
			k++
		}
	}
}

// writeUTF8 is write_utf8(blob, start, len, string) and write_utf8(blob,
// range, string).
func writeUTF8(c *Context, a []Value) (Value, error) {
	writeText(a, false)
	return Unit, nil
}

// writeASCII is write_ascii(blob, start, len, string) and write_ascii(blob,
// range, string): the string's ASCII characters only.
func writeASCII(c *Context, a []Value) (Value, error) {
	writeText(a, true)
	return Unit, nil
}

// blobAsString is as_string(blob): the bytes read as UTF-8, invalid sequences
// replaced with U+FFFD.
func blobAsString(c *Context, a []Value) (Value, error) {
	if err := growString(c, len(a[0].AsBlob().B)); err != nil {
		return Unit, err
	}
	s := blobToString(a[0].AsBlob().B)
	if err := checkString(c, len(s)); err != nil {
		return Unit, err
	}
	return String(s), nil
}

// stringToBlob is to_blob(string): the string's UTF-8 bytes as a BLOB (Rhai's
// string to_blob). It charges one operation per 64 bytes of the string first,
// as the string functions do.
func stringToBlob(c *Context, a []Value) (Value, error) {
	s := a[0].AsString()
	if len(s) >= bytesPerOp {
		if err := chargeBytes(c, len(s)); err != nil {
			return Unit, err
		}
	}
	if err := growArray(c, len(s), len(s)); err != nil {
		return Unit, err
	}
	return NewBlob([]byte(s)), nil
}

// blobToArray is to_array(blob): the bytes as an array of i64.
func blobToArray(c *Context, a []Value) (Value, error) {
	x := a[0].AsBlob().B
	if err := growArray(c, len(x), len(x)); err != nil {
		return Unit, err
	}
	out := make([]Value, len(x))
	for i, v := range x {
		out[i] = Int(int64(v))
	}
	return NewArray(out), nil
}

// arrayToBlob is to_blob(array): each i64 (or u8) element's low byte; other
// elements become 0.
func arrayToBlob(c *Context, a []Value) (Value, error) {
	items := a[0].AsArray().Items
	if err := charge(c, len(items)); err != nil {
		return Unit, err
	}
	out := make([]byte, len(items))
	for i, v := range items {
		if v.t == TypeInt || v.t == TypeU8 {
			out[i] = byte(v.n)
		}
	}
	return NewBlob(out), nil
}

// indexStrict resolves an index expression b[i]: negative counts from the
// end; ok is false when out of range.
func indexStrict(i int64, n int) (int, bool) {
	if i < 0 {
		i += int64(n)
	}
	if i < 0 || i >= int64(n) {
		return 0, false
	}
	return int(i), true
}

// blobBoundsError is Rhai's error for an out-of-range BLOB index.
func blobBoundsError(i int64, n int) *Error {
	return arrayBoundsError(i, n)
}

// blobToString decodes b as UTF-8, replacing each invalid sequence (the maximal
// prefix of a valid sequence, or a single byte) with U+FFFD, as Rust's
// from_utf8_lossy does.
func blobToString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		i += invalidUTF8Len(b[i:])
		out = utf8.AppendRune(out, utf8.RuneError)
	}
	return string(out)
}

// invalidUTF8Len is the length of the maximal subpart of an ill-formed UTF-8
// sequence at the start of b (at least 1).
func invalidUTF8Len(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		x := b[n]
		if k > 0 {
			lo, hi = 0x80, 0xBF
		}
		if x < lo || x > hi {
			break
		}
		n++
	}
	return n
}
