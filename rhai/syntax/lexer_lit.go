package syntax

import (
	"strconv"
	"strings"
)

// scanNumber scans an integer or float literal. neg means a `-` directly before
// it was already consumed (Rhai folds it into the literal; p is the `-`).
func (l *lexer) scanNumber(p Pos, neg bool) tok {
	if l.src[l.off] == '0' {
		switch b := l.peekByte(1); b {
		case 'x', 'X', 'o', 'O', 'b', 'B':
			if neg {
				// Rhai does not accept a radix literal glued to a minus sign.
				l.advance()
				start := l.off
				for l.off < len(l.src) && isIdentChar(l.src[l.off]) {
					l.advance()
				}
				return l.lexErr("MalformedNumber", "Invalid number: '"+l.src[start:l.off]+"'", p)
			}
			return l.scanRadix(p, b)
		}
	}
	start := l.off
	for l.off < len(l.src) && (isDigit(l.src[l.off]) || l.src[l.off] == '_') {
		l.off++
		l.col++
	}
	isFloat := false
	if l.peekByte(0) == '.' {
		n := l.peekByte(1)
		// `1..2` is a range and `1.abs()` a method call: the dot is not ours.
		if n != '.' && !isIdentStart(n) {
			isFloat = true
			l.off++
			l.col++
			for l.off < len(l.src) && (isDigit(l.src[l.off]) || l.src[l.off] == '_') {
				l.off++
				l.col++
			}
		}
	}
	if e := l.peekByte(0); e == 'e' || e == 'E' {
		n := l.peekByte(1)
		if isDigit(n) || ((n == '+' || n == '-') && isDigit(l.peekByte(2))) {
			isFloat = true
			l.off += 2
			l.col += 2
			for l.off < len(l.src) && (isDigit(l.src[l.off]) || l.src[l.off] == '_') {
				l.off++
				l.col++
			}
		}
	}
	text := strings.ReplaceAll(l.src[start:l.off], "_", "")
	if neg {
		text = "-" + text
	}
	if !isFloat {
		if v, err := strconv.ParseInt(text, 10, 64); err == nil {
			return tok{kind: INT, pos: p, ival: v, text: text}
		}
		// Too large for i64: Rhai makes it a float.
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		return l.lexErr("MalformedNumber", "Invalid number: '"+text+"'", p)
	}
	return tok{kind: FLOAT, pos: p, fval: v, text: text}
}

// scanRadix scans 0x / 0o / 0b literals, kept as u64 bit patterns.
func (l *lexer) scanRadix(p Pos, b byte) tok {
	l.advance()
	l.advance()
	var base uint64
	switch b {
	case 'x', 'X':
		base = 16
	case 'o', 'O':
		base = 8
	default:
		base = 2
	}
	start := l.off
	var v uint64
	overflow := false
	digits := 0
	for l.off < len(l.src) {
		c := l.src[l.off]
		var d uint64
		switch {
		case c == '_':
			l.advance()
			continue
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			d = 99
		}
		if d >= base {
			break
		}
		if v > (^uint64(0)-d)/base {
			overflow = true
		}
		v = v*base + d
		digits++
		l.advance()
	}
	if digits == 0 || overflow {
		return l.lexErr("MalformedNumber", "Invalid number: '"+l.src[start:l.off]+"'", p)
	}
	return tok{kind: INT, pos: p, ival: int64(v), text: l.src[start-2 : l.off]}
}

// scanEscape decodes the escape after a backslash (already consumed; bs is its
// position). It returns the rune, or ok=false with an error token.
func (l *lexer) scanEscape() (rune, bool, tok) {
	ep := l.pos()
	if l.off >= len(l.src) {
		return 0, false, l.lexErr("MalformedEscapeSequence", "Invalid escape sequence: '\\'", ep)
	}
	c := l.advance()
	switch c {
	case 'n':
		return '\n', true, tok{}
	case 't':
		return '\t', true, tok{}
	case 'r':
		return '\r', true, tok{}
	case '\\', '"', '\'':
		return c, true, tok{}
	case 'x', 'u', 'U':
		n := 2
		if c == 'u' {
			n = 4
		} else if c == 'U' {
			n = 8
		}
		seq := []rune{'\\', c}
		var v rune
		for i := 0; i < n; i++ {
			hp := l.pos()
			if l.off >= len(l.src) {
				return 0, false, l.lexErr("MalformedEscapeSequence", "Invalid escape sequence: '"+string(seq)+"'", hp)
			}
			h := l.advance()
			seq = append(seq, h)
			var d rune
			switch {
			case h >= '0' && h <= '9':
				d = h - '0'
			case h >= 'a' && h <= 'f':
				d = h - 'a' + 10
			case h >= 'A' && h <= 'F':
				d = h - 'A' + 10
			default:
				return 0, false, l.lexErr("MalformedEscapeSequence", "Invalid escape sequence: '"+string(seq)+"'", hp)
			}
			v = v*16 + d
		}
		if v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) {
			return 0, false, l.lexErr("MalformedEscapeSequence", "Invalid escape sequence: '"+string(seq)+"'", ep)
		}
		return v, true, tok{}
	}
	return 0, false, l.lexErr("MalformedEscapeSequence", "Invalid escape sequence: '\\"+string(c)+"'", ep)
}

// scanString scans a "..." string with escapes and line continuations.
func (l *lexer) scanString(p Pos) tok {
	l.advance()
	var sb strings.Builder
	for {
		if l.off >= len(l.src) {
			return l.lexErr("UnterminatedString", "Open string is not terminated", p)
		}
		c := l.src[l.off]
		switch c {
		case '"':
			l.advance()
			if l.peekByte(0) == '"' {
				// "" inside a string is one quote character.
				l.advance()
				sb.WriteByte('"')
				continue
			}
			return tok{kind: STRING, pos: p, text: sb.String()}
		case '\n':
			return l.lexErr("UnterminatedString", "Open string is not terminated", p)
		case '\\':
			l.advance()
			// Line continuation: drop the newline and the next line's indentation
			// up to the column of the opening quote (Rhai keeps whitespace beyond
			// it, so continued lines can be aligned under the quote).
			if l.peekByte(0) == '\n' || (l.peekByte(0) == '\r' && l.peekByte(1) == '\n') {
				if l.peekByte(0) == '\r' {
					l.advance()
				}
				l.advance()
				for l.off < len(l.src) && (l.src[l.off] == ' ' || l.src[l.off] == '\t') && l.col <= p.Col {
					l.advance()
				}
				continue
			}
			r, ok, et := l.scanEscape()
			if !ok {
				return et
			}
			sb.WriteRune(r)
		default:
			sb.WriteRune(l.advance())
		}
	}
}

// scanRawString scans #"..."# (any number of #), already positioned on the first #.
func (l *lexer) scanRawString(p Pos) tok {
	n := 0
	for l.peekByte(0) == '#' {
		l.advance()
		n++
	}
	l.advance() // the opening quote
	closing := "\"" + strings.Repeat("#", n)
	i := strings.Index(l.src[l.off:], closing)
	if i < 0 {
		for l.off < len(l.src) {
			l.advance()
		}
		return l.lexErr("UnterminatedString", "Open string is not terminated", p)
	}
	text := l.src[l.off : l.off+i]
	for end := l.off + i + len(closing); l.off < end; {
		l.advance()
	}
	return tok{kind: STRING, pos: p, text: text}
}

// scanBacktick scans a back-tick string segment: from after the opening back-tick
// (flags 0) or after the `}` closing an interpolation (flags interpCont).
func (l *lexer) scanBacktick(p Pos, flags uint8) tok {
	if flags == 0 {
		// A newline right after the opening back-tick is not part of the string.
		if l.peekByte(0) == '\n' {
			l.advance()
		} else if l.peekByte(0) == '\r' && l.peekByte(1) == '\n' {
			l.advance()
			l.advance()
		}
	}
	var sb strings.Builder
	for {
		if l.off >= len(l.src) {
			return l.lexErr("UnterminatedString", "Open string is not terminated", p)
		}
		c := l.src[l.off]
		switch {
		case c == '`' && l.peekByte(1) == '`':
			l.advance()
			l.advance()
			sb.WriteByte('`')
		case c == '`':
			l.advance()
			return tok{kind: BACKTICK, pos: p, text: sb.String(), interp: flags}
		case c == '\\' && l.peekByte(1) == '$' && l.peekByte(2) == '{':
			// `\${x}` is the text ${x}, not an interpolation (a \$ elsewhere stays).
			l.advance()
			l.advance()
			sb.WriteByte('$')
		case c == '$' && l.peekByte(1) == '{':
			l.advance()
			l.advance()
			l.interp = append(l.interp, 0)
			return tok{kind: BACKTICK, pos: p, text: sb.String(), interp: flags | interpOpen}
		default:
			sb.WriteRune(l.advance())
		}
	}
}

// scanChar scans a 'c' literal.
func (l *lexer) scanChar(p Pos) tok {
	l.advance()
	var rs []rune
	raw := l.off
	for {
		if l.off >= len(l.src) || l.src[l.off] == '\n' {
			return l.lexErr("MalformedChar", "Invalid character: '"+l.src[raw:l.off]+"'", p)
		}
		c := l.src[l.off]
		if c == '\'' {
			text := l.src[raw:l.off]
			l.advance()
			if len(rs) != 1 {
				return l.lexErr("MalformedChar", "Invalid character: '"+text+"'", p)
			}
			return tok{kind: CHAR, pos: p, ival: int64(rs[0])}
		}
		if c == '\\' {
			l.advance()
			r, ok, et := l.scanEscape()
			if !ok {
				return et
			}
			rs = append(rs, r)
			continue
		}
		rs = append(rs, l.advance())
	}
}
