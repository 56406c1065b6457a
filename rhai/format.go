package rhai

import (
	"math"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// How Rhai prints values.
//
// There are four forms:
//
//   - script Display (print, to_string, `${}`, string +): strings and chars bare,
//     unit empty, floats in Rhai's natural form;
//   - script Debug (debug, to_debug): strings quoted with Rust escapes, chars bare;
//   - host Display (the corpus's result.value): like script Display, but chars
//     inside arrays and maps are quoted ('c');
//   - host Debug (result.debug): strings and chars quoted everywhere.
//
// Inside arrays and maps every form prints elements in their Debug form (floats
// in Rust's {:?} form, strings quoted).

// fmtMode selects the script or one of the host forms.
type fmtMode uint8

const (
	fmtScript fmtMode = iota
	fmtHostDisplay
	fmtHostDebug
)

// toDisplay is the script-level Display form (print, to_string, interpolation).
func toDisplay(v Value) string {
	switch v.t {
	case TypeString:
		return v.AsString()
	case TypeInt:
		return strconv.FormatInt(int64(v.n), 10)
	case TypeUnit:
		return ""
	case TypeBool:
		if v.n != 0 {
			return "true"
		}
		return "false"
	case TypeChar:
		return string(rune(v.n))
	case TypeFloat:
		var tmp [40]byte
		return string(appendFloatDisplay(tmp[:0], v.AsFloat()))
	}
	return string(appendDisplay(nil, v, fmtScript))
}

// toDebug is the script-level Debug form (debug, to_debug).
func toDebug(v Value) string {
	switch v.t {
	case TypeInt:
		return strconv.FormatInt(int64(v.n), 10)
	case TypeChar:
		return string(rune(v.n))
	}
	return string(appendDebug(nil, v, fmtScript))
}

// fmtTooDeep and fmtTooLong are the errors the bounded formatters panic with;
// inside an evaluation the panic becomes the script's error.
func fmtTooDeep() *Error {
	return &Error{Kind: ErrDataTooLarge, Message: "Data nested too deeply"}
}

func fmtTooLong() *Error {
	return &Error{Kind: ErrDataTooLarge, Message: "Length of string too large"}
}

// displayChecked is the script Display (debug: Debug) form of v for natives
// and the evaluator: the text may not exceed the string size limit (checked
// while it is built, so a huge value is refused before its whole text is),
// data nested deeper than maxDataDepth is refused, and the work counts as
// operations (one per 64 bytes of text).
func displayChecked(c *Context, v Value, debug bool) (s string, err error) {
	var lim *fmtLimit
	if c != nil && c.th != nil && c.th.eng != nil {
		lim = &fmtLimit{max: c.th.eng.limits.MaxStringSize, th: c.th}
	}
	switch v.t {
	case TypeArray, TypeMap:
		defer func() {
			if r := recover(); r != nil {
				e, ok := r.(*Error)
				if !ok {
					panic(r)
				}
				s, err = "", e
			}
		}()
	}
	if debug {
		switch v.t {
		case TypeInt:
			return strconv.FormatInt(int64(v.n), 10), nil
		case TypeChar:
			return string(rune(v.n)), nil
		}
		s = string(appendDebugL(nil, v, fmtScript, 0, lim))
	} else {
		switch v.t {
		case TypeString:
			s = v.AsString()
		case TypeArray, TypeMap, TypeBlob:
			s = string(appendDisplayL(nil, v, fmtScript, 0, lim))
		default:
			s = toDisplay(v)
		}
	}
	if c != nil && c.th != nil {
		if err := c.CheckStringSize(len(s)); err != nil {
			return "", err
		}
		charged := 0
		if lim != nil {
			charged = lim.charged
		}
		if err := chargeBytes(c, len(s)-charged); err != nil {
			return "", err
		}
	}
	return s, nil
}

// fmtLimit bounds a formatting in progress: its output may not pass max bytes
// (0: no limit), and inside an evaluation the text built so far is accounted
// (memory and operations, see memory.go) every copyStepBytes, so that printing
// a huge value meets the budget and cancellation checks along the way.
type fmtLimit struct {
	max     int
	th      *thread
	charged int // bytes of output accounted so far
}

func (l *fmtLimit) check(b []byte) {
	if l == nil {
		return
	}
	if l.max > 0 && len(b) > l.max {
		panic(fmtTooLong())
	}
	if l.th != nil && len(b)-l.charged >= copyStepBytes {
		l.th.grow(len(b) - l.charged)
		l.charged = len(b)
	}
}

// keys is m's keys in iteration order, sorting them charged (one operation
// per comparison) inside an evaluation.
func (l *fmtLimit) keys(m *Map) []string {
	if l == nil {
		return m.SortedKeys()
	}
	return l.th.sortedKeys(m)
}

// displayLimited is displayChecked for the evaluator (print, debug,
// interpolation, string + value): it panics with the limit error, as every
// evaluation error travels. debug selects the Debug form.
func (th *thread) displayLimited(v Value, debug bool) string {
	c := Context{th: th}
	s, err := displayChecked(&c, v, debug)
	if err != nil {
		panic(err)
	}
	return s
}

// hostFormat runs a host-side formatter; data too deep to print (only a script
// that went around the engine's checks can build it) prints as a marker
// instead of failing the host.
func hostFormat(f func() []byte) (s string) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(*Error); !ok {
				panic(r)
			}
			s = "<data nested too deeply>"
		}
	}()
	return string(f())
}

// String is the host's Display form of v (the corpus's result.value).
func (v Value) String() string {
	switch v.t {
	case TypeString:
		return v.AsString()
	case TypeInt:
		return strconv.FormatInt(int64(v.n), 10)
	case TypeUnit:
		return ""
	case TypeChar:
		return string(rune(v.n))
	}
	return hostFormat(func() []byte { return appendDisplay(nil, v, fmtHostDisplay) })
}

// DebugString is the host's Debug form of v (the corpus's result.debug).
func (v Value) DebugString() string {
	return hostFormat(func() []byte { return appendDebug(nil, v, fmtHostDebug) })
}

// appendDisplay appends the Display form of v. host selects the host form
// (chars inside containers quoted).
func appendDisplay(b []byte, v Value, mode fmtMode) []byte {
	return appendDisplayL(b, v, mode, 0, nil)
}

// appendDisplayL is appendDisplay at nesting depth depth, refusing (with a
// panic of ErrorDataTooLarge, see fmtTooLarge) data nested deeper than
// maxDataDepth and output longer than lim allows (nil: no limit).
func appendDisplayL(b []byte, v Value, mode fmtMode, depth int, lim *fmtLimit) []byte {
	switch v.t {
	case TypeUnit:
		return b
	case TypeString:
		return append(b, v.AsString()...)
	case TypeChar:
		return utf8.AppendRune(b, rune(v.n))
	case TypeFloat:
		return appendFloatDisplay(b, v.AsFloat())
	}
	return appendDebugL(b, v, mode, depth, lim)
}

// appendDebug appends the Debug form of v. host selects the host form: chars
// quoted (everywhere); otherwise chars print bare even inside containers.
func appendDebug(b []byte, v Value, mode fmtMode) []byte {
	return appendDebugL(b, v, mode, 0, nil)
}

// appendDebugL is appendDebug with the limits of appendDisplayL.
func appendDebugL(b []byte, v Value, mode fmtMode, depth int, lim *fmtLimit) []byte {
	switch v.t {
	case TypeUnit:
		return append(b, "()"...)
	case TypeBool:
		if v.n != 0 {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case TypeInt:
		return strconv.AppendInt(b, int64(v.n), 10)
	case TypeU8:
		return strconv.AppendUint(b, v.n&0xff, 10)
	case TypeFloat:
		return appendFloatDebug(b, v.AsFloat())
	case TypeChar:
		if mode != fmtScript {
			return appendQuotedChar(b, rune(v.n))
		}
		return utf8.AppendRune(b, rune(v.n))
	case TypeString:
		return appendQuotedString(b, v.AsString())
	case TypeArray:
		if depth >= maxDataDepth {
			panic(fmtTooDeep())
		}
		b = append(b, '[')
		if a := v.AsArray(); a != nil {
			for i, e := range a.Items {
				if i > 0 {
					b = append(b, ", "...)
				}
				b = appendDebugL(b, e, mode, depth+1, lim)
				lim.check(b)
			}
		}
		return append(b, ']')
	case TypeMap:
		if depth >= maxDataDepth {
			panic(fmtTooDeep())
		}
		b = append(b, "#{"...)
		if m := v.AsMap(); m != nil {
			for i, k := range lim.keys(m) {
				if i > 0 {
					b = append(b, ", "...)
				}
				b = appendQuotedString(b, k)
				b = append(b, ": "...)
				b = appendDebugL(b, m.M[k], mode, depth+1, lim)
				lim.check(b)
			}
		}
		return append(b, '}')
	case TypeBlob:
		b = append(b, '[')
		if bl := v.AsBlob(); bl != nil {
			const hex = "0123456789abcdef"
			for i, c := range bl.B {
				if i > 0 && i%8 == 0 {
					b = append(b, ' ') // Rhai groups the bytes by eight
				}
				b = append(b, hex[c>>4], hex[c&15])
				if i&(copyStepBytes-1) == copyStepBytes-1 {
					lim.check(b)
				}
			}
		}
		return append(b, ']')
	case TypeRange, TypeRangeInclusive:
		r := v.AsRange()
		b = strconv.AppendInt(b, r.Start, 10)
		if v.t == TypeRange {
			b = append(b, ".."...)
		} else {
			b = append(b, "..="...)
		}
		return strconv.AppendInt(b, r.End, 10)
	case TypeFnPtr:
		return appendFnPtr(b, v, mode)
	case TypeTimestamp:
		return append(b, "<timestamp>"...)
	case TypeCustom:
		c := v.AsCustom()
		if s, ok := c.V.(interface{ String() string }); ok {
			return append(b, s.String()...)
		}
		return append(b, c.TypeName...)
	}
	return append(b, '?')
}

// appendFnPtr prints a function pointer: Fn(name) in scripts; the host's
// Debug form is Rust's, Fn+("name").
func appendFnPtr(b []byte, v Value, mode fmtMode) []byte {
	name := ""
	if fp := v.AsFnPtr(); fp != nil {
		name = fp.Name
	}
	if mode == fmtHostDebug {
		b = append(b, "Fn+("...)
		b = appendQuotedString(b, name)
		return append(b, ')')
	}
	b = append(b, "Fn("...)
	b = append(b, name...)
	return append(b, ')')
}

// Float thresholds of Rhai's Display form: outside [minNatural, maxNatural] a
// float prints in scientific notation. Rhai keeps them as f32 constants, so they
// are 1e13 and 1e-13 rounded to f32.
var (
	maxNaturalFloat = float64(float32(1e13))
	minNaturalFloat = float64(float32(1e-13))
)

// appendFloatDisplay appends Rhai's Display form of a float: natural notation
// with ".0" for integral values, scientific outside [1e-13, 1e13], "0.0" for
// both zeros.
func appendFloatDisplay(b []byte, f float64) []byte {
	if f == 0 {
		return append(b, "0.0"...)
	}
	if f != f {
		return append(b, "NaN"...)
	}
	abs := math.Abs(f)
	if abs > maxNaturalFloat || abs < minNaturalFloat {
		return appendRustExp(b, f)
	}
	return appendPlain(b, f, true)
}

// appendFloatDebug appends Rust's {:?} form of an f64: shortest round-trip
// digits, scientific below 1e-4 and from 1e16 on, ".0" on integral values.
func appendFloatDebug(b []byte, f float64) []byte {
	if f != f {
		return append(b, "NaN"...)
	}
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	abs := math.Abs(f)
	if abs < 1e-4 || abs >= 1e16 { // infinities too: appendRustExp prints them
		return appendRustExp(b, f)
	}
	return appendPlain(b, f, true)
}

// appendRustExp appends Rust's {:e} form of an f64: "1e13", "1.5e-7", "inf".
func appendRustExp(b []byte, f float64) []byte {
	if f != f {
		return append(b, "NaN"...)
	}
	if math.IsInf(f, 0) {
		if f > 0 {
			return append(b, "inf"...)
		}
		return append(b, "-inf"...)
	}
	var tmp [32]byte
	digits, exp, neg := shortestDigits(tmp[:0], f)
	if neg {
		b = append(b, '-')
	}
	b = append(b, digits[0])
	if len(digits) > 1 {
		b = append(b, '.')
		b = append(b, digits[1:]...)
	}
	b = append(b, 'e')
	return strconv.AppendInt(b, int64(exp), 10)
}

// appendPlain appends a finite, non-zero f in positional notation with the
// shortest round-trip digits (Rust's {}); dotZero adds ".0" to integral values.
func appendPlain(b []byte, f float64, dotZero bool) []byte {
	var tmp [32]byte
	digits, exp, neg := shortestDigits(tmp[:0], f)
	if neg {
		b = append(b, '-')
	}
	switch {
	case exp < 0:
		b = append(b, "0."...)
		for i := -1; i > exp; i-- {
			b = append(b, '0')
		}
		b = append(b, digits...)
	case exp+1 >= len(digits):
		b = append(b, digits...)
		for i := len(digits); i <= exp; i++ {
			b = append(b, '0')
		}
		if dotZero {
			b = append(b, ".0"...)
		}
	default:
		b = append(b, digits[:exp+1]...)
		b = append(b, '.')
		b = append(b, digits[exp+1:]...)
	}
	return b
}

// shortestDigits returns the shortest decimal digits that round-trip to f
// (finite, non-zero) and the decimal exponent of the first digit, choosing as
// Rust does: when two shortest candidates are equally close to f, the larger
// one (Go's strconv picks the even one).
func shortestDigits(dst []byte, f float64) (digits []byte, exp int, neg bool) {
	s := strconv.AppendFloat(dst, f, 'e', -1, 64) // like -1.2345e+06
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	e := len(s) - 1
	for s[e] != 'e' {
		e--
	}
	x, _ := strconv.Atoi(string(s[e+1:]))
	exp = x
	digits = s[:e]
	if len(digits) > 1 {
		// Drop the decimal point: "1.2345" -> "12345".
		copy(digits[1:], digits[2:])
		digits = digits[:len(digits)-1]
	}
	last := digits[len(digits)-1]
	if last&1 == 0 {
		digits = roundTieUp(digits, exp, f)
	}
	return digits, exp, neg
}

// roundTieUp replaces digits (shortest, last digit even) by the next larger
// candidate when f lies exactly halfway between the two.
func roundTieUp(digits []byte, exp int, f float64) []byte {
	n := len(digits)
	var buf [40]byte
	// One more digit than the shortest form, correctly rounded; a tie needs it
	// to be 5 with nothing after it.
	more := strconv.AppendFloat(buf[:0], math.Abs(f), 'e', n+20, 64)
	// more is d.ddd...e±XX with n+20 fractional digits.
	frac := more[2 : 2+n+20]
	if frac[n-1] != '5' {
		return digits
	}
	for _, c := range frac[n:] {
		if c != '0' {
			return digits
		}
	}
	// Check the digits of "more" agree with ours up to n (same exponent).
	if more[0] != digits[0] || string(frac[:n-1]) != string(digits[1:]) {
		return digits
	}
	up := append([]byte(nil), digits...)
	i := n - 1
	for i >= 0 && up[i] == '9' {
		up[i] = '0'
		i--
	}
	if i < 0 {
		return digits
	}
	up[i]++
	// The larger candidate must round-trip too.
	var cand [48]byte
	c := append(cand[:0], up[0])
	if n > 1 {
		c = append(c, '.')
		c = append(c, up[1:]...)
	}
	c = append(c, 'e')
	c = strconv.AppendInt(c, int64(exp), 10)
	g, err := strconv.ParseFloat(string(c), 64)
	if err != nil || g != math.Abs(f) {
		return digits
	}
	return append(digits[:0], up...)
}

// rustFloatString is Rust's plain Display of an f64 ({}): never scientific, no
// ".0" on integral values ("1000", "0.5", "NaN", "inf"). Rhai uses it in some
// error messages.
func rustFloatString(f float64) string {
	switch {
	case f != f:
		return "NaN"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	}
	return string(appendPlain(nil, f, false))
}

// appendQuotedString appends s as Rust's Debug form of a str: in double quotes,
// with \t \r \n \0 \\ \" escaped and unprintable or combining characters as
// \u{hex}.
func appendQuotedString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '\\' && c != '"' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		if c < utf8.RuneSelf {
			b = appendEscapedRune(b, rune(c), '"')
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			b = appendEscapedRune(b, r, '"')
			i += size
		}
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendQuotedChar appends r as Rust's Debug form of a char: 'c'.
func appendQuotedChar(b []byte, r rune) []byte {
	b = append(b, '\'')
	b = appendEscapedRune(b, r, '\'')
	return append(b, '\'')
}

// appendEscapedRune appends r escaped as Rust's escape_debug does; quote is
// the quote character that must be escaped.
func appendEscapedRune(b []byte, r rune, quote rune) []byte {
	switch r {
	case 0:
		return append(b, `\0`...)
	case '\t':
		return append(b, `\t`...)
	case '\r':
		return append(b, `\r`...)
	case '\n':
		return append(b, `\n`...)
	case '\\':
		return append(b, `\\`...)
	case quote:
		return append(b, '\\', byte(quote))
	}
	if r < utf8.RuneSelf && r >= 0x20 && r < 0x7f {
		return append(b, byte(r))
	}
	if isGraphemeExtend(r) || !unicode.IsPrint(r) {
		b = append(b, `\u{`...)
		b = strconv.AppendUint(b, uint64(r), 16)
		return append(b, '}')
	}
	return utf8.AppendRune(b, r)
}

func isGraphemeExtend(r rune) bool {
	if r < 0x300 {
		return false
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Other_Grapheme_Extend)
}
