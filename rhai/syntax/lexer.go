package syntax

import (
	"strings"
	"unicode/utf8"
)

// Internal token kinds, beyond the public Token set: they never reach the AST.
const (
	tokReserved Token = numTokens + iota // a reserved keyword or symbol; text holds it
	tokNotIn                             // !in
	tokError                             // a lexical error; err holds it
)

// Backtick string segment flags (tok.interp).
const (
	interpCont = 1 << iota // the segment resumes after a `}` closing an interpolation
	interpOpen             // the segment ends with `${`: an interpolation follows
)

// tok is one lexical token.
type tok struct {
	kind   Token
	pos    Pos
	text   string // identifier name, string value, reserved text, number source
	ival   int64
	fval   float64
	interp uint8  // backtick segment flags
	doc    string // doc comments directly before this token
	err    *Error // for tokError
}

// lexer scans Rhai source on demand. It is deterministic and independent of the
// parser, so the parser may look ahead freely.
type lexer struct {
	src  string
	off  int
	line int32
	col  int32
	name string

	// interp holds, for each open `${` interpolation, how many braces opened
	// inside it are still unclosed: the `}` met at zero resumes the string.
	interp []int
	// prev is the kind of the previous token; it decides whether `-` directly
	// before a digit is a negative literal (Rhai folds `-5` into one number).
	prev   Token
	doc    []string
	done   bool // after an error or EOF
	eofTok tok
}

func newLexer(name, src string) *lexer {
	return &lexer{src: src, line: 1, col: 1, name: name, prev: ILLEGAL}
}

func (l *lexer) pos() Pos { return Pos{l.line, l.col} }

// peekByte returns the byte at off+i, or 0 past the end.
func (l *lexer) peekByte(i int) byte {
	if l.off+i < len(l.src) {
		return l.src[l.off+i]
	}
	return 0
}

// advance consumes one character (rune) and tracks line and column.
func (l *lexer) advance() rune {
	if l.off >= len(l.src) {
		return 0
	}
	c := l.src[l.off]
	if c < utf8.RuneSelf {
		l.off++
		if c == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
		return rune(c)
	}
	r, n := utf8.DecodeRuneInString(l.src[l.off:])
	l.off += n
	l.col++
	return r
}

func (l *lexer) lexErr(sub, msg string, p Pos) tok {
	l.done = true
	return tok{kind: tokError, pos: p, err: &Error{Kind: "BadInput", Sub: sub, Message: msg, Source: l.name, Pos: p}}
}

// next returns the next token. After EOF or an error it keeps returning EOF.
func (l *lexer) next() tok {
	if l.done {
		if l.eofTok.kind != EOF {
			l.eofTok = tok{kind: EOF, pos: l.pos()}
		}
		return l.eofTok
	}
	t := l.scan()
	if len(l.doc) > 0 && t.kind != EOF {
		t.doc = strings.Join(l.doc, "\n")
		l.doc = l.doc[:0]
	}
	l.prev = t.kind
	if t.kind == EOF {
		l.done = true
		l.eofTok = t
	}
	return t
}

// skipSpace skips white space and comments, collecting doc comments.
func (l *lexer) skipSpace() {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.advance()
		case c == '/' && l.peekByte(1) == '/':
			start := l.off
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.advance()
			}
			text := l.src[start:l.off]
			if strings.HasPrefix(text, "///") && !strings.HasPrefix(text, "////") {
				l.doc = append(l.doc, strings.TrimRight(text, "\r"))
			} else {
				l.doc = l.doc[:0] // a plain comment separates docs from the fn
			}
		case c == '/' && l.peekByte(1) == '*':
			start := l.off
			l.advance()
			l.advance()
			depth := 1
			// An unterminated block comment runs to EOF silently, as in Rhai.
			for l.off < len(l.src) && depth > 0 {
				switch {
				case l.src[l.off] == '/' && l.peekByte(1) == '*':
					l.advance()
					l.advance()
					depth++
				case l.src[l.off] == '*' && l.peekByte(1) == '/':
					l.advance()
					l.advance()
					depth--
				default:
					l.advance()
				}
			}
			text := l.src[start:l.off]
			if strings.HasPrefix(text, "/**") && !strings.HasPrefix(text, "/***") && text != "/**/" {
				l.doc = append(l.doc, text)
			}
		default:
			return
		}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// unaryContext reports whether a `-` here would be a prefix operator, so that
// `-5` may be folded into a negative literal.
func (l *lexer) unaryContext() bool {
	switch l.prev {
	case IDENT, INT, FLOAT, STRING, BACKTICK, CHAR, RParen, RBracket, RBrace,
		KwTrue, KwFalse, KwThis, Underscore, tokReserved:
		return false
	}
	return true
}

func (l *lexer) scan() tok {
	// Inside an interpolation, a `}` at depth zero resumes the string.
	l.skipSpace()
	p := l.pos()
	if l.off >= len(l.src) {
		return tok{kind: EOF, pos: p}
	}
	c := l.src[l.off]
	switch {
	case isIdentStart(c):
		return l.scanIdent(p)
	case isDigit(c):
		return l.scanNumber(p, false)
	case c == '"':
		return l.scanString(p)
	case c == '`':
		l.advance()
		return l.scanBacktick(p, 0)
	case c == '\'':
		return l.scanChar(p)
	case c >= utf8.RuneSelf:
		r := l.advance()
		return l.lexErr("UnexpectedInput", "Unexpected '"+string(r)+"'", p)
	}
	return l.scanSymbol(p, c)
}

func (l *lexer) scanIdent(p Pos) tok {
	start := l.off
	for l.off < len(l.src) && isIdentChar(l.src[l.off]) {
		l.off++
		l.col++
	}
	name := l.src[start:l.off]
	if name == "_" {
		return tok{kind: Underscore, pos: p, text: name}
	}
	if k, ok := keywords[name]; ok {
		return tok{kind: k, pos: p, text: name}
	}
	if reservedWords[name] {
		return tok{kind: tokReserved, pos: p, text: name}
	}
	hasLetter := false
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			hasLetter = true
			break
		}
	}
	if !hasLetter {
		return l.lexErr("MalformedIdentifier", "Variable name is not proper: '"+name+"'", p)
	}
	return tok{kind: IDENT, pos: p, text: name}
}

var keywords = map[string]Token{
	"let": KwLet, "const": KwConst, "if": KwIf, "else": KwElse, "switch": KwSwitch,
	"while": KwWhile, "loop": KwLoop, "do": KwDo, "until": KwUntil, "for": KwFor,
	"in": KwIn, "break": KwBreak, "continue": KwContinue, "return": KwReturn,
	"throw": KwThrow, "try": KwTry, "catch": KwCatch, "fn": KwFn, "private": KwPrivate,
	"import": KwImport, "export": KwExport, "as": KwAs, "true": KwTrue, "false": KwFalse,
	"this": KwThis, "global": KwGlobal,
}

// reservedWords are keywords Rhai keeps for future use: they cannot name
// variables, functions or properties (but `exit(…)`-style calls are allowed).
var reservedWords = map[string]bool{
	"var": true, "static": true, "shared": true, "goto": true, "exit": true,
	"match": true, "case": true, "public": true, "protected": true, "new": true,
	"use": true, "with": true, "is": true, "module": true, "package": true,
	"super": true, "spawn": true, "thread": true, "go": true, "sync": true,
	"async": true, "await": true, "yield": true, "default": true, "void": true,
	"null": true, "nil": true,
}

// keywordFns are built-in functions whose names are keywords: they cannot be
// redefined, used as map keys or read as properties.
var keywordFns = map[string]bool{
	"print": true, "debug": true, "type_of": true, "eval": true, "Fn": true,
	"call": true, "curry": true, "is_def_fn": true, "is_def_var": true, "is_shared": true,
}
