package syntax

// symbols lists operators and punctuation, longest first within each leading
// byte, so the scanner takes the longest match.
var symbols = [256][]struct {
	s string
	k Token
}{
	'+': {{"+=", PlusAssign}, {"++", tokReserved}, {"+", Plus}},
	'-': {{"-=", MinusAssign}, {"--", tokReserved}, {"->", tokReserved}, {"-", Minus}},
	'*': {{"**=", StarStarAssign}, {"**", StarStar}, {"*=", StarAssign}, {"*)", tokReserved}, {"*", Star}},
	'/': {{"/=", SlashAssign}, {"/", Slash}},
	'%': {{"%=", PercentAssign}, {"%", Percent}},
	'<': {{"<<=", ShlAssign}, {"<<", Shl}, {"<=", Le}, {"<-", tokReserved}, {"<", Lt}},
	'>': {{">>=", ShrAssign}, {">>", Shr}, {">=", Ge}, {">", Gt}},
	'&': {{"&&", AndAnd}, {"&=", AmpAssign}, {"&", Amp}},
	'|': {{"||", OrOr}, {"|=", PipeAssign}, {"|", Pipe}},
	'^': {{"^=", CaretAssign}, {"^", Caret}},
	'!': {{"!==", tokReserved}, {"!=", NotEq}, {"!", Bang}},
	'=': {{"===", tokReserved}, {"==", EqEq}, {"=>", Arrow}, {"=", Assign}},
	'?': {{"??", QuestionQuestion}, {"?.", QuestionDot}, {"?[", QuestionBracket}, {"?", tokReserved}},
	'.': {{"...", tokReserved}, {"..=", DotDotEq}, {"..", DotDot}, {".", Dot}},
	',': {{",", Comma}},
	';': {{";", Semicolon}},
	':': {{"::<", tokReserved}, {"::", DoubleColon}, {":=", tokReserved}, {":", Colon}},
	'(': {{"(*", tokReserved}, {"(", LParen}},
	')': {{")", RParen}},
	'[': {{"[", LBracket}},
	']': {{"]", RBracket}},
	'{': {{"{", LBrace}},
	'}': {{"}", RBrace}},
	'#': {{"#{", HashBrace}, {"#!", tokReserved}, {"#", tokReserved}},
	'@': {{"@", tokReserved}},
	'$': {{"$", tokReserved}},
	'~': {{"~", tokReserved}},
}

func (l *lexer) scanSymbol(p Pos, c byte) tok {
	switch c {
	case '-':
		if isDigit(l.peekByte(1)) && l.unaryContext() {
			l.advance()
			return l.scanNumber(p, true)
		}
	case '!':
		// `!in` is the negated containment operator; `!inner` is not.
		if l.peekByte(1) == 'i' && l.peekByte(2) == 'n' && !isIdentChar(l.peekByte(3)) {
			l.advance()
			l.advance()
			l.advance()
			return tok{kind: tokNotIn, pos: p, text: "!in"}
		}
	case '#':
		n := 0
		for l.peekByte(n) == '#' {
			n++
		}
		if l.peekByte(n) == '"' {
			return l.scanRawString(p)
		}
	case '{':
		if len(l.interp) > 0 {
			l.interp[len(l.interp)-1]++
		}
	case '}':
		if n := len(l.interp); n > 0 {
			if l.interp[n-1] == 0 {
				l.interp = l.interp[:n-1]
				l.advance()
				return l.scanBacktick(p, interpCont)
			}
			l.interp[n-1]--
		}
	}
	for _, s := range symbols[c] {
		if len(l.src)-l.off >= len(s.s) && l.src[l.off:l.off+len(s.s)] == s.s {
			for range len(s.s) {
				l.advance()
			}
			if s.k == HashBrace && len(l.interp) > 0 {
				l.interp[len(l.interp)-1]++
			}
			return tok{kind: s.k, pos: p, text: s.s}
		}
	}
	l.advance()
	return l.lexErr("UnexpectedInput", "Unexpected '"+string(rune(c))+"'", p)
}
