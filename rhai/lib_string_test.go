package rhai

import (
	"fmt"
	"testing"
)

// callStd calls a standard-library native by name; it returns the result's host
// debug form (or "ERR:message") and args[0] after the call (for Mut methods).
func callStd(t *testing.T, name string, args ...Value) (string, Value) {
	t.Helper()
	m := NewModule()
	stdString(m)
	stdMath(m)
	f := m.lookup(name, args)
	if f == nil {
		return "NOTFOUND", Unit
	}
	v, err := f.fn(&Context{}, args)
	if err != nil {
		return "ERR:" + err.(*Error).Message, args[0]
	}
	return v.DebugString(), args[0]
}

func TestStringFunctions(t *testing.T) {
	S, I, C := String, Int, Char
	cases := []struct {
		name string
		args []Value
		want string
		self string // host debug of args[0] afterwards, when set
	}{
		{"len", []Value{S("héllo wörld 😀")}, "13", ""},
		{"bytes", []Value{S("😀")}, "4", ""},
		{"get", []Value{S("abc"), I(-1)}, "'c'", ""},
		{"get", []Value{S("abc"), I(3)}, "()", ""},
		{"get", []Value{S("abc"), I(-4)}, "()", ""},
		{"pad", []Value{S("ab"), I(5), C('*')}, "()", `"ab***"`},
		{"pad", []Value{S("ab"), I(7), S("xy")}, "()", `"abxyxyx"`},
		{"pad", []Value{S("abcdef"), I(3), C('-')}, "()", `"abcdef"`},
		{"append", []Value{S("x"), NewArray([]Value{I(1)})}, "()", `"x[1]"`},
		{"remove", []Value{S("one two one"), S("one")}, "()", `" two "`},
		{"pop", []Value{S("hello")}, "'o'", `"hell"`},
		{"pop", []Value{S("hello"), I(3)}, `"llo"`, `"he"`},
		{"pop", []Value{S("hi"), I(10)}, `"hi"`, `""`},
		{"truncate", []Value{S("héllo"), I(2)}, "()", `"hé"`},
		{"truncate", []Value{S("abc"), I(10)}, "()", `"abc"`},
		{"to_upper", []Value{C('a')}, "'A'", ""},
		{"to_upper", []Value{C('ß')}, "'ß'", ""},
		{"to_lower", []Value{C('İ')}, "'İ'", ""},
		{"to_upper", []Value{S("straße")}, `"STRASSE"`, ""},
		{"trim", []Value{S("  \t padded \n ")}, "()", `"padded"`},
		{"index_of", []Value{S("banana"), S("an")}, "1", ""},
		{"index_of", []Value{S("banana"), C('n')}, "2", ""},
		{"index_of", []Value{S("banana"), S("an"), I(2)}, "3", ""},
		{"index_of", []Value{S("banana"), S("an"), I(-3)}, "3", ""},
		{"index_of", []Value{S("banana"), S("an"), I(100)}, "-1", ""},
		{"index_of", []Value{S("日本語テキスト"), S("テ")}, "3", ""},
		{"index_of", []Value{S("abc"), S("")}, "0", ""},
		{"sub_string", []Value{S("abcdefgh"), I(-3), I(2)}, `"fg"`, ""},
		{"sub_string", []Value{S("abcdefgh"), I(2), I(0)}, `""`, ""},
		{"sub_string", []Value{S("abc"), I(10), I(2)}, `""`, ""},
		{"sub_string", []Value{S("abcdefgh"), NewRange(1, 4, false)}, `"bcd"`, ""},
		{"sub_string", []Value{S("abcdefgh"), NewRange(1, 4, true)}, `"bcde"`, ""},
		{"sub_string", []Value{S("añbñc"), I(1), I(3)}, `"ñbñ"`, ""},
		{"sub_string", []Value{S("banana"), NewRange(-1, 1, false)}, `"b"`, ""},
		{"index$get", []Value{S("hello"), NewRange(2, 100, false)}, `"llo"`, ""},
		{"index$get", []Value{S("banana"), I(-1)}, "'a'", ""},
		{"index$get", []Value{S("hello"), NewRange(1, -1, false)}, `"ell"`, ""},
		{"index$get", []Value{S("back"), NewRange(1, 1, true)}, `""`, ""},
		{"index$get", []Value{S("  padded  "), NewRange(1, 6, true)}, `" padde"`, ""},
		{"index$set", []Value{S("hello"), NewRange(1, 3, false), S("iii")}, "()", `"hiiilo"`},
		{"index$set", []Value{S("hello"), NewRange(1, 2, true), S("llo")}, "()", `"hllolo"`},
		{"sub_string", []Value{S("ünïcödé"), NewRange(4, 0, true)}, `"ö"`, ""},
		{"split", []Value{S("ünïcödé"), I(0)}, `["ünïcödé", ""]`, ""},
		{"index$get", []Value{S("日本語"), I(8)}, "ERR:String index 8 out of bounds: only 3 characters in string", ""},
		{"split", []Value{S("  split   these words ")}, `["split", "these", "words"]`, ""},
		{"split", []Value{S("a,b,,c"), S(",")}, `["a", "b", "", "c"]`, ""},
		{"split", []Value{S("a:b:c:d"), S(":"), I(2)}, `["a", "b:c:d"]`, ""},
		{"split", []Value{S("abc"), S("")}, `["", "a", "b", "c", ""]`, ""},
		{"split", []Value{S("abc"), S(""), I(2)}, `["", "abc"]`, ""},
		{"split", []Value{S("abcdef"), I(2)}, `["ab", "cdef"]`, ""},
		{"split_rev", []Value{S("a/b/c"), S("/")}, `["c", "b", "a"]`, ""},
		{"split_rev", []Value{S("a/b/c"), S("/"), I(2)}, `["c", "a/b"]`, ""},
		{"crop", []Value{S("0123456789"), I(-3)}, "()", `"789"`},
		{"crop", []Value{S("0123456789"), I(7)}, "()", `"789"`},
		{"replace", []Value{S("the cat sat"), S("at"), S("og")}, "()", `"the cog sog"`},
		{"replace", []Value{S("a-b-c"), C('-'), C('+')}, "()", `"a+b+c"`},
		{"min", []Value{S("pear"), S("apple")}, `"apple"`, ""},
		{"max", []Value{C('x'), C('b')}, "'x'", ""},
		{"to_debug", []Value{S("s")}, `"\"s\""`, ""},
		{"to_debug", []Value{C('c')}, `"c"`, ""},
		{"to_string", []Value{Float(1e3)}, `"1000.0"`, ""},
		{"to_int", []Value{C('0')}, "48", ""},
		{"to_chars", []Value{S("a🎉b")}, `['a', '🎉', 'b']`, ""},
	}
	for _, c := range cases {
		got, self := callStd(t, c.name, c.args...)
		if got != c.want {
			t.Errorf("%s%v: got %s want %s", c.name, c.args, got, c.want)
		}
		if c.self != "" && self.DebugString() != c.self {
			t.Errorf("%s%v: self %s want %s", c.name, c.args, self.DebugString(), c.self)
		}
	}
}

// TestStringFnsDistinct: no entry of the string table replaces another (same
// name and parameter types), so every overload written in it is reachable.
func TestStringFnsDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range stringFns {
		for _, name := range []string{f.name, "get$" + f.name} {
			if name != f.name && !f.prop {
				continue
			}
			key := fmt.Sprint(name, f.params)
			if seen[key] {
				t.Errorf("%s is registered twice", key)
			}
			seen[key] = true
		}
	}
	m := NewModule()
	stdString(m)
	n := 0
	for _, list := range m.fns {
		n += len(list)
	}
	if n != len(seen) {
		t.Errorf("stdString registers %d functions, the table has %d", n, len(seen))
	}
}
