package syntax

import (
	"strings"
	"testing"
	"time"
)

func TestParseOK(t *testing.T) {
	tests := []struct{ src, want string }{
		// Precedence: & | ^ bind looser than comparisons.
		{"6 & 3 == 2", "(& 6 (== 3 2))"},
		{"a || b && c | d", "(| (|| a (&& b c)) d)"},
		{"1 + 2 * 3 - 4", "(- (+ 1 (* 2 3)) 4)"},
		{"-2 ** 2", "(** -2 2)"},
		{"- x ** 2", "(** (- x) 2)"},
		{"2 ** 3 ** 2", "(** 2 (** 3 2))"},
		{"2 ** 3 << 1", "(** 2 (<< 3 1))"},
		{"-5.abs()", "(.abs -5)"},
		{"-x.abs()", "(- (.abs x))"},
		{"1 < 2 < 3", "(< (< 1 2) 3)"},
		{"1 + 1..2 * 3", "(.. (+ 1 1) (* 2 3))"},
		{"..5", "(.. 0 5)"},
		{"a[2..]", "([] a (.. 2 9223372036854775807))"},
		{"a[..]", "([] a (.. 0 9223372036854775807))"},
		{"a ?? b ?? c", "(?? (?? a b) c)"},
		{"x in y == true", "(== (in x y) true)"},
		{"x !in y", "(! (in x y))"},
		{"a < b in c", "(in (< a b) c)"},
		{"!a == b", "(== (! a) b)"},
		{"- 0x10", "-16"},
		{"1.abs()", "(.abs 1)"},
		// Postfix chains.
		{"a.b[1].c(2)?.d?[3]", "(?[] (?. (.c ([] (. a b) 1) 2) d) 3)"},
		{"f(1, 2,)", "(call f 1 2)"},
		{"m::sub::f(1)", "(call m::sub::f 1)"},
		{"global::X", "global::X"},
		{"f!(x)", "(call f! x)"},
		{"exit(1)", "(call exit 1)"},
		{"x.type_of()", "(.type_of x)"},
		// Literals.
		{"[1, 2, 3,]", "[1 2 3]"},
		{`#{a: 1, "b c": 2, ` + "`d`" + `: 3}`, `#{a: 1, b c: 2, d: 3}`},
		{"`x${1 + 2}y${z}`", `(interp "x" (+ 1 2) "y" z)`},
		{"`${ let a = 2; a }`", `(interp {(let a 2); a})`},
		{"()", "()"},
		{"'c'", "'c'"},
		// Closures.
		{"|a, b| a + b", "(fn |a,b| {(+ a b)})"},
		{"|| 1", "(fn || {1})"},
		{"|x| total += x", "(fn |x| {(+= total x)})"},
		// Statement expressions in expression position.
		{"let v = if a { 1 } else if b { 2 } else { 3 };", "(let v (if a {1} (if b {2} {3})))"},
		{"let v = loop { break 42; };", "(let v (loop {(break 42)}))"},
		{"switch x { 1 | 2 if c => 3, -1 => {} 4..=5 => 6, _ => 7 }",
			"(switch x 1 2 if c => 3, -1 => {}, (..= 4 5) => 6, _ => 7)"},
		{"switch x { 1 => y[0] = 2, _ => () }", "(switch x 1 => {(= ([] y 0) 2)}, _ => ())"},
		{"for (x, i) in a { continue; }", "(for x,i a {(continue)})"},
		{"do { x += 1 } until x > 3", "(do {(+= x 1)} until (> x 3))"},
		{"while x { x -= 1; }", "(while x {(-= x 1)})"},
		{"for n in 0..10 { x ?? break 42; }", "(for n (.. 0 10) {(?? x {(break 42)})})"},
		// Statements.
		{"let x; const Y = 1; x = Y", "(let x nil); (const Y 1); (= x Y)"},
		{"a.b[1].c += 2", "(+= (. ([] (. a b) 1) c) 2)"},
		{"if a { 1 } 2", "(if a {1} nil); 2"},
		{"try { throw 1; } catch (e) { throw; }", "(try {(throw 1)} e {(throw nil)})"},
		{"try {} catch {}", "(try {}  {})"},
		{"import \"m\" as m; export x as y; export const Z = 1;", `(import "m" m); (export x y); (export const Z 1)`},
		{"fn f(a, b) { a + b } private fn g() { this } f(1, 2)",
			"(fn f(a,b) {(+ a b)}); (fn private g() {this}); (call f 1 2)"},
		{"fn int.twice() { this * 2 }", "(fn int.twice() {(* this 2)})"},
		{"const C = 1; { let C = 2; C = 3; }", "(const C 1); {(let C 2); (= C 3)}"},
		{"let x = 1;; ;", "(let x 1)"},
		{"return; return 1", "(return nil); (return 1)"},
		{"1 /* unterminated", "1"},
	}
	for _, tc := range tests {
		s, err := Parse("", tc.src, Options{})
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.src, err)
			continue
		}
		if got := dumpScript(s); got != tc.want {
			t.Errorf("Parse(%q):\n got  %s\n want %s", tc.src, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src, kind, msg string
		line, col      int32
	}{
		{"let x = 1 +* 2;", "BadInput/UnexpectedInput", "Unexpected '*'", 1, 12},
		{"let café = 1;", "BadInput/UnexpectedInput", "Unexpected 'é'", 1, 8},
		{"let r = try { 1 } catch { 2 };", "BadInput/UnexpectedInput", "Unexpected 'try'", 1, 9},
		{`"\q"`, "BadInput/MalformedEscapeSequence", `Invalid escape sequence: '\q'`, 1, 3},
		{"let s = \"abc\n\";", "BadInput/UnterminatedString", "Open string is not terminated", 1, 9},
		{"'ab'", "BadInput/MalformedChar", "Invalid character: 'ab'", 1, 1},
		{"-0x10", "BadInput/MalformedNumber", "Invalid number: 'x10'", 1, 1},
		{"let _1 = 0;", "BadInput/MalformedIdentifier", "Variable name is not proper: '_1'", 1, 5},
		{"this", "BadInput/ImproperSymbol", "'this' can only be used in functions", 1, 1},
		{"let x = 1;\nif x = 2 { 1 }", "BadInput/ImproperSymbol", "Possibly a typo of '=='?", 2, 6},
		{"x.foo::bar(1)", "BadInput/ImproperSymbol", "Invalid symbol encountered: '::'", 1, 6},
		{"let a = 1\nlet b = 2;", "MissingToken", "Expecting ';' to terminate this statement", 2, 1},
		{"(1 + 2\n", "MissingToken", "Expecting ')' for a matching ( in this expression", 2, 1},
		{"if true { 1\n", "MissingToken", "Expecting ';' to terminate this statement", 2, 1},
		{"if (x) print(42);", "MissingToken", "Expecting '{' to start a statement block", 1, 8},
		{"let a; let b;\na = b = 1;", "MissingToken", "Expecting ';' to terminate this statement", 2, 7},
		{"0b102", "MissingToken", "Expecting ';' to terminate this statement", 1, 5},
		{"let x = 1 +", "UnexpectedEOF", "Script is incomplete", 1, 12},
		{"let var = 1;", "Reserved", "'var' is a reserved keyword", 1, 5},
		{"#!/bin/rhai\n1", "Reserved", "'#!' is a reserved symbol", 1, 1},
		{"#{print: 1}", "Reserved", "'print' is a reserved keyword", 1, 3},
		{"fn type_of(x) {}", "Reserved", "'type_of' is a reserved keyword", 1, 4},
		{"x.Fn()", "Reserved", "'Fn' is a reserved keyword", 1, 3},
		{"x.is_def_var", "Reserved", "'is_def_var' is a reserved keyword", 1, 3},
		{"x++;", "UnknownOperator", "Unknown operator: '++'", 1, 2},
		{"true ? 1 : 2", "UnknownOperator", "Unknown operator: '?'", 1, 6},
		{"let _ = 1;", "VariableExpected", "Expecting name of a variable", 1, 5},
		{"let fn = 1;", "VariableExpected", "Expecting name of a variable", 1, 5},
		{"m.1", "PropertyExpected", "Expecting name of a property", 1, 3},
		{"#{_: 1}", "PropertyExpected", "Expecting name of a property", 1, 3},
		{"#{`a${1}`: 1}", "PropertyExpected", "Expecting name of a property", 1, 3},
		{"switch 1 { y => 1 }", "ExprExpected", "Expecting a literal expression", 1, 12},
		{"break;", "LoopBreak", "Break statement should only be used inside a loop", 1, 1},
		{"loop { let f = || { continue; }; }", "LoopBreak", "Break statement should only be used inside a loop", 1, 21},
		{"fn a() { fn b() {} }", "WrongFnDefinition", "Function definitions must be at global level and cannot be inside a block or another function", 1, 10},
		{"{ export x; }", "WrongExport", "Export statement can only appear at global level", 1, 3},
		{"fn f(a) {}\nfn f(b) {}", "FnDuplicatedDefinition", "Function f with 1 parameter already exists", 2, 1},
		{"fn f() {}\nfn f() {}", "FnDuplicatedDefinition", "Function f with no parameters already exists", 2, 1},
		{"fn f(a, a) {}", "FnDuplicatedParam", "Duplicated parameter a for function f", 1, 9},
		{"fn (a) {}", "FnMissingName", "Expecting function name in function declaration", 1, 4},
		{"fn f {}", "FnMissingParams", "Expecting parameters for function 'f'", 1, 6},
		{"const C = 1;\nC += 1;", "AssignmentToConstant", "Cannot assign to constant C", 2, 1},
		{"true = 1;", "AssignmentToConstant", "Cannot assign to a constant value", 1, 1},
		{"foo(x) = 42;", "AssignmentToInvalidLHS", "Expression cannot be assigned to", 1, 1},
		{"x.foo().y = 42;", "AssignmentToInvalidLHS", "Expression cannot be assigned to", 1, 1},
		{"#{a: 1, a: 2}", "DuplicatedProperty", "Duplicated property for object map literal: a", 1, 9},
		{"switch x { _ => 1, 2 => 3 }", "WrongSwitchDefaultCase", "Default switch case must be the last", 1, 12},
		{"switch x { _ if c => 1 }", "WrongSwitchCaseCondition", "This switch case cannot have a condition", 1, 14},
		{"switch x { 1..3 => 1, 2 => 3 }", "WrongSwitchIntegerCase", "Numeric switch case cannot follow a range case", 1, 23},
		{"if 1 { }", "MismatchedType", "Expecting a boolean expression, not a number", 1, 4},
		{"for x in #{} {}", "MismatchedType", "Expecting an iterable value, not an object map", 1, 10},
		{`[1, 2]["0"]`, "MalformedIndexExpr", "Array, string or bit-field expects numeric index, not a string", 1, 8},
		{`[1, 2][1.0]`, "MalformedIndexExpr", "Array, string or bit-field expects integer index, not a float", 1, 8},
		{`#{a: 1}['a']`, "MalformedIndexExpr", "Object map expects string index, not a character", 1, 9},
		{"f.call!(1)", "MalformedCapture", "method-call style does not support running within the caller's scope", 1, 3},
		{strings.Repeat("f(", 70) + "1" + strings.Repeat(")", 70), "ExprTooDeep", "Expression exceeds maximum complexity", 1, 63},
	}
	for _, tc := range tests {
		_, err := Parse("", tc.src, Options{})
		if err == nil {
			t.Errorf("Parse(%q): no error, want %s", tc.src, tc.kind)
			continue
		}
		e := err.(*Error)
		if e.FullKind() != tc.kind || e.Message != tc.msg || e.Pos != (Pos{tc.line, tc.col}) {
			t.Errorf("Parse(%q):\n got  %s %q %v\n want %s %q %v", tc.src, e.FullKind(), e.Message, e.Pos,
				tc.kind, tc.msg, Pos{tc.line, tc.col})
		}
	}
}

func TestParseExpression(t *testing.T) {
	x, err := ParseExpression("", "2 + (10 + 10) * 2", Options{})
	if err != nil || dump(x) != "(+ 2 (* (+ 10 10) 2))" {
		t.Fatalf("got %v %v", dump(x), err)
	}
	for _, src := range []string{"40 + 2;", "let x = 42", "1 2"} {
		if _, err := ParseExpression("", src, Options{}); err == nil {
			t.Errorf("ParseExpression(%q) succeeded", src)
		}
	}
}

func TestPositions(t *testing.T) {
	s, err := Parse("m", "let s = \"αβ\" + x;\nfoo.bar(1)[2]", Options{})
	if err != nil {
		t.Fatal(err)
	}
	bin := s.Stmts[0].(*LetStmt).Value.(*BinaryExpr)
	if bin.Pos != (Pos{1, 14}) || bin.R.Position() != (Pos{1, 16}) {
		t.Errorf("binary at %v, rhs at %v", bin.Pos, bin.R.Position())
	}
	idx := s.Stmts[1].(*ExprStmt).X.(*IndexExpr)
	call := idx.X.(*MethodCallExpr)
	if idx.Pos != (Pos{2, 11}) || call.Pos != (Pos{2, 5}) {
		t.Errorf("index at %v, method at %v", idx.Pos, call.Pos)
	}
	s, err = Parse("m", "/// adds\nfn add(a, b) { a + b }", Options{})
	if err != nil || s.Fns[0].Doc != "/// adds" || s.Fns[0].Pos != (Pos{2, 1}) {
		t.Errorf("fn doc %q at %v (%v)", s.Fns[0].Doc, s.Fns[0].Pos, err)
	}
}

func TestDepthLimits(t *testing.T) {
	// Functions get the smaller limit; a parenthesis costs two levels, as a
	// nested call does in Rhai.
	body := strings.Repeat("(", 25) + "1" + strings.Repeat(")", 25)
	if _, err := Parse("", "let x = "+body+";", Options{}); err != nil {
		t.Errorf("global nesting 25: %v", err)
	}
	if _, err := Parse("", "fn f() { "+body+" }", Options{}); err == nil || err.(*Error).Kind != "ExprTooDeep" {
		t.Errorf("fn nesting 25: %v", err)
	}
	if _, err := Parse("", "fn f() { "+body+" }", Options{MaxFnExprDepth: 200}); err != nil {
		t.Errorf("fn nesting 25 with limit 200: %v", err)
	}
	// A long else-if ladder or operator chain is not deep.
	ladder := "fn f(x) { if x == 0 { 0 }" + strings.Repeat(" else if x == 1 { 1 }", 500) + " }"
	if _, err := Parse("", ladder, Options{}); err != nil {
		t.Errorf("else-if ladder: %v", err)
	}
	chain := "1" + strings.Repeat(" + 1", 100000)
	if _, err := Parse("", chain, Options{}); err != nil {
		t.Errorf("long chain: %v", err)
	}
}

// TestHostileNesting feeds pathological inputs: each must fail fast, never
// overflow the stack.
func TestHostileNesting(t *testing.T) {
	const n = 1000000
	inputs := map[string]string{
		"parens":    strings.Repeat("(", n) + "1" + strings.Repeat(")", n),
		"unary":     strings.Repeat("- ", n) + "1",
		"not":       strings.Repeat("!", n) + "x",
		"arrays":    strings.Repeat("[", n),
		"maps":      strings.Repeat("#{a:", n),
		"blocks":    strings.Repeat("{", n),
		"ifs":       strings.Repeat("if x {", n),
		"closures":  strings.Repeat("|| ", n) + "1",
		"calls":     strings.Repeat("f(", n),
		"index":     "a" + strings.Repeat("[a", n),
		"power":     "1" + strings.Repeat(" ** 1", n),
		"interp":    strings.Repeat("`${", n),
		"ranges":    strings.Repeat("..", n),
		"switches":  strings.Repeat("switch x { 1 => ", n),
		"fn-parens": "fn f() { " + strings.Repeat("(", n),
	}
	for name, src := range inputs {
		start := time.Now()
		_, err := Parse("", src, Options{MaxExprDepth: 1 << 30, MaxFnExprDepth: 1 << 30})
		if err == nil {
			t.Errorf("%s: parsed", name)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: took %v", name, d)
		}
		_, err = Parse("", src, Options{})
		if err == nil {
			t.Errorf("%s: parsed with default limits", name)
		}
	}
}
