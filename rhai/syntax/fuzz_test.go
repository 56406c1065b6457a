package syntax

import (
	"strings"
	"testing"

	"github.com/picloud/picloud/rhai/internal/corpus"
)

// FuzzParse checks that the parser never panics and that every failure is an
// *Error with a position inside the source.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"let x = 1 + 2 * 3; x", "fn f(a) { a.b[1] += 2 } f(1)", "`a${`b${1}`}c`",
		"switch x { 1 | 2 => 3, 4..=5 if y => 6, _ => 7 }", "#{a: [1, 2], \"b\": 'c'}",
		"try { throw 1 } catch (e) { e }", "|x| x ?? break", "-0x10", "0b102", "'\\u{1}'",
		"/* /* */", "x.y?.z?[0]", "import \"m\" as m; m::f(1)", "do { } until x", "..",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	// Every corpus script (and module file) is a seed too, read in place.
	if dir := corpus.Dir(2); corpus.Available(dir) {
		for _, src := range corpus.Scripts(corpus.Load(f, dir)) {
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		lines := int32(strings.Count(src, "\n") + 1)
		for _, expr := range []bool{false, true} {
			var err error
			if expr {
				_, err = ParseExpression("f", src, Options{})
			} else {
				_, err = Parse("f", src, Options{})
			}
			if err == nil {
				continue
			}
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if e.Kind == "InternalError" {
				t.Fatalf("internal error on %q: %v", src, e)
			}
			if e.Pos.Line < 1 || e.Pos.Line > lines || e.Pos.Col < 1 {
				t.Fatalf("error position %v outside the source (%d lines): %v", e.Pos, lines, e)
			}
		}
	})
}

// BenchmarkParse parses a 200-line script.
func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 20; i++ {
		sb.WriteString(`fn calc_` + string(rune('a'+i)) + `(x, y) {
    let total = 0;
    for i in 0..x { if i % 2 == 0 { total += i * y; } else { total -= 1; } }
    let m = #{a: [1, 2, 3], "b": "text ${x}", c: 'z'};
    switch total { 0 => "zero", 1..=10 => "small", _ => ` + "`big ${total}`" + ` }
}
let v_` + string(rune('a'+i)) + ` = calc_` + string(rune('a'+i)) + `(10, 3);
print(v_` + string(rune('a'+i)) + `.to_string() + "!");
let arr = [1, 2, 3].map(|x| x * 2).filter(|x| x > 2);
try { throw arr[0]; } catch (e) { print(e); }
`)
	}
	src := sb.String()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Parse("bench", src, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
