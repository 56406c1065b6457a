package rhai

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/picloud/picloud/rhai/syntax"
)

// stdJSON registers Rhai's JSON functions: parse_json. Maps' to_json is
// registered by stdMap.
func stdJSON(m *Module) { registerLib(m, jsonFns) }

// jsonFns is the table stdJSON registers.
var jsonFns = []libFn{
	{name: "parse_json", params: []Type{TypeString}, fn: parseJSONObject},
}

// parseJSONObject is parse_json(string): the text must be a JSON object,
// which becomes an object map (integers stay i64, null becomes ()). Errors
// are Rhai's: parse errors with positions, an unknown word is a variable not
// found, and any other top-level value is ErrorMismatchOutputType.
func parseJSONObject(c *Context, a []Value) (Value, error) {
	p := &jsonParser{s: a[0].AsString(), rhai: true, c: c}
	v, err := p.parseTop()
	if err != nil {
		return Unit, err
	}
	if v.t != TypeMap {
		e := NewError(ErrMismatchOutputType, "Output type incorrect: %s (expecting map)", v.TypeName())
		e.Pos = syntax.Pos{Line: 1, Col: 1}
		return Unit, e
	}
	return v, nil
}

// ---------------------------------------------------------------------------
// Go-side API (FromGo and ToGo, the conversions from and to Go values, are
// in reflect.go)

// ParseJSON parses a JSON document into a Value: objects become maps, arrays
// arrays, integers that fit i64 exactly stay i64 (others become f64), other
// numbers f64, null becomes (). Any JSON value is accepted at the top level.
func ParseJSON(s string) (Value, error) {
	p := &jsonParser{s: s}
	return p.parseTop()
}

// ToJSON writes v the way Rhai's to_json does for a script: compact, maps in
// key order, () as null, but characters as 'c' and floats in Rust's debug form
// (1e20, 2.0), so the result is not always valid JSON. A host that needs valid
// JSON writes its own from the Value (PiCloud's is in internal/executor) or
// from ToGo's result.
func ToJSON(v Value) (string, error) {
	return rhaiJSONChecked(nil, v)
}

// rhaiJSONChecked is to_json: the text may not exceed the string size limit
// (checked while it is built), data nested deeper than maxDataDepth is refused,
// and the work counts as operations (one per 64 bytes of text).
func rhaiJSONChecked(c *Context, v Value) (s string, err error) {
	var lim *fmtLimit
	if c != nil && c.th != nil && c.th.eng != nil {
		lim = &fmtLimit{max: c.th.eng.limits.MaxStringSize, th: c.th}
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			s, err = "", e
		}
	}()
	s = string(appendRhaiJSONL(nil, v, 0, lim))
	if err := checkString(c, len(s)); err != nil {
		return "", err
	}
	if lim != nil {
		// The text was accounted while it was built, but for its last step.
		lim.th.grow(len(s) - lim.charged)
	}
	return s, nil
}

// ---------------------------------------------------------------------------
// Writers

// appendRhaiJSONL is Rhai's to_json writer (see ToJSON) at nesting depth depth, panicking with
// ErrorDataTooLarge past maxDataDepth or when the text exceeds max bytes
// (0: no limit).
func appendRhaiJSONL(b []byte, v Value, depth int, lim *fmtLimit) []byte {
	switch v.t {
	case TypeMap, TypeArray:
		if depth >= maxDataDepth {
			panic(fmtTooDeep())
		}
	}
	switch v.t {
	case TypeUnit:
		return append(b, "null"...)
	case TypeMap:
		mp := v.AsMap()
		b = append(b, '{')
		for i, k := range lim.keys(mp) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendRustDebugString(b, k)
			b = append(b, ':')
			b = appendRhaiJSONL(b, mp.M[k], depth+1, lim)
			lim.check(b)
		}
		return append(b, '}')
	case TypeArray:
		b = append(b, '[')
		for i, e := range v.AsArray().Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendRhaiJSONL(b, e, depth+1, lim)
			lim.check(b)
		}
		return append(b, ']')
	case TypeBlob:
		b = append(b, '[')
		for i, x := range v.AsBlob().B {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(x), 10)
			if i&(copyStep-1) == copyStep-1 {
				lim.check(b)
			}
		}
		return append(b, ']')
	case TypeBool:
		return strconv.AppendBool(b, v.AsBool())
	case TypeInt, TypeU8:
		return strconv.AppendInt(b, int64(v.n), 10)
	case TypeFloat:
		return append(b, toDebug(v)...)
	case TypeString:
		return appendRustDebugString(b, v.AsString())
	case TypeChar:
		return appendRustDebugChar(b, v.AsChar())
	case TypeFnPtr:
		// A curried pointer (a closure's captured variables are curried
		// first, as in Rhai) is ["name", curried...]; otherwise "name".
		fp := v.AsFnPtr()
		if len(fp.env) == 0 && len(fp.Curry) == 0 {
			return appendRustDebugString(b, fp.Name)
		}
		if depth >= maxDataDepth {
			panic(fmtTooDeep())
		}
		b = appendRustDebugString(append(b, '['), fp.Name)
		for _, c := range fp.env {
			b = appendRhaiJSONL(append(b, ','), c.v, depth+1, lim)
		}
		for _, c := range fp.Curry {
			b = appendRhaiJSONL(append(b, ','), c, depth+1, lim)
		}
		return append(b, ']')
	case TypeRange, TypeRangeInclusive:
		return append(b, rangeText(v)...)
	}
	return append(b, toDebug(v)...)
}

// appendRustDebugString writes s quoted and escaped as Rust's Debug does.
func appendRustDebugString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		if r == '"' {
			b = append(b, '\\', '"')
			continue
		}
		b = appendRustEscape(b, r, false)
	}
	return append(b, '"')
}

// appendRustDebugChar writes r quoted and escaped as Rust's Debug does: 'c'.
func appendRustDebugChar(b []byte, r rune) []byte {
	b = append(b, '\'')
	if r == '\'' {
		b = append(b, '\\', '\'')
	} else {
		b = appendRustEscape(b, r, true)
	}
	return append(b, '\'')
}

func appendRustEscape(b []byte, r rune, inChar bool) []byte {
	switch r {
	case '\\':
		return append(b, '\\', '\\')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	case 0:
		return append(b, '\\', '0')
	}
	if rustPrintable(r) {
		return utf8.AppendRune(b, r)
	}
	b = append(b, `\u{`...)
	b = strconv.AppendInt(b, int64(r), 16)
	return append(b, '}')
}

// rustPrintable approximates Rust's char::is_printable for Debug escaping.
func rustPrintable(r rune) bool {
	if r < 0x20 || r == 0x7f {
		return false
	}
	if r < 0x7f {
		return true
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Cs, unicode.Co, unicode.Zl, unicode.Zp) {
		return false
	}
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs)
}

// ---------------------------------------------------------------------------
// Parser

// jsonParser parses JSON. In rhai mode (script parse_json) errors are Rhai
// parse errors with positions, and comments are allowed, as Rhai parses JSON
// with its own expression parser.
type jsonParser struct {
	s     string
	i     int
	rhai  bool
	depth int
	c     *Context // parse_json's evaluation: containers are checked against its limits
}

// account charges parse_json's evaluation for what the parser builds, as it
// builds it (see memory.go).
func (p *jsonParser) account(n int) {
	if p.c != nil && p.c.th != nil {
		p.c.th.grow(n)
	}
}

func (p *jsonParser) pos() syntax.Pos { return p.posAt(p.i) }

// posAt is the line and column of byte i, counted only when an error needs it
// (columns count characters: a UTF-8 continuation byte adds none).
func (p *jsonParser) posAt(i int) syntax.Pos {
	pos := syntax.Pos{Line: 1, Col: 1}
	for _, c := range []byte(p.s[:i]) {
		if c == '\n' {
			pos.Line++
			pos.Col = 1
		} else if c < 0x80 || c >= 0xC0 {
			pos.Col++
		}
	}
	return pos
}

func (p *jsonParser) fail(kind, msg string, pos syntax.Pos) error {
	if !p.rhai {
		return fmt.Errorf("rhai: invalid JSON at line %d, column %d: %s", pos.Line, pos.Col, msg)
	}
	pe := &syntax.Error{Kind: kind, Message: msg, Pos: pos}
	return &Error{Kind: ErrParsing, Message: "Syntax error: " + msg, Pos: pos, Parse: pe}
}

func (p *jsonParser) advance(n int) { p.i = min(p.i+n, len(p.s)) }

func (p *jsonParser) skipSpace() error {
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.advance(1)
		case c == '/' && p.i+1 < len(p.s) && p.s[p.i+1] == '/':
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.advance(1)
			}
		case c == '/' && p.i+1 < len(p.s) && p.s[p.i+1] == '*':
			p.advance(2)
			for p.i < len(p.s) && !(p.s[p.i] == '*' && p.i+1 < len(p.s) && p.s[p.i+1] == '/') {
				p.advance(1)
			}
			p.advance(2)
		default:
			return nil
		}
	}
	return nil
}

func (p *jsonParser) parseTop() (Value, error) {
	if err := p.skipSpace(); err != nil {
		return Unit, err
	}
	v, err := p.value()
	if err != nil {
		return Unit, err
	}
	p.skipSpace()
	if p.i < len(p.s) {
		return Unit, p.fail("UnexpectedInput", fmt.Sprintf("Unexpected '%s'", p.tokenText()), p.pos())
	}
	return v, nil
}

func (p *jsonParser) tokenText() string {
	r, _ := utf8.DecodeRuneInString(p.s[p.i:])
	return string(r)
}

func (p *jsonParser) expect(c byte, what string) error {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.advance(1)
		return nil
	}
	return p.fail("MissingToken", fmt.Sprintf("Expecting '%c' %s", c, what), p.pos())
}

// maxJSONDepth bounds the nesting of JSON the parser accepts.
const maxJSONDepth = 1000

func (p *jsonParser) value() (Value, error) {
	p.skipSpace()
	if p.i >= len(p.s) {
		return Unit, p.fail("UnexpectedEOF", "Script is incomplete", p.pos())
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxJSONDepth {
		return Unit, p.fail("ExprTooDeep", "Expression exceeds maximum complexity", p.pos())
	}
	switch c := p.s[p.i]; {
	case c == '{' || (c == '#' && p.i+1 < len(p.s) && p.s[p.i+1] == '{'):
		if c == '#' {
			p.advance(1)
		}
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		return String(s), err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	start := p.i
	j := p.i
	for j < len(p.s) && (p.s[j] == '_' || p.s[j] >= 'a' && p.s[j] <= 'z' || p.s[j] >= 'A' && p.s[j] <= 'Z' || p.s[j] >= '0' && p.s[j] <= '9') {
		j++
	}
	word := p.s[p.i:j]
	switch word {
	case "true":
		p.advance(4)
		return Bool(true), nil
	case "false":
		p.advance(5)
		return Bool(false), nil
	case "null":
		p.advance(4)
		return Unit, nil
	case "":
		return Unit, p.fail("BadInput", fmt.Sprintf("Unexpected '%s'", p.tokenText()), p.posAt(start))
	}
	if p.rhai {
		e := NewError(ErrVariableNotFound, "Variable not found: %s", word)
		e.Var = word
		e.Pos = p.posAt(start)
		return Unit, e
	}
	return Unit, p.fail("BadInput", fmt.Sprintf("Unexpected '%s'", word), p.posAt(start))
}

func (p *jsonParser) object() (Value, error) {
	p.advance(1) // {
	m := make(map[string]Value)
	for {
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.advance(1)
			return NewMap(m), nil
		}
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return Unit, p.fail("PropertyExpected", "Expecting name of a property", p.pos())
		}
		k, err := p.str()
		if err != nil {
			return Unit, err
		}
		p.account(mapEntryBytes)
		if err := p.member(m, k); err != nil {
			return Unit, err
		}
		if err := collCheckMap(p.c, len(m)); err != nil {
			return Unit, err
		}
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.advance(1)
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == '}' {
			continue
		}
		return Unit, p.fail("MissingToken", "Expecting ',' to separate the items of this object map literal", p.pos())
	}
}

func (p *jsonParser) member(m map[string]Value, k string) error {
	if err := p.expect(':', "to follow the name of this property"); err != nil {
		return err
	}
	v, err := p.value()
	if err != nil {
		return err
	}
	m[k] = v
	return nil
}

func (p *jsonParser) array() (Value, error) {
	p.advance(1) // [
	items := []Value{}
	for {
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.advance(1)
			return NewArray(items), nil
		}
		v, err := p.value()
		if err != nil {
			return Unit, err
		}
		if err := collCheckArray(p.c, len(items)+1); err != nil {
			return Unit, err
		}
		p.account(valueBytes)
		items = append(items, v)
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.advance(1)
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == ']' {
			continue
		}
		return Unit, p.fail("MissingToken", "Expecting ',' to separate the items of this array literal", p.pos())
	}
}

func (p *jsonParser) number() (Value, error) {
	start := p.i
	j := p.i
	if p.s[j] == '-' {
		j++
	}
	isFloat := false
	for j < len(p.s) {
		c := p.s[j]
		switch {
		case c >= '0' && c <= '9':
		case c == '.' || c == 'e' || c == 'E':
			isFloat = true
		case (c == '+' || c == '-') && (p.s[j-1] == 'e' || p.s[j-1] == 'E'):
		default:
			goto done
		}
		j++
	}
done:
	text := p.s[p.i:j]
	if !isFloat {
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			p.advance(j - p.i)
			return Int(i), nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		return Unit, p.fail("BadInput", fmt.Sprintf("Invalid number: '%s'", text), p.posAt(start))
	}
	p.advance(j - p.i)
	return Float(f), nil
}

func (p *jsonParser) str() (string, error) {
	start := p.i
	p.advance(1) // "
	// Most strings have no escapes: return a slice of the input, no copy.
	if j := strings.IndexByte(p.s[p.i:], '"'); j >= 0 {
		seg := p.s[p.i : p.i+j]
		if strings.IndexByte(seg, '\\') < 0 && utf8.ValidString(seg) {
			p.account(len(seg))
			p.advance(j + 1)
			return seg, nil
		}
	}
	var sb strings.Builder
	for {
		if p.i >= len(p.s) {
			return "", p.fail("BadInput", "Unterminated string", p.posAt(start))
		}
		c := p.s[p.i]
		switch {
		case c == '"':
			p.advance(1)
			p.account(sb.Len())
			return sb.String(), nil
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "", p.fail("BadInput", "Unterminated string", p.posAt(start))
			}
			e := p.s[p.i+1]
			p.advance(2)
			switch e {
			case '"', '\\', '/', '\'':
				sb.WriteByte(e)
			case 'n':
				sb.WriteByte('\n')
			case 't':
				sb.WriteByte('\t')
			case 'r':
				sb.WriteByte('\r')
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", p.fail("BadInput", "Invalid escape sequence", p.pos())
				}
				if utf16.IsSurrogate(r) && strings.HasPrefix(p.s[p.i:], `\u`) {
					p.advance(2)
					r2, ok := p.hex4()
					if !ok {
						return "", p.fail("BadInput", "Invalid escape sequence", p.pos())
					}
					r = utf16.DecodeRune(r, r2)
				}
				sb.WriteRune(r)
			default:
				return "", p.fail("BadInput", fmt.Sprintf("Invalid escape sequence: '\\%c'", e), p.pos())
			}
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			sb.WriteRune(r)
			p.advance(size)
		}
	}
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	n, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	p.advance(4)
	return rune(n), true
}
