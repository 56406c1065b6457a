package syntax

// The AST. Node types are named after the grammar productions they come from
// (as go/ast does). Every node carries the position of its first token; binary
// operators, calls and indexing carry the position of the operator or name, which
// is where Rhai reports errors.
//
// Loops, `if`, `switch` and blocks are expressions: Rhai lets them stand where a
// value is expected (`let x = if a { 1 } else { 2 };`, `let v = loop { break 42; };`).
// A statement made of one such expression is an *ExprStmt.

// Pos is a 1-based line and column. The zero Pos means "no position".
type Pos struct {
	Line, Col int32
}

// IsValid reports whether p names a place in the source.
func (p Pos) IsValid() bool { return p.Line > 0 }

// Node is implemented by every AST node.
type Node interface{ Position() Pos }

// Expr is an expression node.
type Expr interface {
	Node
	exprNode()
}

// Stmt is a statement node.
type Stmt interface {
	Node
	stmtNode()
}

// ---- Expressions ----

type (
	// UnitLit is `()`.
	UnitLit struct{ Pos Pos }
	// BoolLit is `true` or `false`.
	BoolLit struct {
		Pos   Pos
		Value bool
	}
	// IntLit is an integer literal that fits in an i64.
	IntLit struct {
		Pos   Pos
		Value int64
	}
	// FloatLit is a float literal (or a decimal integer literal too large for i64,
	// which Rhai turns into a float).
	FloatLit struct {
		Pos   Pos
		Value float64
	}
	// StringLit is a "..." or `...` string without interpolation.
	StringLit struct {
		Pos   Pos
		Value string
	}
	// CharLit is a 'c' character literal.
	CharLit struct {
		Pos   Pos
		Value rune
	}
	// InterpString is a back-tick string with ${...} parts. Parts alternate freely
	// between *StringLit (literal text) and any other expression (interpolated).
	InterpString struct {
		Pos   Pos
		Parts []Expr
	}
	// Ident is a variable reference (also `this`, whose Name is "this").
	Ident struct {
		Pos  Pos
		Name string
	}
	// PathExpr is a namespaced variable: `global::X`, `module::sub::X`.
	PathExpr struct {
		Pos       Pos      // of the first namespace segment (where "Module not found" is reported)
		Namespace []string // e.g. ["global"] or ["m", "sub"]
		Name      string
		NamePos   Pos // of Name (where "Cannot modify constant" is reported)
	}
	// ArrayLit is `[a, b, c]`.
	ArrayLit struct {
		Pos   Pos
		Elems []Expr
	}
	// MapLit is `#{a: 1, "b c": 2}`. Keys are in source order; duplicates are a parse
	// error (DuplicatedProperty).
	MapLit struct {
		Pos    Pos
		Keys   []string
		KeyPos []Pos
		Values []Expr
	}
	// UnaryExpr is `-x`, `+x` or `!x`.
	UnaryExpr struct {
		Pos Pos // of the operator
		Op  Token
		X   Expr
	}
	// BinaryExpr is `L op R` for arithmetic, comparison, bitwise, `&&`, `||`, `??`,
	// `in`, `..` and `..=`. `&&`, `||` and `??` short-circuit.
	BinaryExpr struct {
		Pos Pos // of the operator
		Op  Token
		L   Expr
		R   Expr
	}
	// IndexExpr is `X[Index]` or `X?[Index]`.
	IndexExpr struct {
		Pos   Pos // of the '[' (or '?[')
		X     Expr
		Index Expr
		Safe  bool // ?[
	}
	// PropExpr is `X.Name` or `X?.Name`.
	PropExpr struct {
		Pos  Pos // of the property name
		X    Expr
		Name string
		Safe bool // ?.
	}
	// MethodCallExpr is `X.Name(Args)` or `X?.Name(Args)`.
	MethodCallExpr struct {
		Pos  Pos // of the method name
		X    Expr
		Name string
		Args []Expr
		Safe bool
	}
	// CallExpr is `Name(Args)`, `ns::Name(Args)` or `Name!(Args)`.
	CallExpr struct {
		Pos       Pos // of the function name
		NsPos     Pos // of the first namespace segment, when Namespace is set
		Namespace []string
		Name      string
		Args      []Expr
		Bang      bool // name!(...) : call with access to the caller's scope
	}
	// ClosureExpr is `|a, b| expr` or `|a| { ... }` (also `||`). Its body is a
	// function body; it may reference variables of enclosing scopes (captures).
	ClosureExpr struct {
		Pos    Pos
		Params []string
		Body   *BlockExpr
	}
	// BlockExpr is `{ stmts }`; its value is the last statement's.
	BlockExpr struct {
		Pos   Pos
		Stmts []Stmt
		End   Pos // of the closing brace
	}
	// IfExpr is `if Cond Then else Else`; Else is nil, a *BlockExpr or an *IfExpr.
	IfExpr struct {
		Pos  Pos
		Cond Expr
		Then *BlockExpr
		Else Expr
	}
	// SwitchExpr is `switch X { cases }`.
	SwitchExpr struct {
		Pos     Pos
		X       Expr
		Cases   []*SwitchCase
		Default Expr // the `_ => ...` arm, or nil
	}
	// WhileExpr is `while Cond { Body }`; Cond is nil for `loop { Body }`.
	WhileExpr struct {
		Pos  Pos
		Cond Expr
		Body *BlockExpr
	}
	// DoExpr is `do { Body } while Cond` or `do { Body } until Cond` (Until true).
	DoExpr struct {
		Pos   Pos
		Body  *BlockExpr
		Cond  Expr
		Until bool
	}
	// ForExpr is `for Var in Iter { Body }` or `for (Var, Counter) in Iter { Body }`.
	ForExpr struct {
		Pos        Pos
		Var        string
		VarPos     Pos
		Counter    string // "" when absent
		CounterPos Pos
		Iter       Expr
		Body       *BlockExpr
	}
)

// SwitchCase is one arm `v1 | v2 if cond => body`. Values are literal constants
// (*IntLit, *FloatLit, *StringLit, *CharLit, *BoolLit, *UnitLit, negative numbers
// folded) or integer ranges (a *BinaryExpr with Op DotDot or DotDotEq whose ends
// are *IntLit).
type SwitchCase struct {
	Pos    Pos
	Values []Expr
	Cond   Expr // nil when there is no `if`
	Body   Expr // an expression or a *BlockExpr
}

// ---- Statements ----

type (
	// LetStmt is `let Name = Value;` or `const Name = Value;` (Value nil means `()`).
	LetStmt struct {
		Pos     Pos
		Name    string
		NamePos Pos
		Value   Expr
		Const   bool
		Export  bool // `export let` / `export const`
	}
	// AssignStmt is `LHS op= RHS` where Op is Assign (`=`) or a compound operator
	// token (PlusAssign, ...). LHS is an *Ident, *IndexExpr, *PropExpr or a chain
	// of them.
	AssignStmt struct {
		Pos Pos // of the operator
		Op  Token
		LHS Expr
		RHS Expr
	}
	// ExprStmt is an expression used as a statement.
	ExprStmt struct {
		X Expr
	}
	// ReturnStmt is `return;` or `return Value;`.
	ReturnStmt struct {
		Pos   Pos
		Value Expr // nil for `return;`
	}
	// ThrowStmt is `throw;` (rethrow inside catch) or `throw Value;`.
	ThrowStmt struct {
		Pos   Pos
		Value Expr
	}
	// BreakStmt is `break;` or `break Value;`.
	BreakStmt struct {
		Pos   Pos
		Value Expr
	}
	// ContinueStmt is `continue;`.
	ContinueStmt struct{ Pos Pos }
	// TryStmt is `try { Body } catch (ErrVar) { Catch }`; ErrVar may be "".
	TryStmt struct {
		Pos    Pos
		Body   *BlockExpr
		ErrVar string
		ErrPos Pos
		Catch  *BlockExpr
	}
	// ImportStmt is `import Path;` or `import Path as Alias;`.
	ImportStmt struct {
		Pos   Pos
		Path  Expr
		Alias string
	}
	// ExportStmt is `export Name;` or `export Name as Alias;`.
	ExportStmt struct {
		Pos   Pos
		Name  string
		Alias string
	}
	// EmptyStmt is a lone `;`.
	EmptyStmt struct{ Pos Pos }
)

// FnDef is a script function definition `[private] fn Name(Params) { Body }`.
type FnDef struct {
	Pos     Pos
	Name    string
	Params  []string
	Body    *BlockExpr
	Private bool
	Doc     string // doc comments (/// or /** */) directly before the definition
	// ThisType restricts a method to values of one type: `fn int.twice()` or
	// `fn "My Type".m()`; "" for ordinary functions.
	ThisType string
}

// Position implements Node.
func (f *FnDef) Position() Pos { return f.Pos }

// Script is a parsed source file: its top-level statements and its functions.
type Script struct {
	Name  string // the source name given to Parse (may be "")
	Stmts []Stmt
	Fns   []*FnDef
}

func (x *UnitLit) Position() Pos        { return x.Pos }
func (x *BoolLit) Position() Pos        { return x.Pos }
func (x *IntLit) Position() Pos         { return x.Pos }
func (x *FloatLit) Position() Pos       { return x.Pos }
func (x *StringLit) Position() Pos      { return x.Pos }
func (x *CharLit) Position() Pos        { return x.Pos }
func (x *InterpString) Position() Pos   { return x.Pos }
func (x *Ident) Position() Pos          { return x.Pos }
func (x *PathExpr) Position() Pos       { return x.Pos }
func (x *ArrayLit) Position() Pos       { return x.Pos }
func (x *MapLit) Position() Pos         { return x.Pos }
func (x *UnaryExpr) Position() Pos      { return x.Pos }
func (x *BinaryExpr) Position() Pos     { return x.Pos }
func (x *IndexExpr) Position() Pos      { return x.Pos }
func (x *PropExpr) Position() Pos       { return x.Pos }
func (x *MethodCallExpr) Position() Pos { return x.Pos }
func (x *CallExpr) Position() Pos       { return x.Pos }
func (x *ClosureExpr) Position() Pos    { return x.Pos }
func (x *BlockExpr) Position() Pos      { return x.Pos }
func (x *IfExpr) Position() Pos         { return x.Pos }
func (x *SwitchExpr) Position() Pos     { return x.Pos }
func (x *WhileExpr) Position() Pos      { return x.Pos }
func (x *DoExpr) Position() Pos         { return x.Pos }
func (x *ForExpr) Position() Pos        { return x.Pos }

func (*UnitLit) exprNode()        {}
func (*BoolLit) exprNode()        {}
func (*IntLit) exprNode()         {}
func (*FloatLit) exprNode()       {}
func (*StringLit) exprNode()      {}
func (*CharLit) exprNode()        {}
func (*InterpString) exprNode()   {}
func (*Ident) exprNode()          {}
func (*PathExpr) exprNode()       {}
func (*ArrayLit) exprNode()       {}
func (*MapLit) exprNode()         {}
func (*UnaryExpr) exprNode()      {}
func (*BinaryExpr) exprNode()     {}
func (*IndexExpr) exprNode()      {}
func (*PropExpr) exprNode()       {}
func (*MethodCallExpr) exprNode() {}
func (*CallExpr) exprNode()       {}
func (*ClosureExpr) exprNode()    {}
func (*BlockExpr) exprNode()      {}
func (*IfExpr) exprNode()         {}
func (*SwitchExpr) exprNode()     {}
func (*WhileExpr) exprNode()      {}
func (*DoExpr) exprNode()         {}
func (*ForExpr) exprNode()        {}

func (x *LetStmt) Position() Pos      { return x.Pos }
func (x *AssignStmt) Position() Pos   { return x.Pos }
func (x *ExprStmt) Position() Pos     { return x.X.Position() }
func (x *ReturnStmt) Position() Pos   { return x.Pos }
func (x *ThrowStmt) Position() Pos    { return x.Pos }
func (x *BreakStmt) Position() Pos    { return x.Pos }
func (x *ContinueStmt) Position() Pos { return x.Pos }
func (x *TryStmt) Position() Pos      { return x.Pos }
func (x *ImportStmt) Position() Pos   { return x.Pos }
func (x *ExportStmt) Position() Pos   { return x.Pos }
func (x *EmptyStmt) Position() Pos    { return x.Pos }

func (*LetStmt) stmtNode()      {}
func (*AssignStmt) stmtNode()   {}
func (*ExprStmt) stmtNode()     {}
func (*ReturnStmt) stmtNode()   {}
func (*ThrowStmt) stmtNode()    {}
func (*BreakStmt) stmtNode()    {}
func (*ContinueStmt) stmtNode() {}
func (*TryStmt) stmtNode()      {}
func (*ImportStmt) stmtNode()   {}
func (*ExportStmt) stmtNode()   {}
func (*EmptyStmt) stmtNode()    {}
