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

// stdString registers the string and character functions; each one first
// charges for the bytes of its string arguments (scanChargedLib).
func stdString(m *Module) {
	registerLib(m, scanChargedLib(stringFns))
}

// stringFns is the string library, in registration order.
var stringFns = []libFn{
	// Conversions of any value.
	{name: "to_string", params: []Type{TypeAny}, fn: anyToString},
	{name: "to_debug", params: []Type{TypeAny}, fn: anyToDebug},

	// Length and emptiness (also properties: s.len).
	{name: "len", params: []Type{tyStr}, fn: strLen, prop: true},
	{name: "bytes", params: []Type{tyStr}, fn: strBytes, prop: true},
	{name: "is_empty", params: []Type{tyStr}, fn: strIsEmpty, prop: true},

	// Case conversion.
	{name: "to_upper", params: []Type{tyStr}, fn: strToUpper},
	{name: "to_lower", params: []Type{tyStr}, fn: strToLower},
	{name: "to_upper", params: []Type{tyChar}, fn: charToUpper},
	{name: "to_lower", params: []Type{tyChar}, fn: charToLower},
	{name: "make_upper", params: []Type{tyStr}, fn: strMakeUpper, mut: true},
	{name: "make_lower", params: []Type{tyStr}, fn: strMakeLower, mut: true},
	{name: "make_upper", params: []Type{tyChar}, fn: charMakeUpper, mut: true},
	{name: "make_lower", params: []Type{tyChar}, fn: charMakeLower, mut: true},

	// In-place editing.
	{name: "trim", params: []Type{tyStr}, fn: strTrim, mut: true},
	{name: "clear", params: []Type{tyStr}, fn: strClear, mut: true},
	{name: "truncate", params: []Type{tyStr, tyInt}, fn: strTruncate, mut: true},
	{name: "append", params: []Type{tyStr, TypeAny}, fn: strAppend, mut: true},
	{name: "remove", params: []Type{tyStr, tyStr}, fn: strRemove, mut: true},
	{name: "remove", params: []Type{tyStr, tyChar}, fn: strRemoveChar, mut: true},
	{name: "pop", params: []Type{tyStr}, fn: strPop, mut: true},
	{name: "pop", params: []Type{tyStr, tyInt}, fn: strPopN, mut: true},
	{name: "pad", params: []Type{tyStr, tyInt, tyChar}, fn: strPadChar, mut: true},
	{name: "pad", params: []Type{tyStr, tyInt, tyStr}, fn: strPadStr, mut: true},
	{name: "replace", params: []Type{tyStr, tyStr, tyStr}, fn: strReplace, mut: true},
	{name: "replace", params: []Type{tyStr, tyStr, tyChar}, fn: strReplaceWithChar, mut: true},
	{name: "replace", params: []Type{tyStr, tyChar, tyStr}, fn: strReplaceChar, mut: true},
	{name: "replace", params: []Type{tyStr, tyChar, tyChar}, fn: strReplaceCharWithChar, mut: true},

	// Searching.
	{name: "contains", params: []Type{tyStr, tyStr}, fn: strContains},
	{name: "contains", params: []Type{tyStr, tyChar}, fn: strContainsChar},
	{name: "starts_with", params: []Type{tyStr, tyStr}, fn: strStartsWith},
	{name: "ends_with", params: []Type{tyStr, tyStr}, fn: strEndsWith},
	{name: "index_of", params: []Type{tyStr, tyStr}, fn: strIndexOfStr},
	{name: "index_of", params: []Type{tyStr, tyChar}, fn: strIndexOfChar},
	{name: "index_of", params: []Type{tyStr, tyStr, tyInt}, fn: strIndexOfStrFrom},
	{name: "index_of", params: []Type{tyStr, tyChar, tyInt}, fn: strIndexOfCharFrom},

	// Characters.
	{name: "get", params: []Type{tyStr, tyInt}, fn: strGet},
	{name: "set", params: []Type{tyStr, tyInt, tyChar}, fn: strSet, mut: true},
	{name: "to_chars", params: []Type{tyStr}, fn: strToChars},
	{name: "chars", params: []Type{tyStr}, fn: strChars, prop: true},
	{name: "chars", params: []Type{tyStr, tyInt}, fn: strCharsFrom},
	{name: "chars", params: []Type{tyStr, tyInt, tyInt}, fn: strCharsFromLen},
	{name: "chars", params: []Type{tyStr, tyRange}, fn: strCharsRange},
	{name: "chars", params: []Type{tyStr, tyRangeI}, fn: strCharsRange},

	// Sub-strings.
	{name: "sub_string", params: []Type{tyStr, tyInt}, fn: strSubString},
	{name: "sub_string", params: []Type{tyStr, tyInt, tyInt}, fn: strSubStringLen},
	{name: "crop", params: []Type{tyStr, tyInt}, fn: strCrop, mut: true},
	{name: "crop", params: []Type{tyStr, tyInt, tyInt}, fn: strCropLen, mut: true},
	{name: "sub_string", params: []Type{tyStr, tyRange}, fn: strSubStringRange},
	{name: "index$get", params: []Type{tyStr, tyRange}, fn: strIndexGetRange},
	{name: "index$set", params: []Type{tyStr, tyRange, tyStr}, fn: strIndexSetRange, mut: true},
	{name: "index$set", params: []Type{tyStr, tyRange, tyChar}, fn: strIndexSetRangeChar, mut: true},
	{name: "crop", params: []Type{tyStr, tyRange}, fn: strCropRange, mut: true},
	{name: "sub_string", params: []Type{tyStr, tyRangeI}, fn: strSubStringRange},
	{name: "index$get", params: []Type{tyStr, tyRangeI}, fn: strIndexGetRange},
	{name: "index$set", params: []Type{tyStr, tyRangeI, tyStr}, fn: strIndexSetRange, mut: true},
	{name: "index$set", params: []Type{tyStr, tyRangeI, tyChar}, fn: strIndexSetRangeChar, mut: true},
	{name: "crop", params: []Type{tyStr, tyRangeI}, fn: strCropRange, mut: true},

	// Indexing.
	{name: "index$get", params: []Type{tyStr, tyInt}, fn: strIndexGet},
	{name: "index$set", params: []Type{tyStr, tyInt, tyChar}, fn: strIndexSet, mut: true},

	// Splitting.
	{name: "split", params: []Type{tyStr}, fn: strSplitFields},
	{name: "split", params: []Type{tyStr, tyInt}, fn: strSplitAt},
	{name: "split", params: []Type{tyStr, tyStr}, fn: strSplit},
	{name: "split", params: []Type{tyStr, tyChar}, fn: strSplitChar},
	{name: "split", params: []Type{tyStr, tyStr, tyInt}, fn: strSplitN},
	{name: "split", params: []Type{tyStr, tyChar, tyInt}, fn: strSplitCharN},
	{name: "split_rev", params: []Type{tyStr, tyStr}, fn: strSplitRev},
	{name: "split_rev", params: []Type{tyStr, tyChar}, fn: strSplitRevChar},
	{name: "split_rev", params: []Type{tyStr, tyStr, tyInt}, fn: strSplitRevN},
	{name: "split_rev", params: []Type{tyStr, tyChar, tyInt}, fn: strSplitRevCharN},

	// min / max of strings and characters.
	{name: "min", params: []Type{tyStr, tyStr}, fn: strMin},
	{name: "max", params: []Type{tyStr, tyStr}, fn: strMax},
	{name: "min", params: []Type{tyChar, tyChar}, fn: charMin},
	{name: "max", params: []Type{tyChar, tyChar}, fn: charMax},

	// Characters as numbers.
	{name: "to_int", params: []Type{tyChar}, fn: charToInt},
}

// scanChargedLib returns a copy of fns whose functions are wrapped by
// scanCharged (a prop entry's getter get$name shares the wrapped function:
// scanCharged treats name and get$name alike).
func scanChargedLib(fns []libFn) []libFn {
	out := make([]libFn, len(fns))
	for i, f := range fns {
		f.fn = scanCharged(f.name, f.params, f.fn)
		out[i] = f
	}
	return out
}

// --- Conversions of any value.

// anyToString is to_string(any): a string unchanged, any other value in its
// display form.
func anyToString(c *Context, a []Value) (Value, error) {
	if a[0].t == TypeString {
		return a[0], nil
	}
	t, err := displayChecked(c, a[0], false)
	return String(t), err
}

// anyToDebug is to_debug(any): the value's debug form.
func anyToDebug(c *Context, a []Value) (Value, error) {
	t, err := displayChecked(c, a[0], true)
	return String(t), err
}

// --- Length and emptiness.

// strLen is len(string) and the property s.len: the number of characters.
func strLen(c *Context, a []Value) (Value, error) {
	return Int(int64(utf8.RuneCountInString(a[0].AsString()))), nil
}

// strBytes is bytes(string) and the property s.bytes: the number of UTF-8
// bytes.
func strBytes(c *Context, a []Value) (Value, error) {
	return Int(int64(len(a[0].AsString()))), nil
}

// strIsEmpty is is_empty(string) and the property s.is_empty.
func strIsEmpty(c *Context, a []Value) (Value, error) {
	return Bool(a[0].AsString() == ""), nil
}

// --- Case conversion.

// strToUpper is to_upper(string), with the full case mappings (ß becomes SS).
func strToUpper(c *Context, a []Value) (Value, error) {
	return caseMapped(c, upperString(a[0].AsString()))
}

// strToLower is to_lower(string), with the full case mappings.
func strToLower(c *Context, a []Value) (Value, error) {
	return caseMapped(c, lowerString(a[0].AsString()))
}

// charToUpper is to_upper(char) (see upperChar).
func charToUpper(c *Context, a []Value) (Value, error) {
	return Char(upperChar(a[0].AsChar())), nil
}

// charToLower is to_lower(char) (see lowerChar).
func charToLower(c *Context, a []Value) (Value, error) {
	return Char(lowerChar(a[0].AsChar())), nil
}

// strMakeUpper is make_upper(string): to_upper in place.
func strMakeUpper(c *Context, a []Value) (Value, error) {
	v, err := caseMapped(c, upperString(a[0].AsString()))
	if err == nil {
		a[0] = v
	}
	return Unit, err
}

// strMakeLower is make_lower(string): to_lower in place.
func strMakeLower(c *Context, a []Value) (Value, error) {
	v, err := caseMapped(c, lowerString(a[0].AsString()))
	if err == nil {
		a[0] = v
	}
	return Unit, err
}

// charMakeUpper is make_upper(char): to_upper in place.
func charMakeUpper(c *Context, a []Value) (Value, error) {
	a[0] = Char(upperChar(a[0].AsChar()))
	return Unit, nil
}

// charMakeLower is make_lower(char): to_lower in place.
func charMakeLower(c *Context, a []Value) (Value, error) {
	a[0] = Char(lowerChar(a[0].AsChar()))
	return Unit, nil
}

// --- In-place editing.

// strTrim is trim(string): removes leading and trailing white space in place.
func strTrim(c *Context, a []Value) (Value, error) {
	s := a[0].AsString()
	if t := strings.TrimSpace(s); len(t) != len(s) {
		a[0] = String(t)
	}
	return Unit, nil
}

// strClear is clear(string): empties the string in place.
func strClear(c *Context, a []Value) (Value, error) {
	a[0] = String("")
	return Unit, nil
}

// strTruncate is truncate(string, i64): keeps the first n characters.
func strTruncate(c *Context, a []Value) (Value, error) {
	s := a[0].AsString()
	n := a[1].AsInt()
	if n <= 0 {
		a[0] = String("")
	} else if n < int64(len(s)) {
		a[0] = String(s[:strCharOffset(s, int(n))])
	}
	return Unit, nil
}

// strAppend is append(string, any): appends a string, a blob's bytes (invalid
// UTF-8 replaced) or any other value's display form, within the string size
// limit.
func strAppend(c *Context, a []Value) (Value, error) {
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
}

// strRemove is remove(string, string): removes every occurrence in place.
func strRemove(c *Context, a []Value) (Value, error) {
	s, t := a[0].AsString(), a[1].AsString()
	if t != "" && strings.Contains(s, t) {
		a[0] = String(strings.ReplaceAll(s, t, ""))
	}
	return Unit, nil
}

// strRemoveChar is remove(string, char): removes every occurrence in place.
func strRemoveChar(c *Context, a []Value) (Value, error) {
	s, t := a[0].AsString(), string(a[1].AsChar())
	if strings.Contains(s, t) {
		a[0] = String(strings.ReplaceAll(s, t, ""))
	}
	return Unit, nil
}

// strPop is pop(string): removes and returns the last character (() when
// empty).
func strPop(c *Context, a []Value) (Value, error) {
	s := a[0].AsString()
	if s == "" {
		return Unit, nil
	}
	r, size := utf8.DecodeLastRuneInString(s)
	a[0] = String(s[:len(s)-size])
	return Char(r), nil
}

// strPopN is pop(string, i64): removes and returns the last n characters.
func strPopN(c *Context, a []Value) (Value, error) {
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
}

// strPadChar is pad(string, i64, char).
func strPadChar(c *Context, a []Value) (Value, error) {
	return strPad(c, a, string(a[2].AsChar()))
}

// strPadStr is pad(string, i64, string).
func strPadStr(c *Context, a []Value) (Value, error) {
	return strPad(c, a, a[2].AsString())
}

// strPad pads a[0] in place with repetitions of pad (the last one cut) until it
// has a[1] characters, charging the result's size before building it.
func strPad(c *Context, a []Value, pad string) (Value, error) {
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

// strReplace is replace(string, string, string).
func strReplace(c *Context, a []Value) (Value, error) {
	return Unit, strReplaceAll(c, a, a[1].AsString(), a[2].AsString())
}

// strReplaceWithChar is replace(string, string, char).
func strReplaceWithChar(c *Context, a []Value) (Value, error) {
	return Unit, strReplaceAll(c, a, a[1].AsString(), string(a[2].AsChar()))
}

// strReplaceChar is replace(string, char, string).
func strReplaceChar(c *Context, a []Value) (Value, error) {
	return Unit, strReplaceAll(c, a, string(a[1].AsChar()), a[2].AsString())
}

// strReplaceCharWithChar is replace(string, char, char).
func strReplaceCharWithChar(c *Context, a []Value) (Value, error) {
	return Unit, strReplaceAll(c, a, string(a[1].AsChar()), string(a[2].AsChar()))
}

// strReplaceAll replaces every from in a[0] by to, in place; the result's size
// is checked before it is built, and the work is charged match by match.
func strReplaceAll(c *Context, a []Value, from, to string) error {
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

// --- Searching.

// strContains is contains(string, string).
func strContains(c *Context, a []Value) (Value, error) {
	return Bool(strings.Contains(a[0].AsString(), a[1].AsString())), nil
}

// strContainsChar is contains(string, char).
func strContainsChar(c *Context, a []Value) (Value, error) {
	return Bool(strings.ContainsRune(a[0].AsString(), a[1].AsChar())), nil
}

// strStartsWith is starts_with(string, string).
func strStartsWith(c *Context, a []Value) (Value, error) {
	return Bool(strings.HasPrefix(a[0].AsString(), a[1].AsString())), nil
}

// strEndsWith is ends_with(string, string).
func strEndsWith(c *Context, a []Value) (Value, error) {
	return Bool(strings.HasSuffix(a[0].AsString(), a[1].AsString())), nil
}

// strIndexOfStr is index_of(string, string): a character position or -1.
func strIndexOfStr(c *Context, a []Value) (Value, error) {
	return Int(strIndexOf(a[0].AsString(), a[1].AsString(), 0)), nil
}

// strIndexOfChar is index_of(string, char).
func strIndexOfChar(c *Context, a []Value) (Value, error) {
	return Int(strIndexOf(a[0].AsString(), string(a[1].AsChar()), 0)), nil
}

// strIndexOfStrFrom is index_of(string, string, i64): searching from a
// character position.
func strIndexOfStrFrom(c *Context, a []Value) (Value, error) {
	return Int(strIndexOf(a[0].AsString(), a[1].AsString(), a[2].AsInt())), nil
}

// strIndexOfCharFrom is index_of(string, char, i64).
func strIndexOfCharFrom(c *Context, a []Value) (Value, error) {
	return Int(strIndexOf(a[0].AsString(), string(a[1].AsChar()), a[2].AsInt())), nil
}

// --- Characters.

// strGet is get(string, i64): the character at a position, () when out of
// range.
func strGet(c *Context, a []Value) (Value, error) {
	r, ok := strCharAt(a[0].AsString(), a[1].AsInt())
	if !ok {
		return Unit, nil
	}
	return Char(r), nil
}

// strSet is set(string, i64, char): replaces the character at a position in
// place; out of range, nothing changes.
func strSet(c *Context, a []Value) (Value, error) {
	if s, ok := strSetCharAt(a[0].AsString(), a[1].AsInt(), a[2].AsChar()); ok {
		a[0] = String(s)
	}
	return Unit, nil
}

// strToChars is to_chars(string): an array of its characters, within the
// array size limit.
func strToChars(c *Context, a []Value) (Value, error) {
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
}

// strChars is chars(string) and the property s.chars: an iterator over the
// characters.
func strChars(c *Context, a []Value) (Value, error) {
	return strCharsOf(a[0].AsString(), 0, -1), nil
}

// strCharsFrom is chars(string, i64): the characters from a position.
func strCharsFrom(c *Context, a []Value) (Value, error) {
	return strCharsOf(a[0].AsString(), a[1].AsInt(), -1), nil
}

// strCharsFromLen is chars(string, i64, i64): n characters from a position (a
// negative n is 0).
func strCharsFromLen(c *Context, a []Value) (Value, error) {
	n := a[2].AsInt()
	if n < 0 {
		n = 0
	}
	return strCharsOf(a[0].AsString(), a[1].AsInt(), n), nil
}

// strCharsRange is chars(string, range) and chars(string, range=).
func strCharsRange(c *Context, a []Value) (Value, error) {
	start, n := strRangeToStartLen(a[1])
	return strCharsOf(a[0].AsString(), start, n), nil
}

// strCharsOf is an iterator over the characters of strSub(s, start, n).
func strCharsOf(s string, start, n int64) Value {
	return NewCustom("range", charsIter(strSub(s, start, n)))
}

// --- Sub-strings.

// strSubString is sub_string(string, i64): the characters from a position.
func strSubString(c *Context, a []Value) (Value, error) {
	return String(strSub(a[0].AsString(), a[1].AsInt(), -1)), nil
}

// strSubStringLen is sub_string(string, i64, i64): n characters from a
// position (a negative n is 0).
func strSubStringLen(c *Context, a []Value) (Value, error) {
	n := a[2].AsInt()
	if n < 0 {
		n = 0
	}
	return String(strSub(a[0].AsString(), a[1].AsInt(), n)), nil
}

// strCrop is crop(string, i64): sub_string in place.
func strCrop(c *Context, a []Value) (Value, error) {
	a[0] = String(strSub(a[0].AsString(), a[1].AsInt(), -1))
	return Unit, nil
}

// strCropLen is crop(string, i64, i64): sub_string in place.
func strCropLen(c *Context, a []Value) (Value, error) {
	n := a[2].AsInt()
	if n < 0 {
		n = 0
	}
	a[0] = String(strSub(a[0].AsString(), a[1].AsInt(), n))
	return Unit, nil
}

// strSubStringRange is sub_string(string, range) and sub_string(string,
// range=).
func strSubStringRange(c *Context, a []Value) (Value, error) {
	start, n := strRangeToStartLen(a[1])
	return String(strSub(a[0].AsString(), start, n)), nil
}

// strIndexGetRange is s[range] and s[range=] (see strIndexRange).
func strIndexGetRange(c *Context, a []Value) (Value, error) {
	s := a[0].AsString()
	from, to := strIndexRange(s, a[1])
	return String(s[from:to]), nil
}

// strIndexSetRange is s[range] = string (and range=), within the string size
// limit.
func strIndexSetRange(c *Context, a []Value) (Value, error) {
	s := a[0].AsString()
	from, to := strIndexRange(s, a[1])
	if err := growString(c, len(s)-(to-from)+len(a[2].AsString())); err != nil {
		return Unit, err
	}
	a[0] = String(s[:from] + a[2].AsString() + s[to:])
	return Unit, nil
}

// strIndexSetRangeChar is s[range] = char (and range=).
func strIndexSetRangeChar(c *Context, a []Value) (Value, error) {
	s := a[0].AsString()
	from, to := strIndexRange(s, a[1])
	a[0] = String(s[:from] + string(a[2].AsChar()) + s[to:])
	return Unit, nil
}

// strCropRange is crop(string, range) and crop(string, range=).
func strCropRange(c *Context, a []Value) (Value, error) {
	start, n := strRangeToStartLen(a[1])
	a[0] = String(strSub(a[0].AsString(), start, n))
	return Unit, nil
}

// --- Indexing.

// strIndexGet is s[i64]: the character at a position, an error when out of
// range.
func strIndexGet(c *Context, a []Value) (Value, error) {
	s := a[0].AsString()
	r, ok := strCharAt(s, a[1].AsInt())
	if !ok {
		return Unit, strBoundsErr(s, a[1].AsInt())
	}
	return Char(r), nil
}

// strIndexSet is s[i64] = char, an error when out of range.
func strIndexSet(c *Context, a []Value) (Value, error) {
	s := a[0].AsString()
	ns, ok := strSetCharAt(s, a[1].AsInt(), a[2].AsChar())
	if !ok {
		return Unit, strBoundsErr(s, a[1].AsInt())
	}
	a[0] = String(ns)
	return Unit, nil
}

// --- Splitting.

// strSplitFields is split(string): the pieces between runs of white space.
func strSplitFields(c *Context, a []Value) (Value, error) {
	return strArrayChecked(c, strings.Fields(a[0].AsString()))
}

// strSplitAt is split(string, i64): the two pieces before and after a
// character position. A position of 0 or less counts from the end: split(0)
// gives [s, ""].
func strSplitAt(c *Context, a []Value) (Value, error) {
	s := a[0].AsString()
	pos := a[1].AsInt()
	if pos <= 0 {
		pos = max(pos+int64(utf8.RuneCountInString(s)), 0)
	}
	off := strCharOffset(s, int(min(pos, int64(len(s)))))
	return NewArray([]Value{String(s[:off]), String(s[off:])}), nil
}

// strSplit is split(string, string).
func strSplit(c *Context, a []Value) (Value, error) {
	return splitChecked(c, a[0].AsString(), a[1].AsString(), -1, false)
}

// strSplitChar is split(string, char).
func strSplitChar(c *Context, a []Value) (Value, error) {
	return splitChecked(c, a[0].AsString(), string(a[1].AsChar()), -1, false)
}

// strSplitN is split(string, string, i64): at most n pieces.
func strSplitN(c *Context, a []Value) (Value, error) {
	return splitChecked(c, a[0].AsString(), a[1].AsString(), strMaxSegments(a[2]), false)
}

// strSplitCharN is split(string, char, i64): at most n pieces.
func strSplitCharN(c *Context, a []Value) (Value, error) {
	return splitChecked(c, a[0].AsString(), string(a[1].AsChar()), strMaxSegments(a[2]), false)
}

// strSplitRev is split_rev(string, string): the pieces from the end.
func strSplitRev(c *Context, a []Value) (Value, error) {
	return splitChecked(c, a[0].AsString(), a[1].AsString(), -1, true)
}

// strSplitRevChar is split_rev(string, char).
func strSplitRevChar(c *Context, a []Value) (Value, error) {
	return splitChecked(c, a[0].AsString(), string(a[1].AsChar()), -1, true)
}

// strSplitRevN is split_rev(string, string, i64): at most n pieces from the
// end.
func strSplitRevN(c *Context, a []Value) (Value, error) {
	return splitChecked(c, a[0].AsString(), a[1].AsString(), strMaxSegments(a[2]), true)
}

// strSplitRevCharN is split_rev(string, char, i64).
func strSplitRevCharN(c *Context, a []Value) (Value, error) {
	return splitChecked(c, a[0].AsString(), string(a[1].AsChar()), strMaxSegments(a[2]), true)
}

// --- min / max.

// strMin is min(string, string): the first of the two in byte order (the
// first argument when equal).
func strMin(c *Context, a []Value) (Value, error) {
	if a[1].AsString() < a[0].AsString() {
		return a[1], nil
	}
	return a[0], nil
}

// strMax is max(string, string).
func strMax(c *Context, a []Value) (Value, error) {
	if a[1].AsString() > a[0].AsString() {
		return a[1], nil
	}
	return a[0], nil
}

// charMin is min(char, char).
func charMin(c *Context, a []Value) (Value, error) {
	if a[1].AsChar() < a[0].AsChar() {
		return a[1], nil
	}
	return a[0], nil
}

// charMax is max(char, char).
func charMax(c *Context, a []Value) (Value, error) {
	if a[1].AsChar() > a[0].AsChar() {
		return a[1], nil
	}
	return a[0], nil
}

// --- Characters as numbers.

// charToInt is to_int(char): the character's Unicode scalar value.
func charToInt(c *Context, a []Value) (Value, error) {
	return Int(int64(a[0].AsChar())), nil
}

// strCharOffset is the byte offset of the n-th character of s (len(s) if s has
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

// strSub extracts n characters (n < 0: to the end) from character position
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

// strRangeToStartLen converts a range of character positions into a start and
// a length for strSub (a negative start counts as 0).
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

// strCharAt is the character at position pos (negative from the end).
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

// strSetCharAt replaces the character at pos (negative from the end).
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

// strBoundsErr is the error of an index out of the string's character range.
func strBoundsErr(s string, pos int64) *Error {
	return stringBoundsError(pos, utf8.RuneCountInString(s))
}

// strIndexOf finds sub in s from character position start (negative from the
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

// strMaxSegments is the segment count of split(s, sep, n): n clamped to
// [1, 2^30].
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

// splitChecked splits s by sep into at most n pieces (n < 0: all; rev: from
// the end), counting the pieces against the array size limit before making
// them (the pieces share the string's memory, so each costs one slot).
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

// strArrayChecked is strArray, counted against the array size limit.
func strArrayChecked(c *Context, parts []string) (Value, error) {
	if err := growArray(c, len(parts), len(parts)); err != nil {
		return Unit, err
	}
	return strArray(parts), nil
}

// scanCharged wraps f so that each call first charges one operation per 64
// bytes of the string arguments it may scan (see lib_guard.go); functions that
// only read a length are left alone.
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

// strArray is an array of the strings parts.
func strArray(parts []string) Value {
	items := make([]Value, len(parts))
	for i, p := range parts {
		items[i] = String(p)
	}
	return NewArray(items)
}

// charsIter iterates the characters of a string.
type charsIter string

// Each yields the characters in order.
func (s charsIter) Each(yield func(Value) bool) {
	for _, r := range string(s) {
		if !yield(Char(r)) {
			return
		}
	}
}

// String is the iterator's display form.
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

// upperChar is the upper case of r, or r itself when that is more than one
// character (ß stays ß).
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

// lowerChar is the lower case of r, or r itself when that is more than one
// character (İ stays İ).
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

// strIsASCII reports whether s has only ASCII bytes.
func strIsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// upperString is s in upper case with the full mappings (upperSpecial).
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

// lowerString is s in lower case with the full mappings: İ becomes i̇ and a
// word-final Σ becomes ς.
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
