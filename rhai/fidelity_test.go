package rhai_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/picloud/picloud/rhai"
	"github.com/picloud/picloud/rhai/syntax"
)

// The fidelity tests pin behaviours where Rhai 1.25 is easy to get wrong,
// each area as a whole rather than one case. A result reads
// "TYPE DEBUG" for a value, "parse KIND@LINE:COL MESSAGE" for a parse error
// and "eval ROOTKIND MESSAGE" for a runtime error (the innermost one's
// message, under any "in call to function" wrappers).
func fidelityRun(src string) string {
	eng := rhai.New()
	ast, err := eng.Compile("", src)
	if err != nil {
		var pe *syntax.Error
		if errors.As(err, &pe) {
			return fmt.Sprintf("parse %s@%d:%d %s", pe.FullKind(), pe.Pos.Line, pe.Pos.Col, pe.Message)
		}
		return "parse ? " + err.Error()
	}
	v, err := eng.Eval(context.Background(), ast, nil)
	if err != nil {
		var re *rhai.Error
		if errors.As(err, &re) {
			kind := re.RootKind()
			for re.Inner != nil {
				re = re.Inner
			}
			return "eval " + kind + " " + re.Message
		}
		return "eval ? " + err.Error()
	}
	return v.TypeName() + " " + v.DebugString()
}

type fidelityCase struct{ src, want string }

func fidelityCheck(t *testing.T, cases []fidelityCase) {
	t.Helper()
	for _, c := range cases {
		if got := fidelityRun(c.src); got != c.want {
			t.Errorf("%s\n  got  %s\n  want %s", c.src, got, c.want)
		}
	}
}

// Rhai refuses at parse time a literal that can never be a bool where one is
// needed: either operand of && and || (the right one is checked first), the
// condition of if/while/do and a switch case's guard. Only literals are
// refused; a value of the wrong type fails when it is reached, as a data type
// mismatch at the operand (&& and || are not functions).
func TestFidelityBoolLiteralOperands(t *testing.T) {
	const notBool = "parse MismatchedType@"
	fidelityCheck(t, []fidelityCase{
		{"true && 1", notBool + "1:9 Expecting a boolean expression, not a number"},
		{"1 || true", notBool + "1:1 Expecting a boolean expression, not a number"},
		{"1 && 'c'", notBool + "1:6 Expecting a boolean expression, not a character"},
		{"let x = true; x || 2.5", notBool + "1:20 Expecting a boolean expression, not a number"},
		{`let x = true; x && "s"`, notBool + "1:20 Expecting a boolean expression, not a string"},
		{"let x = true; x && `s${1}`", notBool + "1:20 Expecting a boolean expression, not a string"},
		{"let x = true; x || ()", notBool + "1:20 Expecting a boolean expression, not ()"},
		{"let x = true; x && [true]", notBool + "1:20 Expecting a boolean expression, not an array"},
		{"let x = true; x && #{}", notBool + "1:20 Expecting a boolean expression, not an object map"},
		{"true && -1", notBool + "1:9 Expecting a boolean expression, not a number"},
		{"true && (1)", notBool + "1:10 Expecting a boolean expression, not a number"},
		{"true && false || 0", notBool + "1:18 Expecting a boolean expression, not a number"},
		{"let x = 1; x && true", "eval ErrorMismatchDataType Data type incorrect: i64 (expecting bool)"},
		{`let x = "s"; true || x`, "bool true"},
		{`let x = "s"; false && x`, "bool false"},
		{`let x = "s"; true && x`, "eval ErrorMismatchDataType Data type incorrect: string (expecting bool)"},
		{"let x = (); false || x", "eval ErrorMismatchDataType Data type incorrect: () (expecting bool)"},
		{"let x = 1.5; if x { 1 }", "eval ErrorMismatchDataType Data type incorrect: f64 (expecting bool)"},
		{"let x = [1]; while x { }", "eval ErrorMismatchDataType Data type incorrect: array (expecting bool)"},
		{"let x = 1; switch 1 { 1 if x => 2 }", "eval ErrorMismatchDataType Data type incorrect: i64 (expecting bool)"},
		{"!1", "eval ErrorFunctionNotFound Function not found: ! (i64)"},
		{"true && !false", "bool true"},
		{"if 1 { 2 }", notBool + "1:4 Expecting a boolean expression, not a number"},
		{"if {true} { 2 }", "parse ExprExpected@1:4 Expecting a boolean expression"},
		{"while () { }", notBool + "1:7 Expecting a boolean expression, not ()"},
		{"do { } while 'x'", notBool + "1:14 Expecting a boolean expression, not a character"},
		{"let x = 1; switch x { 1 if 2 => 3 }", notBool + "1:28 Expecting a boolean expression, not a number"},
		{"let x = 1; switch x { 1 if {true} => 3 }", "parse ExprExpected@1:28 Expecting a boolean expression"},
		{"let x = 1; switch x { 1 if x == 1 => 3 }", "i64 3"},
	})
}

// Switch cases are literals; a numeric case (integer or float) may not follow
// a range case, but a range that is empty is dropped and does not count.
func TestFidelitySwitchCases(t *testing.T) {
	const wrong = "parse WrongSwitchIntegerCase@"
	fidelityCheck(t, []fidelityCase{
		{"switch 1 { 1..3 => 1, 4 => 2 }", wrong + "1:23 Numeric switch case cannot follow a range case"},
		{"switch 1 { 1..3 => 1, 4.5 => 2 }", wrong + "1:23 Numeric switch case cannot follow a range case"},
		{"switch 1 { 1..=3 => 1, -4 => 2 }", wrong + "1:24 Numeric switch case cannot follow a range case"},
		{"switch 1 { 1..3 => 1, 4 if true => 2 }", wrong + "1:23 Numeric switch case cannot follow a range case"},
		{"switch 1 { 3..3 => 0, 1 => 1 }", "i64 1"},
		{"switch 1 { 5..=2 => 0, 1 => 1 }", "i64 1"},
		{`switch "a" { 1..3 => 1, "a" => 2 }`, "i64 2"},
		{"switch 'c' { 1..3 => 1, 'c' => 2 }", "i64 2"},
		{"switch 1 { 1 => 1, 1..3 => 2 }", "i64 1"},
		{"switch 1 { 1.0 => 1, _ => 2 }", "i64 2"},
		{"switch 1 { 1.0..3.0 => 1 }", "parse ExprExpected@1:12 Expecting a literal expression"},
		{"switch 1 { _ => 1, 2 => 2 }", "parse WrongSwitchDefaultCase@1:12 Default switch case must be the last"},
		{"switch 1 { _ if true => 1 }", "parse WrongSwitchCaseCondition@1:14 This switch case cannot have a condition"},
	})
}

// Only `()` written together is the unit; `( )` is an empty parenthesised
// expression and does not parse. Empty argument and parameter lists may have
// spaces.
func TestFidelityUnitParens(t *testing.T) {
	fidelityCheck(t, []fidelityCase{
		{"()", "() ()"},
		{"let x = (); x", "() ()"},
		{"( )", "parse BadInput/UnexpectedInput@1:3 Unexpected ')'"},
		{"let x = ( ); x", "parse BadInput/UnexpectedInput@1:11 Unexpected ')'"},
		{"(( ))", "parse BadInput/UnexpectedInput@1:4 Unexpected ')'"},
		{"(\n)", "parse BadInput/UnexpectedInput@2:1 Unexpected ')'"},
		{"fn f( ) { 1 } f( )", "i64 1"},
		{"[1, 2].len( )", "i64 2"},
		{"let f = | | 3; f.call( )", "i64 3"},
	})
}

// s[i] = c with a negative i: Rhai 1.25 checks the bounds from the end but
// writes at position -i from the start (and nothing when -i is the length).
// The bounds are checked before the new value's type.
func TestFidelityStringIndexAssign(t *testing.T) {
	fidelityCheck(t, []fidelityCase{
		{`let s = "hello"; s[0] = 'J'; s`, `string "Jello"`},
		{`let s = "hello"; s[4] = 'O'; s`, `string "hellO"`},
		{`let s = "hello"; s[-1] = 'X'; s`, `string "hXllo"`},
		{`let s = "hello"; s[-2] = 'X'; s`, `string "heXlo"`},
		{`let s = "hello"; s[-5] = 'X'; s`, `string "hello"`},
		{`let s = "héllo"; s[-1] = 'Z'; s`, `string "hZllo"`},
		{`let s = "hello"; s[-1]`, `char 'o'`},
		{`let s = "hello"; s[-6] = 'X'; s`, "eval ErrorStringBounds String index -6 out of bounds: only 5 characters in string"},
		{`let s = "hello"; s[5] = 'X'; s`, "eval ErrorStringBounds String index 5 out of bounds: only 5 characters in string"},
		{`let s = "hello"; s[9] = "ab"; s`, "eval ErrorStringBounds String index 9 out of bounds: only 5 characters in string"},
		{`let s = "hello"; s[1] = "ab"; s`, "eval ErrorMismatchDataType Data type incorrect: string (expecting char)"},
		{`let s = "hello"; s.set(-1, 'X'); s`, `string "hellX"`},
	})
}

// A sort comparer may answer with an integer (its sign orders) or a bool
// (true: the first argument goes first); any other answer leaves the pair.
func TestFidelitySortComparer(t *testing.T) {
	fidelityCheck(t, []fidelityCase{
		{"let a = [3, 1, 2]; a.sort(|x, y| x - y); a", "array [1, 2, 3]"},
		{"let a = [3, 1, 2]; a.sort(|x, y| y - x); a", "array [3, 2, 1]"},
		{"let a = [3, 1, 2, 5, 4]; a.sort(|x, y| x < y); a", "array [1, 2, 3, 4, 5]"},
		{"let a = [3, 1, 2, 5, 4]; a.sort(|x, y| x > y); a", "array [5, 4, 3, 2, 1]"},
		{`let a = ["bb", "a", "ccc"]; a.sort(|x, y| x.len() < y.len()); a`, `array ["a", "bb", "ccc"]`},
		{"let a = [3, 1, 2]; a.sort(|x, y| 1.5); a", "array [3, 1, 2]"},
		{"let a = [3, 1, 2]; a.sort(|x, y| ()); a", "array [3, 1, 2]"},
		{"[3, 1, 2].order(|x, y| x < y)", "array [1, 2, 3]"},
	})
}

// A constant declared by eval at the main script's top level is a global
// constant (functions read it through global::); one declared by eval inside
// a function or a block is not.
func TestFidelityEvalGlobalConstant(t *testing.T) {
	fidelityCheck(t, []fidelityCase{
		{`fn f() { global::X } eval("const X = 42;"); f()`, "i64 42"},
		{`fn f() { global::X + global::Y } const Y = 1; eval("const X = 42;"); f()`, "i64 43"},
		{`fn f() { global::X } let y = 1; eval("let z = 2; const X = y + z;"); f()`, "i64 3"},
		{`fn f() { global::X } eval("eval(\"const X = 5;\")"); f()`, "i64 5"},
		{`fn f() { global::X } eval("let X = 42;"); f()`, "eval ErrorVariableNotFound Variable not found: global::X"},
		{`fn f() { eval("const Z = 3;"); global::Z } f()`, "eval ErrorVariableNotFound Variable not found: global::Z"},
		{`fn f() { global::X } { eval("const X = 42;"); f() }`, "eval ErrorVariableNotFound Variable not found: global::X"},
		{`eval("const X = 42;"); X`, "i64 42"},
	})
}

// to_json writes a function pointer as its name, and a curried one (a closure
// that captures variables is curried with them) as [name, curried...].
func TestFidelityToJSONFnPtr(t *testing.T) {
	fidelityCheck(t, []fidelityCase{
		{`#{a: Fn("abc")}.to_json()`, `string "{\"a\":\"abc\"}"`},
		{`#{a: [Fn("abc")]}.to_json()`, `string "{\"a\":[\"abc\"]}"`},
		{`#{a: Fn("abc").curry(1, "x")}.to_json()`, `string "{\"a\":[\"abc\",1,\"x\"]}"`},
		{`#{a: Fn("abc").curry([1, ()]).curry(#{b: 'c'})}.to_json()`, `string "{\"a\":[\"abc\",[1,null],{\"b\":'c'}]}"`},
		{`let x = 2; let f = |y| x + y; let j = #{f: f}.to_json(); j.sub_string(j.index_of(","))`, `string ",2]}"`},
		{`let x = 2; let f = |y| x + y; let j = #{f: f.curry(3)}.to_json(); j.sub_string(j.index_of(","))`, `string ",2,3]}"`},
		{`let f = |y| y; #{f: f}.to_json().starts_with("{\"f\":\"")`, "bool true"},
	})
}

// Functions Rhai 1.25 does not have are not in the standard library.
func TestFidelityNoExtraFunctions(t *testing.T) {
	fidelityCheck(t, []fidelityCase{
		{"65.to_char()", "eval ErrorFunctionNotFound Function not found: to_char (i64)"},
		{"to_char(65)", "eval ErrorFunctionNotFound Function not found: to_char (i64)"},
		{"[1].concat([2])", "eval ErrorFunctionNotFound Function not found: concat (array, array)"},
		{"[1] + [2]", "array [1, 2]"},
	})
}

// fidelityErr runs src and reports its runtime error as "ROOTKIND@LINE:COL
// MESSAGE" with the outermost error's position (0:0 when Rhai gives none).
func fidelityErr(src string) string {
	eng := rhai.New()
	ast, err := eng.Compile("", src)
	if err != nil {
		return "parse error: " + err.Error()
	}
	v, err := eng.Eval(context.Background(), ast, nil)
	var re *rhai.Error
	if !errors.As(err, &re) {
		return fmt.Sprintf("no runtime error: %v %v", v, err)
	}
	return fmt.Sprintf("%s@%d:%d %s", re.RootKind(), re.Pos.Line, re.Pos.Col, re.Error())
}

// Where Rhai points a runtime error, and its text: binary operators' arithmetic
// errors have no position, a compound assignment's point at its operator and a
// negation's at the minus; an index assignment's bad index points at the index
// and a value of the wrong type at the operator; a value without an indexer at
// the [; an empty string or array says so; ranges are named range and range= in
// a signature.
func TestFidelityErrorPositions(t *testing.T) {
	cases := []fidelityCase{
		{"let x = 9223372036854775807;\nx + 1", "ErrorArithmetic@0:0 Addition overflow: 9223372036854775807 + 1"},
		{"let x = 9223372036854775807;\nx += 1;", "ErrorArithmetic@2:3 Addition overflow: 9223372036854775807 + 1 (line 2, position 3)"},
		{"let x = -9223372036854775807 - 1;\n  x -= 1;", "ErrorArithmetic@2:5 Subtraction overflow: -9223372036854775808 - 1 (line 2, position 5)"},
		{"let x = 4611686018427387904; x *= 2;", "ErrorArithmetic@1:32 Multiplication overflow: 4611686018427387904 * 2 (line 1, position 32)"},
		{"let x = 7; x /= 0;", "ErrorArithmetic@1:14 Division by zero: 7 / 0 (line 1, position 14)"},
		{"let x = 7; x %= 0;", "ErrorArithmetic@1:14 Modulo division by zero or overflow: 7 % 0 (line 1, position 14)"},
		{"let a = [9223372036854775807]; a[0] += 1;", "ErrorArithmetic@1:37 Addition overflow: 9223372036854775807 + 1 (line 1, position 37)"},
		{"let m = -9223372036854775807 - 1;\n -m", "ErrorArithmetic@2:2 Negation overflow: --9223372036854775808 (line 2, position 2)"},
		{"let a = [1, 2, 3];\na[3] = 4;", "ErrorArrayBounds@2:3 Array index 3 out of bounds: only 3 elements in array (line 2, position 3)"},
		{"let a = [[1]];\na[0][-2] = 4;", "ErrorArrayBounds@2:6 Array index -2 out of bounds: only 1 element in array (line 2, position 6)"},
		{"let s = \"abc\";\ns[5] = 'x';", "ErrorStringBounds@2:3 String index 5 out of bounds: only 3 characters in string (line 2, position 3)"},
		{"let s = \"abc\";\ns[0] = \"X\";", "ErrorMismatchDataType@2:6 Data type incorrect: string (expecting char) (line 2, position 6)"},
		{"let s = \"abc\";\ns[0] += 'x';", "ErrorMismatchDataType@2:6 Data type incorrect: string (expecting char) (line 2, position 6)"},
		{"let n = 0;\nn[0] = 1;", "ErrorMismatchDataType@2:6 Data type incorrect: i64 (expecting bool) (line 2, position 6)"},
		{"let n = 0;\nn[-65] = true;", "ErrorBitFieldBounds@2:3 Bit-field index -65 out of bounds: only 64 bits in bit-field (line 2, position 3)"},
		{"let n = 0;\nn[64] = 1;", "ErrorBitFieldBounds@2:3 Bit-field index 64 out of bounds: only 64 bits in bit-field (line 2, position 3)"},
		{"true[0]", "ErrorIndexingType@1:5 Indexer unavailable: bool [i64] (line 1, position 5)"},
		{"let x = (); x[\"a\"]", "ErrorIndexingType@1:14 Indexer unavailable: () [string] (line 1, position 14)"},
		{"let f = 1.5; f[0] = 1;", "ErrorIndexingType@1:15 Indexer unavailable: f64 [i64] (line 1, position 15)"},
		{`""[-8]`, "ErrorStringBounds@1:4 String index -8 out of bounds: string is empty (line 1, position 4)"},
		{`let s = ""; s[0] = 'a';`, "ErrorStringBounds@1:15 String index 0 out of bounds: string is empty (line 1, position 15)"},
		{"[][0]", "ErrorArrayBounds@1:4 Array index 0 out of bounds: array is empty (line 1, position 4)"},
		{"let b = blob(); b[0]", "ErrorArrayBounds@1:19 Array index 0 out of bounds: array is empty (line 1, position 19)"},
		{"let b = blob(2); b[2]", "ErrorArrayBounds@1:20 Array index 2 out of bounds: only 2 elements in array (line 1, position 20)"},
		{"(1..=2).foo()", "ErrorFunctionNotFound@1:9 Function not found: foo (range=) (line 1, position 9)"},
		{"(1..2).foo(3)", "ErrorFunctionNotFound@1:8 Function not found: foo (range, i64) (line 1, position 8)"},
		{"let a = [1]; a[1..2]", "ErrorMismatchDataType@1:17 Data type incorrect: core::ops::range::Range<i64> (expecting i64) (line 1, position 17)"},
	}
	for _, c := range cases {
		if got := fidelityErr(c.src); got != c.want {
			t.Errorf("%s\n  got  %s\n  want %s", c.src, got, c.want)
		}
	}
}

// fidelityErrNamed is fidelityErr for a script named main.rhai.
func fidelityErrNamed(src string) string {
	eng := rhai.New()
	ast, err := eng.Compile("main.rhai", src)
	if err != nil {
		return "parse error: " + err.Error()
	}
	_, err = eng.Eval(context.Background(), ast, nil)
	var re *rhai.Error
	if !errors.As(err, &re) {
		return fmt.Sprintf("no runtime error: %v", err)
	}
	return fmt.Sprintf("%s@%d:%d %s", re.RootKind(), re.Pos.Line, re.Pos.Col, re.Error())
}

// Errors around calls, throws and names, as Rhai 1.25 words and places them.
func TestFidelityCallErrors(t *testing.T) {
	cases := []fidelityCase{
		// `throw;` (or a thrown unit) in a catch block rethrows the caught
		// error, placed at the throw.
		{"fn bad() { throw \"bad\"; }\ntry { bad(); } catch (e) {\n  throw;\n}",
			"ErrorRuntime@3:3 Runtime error: bad @ 'main.rhai' (line 1, position 12)\nin call to function 'bad' (from 'main.rhai') (line 3, position 3)"},
		{"try { throw 5; } catch (e) { throw (); }", "ErrorRuntime@1:30 Runtime error: 5 (line 1, position 30)"},
		{"try { throw 5; } catch (e) { try { throw 6; } catch (f) { } throw; }", "ErrorRuntime@1:61 Runtime error: 5 (line 1, position 61)"},
		{"fn f() { throw; }\ntry { throw 5; } catch (e) { f(); }",
			"ErrorRuntime@2:30 Runtime error @ 'main.rhai' (line 1, position 10)\nin call to function 'f' (from 'main.rhai') (line 2, position 30)"},
		{"throw;", "ErrorRuntime@1:1 Runtime error (line 1, position 1)"},
		// A thrown value is shown as the host displays it.
		{"throw ['a', \"b\", 1.0];", "ErrorRuntime@1:1 Runtime error: ['a', \"b\", 1.0] (line 1, position 1)"},
		{"throw #{k: 'c'};", "ErrorRuntime@1:1 Runtime error: #{\"k\": 'c'} (line 1, position 1)"},
		// A stack overflow is placed at the outermost call.
		{"fn down(n) { down(n + 1) }\nlet x = 1;\n  down(0);", "ErrorStackOverflow@3:3 Stack overflow (line 3, position 3)"},
		{"fn down(n) { down(n + 1) }\nfn start() { down(0) }\nprint(start());", "ErrorStackOverflow@3:7 Stack overflow (line 3, position 7)"},
		// Fn(name) reports a bad name at its argument.
		{"Fn(42)", "ErrorMismatchDataType@1:4 Data type incorrect: i64 (expecting string) (line 1, position 4)"},
		{"let p = Fn(\"f::do_work\");", "ErrorFunctionNotFound@1:12 Function not found: f::do_work (line 1, position 12)"},
		{"type_of(Fn(\"type_of\"))", "ErrorParsing/Reserved@1:12 Syntax error: 'type_of' is a reserved keyword (line 1, position 12)"},
		// A missing module is reported where the path starts.
		{"nothing::here()", "ErrorModuleNotFound@1:1 Module not found: nothing (line 1, position 1)"},
		{"fn f() { 1 }\n  global::f()", "ErrorModuleNotFound@2:3 Module not found: global (line 2, position 3)"},
		{"fn foo() {\n    xyz::do_work();\n}\nfoo();",
			"ErrorModuleNotFound@4:1 Module not found: xyz @ 'main.rhai' (line 2, position 5)\nin call to function 'foo' (from 'main.rhai') (line 4, position 1)"},
		// Setting a property of a value that has none.
		{"let m = #{};\nm.a.b = 1;", "ErrorDotExpr@2:5 No writable property 'b' - a setter is not registered for type '()' to handle 'i64' (line 2, position 5)"},
		{"let x = 1;\nx.b = \"s\";", "ErrorDotExpr@2:3 No writable property 'b' - a setter is not registered for type 'i64' to handle 'string' (line 2, position 3)"},
		// A collection function's callback that does not exist.
		{"[1, 2].all(\"nonexistent_fn\")",
			"ErrorFunctionNotFound@1:8 Function not found: nonexistent_fn (i64, i64) @ 'main.rhai' (line 1, position 8)\nin call to function 'all' (from 'main.rhai') (line 1, position 8)"},
		{"#{a: 1}.filter(\"nope\")",
			"ErrorFunctionNotFound@1:9 Function not found: nope (&str | ImmutableString | String, i64) @ 'main.rhai' (line 1, position 9)\nin call to function 'filter' (from 'main.rhai') (line 1, position 9)"},
		{"range(1, 5, 0)", "ErrorArithmetic@1:1 step value cannot be zero\nin call to function 'range' (line 1, position 1)"},
	}
	for _, c := range cases {
		if got := fidelityErrNamed(c.src); got != c.want {
			t.Errorf("%s\n  got  %s\n  want %s", c.src, got, c.want)
		}
	}
}

// Mutating a constant: assigning to it (or to an element) is
// ErrorAssignmentToConstant, a non-pure method on it (or on a part of it)
// ErrorNonPureMethodCallOnConstant. global:: constants are constants too, in
// a function as anywhere; `this` bound to a constant stays one; an argument is
// a copy and may change.
func TestFidelityConstantMutation(t *testing.T) {
	cases := []fidelityCase{
		{"const A = [1];\nA.push(2);", "ErrorNonPureMethodCallOnConstant@2:3 Non-pure method 'push' cannot be called on constant (line 2, position 3)"},
		{"const A = [1];\nA[0] = 2;", "ErrorAssignmentToConstant@2:1 Cannot modify constant A (line 2, position 1)"},
		{"fn f() { global::A.push(2) }\nconst A = [1];\nf();",
			"ErrorNonPureMethodCallOnConstant@3:1 Non-pure method 'push' cannot be called on constant @ 'main.rhai' (line 1, position 20)\nin call to function 'f' (from 'main.rhai') (line 3, position 1)"},
		{"fn f() { global::M.a.push(2) }\nconst M = #{a: [1]};\nf();",
			"ErrorNonPureMethodCallOnConstant@3:1 Non-pure method 'push' cannot be called on constant @ 'main.rhai' (line 1, position 22)\nin call to function 'f' (from 'main.rhai') (line 3, position 1)"},
		{"fn f() { global::A[0] = 2 }\nconst A = [1];\nf();",
			"ErrorAssignmentToConstant@3:1 Cannot modify constant A @ 'main.rhai' (line 1, position 18)\nin call to function 'f' (from 'main.rhai') (line 3, position 1)"},
		{"fn f() { global::A += 2 }\nconst A = 1;\nf();",
			"ErrorAssignmentToConstant@3:1 Cannot modify constant A @ 'main.rhai' (line 1, position 18)\nin call to function 'f' (from 'main.rhai') (line 3, position 1)"},
		{"fn f() { const B = [1]; B.push(1) }\nf();",
			"ErrorNonPureMethodCallOnConstant@2:1 Non-pure method 'push' cannot be called on constant @ 'main.rhai' (line 1, position 27)\nin call to function 'f' (from 'main.rhai') (line 2, position 1)"},
		{"fn g() { this.push(1) }\nconst A = [1];\nA.g();",
			"ErrorNonPureMethodCallOnConstant@3:3 Non-pure method 'push' cannot be called on constant @ 'main.rhai' (line 1, position 15)\nin call to function 'g' (from 'main.rhai') (line 3, position 3)"},
		{"fn g() { this *= 2 }\nconst A = 1;\nA.g();",
			"ErrorAssignmentToConstant@3:3 Cannot modify constant  @ 'main.rhai' (line 1, position 10)\nin call to function 'g' (from 'main.rhai') (line 3, position 3)"},
	}
	for _, c := range cases {
		if got := fidelityErrNamed(c.src); got != c.want {
			t.Errorf("%s\n  got  %s\n  want %s", c.src, got, c.want)
		}
	}
	fidelityCheck(t, []fidelityCase{
		{"fn f() { global::A.len() + global::A[0] }\nconst A = [5, 6];\nf()", "i64 7"},
		{"fn f(x) { x.push(2); x }\nconst A = [1];\nf(A)", "array [1, 2]"},
		{"fn f(x) { x.push(2); x }\nconst A = [1];\nf(A); A", "array [1]"},
		{"fn g() { this.len() }\nconst A = [1, 2];\nfn f() { global::A.g() }\nf()", "i64 2"},
	})
}
