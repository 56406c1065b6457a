package rhai

import (
	"fmt"
	"strings"

	"github.com/picloud/picloud/rhai/syntax"
)

// Error kinds, Rhai's names for its runtime errors (EvalAltResult variants).
const (
	ErrArithmetic              = "ErrorArithmetic"
	ErrFunctionNotFound        = "ErrorFunctionNotFound"
	ErrVariableNotFound        = "ErrorVariableNotFound"
	ErrRuntime                 = "ErrorRuntime" // a `throw`
	ErrArrayBounds             = "ErrorArrayBounds"
	ErrStringBounds            = "ErrorStringBounds"
	ErrBitFieldBounds          = "ErrorBitFieldBounds"
	ErrIndexingType            = "ErrorIndexingType"
	ErrIndexNotFound           = "ErrorIndexNotFound"
	ErrDotExpr                 = "ErrorDotExpr"
	ErrMismatchDataType        = "ErrorMismatchDataType"
	ErrMismatchOutputType      = "ErrorMismatchOutputType"
	ErrNonPureMethodOnConstant = "ErrorNonPureMethodCallOnConstant"
	ErrAssignmentToConstant    = "ErrorAssignmentToConstant"
	ErrUnboundThis             = "ErrorUnboundThis"
	ErrInFunctionCall          = "ErrorInFunctionCall"
	ErrInModule                = "ErrorInModule"
	ErrModuleNotFound          = "ErrorModuleNotFound"
	ErrStackOverflow           = "ErrorStackOverflow"
	ErrTooManyOperations       = "ErrorTooManyOperations"
	ErrTooManyVariables        = "ErrorTooManyVariables"
	ErrTooManyModules          = "ErrorTooManyModules"
	ErrDataTooLarge            = "ErrorDataTooLarge"
	ErrTerminated              = "ErrorTerminated"
	ErrParsing                 = "ErrorParsing"
	ErrFor                     = "ErrorFor"
	ErrDataRace                = "ErrorDataRace"
	ErrCustomSyntax            = "ErrorCustomSyntax"
	ErrSystem                  = "ErrorSystem"
)

// Error is a runtime error. Kind is Rhai's name for it; Message is Rhai's text
// without the position; Pos is where it happened (may be invalid: Rhai reports
// arithmetic overflow without a position).
//
// A call into a script function that fails wraps the inner error in an
// ErrorInFunctionCall (Fn names the function, Inner is the cause), so the chain
// of calls an error passed through is the chain of Inner errors.
type Error struct {
	Kind    string
	Message string
	Pos     syntax.Pos
	Source  string // source of the function the error happened in, "" at top level

	Value    Value  // ErrorRuntime: the thrown value
	Fn       string // ErrorInFunctionCall: the function's name
	FnSource string // ErrorInFunctionCall: the source the function comes from
	Inner    *Error // ErrorInFunctionCall / ErrorInModule / ErrorParsing: the cause

	Parse *syntax.Error // ErrorParsing: the parse error met by eval
	Var   string        // ErrorVariableNotFound: the variable's name

	// at is where evaluation was when an error Rhai reports without a
	// position arose (arithmetic, limits): the operator's position, or the
	// statement's. Not part of the text; see Where.
	at syntax.Pos
}

// Where is where the error happened as far as the engine knows: Pos when Rhai
// reports one, else the position evaluation was at (the operator of an
// arithmetic error, the statement running when a limit was reached), else the
// zero Pos. Rhai's text (Error) and Pos are unchanged by it: hosts use Where
// to point a user at a line when Rhai's own error carries none.
func (e *Error) Where() syntax.Pos {
	if e.Pos.IsValid() {
		return e.Pos
	}
	return e.at
}

// NewError makes a runtime error of the given kind with Rhai's message text.
// Natives return these; the engine adds the position of the call.
func NewError(kind, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Kind: kind, Message: msg}
}

// Error formats the error as Rhai does: the message, " @ 'source'" when the error
// happened inside a named source's function, the position, and for errors inside
// function calls the call chain on the following lines.
func (e *Error) Error() string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

func (e *Error) write(b *strings.Builder) {
	if e.Kind == ErrInFunctionCall && e.Inner != nil {
		e.Inner.write(b)
		if strings.HasPrefix(e.Fn, "anon$") {
			b.WriteString("\nin closure call")
		} else {
			b.WriteString("\nin call to function '")
			b.WriteString(e.Fn)
			b.WriteString("'")
		}
		if e.FnSource != "" {
			b.WriteString(" (from '")
			b.WriteString(e.FnSource)
			b.WriteString("')")
		}
	} else {
		b.WriteString(e.Message)
	}
	if e.Source != "" {
		b.WriteString(" @ '")
		b.WriteString(e.Source)
		b.WriteString("'")
	}
	if e.Pos.IsValid() {
		fmt.Fprintf(b, " (line %d, position %d)", e.Pos.Line, e.Pos.Col)
	}
}

// PosIn is the place in the script compiled under the name main that the
// error points a user at: the root cause's position (Where) when it lies in
// that script, else the call or import in it that led to the cause (in
// another module). Zero when nothing is known.
func (e *Error) PosIn(main string) syntax.Pos {
	root := e.Root()
	if root.Source == "" || root.Source == main {
		if w := root.Where(); w.IsValid() {
			return w
		}
	}
	if e.Pos.IsValid() {
		return e.Pos
	}
	return e.Where()
}

// Unwrap returns the cause of a wrapping error (ErrorInFunctionCall,
// ErrorInModule, ErrorParsing met by eval): its Inner error, so that errors.As
// and errors.Is reach the root. It returns nil (never a typed nil) when there
// is none. The *syntax.Error of an ErrorParsing is deliberately not a cause: a
// host tells a script that does not compile (a *syntax.Error from Compile)
// from one that met bad code in eval at run time by errors.As.
func (e *Error) Unwrap() error {
	if e.Inner != nil {
		return e.Inner
	}
	return nil
}

// Root is the innermost error after unwrapping ErrorInFunctionCall and
// ErrorInModule wrappers.
func (e *Error) Root() *Error {
	for (e.Kind == ErrInFunctionCall || e.Kind == ErrInModule) && e.Inner != nil {
		e = e.Inner
	}
	return e
}

// RootKind is the conformance corpus's root_kind: the root's kind, with
// "ErrorParsing/<parse kind>" for a parse error met at run time.
func (e *Error) RootKind() string {
	r := e.Root()
	if r.Kind == ErrParsing && r.Parse != nil {
		return ErrParsing + "/" + r.Parse.FullKind()
	}
	return r.Kind
}

// IsLimit reports whether the error is a resource limit (operations, data size,
// call depth, termination), the errors a script cannot catch.
func (e *Error) IsLimit() bool {
	switch e.Root().Kind {
	case ErrStackOverflow, ErrTooManyOperations, ErrTooManyVariables, ErrTooManyModules,
		ErrDataTooLarge, ErrTerminated:
		return true
	}
	return false
}

// fnNotFound builds ErrorFunctionNotFound with Rhai's signature text:
// "Function not found: name (i64, &str | ImmutableString | String)".
func fnNotFound(name string, args []Value) *Error {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(" (")
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		switch a.t {
		case TypeRange:
			b.WriteString("range") // Rhai's short names for ranges here
		case TypeRangeInclusive:
			b.WriteString("range=")
		default:
			b.WriteString(signatureTypeName(a))
		}
	}
	b.WriteString(")")
	return &Error{Kind: ErrFunctionNotFound, Message: "Function not found: " + b.String(), Var: b.String()}
}

// signatureTypeName is how Rhai names an argument's type in "Function not found".
func signatureTypeName(v Value) string {
	switch v.t {
	case TypeString:
		return "&str | ImmutableString | String"
	case TypeTimestamp:
		return "Instant"
	case TypeRange:
		return "Range<i64>"
	case TypeRangeInclusive:
		return "RangeInclusive<i64>"
	case TypeFnPtr:
		return "Fn"
	}
	return v.TypeName()
}
