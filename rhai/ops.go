package rhai

import "github.com/picloud/picloud/rhai/syntax"

// STUB: owned by helper-fmt, to be replaced.

// binaryOp applies a built-in binary operator. ok is false when Rhai has no
// built-in operator for these operand types (the caller then looks for a
// registered function and reports ErrorFunctionNotFound).
func binaryOp(op syntax.Token, a, b Value) (v Value, ok bool, err *Error) { return Unit, false, nil }

// unaryOp applies a built-in unary operator (-, +, !).
func unaryOp(op syntax.Token, a Value) (v Value, ok bool, err *Error) { return Unit, false, nil }

// switchEqual is the strict equality switch uses: same type and same value
// (1 does not match 1.0).
func switchEqual(a, b Value) bool { return false }
