// Package syntax is the Rhai lexer and parser: Parse turns a script into a
// *Script, ParseExpression a single expression into an Expr. Errors are
// *Error values with Rhai's kind names, messages and positions.
//
// Shapes the evaluator should know about (Rhai 1.25 behaviour, checked against
// the conformance corpus):
//
//   - `-5` directly after an operator, `(`, `,`, a keyword... is one negative
//     literal (so `-5.abs()` is 5); `-x` is a UnaryExpr. A unary minus on an
//     int or float literal is folded into the literal, at the minus position.
//   - `a !in b` is UnaryExpr{Bang, BinaryExpr{KwIn, a, b}}, both at the `!in`.
//   - Open ranges: `a..` and `a..=` have R = IntLit(math.MaxInt64); `..b` has
//     L = IntLit(0); `..` alone is 0..MaxInt64.
//   - `x ?? break`, `x ?? return v`, `x ?? continue`, `x ?? throw v`: R is a
//     *BlockExpr holding that one statement.
//   - A switch arm or a closure body that is not an expression (`1 => x = 2`,
//     `|x| total += x`) is a *BlockExpr holding the one statement; that block
//     must not be treated as a new variable scope boundary for anything the
//     statement could declare (it cannot declare: it is an assignment or jump).
//   - A `${...}` part of an InterpString is the expression when it holds one
//     expression statement, a *BlockExpr otherwise, *UnitLit when empty.
//   - A lone `;` produces no statement (EmptyStmt is never emitted).
//   - `fn int.twice()` sets FnDef.ThisType; namespaced calls carry NsPos (where
//     "Module not found" is reported) and PathExpr carries NamePos.
//   - Run-time error positions in Rhai: a binary/unary operator at the
//     operator, a call or method at its name, a property at its name, an
//     assignment at its operator (data type errors) or at its LHS variable
//     (constants, undefined variables), out-of-bounds indexing at the index
//     expression (IndexExpr.Index.Position()), "Indexer unavailable" at the `[`
//     (IndexExpr.Pos), `throw` at the keyword.
package syntax
