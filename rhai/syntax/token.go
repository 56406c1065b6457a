package syntax

// Token is the kind of a lexical token. Operators used in the AST (UnaryExpr.Op,
// BinaryExpr.Op, AssignStmt.Op) are Tokens too.
type Token uint8

const (
	ILLEGAL Token = iota
	EOF

	IDENT    // name
	INT      // 123, 0xff, 0o17, 0b101
	FLOAT    // 1.5, 1e10, 1.5e-3
	STRING   // "..."
	BACKTICK // `...` (possibly with ${...})
	CHAR     // 'c'

	// Operators and punctuation.
	Plus       // +
	Minus      // -
	Star       // *
	Slash      // /
	Percent    // %
	StarStar   // **
	Shl        // <<
	Shr        // >>
	Amp        // &
	Pipe       // |
	Caret      // ^
	AndAnd     // &&
	OrOr       // ||
	Bang       // !
	EqEq       // ==
	NotEq      // !=
	Lt         // <
	Le         // <=
	Gt         // >
	Ge         // >=
	Assign     // =
	PlusAssign // +=
	MinusAssign
	StarAssign
	SlashAssign
	PercentAssign
	StarStarAssign
	ShlAssign
	ShrAssign
	AmpAssign
	PipeAssign
	CaretAssign
	QuestionQuestion // ??
	QuestionDot      // ?.
	QuestionBracket  // ?[
	Dot              // .
	DotDot           // ..
	DotDotEq         // ..=
	Comma            // ,
	Semicolon        // ;
	Colon            // :
	DoubleColon      // ::
	Arrow            // =>
	LParen           // (
	RParen           // )
	LBracket         // [
	RBracket         // ]
	LBrace           // {
	RBrace           // }
	HashBrace        // #{
	Underscore       // _ (as a switch default; otherwise an identifier start)

	// Keywords.
	KwLet
	KwConst
	KwIf
	KwElse
	KwSwitch
	KwWhile
	KwLoop
	KwDo
	KwUntil
	KwFor
	KwIn
	KwBreak
	KwContinue
	KwReturn
	KwThrow
	KwTry
	KwCatch
	KwFn
	KwPrivate
	KwImport
	KwExport
	KwAs
	KwTrue
	KwFalse
	KwThis
	KwGlobal

	numTokens
)

var tokenNames = [...]string{
	ILLEGAL: "ILLEGAL", EOF: "EOF", IDENT: "identifier", INT: "integer", FLOAT: "float",
	STRING: "string", BACKTICK: "string", CHAR: "character",
	Plus: "+", Minus: "-", Star: "*", Slash: "/", Percent: "%", StarStar: "**",
	Shl: "<<", Shr: ">>", Amp: "&", Pipe: "|", Caret: "^", AndAnd: "&&", OrOr: "||",
	Bang: "!", EqEq: "==", NotEq: "!=", Lt: "<", Le: "<=", Gt: ">", Ge: ">=",
	Assign: "=", PlusAssign: "+=", MinusAssign: "-=", StarAssign: "*=", SlashAssign: "/=",
	PercentAssign: "%=", StarStarAssign: "**=", ShlAssign: "<<=", ShrAssign: ">>=",
	AmpAssign: "&=", PipeAssign: "|=", CaretAssign: "^=",
	QuestionQuestion: "??", QuestionDot: "?.", QuestionBracket: "?[", Dot: ".",
	DotDot: "..", DotDotEq: "..=", Comma: ",", Semicolon: ";", Colon: ":",
	DoubleColon: "::", Arrow: "=>", LParen: "(", RParen: ")", LBracket: "[",
	RBracket: "]", LBrace: "{", RBrace: "}", HashBrace: "#{", Underscore: "_",
	KwLet: "let", KwConst: "const", KwIf: "if", KwElse: "else", KwSwitch: "switch",
	KwWhile: "while", KwLoop: "loop", KwDo: "do", KwUntil: "until", KwFor: "for",
	KwIn: "in", KwBreak: "break", KwContinue: "continue", KwReturn: "return",
	KwThrow: "throw", KwTry: "try", KwCatch: "catch", KwFn: "fn", KwPrivate: "private",
	KwImport: "import", KwExport: "export", KwAs: "as", KwTrue: "true", KwFalse: "false",
	KwThis: "this", KwGlobal: "global",
}

// String returns the token's source text (or a description for literal kinds).
func (t Token) String() string {
	if int(t) < len(tokenNames) && tokenNames[t] != "" {
		return tokenNames[t]
	}
	return "?"
}

// BinaryOpOf maps a compound assignment token to its binary operator
// (PlusAssign -> Plus); it returns ILLEGAL for other tokens.
func BinaryOpOf(t Token) Token {
	switch t {
	case PlusAssign:
		return Plus
	case MinusAssign:
		return Minus
	case StarAssign:
		return Star
	case SlashAssign:
		return Slash
	case PercentAssign:
		return Percent
	case StarStarAssign:
		return StarStar
	case ShlAssign:
		return Shl
	case ShrAssign:
		return Shr
	case AmpAssign:
		return Amp
	case PipeAssign:
		return Pipe
	case CaretAssign:
		return Caret
	}
	return ILLEGAL
}
