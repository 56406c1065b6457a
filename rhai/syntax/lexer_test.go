package syntax

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// lexAll returns a compact rendering of the tokens of src, up to EOF or the
// first error.
func lexAll(src string) string {
	l := newLexer("", src)
	var out []string
	for {
		t := l.next()
		switch t.kind {
		case EOF:
			return strings.Join(out, " ")
		case tokError:
			out = append(out, "ERR:"+t.err.FullKind()+":"+t.err.Error())
			return strings.Join(out, " ")
		case INT:
			out = append(out, fmt.Sprintf("i%d", t.ival))
		case FLOAT:
			out = append(out, fmt.Sprintf("f%v", t.fval))
		case STRING:
			out = append(out, fmt.Sprintf("s%q", t.text))
		case CHAR:
			out = append(out, fmt.Sprintf("c%q", rune(t.ival)))
		case BACKTICK:
			out = append(out, fmt.Sprintf("b%d%q", t.interp, t.text))
		case IDENT:
			out = append(out, "id:"+t.text)
		case tokReserved:
			out = append(out, "R:"+t.text)
		case tokNotIn:
			out = append(out, "!in")
		default:
			out = append(out, t.kind.String())
		}
	}
}

func TestLexer(t *testing.T) {
	tests := []struct{ src, want string }{
		// Numbers.
		{"123 0x1F 0o17 0b101 1_000", "i123 i31 i15 i5 i1000"},
		{"007", "i7"},
		{"0xffffffffffffffff", "i-1"},
		{"9223372036854775808", "f9.223372036854776e+18"},
		{"1.5 1e10 1.5e-3 1_000.5 2.5E2", "f1.5 f1e+10 f0.0015 f1000.5 f250"},
		{"1.abs()", "i1 . id:abs ( )"},
		{"1..5 1..=5", "i1 .. i5 i1 ..= i5"},
		{"0b102", "i2 i2"},
		{"0o78", "i7 i8"},
		{"123.456e1.23", "f1234.56 . i23"},
		// Negative literals are folded where a prefix minus is possible.
		{"-5 x -1 x-1 (-2)", "i-5 id:x - i1 id:x - i1 ( i-2 )"},
		{"-9223372036854775808", fmt.Sprintf("i%d", int64(math.MinInt64))},
		{"- 0x10", "- i16"},
		{"-0x10", "ERR:BadInput/MalformedNumber:Invalid number: 'x10' (line 1, position 1)"},
		{"let x = 0x;", "let id:x = ERR:BadInput/MalformedNumber:Invalid number: '' (line 1, position 9)"},
		// Identifiers and keywords.
		{"_x x_ _ abc9", "id:_x id:x_ _ id:abc9"},
		{"let const fn this global", "let const fn this global"},
		{"var async exit", "R:var R:async R:exit"},
		{"let _1 = 0;", "let ERR:BadInput/MalformedIdentifier:Variable name is not proper: '_1' (line 1, position 5)"},
		{"café", "id:caf ERR:BadInput/UnexpectedInput:Unexpected 'é' (line 1, position 4)"},
		// Strings.
		{`"a\tb\n\\\"\'"`, `s"a\tb\n\\\"'"`},
		{`"\x41\u00e9\U0001F600"`, `s"Aé😀"`},
		{"\"one \\\n    two\"", `s"one    two"`}, // indentation skipped up to the quote's column
		{"  \"one \\\n    two\"", `s"one  two"`},
		{`"say ""hi"""`, `s"say \"hi\""`},
		{`"\q"`, `ERR:BadInput/MalformedEscapeSequence:Invalid escape sequence: '\q' (line 1, position 3)`},
		{`"a\u{41}"`, `ERR:BadInput/MalformedEscapeSequence:Invalid escape sequence: '\u{' (line 1, position 5)`},
		{`"\0"`, `ERR:BadInput/MalformedEscapeSequence:Invalid escape sequence: '\0' (line 1, position 3)`},
		{"let s = \"abc\n\";", "let id:s = ERR:BadInput/UnterminatedString:Open string is not terminated (line 1, position 9)"},
		{`#"raw \n"# ##"has "# in"##`, `s"raw \\n" s"has \"# in"`},
		// Back-tick strings and interpolation.
		{"`a\\n`", `b0"a\\n"`},
		{"`\nx`", `b0"x"`},
		{"`a``b`", `b0"a` + "`" + `b"`},
		{"`$5 ${x} y`", `b2"$5 " id:x b1" y"`},
		{"`a${ `b${1}` }c`", `b2"a" b2"b" i1 b1"" b1"c"`},
		{"`${#{a: 1}}`", `b2"" #{ id:a : i1 } b1""`},
		{"`abc", "ERR:BadInput/UnterminatedString:Open string is not terminated (line 1, position 1)"},
		// Characters.
		{`'a' '\n' '\x41' '😀'`, `c'a' c'\n' c'A' c'😀'`},
		{"let c = '';", "let id:c = ERR:BadInput/MalformedChar:Invalid character: '' (line 1, position 9)"},
		{"'ab'", "ERR:BadInput/MalformedChar:Invalid character: 'ab' (line 1, position 1)"},
		// Operators and reserved symbols.
		{"+ += - -= * *= ** **= / /= % %= << <<= >> >>= & &= | |= ^ ^= && ||",
			"+ += - -= * *= ** **= / /= % %= << <<= >> >>= & &= | |= ^ ^= && ||"},
		{"== != < <= > >= = => ?? ?. ?[ . .. ..= , ; : :: ( ) [ ] { } #{ !",
			"== != < <= > >= = => ?? ?. ?[ . .. ..= , ; : :: ( ) [ ] { } #{ !"},
		{"a !in b !inner", "id:a !in id:b ! id:inner"},
		{"x++ ?  === !== -> <- := ::< ... @ $ ~ # #!", "id:x R:++ R:? R:=== R:!== R:-> R:<- R::= R:::< R:... R:@ R:$ R:~ R:# R:#!"},
		{`\`, `ERR:BadInput/UnexpectedInput:Unexpected '\' (line 1, position 1)`},
		// Comments.
		{"1 // c\n2 /* a /* b */ c */ 3", "i1 i2 i3"},
		{"1 /* never closed", "i1"},
	}
	for _, tc := range tests {
		if got := lexAll(tc.src); got != tc.want {
			t.Errorf("lex %q:\n got  %s\n want %s", tc.src, got, tc.want)
		}
	}
}

func TestLexerPositions(t *testing.T) {
	l := newLexer("", "let é = 1;")
	_ = l.next()
	if tk := l.next(); tk.kind != tokError || tk.pos != (Pos{1, 5}) {
		t.Fatalf("got %+v", tk)
	}
	// Columns count characters, not bytes.
	l = newLexer("", "\"αβγ\" +\n  x")
	want := []Pos{{1, 1}, {1, 7}, {2, 3}}
	for i, w := range want {
		if tk := l.next(); tk.pos != w {
			t.Errorf("token %d at %v, want %v", i, tk.pos, w)
		}
	}
	// EOF sits after the last character.
	if tk := l.next(); tk.kind != EOF || tk.pos != (Pos{2, 4}) {
		t.Errorf("EOF at %v", tk.pos)
	}
}

func TestLexerDocComments(t *testing.T) {
	l := newLexer("", "/// one\n/// two\nfn f() {}\n// plain\n/** block */ fn g() {}")
	tk := l.next()
	if tk.kind != KwFn || tk.doc != "/// one\n/// two" {
		t.Errorf("doc %q on %v", tk.doc, tk.kind)
	}
	for tk.kind != EOF && !(tk.kind == KwFn && tk.pos.Line == 5) {
		tk = l.next()
	}
	if tk.doc != "/** block */" {
		t.Errorf("block doc %q", tk.doc)
	}
}
