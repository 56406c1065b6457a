package rhai

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// stdBlob registers Rhai's BLOB functions (BasicBlobPackage). Bytes read out of
// a BLOB (get, pop, b[i]) are i64; values written are masked to their low byte.
func stdBlob(m *Module) {
	B := TypeBlob
	I := TypeInt
	F := TypeFloat
	S := TypeString
	C := TypeChar
	R := TypeRange
	RI := TypeRangeInclusive

	newBlob := func(c *Context, n int64, v byte) (Value, error) {
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
	m.SetFn("blob", nil, func(c *Context, a []Value) (Value, error) {
		return NewBlob([]byte{}), nil
	})
	m.SetFn("blob", []Type{I}, func(c *Context, a []Value) (Value, error) {
		return newBlob(c, a[0].AsInt(), 0)
	})
	m.SetFn("blob", []Type{I, I}, func(c *Context, a []Value) (Value, error) {
		return newBlob(c, a[0].AsInt(), byte(a[1].AsInt()))
	})

	blen := func(c *Context, a []Value) (Value, error) { return Int(int64(len(a[0].AsBlob().B))), nil }
	bempty := func(c *Context, a []Value) (Value, error) { return Bool(len(a[0].AsBlob().B) == 0), nil }
	m.SetFn("len", []Type{B}, blen)
	m.SetFn("get$len", []Type{B}, blen)
	m.SetFn("is_empty", []Type{B}, bempty)
	m.SetFn("get$is_empty", []Type{B}, bempty)

	pushByte := func(c *Context, a []Value) (Value, error) {
		b := a[0].AsBlob()
		if err := collCheckArray(c, len(b.B)+1); err != nil {
			return Unit, err
		}
		b.B = append(b.B, byte(a[1].AsInt()))
		return Unit, nil
	}
	appendBytes := func(c *Context, b *Blob, data []byte) error {
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
	m.SetMutFn("push", []Type{B, I}, pushByte)
	m.SetMutFn("append", []Type{B, I}, pushByte)
	m.SetMutFn("+=", []Type{B, I}, pushByte)
	appendBlob := func(c *Context, a []Value) (Value, error) {
		return Unit, appendBytes(c, a[0].AsBlob(), append([]byte(nil), a[1].AsBlob().B...))
	}
	m.SetMutFn("append", []Type{B, B}, appendBlob)
	m.SetMutFn("+=", []Type{B, B}, appendBlob)
	appendStr := func(c *Context, a []Value) (Value, error) {
		return Unit, appendBytes(c, a[0].AsBlob(), []byte(a[1].AsString()))
	}
	m.SetMutFn("append", []Type{B, S}, appendStr)
	m.SetMutFn("+=", []Type{B, S}, appendStr)
	appendChar := func(c *Context, a []Value) (Value, error) {
		return Unit, appendBytes(c, a[0].AsBlob(), utf8.AppendRune(nil, a[1].AsChar()))
	}
	m.SetMutFn("append", []Type{B, C}, appendChar)
	m.SetMutFn("+=", []Type{B, C}, appendChar)

	m.SetFn("+", []Type{B, B}, func(c *Context, a []Value) (Value, error) {
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
	})
	m.SetFn("+", []Type{B, S}, func(c *Context, a []Value) (Value, error) {
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
	})
	setBlobScan(m.SetFn, "==", []Type{B, B}, func(c *Context, a []Value) (Value, error) {
		return Bool(string(a[0].AsBlob().B) == string(a[1].AsBlob().B)), nil
	})
	setBlobScan(m.SetFn, "!=", []Type{B, B}, func(c *Context, a []Value) (Value, error) {
		return Bool(string(a[0].AsBlob().B) != string(a[1].AsBlob().B)), nil
	})

	setBlobScan(m.SetMutFn, "insert", []Type{B, I, I}, func(c *Context, a []Value) (Value, error) {
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
	})
	m.SetMutFn("pop", []Type{B}, func(c *Context, a []Value) (Value, error) {
		b := a[0].AsBlob()
		if len(b.B) == 0 {
			return Int(0), nil
		}
		v := b.B[len(b.B)-1]
		b.B = b.B[:len(b.B)-1]
		return Int(int64(v)), nil
	})
	setBlobScan(m.SetMutFn, "shift", []Type{B}, func(c *Context, a []Value) (Value, error) {
		b := a[0].AsBlob()
		if len(b.B) == 0 {
			return Int(0), nil
		}
		v := b.B[0]
		b.B = append(b.B[:0], b.B[1:]...)
		return Int(int64(v)), nil
	})
	setBlobScan(m.SetMutFn, "remove", []Type{B, I}, func(c *Context, a []Value) (Value, error) {
		b := a[0].AsBlob()
		i, ok := indexStrict(a[1].AsInt(), len(b.B))
		if !ok {
			return Int(0), nil
		}
		v := b.B[i]
		b.B = append(b.B[:i], b.B[i+1:]...)
		return Int(int64(v)), nil
	})
	m.SetMutFn("clear", []Type{B}, func(c *Context, a []Value) (Value, error) {
		b := a[0].AsBlob()
		b.B = b.B[:0]
		return Unit, nil
	})
	m.SetMutFn("truncate", []Type{B, I}, func(c *Context, a []Value) (Value, error) {
		b := a[0].AsBlob()
		n := max(a[1].AsInt(), 0)
		if n < int64(len(b.B)) {
			b.B = b.B[:n]
		}
		return Unit, nil
	})
	m.SetMutFn("chop", []Type{B, I}, func(c *Context, a []Value) (Value, error) {
		b := a[0].AsBlob()
		n := max(a[1].AsInt(), 0)
		if n < int64(len(b.B)) {
			k := copy(b.B, b.B[len(b.B)-int(n):])
			b.B = b.B[:k]
		}
		return Unit, nil
	})
	setBlobScan(m.SetMutFn, "reverse", []Type{B}, func(c *Context, a []Value) (Value, error) {
		x := a[0].AsBlob().B
		for i, j := 0, len(x)-1; i < j; i, j = i+1, j-1 {
			x[i], x[j] = x[j], x[i]
		}
		return Unit, nil
	})
	m.SetMutFn("pad", []Type{B, I, I}, func(c *Context, a []Value) (Value, error) {
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
	})
	setBlobScan(m.SetFn, "contains", []Type{B, I}, func(c *Context, a []Value) (Value, error) {
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
	})

	m.SetFn("get", []Type{B, I}, func(c *Context, a []Value) (Value, error) {
		x := a[0].AsBlob().B
		i, ok := elemIndex(a[1].AsInt(), len(x))
		if !ok {
			return Int(0), nil
		}
		return Int(int64(x[i])), nil
	})
	m.SetMutFn("set", []Type{B, I, I}, func(c *Context, a []Value) (Value, error) {
		x := a[0].AsBlob().B
		if i, ok := elemIndex(a[1].AsInt(), len(x)); ok {
			x[i] = byte(a[2].AsInt())
		}
		return Unit, nil
	})
	m.SetFn("index$get", []Type{B, I}, func(c *Context, a []Value) (Value, error) {
		x := a[0].AsBlob().B
		i, ok := indexStrict(a[1].AsInt(), len(x))
		if !ok {
			return Unit, blobBoundsError(a[1].AsInt(), len(x))
		}
		return Int(int64(x[i])), nil
	})
	m.SetMutFn("index$set", []Type{B, I, I}, func(c *Context, a []Value) (Value, error) {
		x := a[0].AsBlob().B
		i, ok := indexStrict(a[1].AsInt(), len(x))
		if !ok {
			return Unit, blobBoundsError(a[1].AsInt(), len(x))
		}
		x[i] = byte(a[2].AsInt())
		return Unit, nil
	})

	// extract / split / drain / retain / splice
	setBlobScan(m.SetFn, "extract", []Type{B, I}, func(c *Context, a []Value) (Value, error) {
		x := a[0].AsBlob().B
		s, l := sliceBounds(a[1].AsInt(), int64(len(x)), len(x))
		return NewBlob(append([]byte{}, x[s:s+l]...)), nil
	})
	setBlobScan(m.SetFn, "extract", []Type{B, I, I}, func(c *Context, a []Value) (Value, error) {
		x := a[0].AsBlob().B
		s, l := sliceBounds(a[1].AsInt(), a[2].AsInt(), len(x))
		return NewBlob(append([]byte{}, x[s:s+l]...)), nil
	})
	setBlobScan(m.SetMutFn, "split", []Type{B, I}, func(c *Context, a []Value) (Value, error) {
		b := a[0].AsBlob()
		at := splitIndex(a[1].AsInt(), len(b.B))
		tail := append([]byte{}, b.B[at:]...)
		b.B = b.B[:at]
		return NewBlob(tail), nil
	})
	drain := func(b *Blob, s, l int) Value {
		out := append([]byte{}, b.B[s:s+l]...)
		b.B = append(b.B[:s], b.B[s+l:]...)
		return NewBlob(out)
	}
	retain := func(b *Blob, s, l int) Value {
		out := make([]byte, 0, len(b.B)-l)
		out = append(append(out, b.B[:s]...), b.B[s+l:]...)
		k := copy(b.B, b.B[s:s+l])
		b.B = b.B[:k]
		return NewBlob(out)
	}
	splice := func(c *Context, b *Blob, s, l int, repl []byte) error {
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
	setBlobScan(m.SetMutFn, "drain", []Type{B, I, I}, func(c *Context, a []Value) (Value, error) {
		b := a[0].AsBlob()
		s, l := sliceBounds(a[1].AsInt(), a[2].AsInt(), len(b.B))
		return drain(b, s, l), nil
	})
	setBlobScan(m.SetMutFn, "retain", []Type{B, I, I}, func(c *Context, a []Value) (Value, error) {
		b := a[0].AsBlob()
		s, l := sliceBounds(a[1].AsInt(), a[2].AsInt(), len(b.B))
		return retain(b, s, l), nil
	})
	m.SetMutFn("splice", []Type{B, I, I, B}, func(c *Context, a []Value) (Value, error) {
		b := a[0].AsBlob()
		s, l := sliceBounds(a[1].AsInt(), a[2].AsInt(), len(b.B))
		return Unit, splice(c, b, s, l, a[3].AsBlob().B)
	})

	// Binary parsing and writing.
	parseInt := func(x []byte, s, l int, le bool) Value {
		var buf [8]byte
		copy(buf[:], x[s:s+min(l, 8)])
		if le {
			return Int(int64(binary.LittleEndian.Uint64(buf[:])))
		}
		return Int(int64(binary.BigEndian.Uint64(buf[:])))
	}
	parseFloat := func(x []byte, s, l int, le bool) Value {
		var buf [8]byte
		copy(buf[:], x[s:s+min(l, 8)])
		if le {
			return Float(math.Float64frombits(binary.LittleEndian.Uint64(buf[:])))
		}
		return Float(math.Float64frombits(binary.BigEndian.Uint64(buf[:])))
	}
	writeBits := func(x []byte, s, l int, bits uint64, le bool) {
		var buf [8]byte
		if le {
			binary.LittleEndian.PutUint64(buf[:], bits)
		} else {
			binary.BigEndian.PutUint64(buf[:], bits)
		}
		copy(x[s:s+l], buf[:min(l, 8)])
	}
	writeText := func(x []byte, s, l int, str string, ascii bool) {
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
	type parseFn = func(x []byte, s, l int, le bool) Value
	for _, p := range []struct {
		name string
		le   bool
		fn   parseFn
	}{
		{"parse_le_int", true, parseInt}, {"parse_be_int", false, parseInt},
		{"parse_le_float", true, parseFloat}, {"parse_be_float", false, parseFloat},
	} {
		m.SetFn(p.name, []Type{B, I, I}, func(c *Context, a []Value) (Value, error) {
			x := a[0].AsBlob().B
			s, l := sliceBounds(a[1].AsInt(), a[2].AsInt(), len(x))
			return p.fn(x, s, l, p.le), nil
		})
		for _, rt := range []Type{R, RI} {
			m.SetFn(p.name, []Type{B, rt}, func(c *Context, a []Value) (Value, error) {
				x := a[0].AsBlob().B
				s, l := rangeSliceBounds(a[1], len(x))
				return p.fn(x, s, l, p.le), nil
			})
		}
	}
	for _, w := range []struct {
		name string
		le   bool
	}{{"write_le", true}, {"write_be", false}} {
		for _, vt := range []Type{I, F} {
			bits := func(v Value) uint64 {
				if v.t == TypeFloat {
					return math.Float64bits(v.AsFloat())
				}
				return uint64(v.AsInt())
			}
			m.SetMutFn(w.name, []Type{B, I, I, vt}, func(c *Context, a []Value) (Value, error) {
				x := a[0].AsBlob().B
				s, l := sliceBounds(a[1].AsInt(), a[2].AsInt(), len(x))
				writeBits(x, s, l, bits(a[3]), w.le)
				return Unit, nil
			})
			for _, rt := range []Type{R, RI} {
				m.SetMutFn(w.name, []Type{B, rt, vt}, func(c *Context, a []Value) (Value, error) {
					x := a[0].AsBlob().B
					s, l := rangeSliceBounds(a[1], len(x))
					writeBits(x, s, l, bits(a[2]), w.le)
					return Unit, nil
				})
			}
		}
	}
	for _, w := range []struct {
		name  string
		ascii bool
	}{{"write_utf8", false}, {"write_ascii", true}} {
		setBlobScan(m.SetMutFn, w.name, []Type{B, I, I, S}, func(c *Context, a []Value) (Value, error) {
			x := a[0].AsBlob().B
			s, l := sliceBounds(a[1].AsInt(), a[2].AsInt(), len(x))
			writeText(x, s, l, a[3].AsString(), w.ascii)
			return Unit, nil
		})
		for _, rt := range []Type{R, RI} {
			setBlobScan(m.SetMutFn, w.name, []Type{B, rt, S}, func(c *Context, a []Value) (Value, error) {
				x := a[0].AsBlob().B
				s, l := rangeSliceBounds(a[1], len(x))
				writeText(x, s, l, a[2].AsString(), w.ascii)
				return Unit, nil
			})
		}
	}

	for _, rt := range []Type{R, RI} {
		setBlobScan(m.SetFn, "extract", []Type{B, rt}, func(c *Context, a []Value) (Value, error) {
			x := a[0].AsBlob().B
			s, l := rangeSliceBounds(a[1], len(x))
			return NewBlob(append([]byte{}, x[s:s+l]...)), nil
		})
		setBlobScan(m.SetMutFn, "drain", []Type{B, rt}, func(c *Context, a []Value) (Value, error) {
			b := a[0].AsBlob()
			s, l := rangeSliceBounds(a[1], len(b.B))
			return drain(b, s, l), nil
		})
		setBlobScan(m.SetMutFn, "retain", []Type{B, rt}, func(c *Context, a []Value) (Value, error) {
			b := a[0].AsBlob()
			s, l := rangeSliceBounds(a[1], len(b.B))
			return retain(b, s, l), nil
		})
		m.SetMutFn("splice", []Type{B, rt, B}, func(c *Context, a []Value) (Value, error) {
			b := a[0].AsBlob()
			s, l := rangeSliceBounds(a[1], len(b.B))
			return Unit, splice(c, b, s, l, a[2].AsBlob().B)
		})
	}

	setBlobScan(m.SetFn, "as_string", []Type{B}, func(c *Context, a []Value) (Value, error) {
		if err := growString(c, len(a[0].AsBlob().B)); err != nil {
			return Unit, err
		}
		s := blobToString(a[0].AsBlob().B)
		if err := checkString(c, len(s)); err != nil {
			return Unit, err
		}
		return String(s), nil
	})
	// to_blob: a string's UTF-8 bytes as a BLOB (Rhai's string to_blob).
	setStrFn(m, "to_blob", []Type{TypeString}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		if err := growArray(c, len(s), len(s)); err != nil {
			return Unit, err
		}
		return NewBlob([]byte(s)), nil
	})
	setBlobScan(m.SetFn, "to_array", []Type{B}, func(c *Context, a []Value) (Value, error) {
		x := a[0].AsBlob().B
		if err := growArray(c, len(x), len(x)); err != nil {
			return Unit, err
		}
		out := make([]Value, len(x))
		for i, v := range x {
			out[i] = Int(int64(v))
		}
		return NewArray(out), nil
	})
	m.SetFn("to_blob", []Type{TypeArray}, func(c *Context, a []Value) (Value, error) {
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
	})
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

// setBlobScan registers (with set: m.SetFn or m.SetMutFn) a BLOB function whose
// work grows with the BLOB's length: each call first charges one operation per
// 64 bytes of its first argument (see lib_guard.go).
func setBlobScan(set func(string, []Type, NativeFunc), name string, params []Type, f NativeFunc) {
	set(name, params, func(c *Context, a []Value) (Value, error) {
		if b := a[0].AsBlob(); b != nil && len(b.B) >= bytesPerOp {
			if err := chargeBytes(c, len(b.B)); err != nil {
				return Unit, err
			}
		}
		return f(c, a)
	})
}
