package syntax

import "fmt"

// Error is a parse (or lexical) error: Rhai's kind name, a message in Rhai's
// words, and the position where it was found.
//
// Kind is one of Rhai's ParseErrorType names: "MissingToken", "MalformedIndexExpr",
// "Reserved", "VariableExpected", "ExprTooDeep", ... A lexical error has Kind
// "BadInput" and Sub set to the lexer error's name ("MalformedEscapeSequence",
// "UnterminatedString", "MalformedChar", "MalformedNumber", "ImproperSymbol",
// "UnexpectedInput", "MalformedIdentifier").
type Error struct {
	Kind    string
	Sub     string
	Message string
	Source  string // the source name given to Parse, may be ""
	Pos     Pos
}

// FullKind is Kind, or "BadInput/<Sub>" for lexical errors, the form the
// conformance corpus records as root_kind.
func (e *Error) FullKind() string {
	if e.Sub != "" {
		return e.Kind + "/" + e.Sub
	}
	return e.Kind
}

// Error formats like Rhai: "message (line L, position C)".
func (e *Error) Error() string {
	if e.Pos.IsValid() {
		return fmt.Sprintf("%s (line %d, position %d)", e.Message, e.Pos.Line, e.Pos.Col)
	}
	return e.Message
}
