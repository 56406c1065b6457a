package rhai

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The string and character functions of Rhai's standard library. Positions are
// counted in characters (Unicode scalar values); negative positions count from
// the end; out-of-range positions clamp.

var (
	tyStr    = TypeString
	tyInt    = TypeInt
	tyChar   = TypeChar
	tyRange  = TypeRange
	tyRangeI = TypeRangeInclusive
)

func stdString(m *Module) {
	// Conversions of any value.
	setStrFn(m, "to_string", []Type{TypeAny}, func(c *Context, a []Value) (Value, error) {
		if a[0].t == TypeString {
			return a[0], nil
		}
		t, err := displayChecked(c, a[0], false)
		return String(t), err
	})
	setStrFn(m, "to_debug", []Type{TypeAny}, func(c *Context, a []Value) (Value, error) {
		t, err := displayChecked(c, a[0], true)
		return String(t), err
	})

	// Length and emptiness.
	strLen := func(c *Context, a []Value) (Value, error) {
		return Int(int64(utf8.RuneCountInString(a[0].AsString()))), nil
	}
	strBytes := func(c *Context, a []Value) (Value, error) { return Int(int64(len(a[0].AsString()))), nil }
	strEmpty := func(c *Context, a []Value) (Value, error) { return Bool(a[0].AsString() == ""), nil }
	for _, p := range []string{"", "get$"} {
		setStrFn(m, p+"len", []Type{tyStr}, strLen)
		setStrFn(m, p+"bytes", []Type{tyStr}, strBytes)
		setStrFn(m, p+"is_empty", []Type{tyStr}, strEmpty)
	}

	// Case conversion.
	setStrFn(m, "to_upper", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		return caseMapped(c, upperString(a[0].AsString()))
	})
	setStrFn(m, "to_lower", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		return caseMapped(c, lowerString(a[0].AsString()))
	})
	setStrFn(m, "to_upper", []Type{tyChar}, func(c *Context, a []Value) (Value, error) {
		return Char(upperChar(a[0].AsChar())), nil
	})
	setStrFn(m, "to_lower", []Type{tyChar}, func(c *Context, a []Value) (Value, error) {
		return Char(lowerChar(a[0].AsChar())), nil
	})
	setStrMutFn(m, "make_upper", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		v, err := caseMapped(c, upperString(a[0].AsString()))
		if err == nil {
			a[0] = v
		}
		return Unit, err
	})
	setStrMutFn(m, "make_lower", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		v, err := caseMapped(c, lowerString(a[0].AsString()))
		if err == nil {
			a[0] = v
		}
		return Unit, err
	})
	setStrMutFn(m, "make_upper", []Type{tyChar}, func(c *Context, a []Value) (Value, error) {
		a[0] = Char(upperChar(a[0].AsChar()))
		return Unit, nil
	})
	setStrMutFn(m, "make_lower", []Type{tyChar}, func(c *Context, a []Value) (Value, error) {
		a[0] = Char(lowerChar(a[0].AsChar()))
		return Unit, nil
	})

	// In-place editing.
	setStrMutFn(m, "trim", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		if t := strings.TrimSpace(s); len(t) != len(s) {
			a[0] = String(t)
		}
		return Unit, nil
	})
	setStrMutFn(m, "clear", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		a[0] = String("")
		return Unit, nil
	})
	setStrMutFn(m, "truncate", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		n := a[1].AsInt()
		if n <= 0 {
			a[0] = String("")
		} else if n < int64(len(s)) {
			a[0] = String(s[:strCharOffset(s, int(n))])
		}
		return Unit, nil
	})
	setStrMutFn(m, "append", []Type{tyStr, TypeAny}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		var add string
		switch a[1].t {
		case TypeString:
			add = a[1].AsString()
		case TypeBlob:
			add = strings.ToValidUTF8(string(a[1].AsBlob().B), "\uFFFD")
		default:
			var err error
			if add, err = displayChecked(c, a[1], false); err != nil {
				return Unit, err
			}
		}
		if add == "" {
			return Unit, nil
		}
		if err := checkString(c, len(s)+len(add)); err != nil {
			return Unit, err
		}
		if c == nil || c.th == nil {
			a[0] = String(s + add)
			return Unit, nil
		}
		a[0] = String(c.th.appendString(s, add))
		return Unit, nil
	})
	setStrMutFn(m, "remove", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		s, t := a[0].AsString(), a[1].AsString()
		if t != "" && strings.Contains(s, t) {
			a[0] = String(strings.ReplaceAll(s, t, ""))
		}
		return Unit, nil
	})
	setStrMutFn(m, "remove", []Type{tyStr, tyChar}, func(c *Context, a []Value) (Value, error) {
		s, t := a[0].AsString(), string(a[1].AsChar())
		if strings.Contains(s, t) {
			a[0] = String(strings.ReplaceAll(s, t, ""))
		}
		return Unit, nil
	})
	setStrMutFn(m, "pop", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		if s == "" {
			return Unit, nil
		}
		r, size := utf8.DecodeLastRuneInString(s)
		a[0] = String(s[:len(s)-size])
		return Char(r), nil
	})
	setStrMutFn(m, "pop", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		n := a[1].AsInt()
		if n <= 0 || s == "" {
			return String(""), nil
		}
		l := int64(utf8.RuneCountInString(s))
		if n >= l {
			a[0] = String("")
			return String(s), nil
		}
		off := strCharOffset(s, int(l-n))
		a[0] = String(s[:off])
		return String(s[off:]), nil
	})
	padFn := func(c *Context, a []Value, pad string) (Value, error) {
		s := a[0].AsString()
		target := a[1].AsInt()
		l := int64(utf8.RuneCountInString(s))
		if target <= l || pad == "" {
			return Unit, nil
		}
		need := target - l
		padLen := int64(utf8.RuneCountInString(pad))
		// The exact number of bytes of the result.
		est := int64(len(s)) + (need/padLen)*int64(len(pad)) + int64(strCharOffset(pad, int(need%padLen)))
		if need/padLen > (1<<40)/int64(len(pad)) {
			est = 1 << 40
		}
		if err := growString(c, int(est)); err != nil {
			return Unit, err
		}
		var b strings.Builder
		b.Grow(int(est))
		b.WriteString(s)
		for need >= padLen {
			b.WriteString(pad)
			need -= padLen
		}
		if need > 0 {
			b.WriteString(pad[:strCharOffset(pad, int(need))])
		}
		a[0] = String(b.String())
		return Unit, nil
	}
	setStrMutFn(m, "pad", []Type{tyStr, tyInt, tyChar}, func(c *Context, a []Value) (Value, error) {
		return padFn(c, a, string(a[2].AsChar()))
	})
	setStrMutFn(m, "pad", []Type{tyStr, tyInt, tyStr}, func(c *Context, a []Value) (Value, error) {
		return padFn(c, a, a[2].AsString())
	})
	replaceFn := func(c *Context, a []Value, from, to string) error {
		s := a[0].AsString()
		if from != "" && !strings.Contains(s, from) {
			return nil
		}
		// The size of the result, before building it.
		var k int64
		if from == "" {
			k = int64(utf8.RuneCountInString(s)) + 1
		} else {
			k = int64(strings.Count(s, from))
		}
		if n := int64(len(s)) + k*(int64(len(to))-int64(len(from))); n > int64(len(s)) {
			if n > 1<<40 {
				n = 1 << 40
			}
			if err := growString(c, int(n)); err != nil {
				return err
			}
		}
		if from == "" || c == nil || c.th == nil {
			a[0] = String(strings.ReplaceAll(s, from, to))
			return nil
		}
		// Match by match, charging as it goes: the cost grows with the
		// matches as much as with the bytes.
		var b strings.Builder
		b.Grow(len(s) + int(k)*(len(to)-len(from)))
		work := 0
		for {
			i := strings.Index(s, from)
			if i < 0 {
				break
			}
			b.WriteString(s[:i])
			b.WriteString(to)
			s = s[i+len(from):]
			if work += 1 + (i+len(to))/bytesPerOp; work >= copyStep {
				if err := charge(c, work); err != nil {
					return err
				}
				work = 0
			}
		}
		b.WriteString(s)
		a[0] = String(b.String())
		return nil
	}
	setStrMutFn(m, "replace", []Type{tyStr, tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		return Unit, replaceFn(c, a, a[1].AsString(), a[2].AsString())
	})
	setStrMutFn(m, "replace", []Type{tyStr, tyStr, tyChar}, func(c *Context, a []Value) (Value, error) {
		return Unit, replaceFn(c, a, a[1].AsString(), string(a[2].AsChar()))
	})
	setStrMutFn(m, "replace", []Type{tyStr, tyChar, tyStr}, func(c *Context, a []Value) (Value, error) {
		return Unit, replaceFn(c, a, string(a[1].AsChar()), a[2].AsString())
	})
	setStrMutFn(m, "replace", []Type{tyStr, tyChar, tyChar}, func(c *Context, a []Value) (Value, error) {
		return Unit, replaceFn(c, a, string(a[1].AsChar()), string(a[2].AsChar()))
	})

	// Searching.
	setStrFn(m, "contains", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		return Bool(strings.Contains(a[0].AsString(), a[1].AsString())), nil
	})
	setStrFn(m, "contains", []Type{tyStr, tyChar}, func(c *Context, a []Value) (Value, error) {
		return Bool(strings.ContainsRune(a[0].AsString(), a[1].AsChar())), nil
	})
	setStrFn(m, "starts_with", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		return Bool(strings.HasPrefix(a[0].AsString(), a[1].AsString())), nil
	})
	setStrFn(m, "ends_with", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		return Bool(strings.HasSuffix(a[0].AsString(), a[1].AsString())), nil
	})
	setStrFn(m, "index_of", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		return Int(strIndexOf(a[0].AsString(), a[1].AsString(), 0)), nil
	})
	setStrFn(m, "index_of", []Type{tyStr, tyChar}, func(c *Context, a []Value) (Value, error) {
		return Int(strIndexOf(a[0].AsString(), string(a[1].AsChar()), 0)), nil
	})
	setStrFn(m, "index_of", []Type{tyStr, tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		return Int(strIndexOf(a[0].AsString(), a[1].AsString(), a[2].AsInt())), nil
	})
	setStrFn(m, "index_of", []Type{tyStr, tyChar, tyInt}, func(c *Context, a []Value) (Value, error) {
		return Int(strIndexOf(a[0].AsString(), string(a[1].AsChar()), a[2].AsInt())), nil
	})

	// Characters.
	setStrFn(m, "get", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		r, ok := strCharAt(a[0].AsString(), a[1].AsInt())
		if !ok {
			return Unit, nil
		}
		return Char(r), nil
	})
	setStrMutFn(m, "set", []Type{tyStr, tyInt, tyChar}, func(c *Context, a []Value) (Value, error) {
		if s, ok := strSetCharAt(a[0].AsString(), a[1].AsInt(), a[2].AsChar()); ok {
			a[0] = String(s)
		}
		return Unit, nil
	})
	setStrFn(m, "to_chars", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		n := utf8.RuneCountInString(s)
		if err := growArray(c, n, n); err != nil {
			return Unit, err
		}
		items := make([]Value, 0, n)
		for _, r := range s {
			items = append(items, Char(r))
		}
		return NewArray(items), nil
	})
	charsFn := func(s string, start, n int64) Value {
		sub := strSub(s, start, n)
		return NewCustom("range", charsIter(sub))
	}
	getChars := func(c *Context, a []Value) (Value, error) { return charsFn(a[0].AsString(), 0, -1), nil }
	setStrFn(m, "chars", []Type{tyStr}, getChars)
	setStrFn(m, "get$chars", []Type{tyStr}, getChars)
	setStrFn(m, "chars", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		return charsFn(a[0].AsString(), a[1].AsInt(), -1), nil
	})
	setStrFn(m, "chars", []Type{tyStr, tyInt, tyInt}, func(c *Context, a []Value) (Value, error) {
		n := a[2].AsInt()
		if n < 0 {
			n = 0
		}
		return charsFn(a[0].AsString(), a[1].AsInt(), n), nil
	})
	for _, rt := range []Type{tyRange, tyRangeI} {
		setStrFn(m, "chars", []Type{tyStr, rt}, func(c *Context, a []Value) (Value, error) {
			start, n := strRangeToStartLen(a[1])
			return charsFn(a[0].AsString(), start, n), nil
		})
	}

	// Sub-strings.
	setStrFn(m, "sub_string", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		return String(strSub(a[0].AsString(), a[1].AsInt(), -1)), nil
	})
	setStrFn(m, "sub_string", []Type{tyStr, tyInt, tyInt}, func(c *Context, a []Value) (Value, error) {
		n := a[2].AsInt()
		if n < 0 {
			n = 0
		}
		return String(strSub(a[0].AsString(), a[1].AsInt(), n)), nil
	})
	setStrMutFn(m, "crop", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		a[0] = String(strSub(a[0].AsString(), a[1].AsInt(), -1))
		return Unit, nil
	})
	setStrMutFn(m, "crop", []Type{tyStr, tyInt, tyInt}, func(c *Context, a []Value) (Value, error) {
		n := a[2].AsInt()
		if n < 0 {
			n = 0
		}
		a[0] = String(strSub(a[0].AsString(), a[1].AsInt(), n))
		return Unit, nil
	})
	for _, rt := range []Type{tyRange, tyRangeI} {
		rangeSub := func(c *Context, a []Value) (Value, error) {
			start, n := strRangeToStartLen(a[1])
			return String(strSub(a[0].AsString(), start, n)), nil
		}
		setStrFn(m, "sub_string", []Type{tyStr, rt}, rangeSub)
		setStrFn(m, "index$get", []Type{tyStr, rt}, func(c *Context, a []Value) (Value, error) {
			s := a[0].AsString()
			from, to := strIndexRange(s, a[1])
			return String(s[from:to]), nil
		})
		setStrMutFn(m, "index$set", []Type{tyStr, rt, tyStr}, func(c *Context, a []Value) (Value, error) {
			s := a[0].AsString()
			from, to := strIndexRange(s, a[1])
			if err := growString(c, len(s)-(to-from)+len(a[2].AsString())); err != nil {
				return Unit, err
			}
			a[0] = String(s[:from] + a[2].AsString() + s[to:])
			return Unit, nil
		})
		setStrMutFn(m, "index$set", []Type{tyStr, rt, tyChar}, func(c *Context, a []Value) (Value, error) {
			s := a[0].AsString()
			from, to := strIndexRange(s, a[1])
			a[0] = String(s[:from] + string(a[2].AsChar()) + s[to:])
			return Unit, nil
		})
		setStrMutFn(m, "crop", []Type{tyStr, rt}, func(c *Context, a []Value) (Value, error) {
			start, n := strRangeToStartLen(a[1])
			a[0] = String(strSub(a[0].AsString(), start, n))
			return Unit, nil
		})
	}

	// Indexing.
	setStrFn(m, "index$get", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		r, ok := strCharAt(s, a[1].AsInt())
		if !ok {
			return Unit, strBoundsErr(s, a[1].AsInt())
		}
		return Char(r), nil
	})
	setStrMutFn(m, "index$set", []Type{tyStr, tyInt, tyChar}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		ns, ok := strSetCharAt(s, a[1].AsInt(), a[2].AsChar())
		if !ok {
			return Unit, strBoundsErr(s, a[1].AsInt())
		}
		a[0] = String(ns)
		return Unit, nil
	})

	// Splitting.
	setStrFn(m, "split", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		return strArrayChecked(c, strings.Fields(a[0].AsString()))
	})
	setStrFn(m, "split", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		// A position of 0 or less counts from the end: split(0) gives [s, ""].
		s := a[0].AsString()
		pos := a[1].AsInt()
		if pos <= 0 {
			pos = max(pos+int64(utf8.RuneCountInString(s)), 0)
		}
		off := strCharOffset(s, int(min(pos, int64(len(s)))))
		return NewArray([]Value{String(s[:off]), String(s[off:])}), nil
	})
	setStrFn(m, "split", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		return splitChecked(c, a[0].AsString(), a[1].AsString(), -1, false)
	})
	setStrFn(m, "split", []Type{tyStr, tyChar}, func(c *Context, a []Value) (Value, error) {
		return splitChecked(c, a[0].AsString(), string(a[1].AsChar()), -1, false)
	})
	setStrFn(m, "split", []Type{tyStr, tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		return splitChecked(c, a[0].AsString(), a[1].AsString(), strMaxSegments(a[2]), false)
	})
	setStrFn(m, "split", []Type{tyStr, tyChar, tyInt}, func(c *Context, a []Value) (Value, error) {
		return splitChecked(c, a[0].AsString(), string(a[1].AsChar()), strMaxSegments(a[2]), false)
	})
	setStrFn(m, "split_rev", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		return splitChecked(c, a[0].AsString(), a[1].AsString(), -1, true)
	})
	setStrFn(m, "split_rev", []Type{tyStr, tyChar}, func(c *Context, a []Value) (Value, error) {
		return splitChecked(c, a[0].AsString(), string(a[1].AsChar()), -1, true)
	})
	setStrFn(m, "split_rev", []Type{tyStr, tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		return splitChecked(c, a[0].AsString(), a[1].AsString(), strMaxSegments(a[2]), true)
	})
	setStrFn(m, "split_rev", []Type{tyStr, tyChar, tyInt}, func(c *Context, a []Value) (Value, error) {
		return splitChecked(c, a[0].AsString(), string(a[1].AsChar()), strMaxSegments(a[2]), true)
	})

	// min / max of strings and characters.
	setStrFn(m, "min", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		if a[1].AsString() < a[0].AsString() {
			return a[1], nil
		}
		return a[0], nil
	})
	setStrFn(m, "max", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		if a[1].AsString() > a[0].AsString() {
			return a[1], nil
		}
		return a[0], nil
	})
	setStrFn(m, "min", []Type{tyChar, tyChar}, func(c *Context, a []Value) (Value, error) {
		if a[1].AsChar() < a[0].AsChar() {
			return a[1], nil
		}
		return a[0], nil
	})
	setStrFn(m, "max", []Type{tyChar, tyChar}, func(c *Context, a []Value) (Value, error) {
		if a[1].AsChar() > a[0].AsChar() {
			return a[1], nil
		}
		return a[0], nil
	})

	// Characters as numbers.
	setStrFn(m, "to_int", []Type{tyChar}, func(c *Context, a []Value) (Value, error) {
		return Int(int64(a[0].AsChar())), nil
	})
}

// charOffset is the byte offset of the n-th character of s (len(s) if s has
// fewer characters).
func strCharOffset(s string, n int) int {
	if n <= 0 {
		return 0
	}
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

// subString extracts n characters (n < 0: to the end) from character position
// start (negative counts from the end).
func strSub(s string, start, n int64) string {
	if n == 0 || s == "" {
		return ""
	}
	if start < 0 {
		l := int64(utf8.RuneCountInString(s))
		start += l
		if start < 0 {
			start = 0
		}
	}
	if start >= int64(len(s)) {
		return ""
	}
	from := strCharOffset(s, int(start))
	if from >= len(s) {
		return ""
	}
	if n < 0 || n >= int64(len(s)-from) {
		return s[from:]
	}
	return s[from : from+strCharOffset(s[from:], int(n))]
}

// rangeToStartLen converts a range of character positions into a start and a
// length for subString (a negative start counts as 0).
func strRangeToStartLen(v Value) (int64, int64) {
	r := v.AsRange()
	start, end := max(r.Start, 0), r.End
	end = max(end, start)
	if v.t == TypeRangeInclusive {
		// An inclusive range always covers its start, even when reversed.
		if end == 1<<63-1 {
			return start, -1
		}
		end++
	}
	return start, end - start
}

// strIndexRange maps a range used as a string index to byte offsets: negative
// positions count from the end, positions clamp to the string, and the range is
// empty unless its end is after its start (even when inclusive: "abc"[1..=1]
// is "").
func strIndexRange(s string, v Value) (from, to int) {
	r := v.AsRange()
	start, end := r.Start, r.End
	if start < 0 || end < 0 {
		l := int64(utf8.RuneCountInString(s))
		if start < 0 {
			start = max(start+l, 0)
		}
		if end < 0 {
			end = max(end+l, 0)
		}
	}
	if end <= start {
		from = strCharOffset(s, int(min(start, int64(len(s)))))
		return from, from
	}
	if v.t == TypeRangeInclusive && end < 1<<62 {
		end++
	}
	from = strCharOffset(s, int(min(start, int64(len(s)))))
	to = from + strCharOffset(s[from:], int(min(end-start, int64(len(s)))))
	return from, to
}

// charAt is the character at position pos (negative from the end).
func strCharAt(s string, pos int64) (rune, bool) {
	if pos < 0 {
		l := int64(utf8.RuneCountInString(s))
		pos += l
		if pos < 0 {
			return 0, false
		}
	}
	if pos >= int64(len(s)) {
		return 0, false
	}
	i := 0
	for _, r := range s {
		if int64(i) == pos {
			return r, true
		}
		i++
	}
	return 0, false
}

// setCharAt replaces the character at pos (negative from the end).
func strSetCharAt(s string, pos int64, r rune) (string, bool) {
	if pos < 0 {
		l := int64(utf8.RuneCountInString(s))
		pos += l
		if pos < 0 {
			return s, false
		}
	}
	if pos >= int64(len(s)) {
		return s, false
	}
	i := int64(0)
	for off, old := range s {
		if i == pos {
			size := utf8.RuneLen(old)
			return s[:off] + string(r) + s[off+size:], true
		}
		i++
	}
	return s, false
}

func strBoundsErr(s string, pos int64) *Error {
	return stringBoundsError(pos, utf8.RuneCountInString(s))
}

// indexOf finds sub in s from character position start (negative from the
// end); the result is a character position or -1.
func strIndexOf(s, sub string, start int64) int64 {
	if start < 0 {
		start += int64(utf8.RuneCountInString(s))
		if start < 0 {
			start = 0
		}
	} else if start > 0 && start >= int64(utf8.RuneCountInString(s)) {
		return -1
	}
	from := strCharOffset(s, int(start))
	i := strings.Index(s[from:], sub)
	if i < 0 {
		return -1
	}
	return start + int64(utf8.RuneCountInString(s[from:from+i]))
}

func strMaxSegments(v Value) int {
	n := v.AsInt()
	if n < 1 {
		return 1
	}
	if n > 1<<30 {
		return 1 << 30
	}
	return int(n)
}

// rustSplitN splits s by sep into at most n pieces (n < 0: all) the way Rust's
// str::splitn does; an empty separator matches at every character boundary,
// including both ends.
func rustSplitN(s, sep string, n int) []string {
	if sep != "" {
		return strings.SplitN(s, sep, n)
	}
	if n == 0 {
		return nil
	}
	var out []string
	start := 0
	emit := func(end int) bool {
		if n > 0 && len(out) == n-1 {
			return false
		}
		out = append(out, s[start:end])
		start = end
		return true
	}
	if emit(0) {
		for i := range s {
			if i > 0 && !emit(i) {
				break
			}
		}
		if len(s) > 0 {
			emit(len(s))
		}
	}
	return append(out, s[start:])
}

// rustRSplitN is Rust's str::rsplitn: pieces from the end, at most n.
func rustRSplitN(s, sep string, n int) []string {
	if sep == "" {
		all := rustSplitN(s, "", -1)
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
		if n > 0 && len(all) > n {
			// Join the remainder back (pieces are reversed).
			rest := make([]string, 0, len(all)-n+1)
			for i := len(all) - 1; i >= n-1; i-- {
				rest = append(rest, all[i])
			}
			all = append(all[:n-1], strings.Join(rest, ""))
		}
		return all
	}
	var out []string
	for n < 0 || len(out) < n-1 {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			break
		}
		out = append(out, s[i+len(sep):])
		s = s[:i]
	}
	if n == 0 {
		return out
	}
	return append(out, s)
}

// caseMapped returns a case-mapped string, which may be longer than the
// original (ß becomes SS), checked against the string size limit.
func caseMapped(c *Context, s string) (Value, error) {
	if err := growString(c, len(s)); err != nil {
		return Unit, err
	}
	return String(s), nil
}

// strArrayChecked is strArray for the split functions: the pieces are counted
// against the array size limit. (The pieces share the string's memory, so
// splitting itself allocates one slot per piece; pieces are produced lazily
// only in the sense that a counting pass runs first.)
func splitChecked(c *Context, s, sep string, n int, rev bool) (Value, error) {
	// Count the pieces before making them.
	var k int
	if sep == "" {
		k = utf8.RuneCountInString(s) + 2
	} else {
		k = strings.Count(s, sep) + 1
	}
	if n > 0 && k > n {
		k = n
	}
	if err := growArray(c, k, k); err != nil {
		return Unit, err
	}
	if rev {
		return strArray(rustRSplitN(s, sep, n)), nil
	}
	return strArray(rustSplitN(s, sep, n)), nil
}

func strArrayChecked(c *Context, parts []string) (Value, error) {
	if err := growArray(c, len(parts), len(parts)); err != nil {
		return Unit, err
	}
	return strArray(parts), nil
}

// setStrFn registers a string function that charges for the bytes of its
// string arguments it may scan (see lib_guard.go); setStrMutFn is its SetMutFn.
func setStrFn(m *Module, name string, params []Type, f NativeFunc) {
	m.SetFn(name, params, scanCharged(name, params, f))
}

func setStrMutFn(m *Module, name string, params []Type, f NativeFunc) {
	m.SetMutFn(name, params, scanCharged(name, params, f))
}

// scanCharged wraps f so that each call first charges one operation per 64
// bytes of its string arguments (functions that only read a length are left
// alone).
func scanCharged(name string, params []Type, f NativeFunc) NativeFunc {
	switch name {
	case "bytes", "get$bytes", "is_empty", "get$is_empty", "clear", "to_string", "to_debug":
		return f
	}
	var strArgs []int
	for i, p := range params {
		if p == TypeString {
			strArgs = append(strArgs, i)
		}
	}
	if len(strArgs) == 0 {
		return f
	}
	return func(c *Context, a []Value) (Value, error) {
		n := 0
		for _, i := range strArgs {
			n += len(a[i].AsString())
		}
		if n >= bytesPerOp {
			if err := chargeBytes(c, n); err != nil {
				return Unit, err
			}
		}
		return f(c, a)
	}
}

func strArray(parts []string) Value {
	items := make([]Value, len(parts))
	for i, p := range parts {
		items[i] = String(p)
	}
	return NewArray(items)
}

// charsIter iterates the characters of a string.
type charsIter string

func (s charsIter) Each(yield func(Value) bool) {
	for _, r := range string(s) {
		if !yield(Char(r)) {
			return
		}
	}
}

func (s charsIter) String() string { return "CharsStream" }

// Case mapping. Rust maps case with the full (possibly multi-character)
// mappings for strings; for a single character Rhai keeps the character when
// its mapping is not a single character.

var upperSpecial = map[rune]string{
	'ß': "SS", 'ŉ': "ʼN", 'ǰ': "J̌", 'ΐ': "Ϊ́", 'ΰ': "Ϋ́", 'և': "ԵՒ",
	'ẖ': "H̱", 'ẗ': "T̈", 'ẘ': "W̊", 'ẙ': "Y̊", 'ẚ': "Aʾ",
	'ﬀ': "FF", 'ﬁ': "FI", 'ﬂ': "FL", 'ﬃ': "FFI", 'ﬄ': "FFL", 'ﬅ': "ST", 'ﬆ': "ST",
	'ﬓ': "ՄՆ", 'ﬔ': "ՄԵ", 'ﬕ': "ՄԻ", 'ﬖ': "ՎՆ", 'ﬗ': "ՄԽ",
}

func upperChar(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - 32
		}
		return r
	}
	if _, ok := upperSpecial[r]; ok {
		return r
	}
	if r >= 0x1F80 && r <= 0x1FFC && unicode.ToUpper(r) != r && isGreekIotaSubscript(r) {
		return r
	}
	return unicode.ToUpper(r)
}

func lowerChar(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 32
		}
		return r
	}
	if r == 'İ' {
		return r
	}
	return unicode.ToLower(r)
}

// isGreekIotaSubscript reports Greek letters with ypogegrammeni whose full
// upper-case mapping has two characters.
func isGreekIotaSubscript(r rune) bool {
	switch {
	case r >= 0x1F80 && r <= 0x1FAF, r == 0x1FB3, r == 0x1FBC, r == 0x1FC3, r == 0x1FCC, r == 0x1FF3, r == 0x1FFC:
		return true
	}
	return false
}

func strIsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func upperString(s string) string {
	if strIsASCII(s) {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if sp, ok := upperSpecial[r]; ok {
			b.WriteString(sp)
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

func lowerString(s string) string {
	if strIsASCII(s) {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch r {
		case 'İ':
			b.WriteString("i\u0307")
			continue
		case 'Σ':
			// Final sigma: preceded by a letter and not followed by one.
			prev, _ := utf8.DecodeLastRuneInString(s[:i])
			next, _ := utf8.DecodeRuneInString(s[i+len("Σ"):])
			if i > 0 && unicode.IsLetter(prev) && !unicode.IsLetter(next) {
				b.WriteRune('ς')
				continue
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
