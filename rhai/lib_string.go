package rhai

import (
	"strconv"
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
	m.SetFn("to_string", []Type{TypeAny}, func(c *Context, a []Value) (Value, error) {
		if a[0].t == TypeString {
			return a[0], nil
		}
		return String(toDisplay(a[0])), nil
	})
	m.SetFn("to_debug", []Type{TypeAny}, func(c *Context, a []Value) (Value, error) {
		return String(toDebug(a[0])), nil
	})

	// Length and emptiness.
	strLen := func(c *Context, a []Value) (Value, error) {
		return Int(int64(utf8.RuneCountInString(a[0].AsString()))), nil
	}
	strBytes := func(c *Context, a []Value) (Value, error) { return Int(int64(len(a[0].AsString()))), nil }
	strEmpty := func(c *Context, a []Value) (Value, error) { return Bool(a[0].AsString() == ""), nil }
	for _, p := range []string{"", "get$"} {
		m.SetFn(p+"len", []Type{tyStr}, strLen)
		m.SetFn(p+"bytes", []Type{tyStr}, strBytes)
		m.SetFn(p+"is_empty", []Type{tyStr}, strEmpty)
	}

	// Case conversion.
	m.SetFn("to_upper", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		return String(upperString(a[0].AsString())), nil
	})
	m.SetFn("to_lower", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		return String(lowerString(a[0].AsString())), nil
	})
	m.SetFn("to_upper", []Type{tyChar}, func(c *Context, a []Value) (Value, error) {
		return Char(upperChar(a[0].AsChar())), nil
	})
	m.SetFn("to_lower", []Type{tyChar}, func(c *Context, a []Value) (Value, error) {
		return Char(lowerChar(a[0].AsChar())), nil
	})
	m.SetMutFn("make_upper", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		a[0] = String(upperString(a[0].AsString()))
		return Unit, nil
	})
	m.SetMutFn("make_lower", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		a[0] = String(lowerString(a[0].AsString()))
		return Unit, nil
	})
	m.SetMutFn("make_upper", []Type{tyChar}, func(c *Context, a []Value) (Value, error) {
		a[0] = Char(upperChar(a[0].AsChar()))
		return Unit, nil
	})
	m.SetMutFn("make_lower", []Type{tyChar}, func(c *Context, a []Value) (Value, error) {
		a[0] = Char(lowerChar(a[0].AsChar()))
		return Unit, nil
	})

	// In-place editing.
	m.SetMutFn("trim", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		if t := strings.TrimSpace(s); len(t) != len(s) {
			a[0] = String(t)
		}
		return Unit, nil
	})
	m.SetMutFn("clear", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		a[0] = String("")
		return Unit, nil
	})
	m.SetMutFn("truncate", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		n := a[1].AsInt()
		if n <= 0 {
			a[0] = String("")
		} else if n < int64(len(s)) {
			a[0] = String(s[:strCharOffset(s, int(n))])
		}
		return Unit, nil
	})
	m.SetMutFn("append", []Type{tyStr, TypeAny}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		var add string
		switch a[1].t {
		case TypeString:
			add = a[1].AsString()
		case TypeBlob:
			add = strings.ToValidUTF8(string(a[1].AsBlob().B), "\uFFFD")
		default:
			add = toDisplay(a[1])
		}
		if add == "" {
			return Unit, nil
		}
		if err := c.CheckStringSize(len(s) + len(add)); err != nil {
			return Unit, err
		}
		a[0] = String(s + add)
		return Unit, nil
	})
	m.SetMutFn("remove", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		s, t := a[0].AsString(), a[1].AsString()
		if t != "" && strings.Contains(s, t) {
			a[0] = String(strings.ReplaceAll(s, t, ""))
		}
		return Unit, nil
	})
	m.SetMutFn("remove", []Type{tyStr, tyChar}, func(c *Context, a []Value) (Value, error) {
		s, t := a[0].AsString(), string(a[1].AsChar())
		if strings.Contains(s, t) {
			a[0] = String(strings.ReplaceAll(s, t, ""))
		}
		return Unit, nil
	})
	m.SetMutFn("pop", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		if s == "" {
			return Unit, nil
		}
		r, size := utf8.DecodeLastRuneInString(s)
		a[0] = String(s[:len(s)-size])
		return Char(r), nil
	})
	m.SetMutFn("pop", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
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
		// Bytes needed (an upper bound).
		est := int64(len(s)) + (need/padLen+1)*int64(len(pad))
		if est > 1<<40 {
			est = 1 << 40
		}
		if err := c.CheckStringSize(int(est)); err != nil {
			return Unit, err
		}
		if err := c.Tick(int(need / 1024)); err != nil {
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
	m.SetMutFn("pad", []Type{tyStr, tyInt, tyChar}, func(c *Context, a []Value) (Value, error) {
		return padFn(c, a, string(a[2].AsChar()))
	})
	m.SetMutFn("pad", []Type{tyStr, tyInt, tyStr}, func(c *Context, a []Value) (Value, error) {
		return padFn(c, a, a[2].AsString())
	})
	replaceFn := func(a []Value, from, to string) {
		s := a[0].AsString()
		if from != "" && !strings.Contains(s, from) {
			return
		}
		a[0] = String(strings.ReplaceAll(s, from, to))
	}
	m.SetMutFn("replace", []Type{tyStr, tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		replaceFn(a, a[1].AsString(), a[2].AsString())
		return Unit, nil
	})
	m.SetMutFn("replace", []Type{tyStr, tyStr, tyChar}, func(c *Context, a []Value) (Value, error) {
		replaceFn(a, a[1].AsString(), string(a[2].AsChar()))
		return Unit, nil
	})
	m.SetMutFn("replace", []Type{tyStr, tyChar, tyStr}, func(c *Context, a []Value) (Value, error) {
		replaceFn(a, string(a[1].AsChar()), a[2].AsString())
		return Unit, nil
	})
	m.SetMutFn("replace", []Type{tyStr, tyChar, tyChar}, func(c *Context, a []Value) (Value, error) {
		replaceFn(a, string(a[1].AsChar()), string(a[2].AsChar()))
		return Unit, nil
	})

	// Searching.
	m.SetFn("contains", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		return Bool(strings.Contains(a[0].AsString(), a[1].AsString())), nil
	})
	m.SetFn("contains", []Type{tyStr, tyChar}, func(c *Context, a []Value) (Value, error) {
		return Bool(strings.ContainsRune(a[0].AsString(), a[1].AsChar())), nil
	})
	m.SetFn("starts_with", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		return Bool(strings.HasPrefix(a[0].AsString(), a[1].AsString())), nil
	})
	m.SetFn("ends_with", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		return Bool(strings.HasSuffix(a[0].AsString(), a[1].AsString())), nil
	})
	m.SetFn("index_of", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		return Int(strIndexOf(a[0].AsString(), a[1].AsString(), 0)), nil
	})
	m.SetFn("index_of", []Type{tyStr, tyChar}, func(c *Context, a []Value) (Value, error) {
		return Int(strIndexOf(a[0].AsString(), string(a[1].AsChar()), 0)), nil
	})
	m.SetFn("index_of", []Type{tyStr, tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		return Int(strIndexOf(a[0].AsString(), a[1].AsString(), a[2].AsInt())), nil
	})
	m.SetFn("index_of", []Type{tyStr, tyChar, tyInt}, func(c *Context, a []Value) (Value, error) {
		return Int(strIndexOf(a[0].AsString(), string(a[1].AsChar()), a[2].AsInt())), nil
	})

	// Characters.
	m.SetFn("get", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		r, ok := strCharAt(a[0].AsString(), a[1].AsInt())
		if !ok {
			return Unit, nil
		}
		return Char(r), nil
	})
	m.SetMutFn("set", []Type{tyStr, tyInt, tyChar}, func(c *Context, a []Value) (Value, error) {
		if s, ok := strSetCharAt(a[0].AsString(), a[1].AsInt(), a[2].AsChar()); ok {
			a[0] = String(s)
		}
		return Unit, nil
	})
	m.SetFn("to_chars", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		items := make([]Value, 0, len(s))
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
	m.SetFn("chars", []Type{tyStr}, getChars)
	m.SetFn("get$chars", []Type{tyStr}, getChars)
	m.SetFn("chars", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		return charsFn(a[0].AsString(), a[1].AsInt(), -1), nil
	})
	m.SetFn("chars", []Type{tyStr, tyInt, tyInt}, func(c *Context, a []Value) (Value, error) {
		n := a[2].AsInt()
		if n < 0 {
			n = 0
		}
		return charsFn(a[0].AsString(), a[1].AsInt(), n), nil
	})
	for _, rt := range []Type{tyRange, tyRangeI} {
		m.SetFn("chars", []Type{tyStr, rt}, func(c *Context, a []Value) (Value, error) {
			start, n := strRangeToStartLen(a[1])
			return charsFn(a[0].AsString(), start, n), nil
		})
	}

	// Sub-strings.
	m.SetFn("sub_string", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		return String(strSub(a[0].AsString(), a[1].AsInt(), -1)), nil
	})
	m.SetFn("sub_string", []Type{tyStr, tyInt, tyInt}, func(c *Context, a []Value) (Value, error) {
		n := a[2].AsInt()
		if n < 0 {
			n = 0
		}
		return String(strSub(a[0].AsString(), a[1].AsInt(), n)), nil
	})
	m.SetMutFn("crop", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		a[0] = String(strSub(a[0].AsString(), a[1].AsInt(), -1))
		return Unit, nil
	})
	m.SetMutFn("crop", []Type{tyStr, tyInt, tyInt}, func(c *Context, a []Value) (Value, error) {
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
		m.SetFn("sub_string", []Type{tyStr, rt}, rangeSub)
		m.SetFn("index$get", []Type{tyStr, rt}, func(c *Context, a []Value) (Value, error) {
			s := a[0].AsString()
			from, to := strIndexRange(s, a[1])
			return String(s[from:to]), nil
		})
		m.SetMutFn("index$set", []Type{tyStr, rt, tyStr}, func(c *Context, a []Value) (Value, error) {
			s := a[0].AsString()
			from, to := strIndexRange(s, a[1])
			a[0] = String(s[:from] + a[2].AsString() + s[to:])
			return Unit, nil
		})
		m.SetMutFn("index$set", []Type{tyStr, rt, tyChar}, func(c *Context, a []Value) (Value, error) {
			s := a[0].AsString()
			from, to := strIndexRange(s, a[1])
			a[0] = String(s[:from] + string(a[2].AsChar()) + s[to:])
			return Unit, nil
		})
		m.SetMutFn("crop", []Type{tyStr, rt}, func(c *Context, a []Value) (Value, error) {
			start, n := strRangeToStartLen(a[1])
			a[0] = String(strSub(a[0].AsString(), start, n))
			return Unit, nil
		})
	}

	// Indexing.
	m.SetFn("index$get", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		r, ok := strCharAt(s, a[1].AsInt())
		if !ok {
			return Unit, strBoundsErr(s, a[1].AsInt())
		}
		return Char(r), nil
	})
	m.SetMutFn("index$set", []Type{tyStr, tyInt, tyChar}, func(c *Context, a []Value) (Value, error) {
		s := a[0].AsString()
		ns, ok := strSetCharAt(s, a[1].AsInt(), a[2].AsChar())
		if !ok {
			return Unit, strBoundsErr(s, a[1].AsInt())
		}
		a[0] = String(ns)
		return Unit, nil
	})

	// Splitting.
	m.SetFn("split", []Type{tyStr}, func(c *Context, a []Value) (Value, error) {
		return strArray(strings.Fields(a[0].AsString())), nil
	})
	m.SetFn("split", []Type{tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		// A position of 0 or less counts from the end: split(0) gives [s, ""].
		s := a[0].AsString()
		pos := a[1].AsInt()
		if pos <= 0 {
			pos = max(pos+int64(utf8.RuneCountInString(s)), 0)
		}
		off := strCharOffset(s, int(min(pos, int64(len(s)))))
		return NewArray([]Value{String(s[:off]), String(s[off:])}), nil
	})
	m.SetFn("split", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		return strArray(rustSplitN(a[0].AsString(), a[1].AsString(), -1)), nil
	})
	m.SetFn("split", []Type{tyStr, tyChar}, func(c *Context, a []Value) (Value, error) {
		return strArray(rustSplitN(a[0].AsString(), string(a[1].AsChar()), -1)), nil
	})
	m.SetFn("split", []Type{tyStr, tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		return strArray(rustSplitN(a[0].AsString(), a[1].AsString(), strMaxSegments(a[2]))), nil
	})
	m.SetFn("split", []Type{tyStr, tyChar, tyInt}, func(c *Context, a []Value) (Value, error) {
		return strArray(rustSplitN(a[0].AsString(), string(a[1].AsChar()), strMaxSegments(a[2]))), nil
	})
	m.SetFn("split_rev", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		return strArray(rustRSplitN(a[0].AsString(), a[1].AsString(), -1)), nil
	})
	m.SetFn("split_rev", []Type{tyStr, tyChar}, func(c *Context, a []Value) (Value, error) {
		return strArray(rustRSplitN(a[0].AsString(), string(a[1].AsChar()), -1)), nil
	})
	m.SetFn("split_rev", []Type{tyStr, tyStr, tyInt}, func(c *Context, a []Value) (Value, error) {
		return strArray(rustRSplitN(a[0].AsString(), a[1].AsString(), strMaxSegments(a[2]))), nil
	})
	m.SetFn("split_rev", []Type{tyStr, tyChar, tyInt}, func(c *Context, a []Value) (Value, error) {
		return strArray(rustRSplitN(a[0].AsString(), string(a[1].AsChar()), strMaxSegments(a[2]))), nil
	})

	// min / max of strings and characters.
	m.SetFn("min", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		if a[1].AsString() < a[0].AsString() {
			return a[1], nil
		}
		return a[0], nil
	})
	m.SetFn("max", []Type{tyStr, tyStr}, func(c *Context, a []Value) (Value, error) {
		if a[1].AsString() > a[0].AsString() {
			return a[1], nil
		}
		return a[0], nil
	})
	m.SetFn("min", []Type{tyChar, tyChar}, func(c *Context, a []Value) (Value, error) {
		if a[1].AsChar() < a[0].AsChar() {
			return a[1], nil
		}
		return a[0], nil
	})
	m.SetFn("max", []Type{tyChar, tyChar}, func(c *Context, a []Value) (Value, error) {
		if a[1].AsChar() > a[0].AsChar() {
			return a[1], nil
		}
		return a[0], nil
	})

	// Characters as numbers.
	m.SetFn("to_int", []Type{tyChar}, func(c *Context, a []Value) (Value, error) {
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
	return &Error{Kind: ErrStringBounds, Message: "String index " + strconv.FormatInt(pos, 10) + " out of bounds: only " +
		strconv.Itoa(utf8.RuneCountInString(s)) + " characters in string"}
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
