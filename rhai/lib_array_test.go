package rhai

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// collCall calls the native fn registered by reg through a Module, as the
// engine would, without an evaluation behind the Context. Mut functions write
// their first argument back into args[0].
func collCall(t *testing.T, reg func(*Module), name string, args ...Value) (Value, error) {
	t.Helper()
	m := NewModule()
	reg(m)
	f := m.lookup(name, args)
	if f == nil {
		t.Fatalf("no native %s for %d args", name, len(args))
	}
	return f.fn(&Context{}, args)
}

// collShow is a compact debug form used by these tests (independent of the
// formatting code): ints, floats, "strings", 'c', arrays, #{maps}, blobs.
func collShow(v Value) string {
	switch v.Type() {
	case TypeUnit:
		return "()"
	case TypeBool:
		return strconv.FormatBool(v.AsBool())
	case TypeInt, TypeU8:
		return strconv.FormatInt(int64(v.n), 10)
	case TypeFloat:
		return strconv.FormatFloat(v.AsFloat(), 'g', -1, 64)
	case TypeChar:
		return "'" + string(v.AsChar()) + "'"
	case TypeString:
		return strconv.Quote(v.AsString())
	case TypeArray:
		var parts []string
		for _, e := range v.AsArray().Items {
			parts = append(parts, collShow(e))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case TypeMap:
		mp := v.AsMap()
		var parts []string
		for _, k := range mp.SortedKeys() {
			parts = append(parts, strconv.Quote(k)+": "+collShow(mp.M[k]))
		}
		return "#{" + strings.Join(parts, ", ") + "}"
	case TypeBlob:
		var sb strings.Builder
		sb.WriteByte('<')
		for _, b := range v.AsBlob().B {
			sb.WriteString(strconv.FormatInt(int64(b), 16))
			sb.WriteByte(' ')
		}
		return strings.TrimSpace(sb.String()) + ">"
	case TypeRange, TypeRangeInclusive:
		return rangeText(v)
	}
	return v.TypeName()
}

func ints(xs ...int64) Value {
	items := make([]Value, len(xs))
	for i, x := range xs {
		items[i] = Int(x)
	}
	return NewArray(items)
}

type collCase struct {
	name   string
	args   []Value
	result string // collShow of the result
	arg0   string // collShow of args[0] afterwards ("" = not checked)
	errMsg string // error message expected
}

func runCollCases(t *testing.T, reg func(*Module), cases []collCase) {
	t.Helper()
	for i, tc := range cases {
		v, err := collCall(t, reg, tc.name, tc.args...)
		if tc.errMsg != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errMsg) {
				t.Errorf("#%d %s: error %v, want %q", i, tc.name, err, tc.errMsg)
			}
			continue
		}
		if err != nil {
			t.Errorf("#%d %s: unexpected error %v", i, tc.name, err)
			continue
		}
		if got := collShow(v); got != tc.result {
			t.Errorf("#%d %s: result %s, want %s", i, tc.name, got, tc.result)
		}
		if tc.arg0 != "" {
			if got := collShow(tc.args[0]); got != tc.arg0 {
				t.Errorf("#%d %s: arg0 %s, want %s", i, tc.name, got, tc.arg0)
			}
		}
	}
}

func TestArrayNatives(t *testing.T) {
	s := String
	cases := []collCase{
		{name: "len", args: []Value{ints(1, 2)}, result: "2"},
		{name: "get$len", args: []Value{ints()}, result: "0"},
		{name: "is_empty", args: []Value{ints()}, result: "true"},
		{name: "push", args: []Value{ints(1), s("two")}, result: "()", arg0: `[1, "two"]`},
		{name: "append", args: []Value{ints(1), ints(2, 3)}, result: "()", arg0: "[1, 2, 3]"},
		{name: "+=", args: []Value{ints(1), Int(5)}, result: "()", arg0: "[1, 5]"},
		{name: "+=", args: []Value{ints(1), ints(5, 6)}, result: "()", arg0: "[1, 5, 6]"},
		{name: "+", args: []Value{ints(1, 2), ints(3)}, result: "[1, 2, 3]", arg0: "[1, 2]"},
		{name: "==", args: []Value{ints(1, 2), ints(1, 2)}, result: "true"},
		{name: "!=", args: []Value{ints(1, 2), ints(1)}, result: "true"},
		{name: "insert", args: []Value{ints(1, 2, 3), Int(-1), s("x")}, arg0: `[1, 2, "x", 3]`, result: "()"},
		{name: "insert", args: []Value{ints(1, 2), Int(-10), Int(0)}, arg0: `[0, 1, 2]`, result: "()"},
		{name: "insert", args: []Value{ints(1, 2), Int(100), Int(9)}, arg0: `[1, 2, 9]`, result: "()"},
		{name: "pop", args: []Value{ints(1, 2)}, result: "2", arg0: "[1]"},
		{name: "pop", args: []Value{ints()}, result: "()"},
		{name: "shift", args: []Value{ints(1, 2, 3)}, result: "1", arg0: "[2, 3]"},
		{name: "shift", args: []Value{ints()}, result: "()"},
		{name: "remove", args: []Value{ints(7, 10, -16, 255, 596), Int(-4)}, result: "10", arg0: "[7, -16, 255, 596]"},
		{name: "remove", args: []Value{ints(1, 2), Int(5)}, result: "()", arg0: "[1, 2]"},
		{name: "remove", args: []Value{ints(1, 2), Int(-3)}, result: "()", arg0: "[1, 2]"},
		{name: "remove", args: []Value{ints(1, 2), Int(-2)}, result: "1", arg0: "[2]"},
		{name: "remove", args: []Value{ints(), Int(-3)}, result: "()", arg0: "[]"},
		{name: "get", args: []Value{NewArray([]Value{String("hello")}), Int(-3)}, result: `"hello"`},
		{name: "get", args: []Value{ints(), Int(-1)}, result: "()"},
		{name: "extract", args: []Value{ints(1, 2, 3, 4, 5), NewRange(3, 1, true)}, result: "[4]"},
		{name: "extract", args: []Value{ints(1, 2, 3, 4, 5), NewRange(0, 3, true)}, result: "[1, 2, 3, 4]"},
		{name: "clear", args: []Value{ints(1, 2)}, result: "()", arg0: "[]"},
		{name: "truncate", args: []Value{ints(1, 2, 3, 4), Int(2)}, result: "()", arg0: "[1, 2]"},
		{name: "truncate", args: []Value{ints(1, 2), Int(-1)}, result: "()", arg0: "[]"},
		{name: "chop", args: []Value{ints(1, 2, 3, 4, 5), Int(2)}, result: "()", arg0: "[4, 5]"},
		{name: "chop", args: []Value{ints(1, 2), Int(5)}, result: "()", arg0: "[1, 2]"},
		{name: "reverse", args: []Value{NewArray([]Value{Int(1), s("b"), Float(3)})}, result: "()", arg0: `[3, "b", 1]`},
		{name: "pad", args: []Value{ints(1), Int(4), Int(0)}, result: "()", arg0: "[1, 0, 0, 0]"},
		{name: "pad", args: []Value{ints(1, 2), Int(1), Int(0)}, result: "()", arg0: "[1, 2]"},
		{name: "get", args: []Value{ints(10, -7), Int(-1)}, result: "-7"},
		{name: "get", args: []Value{ints(10, -7), Int(5)}, result: "()"},
		{name: "set", args: []Value{ints(1, 2), Int(-1), Int(9)}, result: "()", arg0: "[1, 9]"},
		{name: "set", args: []Value{ints(1, 2), Int(2), Int(9)}, result: "()", arg0: "[1, 2]"},
		{name: "extract", args: []Value{ints(0, 1, 2, 3, 4), Int(2)}, result: "[2, 3, 4]"},
		{name: "extract", args: []Value{ints(0, 1, 2, 3, 4), Int(1), Int(2)}, result: "[1, 2]"},
		{name: "extract", args: []Value{ints(0, 1, 2, 3, 4), Int(-2)}, result: "[3, 4]"},
		{name: "extract", args: []Value{ints(0, 1, 2, 3, 4), Int(1), Int(0)}, result: "[]"},
		{name: "extract", args: []Value{ints(1, 2, 3, 4, 5), NewRange(3, 3, true)}, result: "[4]"},
		{name: "extract", args: []Value{ints(1, 2, 3, 4, 5), NewRange(1, 7, false)}, result: "[2, 3, 4, 5]"},
		{name: "extract", args: []Value{ints(1, 2, 3, 4, 5), NewRange(3, 1, false)}, result: "[]"},
		{name: "extract", args: []Value{ints(1), Int(-2), Int(4)}, result: "[1]"},
		{name: "split", args: []Value{ints(1, 2, 3, 4, 5), Int(2)}, result: "[3, 4, 5]", arg0: "[1, 2]"},
		{name: "split", args: []Value{ints(1, 2, 3, 4, 5), Int(-1)}, result: "[5]", arg0: "[1, 2, 3, 4]"},
		{name: "split", args: []Value{ints(1, 2), Int(9)}, result: "[]", arg0: "[1, 2]"},
		{name: "drain", args: []Value{ints(0, 1, 2, 3, 4), NewRange(1, 3, true)}, result: "[1, 2, 3]", arg0: "[0, 4]"},
		{name: "drain", args: []Value{ints(0, 1, 2, 3, 4), Int(1), Int(2)}, result: "[1, 2]", arg0: "[0, 3, 4]"},
		{name: "retain", args: []Value{ints(0, 1, 2, 3, 4), NewRange(2, 4, false)}, result: "[0, 1, 4]", arg0: "[2, 3]"},
		{name: "retain", args: []Value{ints(0, 1, 2, 3, 4), Int(1), Int(1)}, result: "[0, 2, 3, 4]", arg0: "[1]"},
		{name: "splice", args: []Value{ints(1, 2, 3, 4), Int(1), Int(2), NewArray([]Value{s("x"), s("y"), s("z")})}, result: "()", arg0: `[1, "x", "y", "z", 4]`},
		{name: "splice", args: []Value{ints(1, 2, 3, 4), NewRange(0, 1, true), ints()}, result: "()", arg0: "[3, 4]"},
		{name: "splice", args: []Value{ints(1, 4), Int(1), Int(0), ints(2, 3)}, result: "()", arg0: "[1, 2, 3, 4]"},
		{name: "splice", args: []Value{ints(1, 2), Int(10), Int(3), ints(9)}, result: "()", arg0: "[1, 2, 9]"},
		{name: "contains", args: []Value{NewArray([]Value{Int(1), s("x"), Char('c'), Float(2.5)}), s("x")}, result: "true"},
		{name: "contains", args: []Value{NewArray([]Value{Int(1), s("x")}), Char('x')}, result: "true"},
		{name: "contains", args: []Value{ints(10, 430), Int(2)}, result: "false"},
		{name: "contains", args: []Value{NewArray([]Value{ints(1, 2)}), ints(1, 2)}, result: "true"},
		{name: "index_of", args: []Value{ints(5, 6, 7, 6), Int(6)}, result: "1"},
		{name: "index_of", args: []Value{ints(5, 6, 7, 6), Int(6), Int(2)}, result: "3"},
		{name: "index_of", args: []Value{ints(5, 6, 7, 6), Int(9)}, result: "-1"},
		{name: "index_of", args: []Value{ints(5, 6, 7, 6), Int(6), Int(-1)}, result: "3"},
		{name: "index_of", args: []Value{ints(5, 6), Int(6), Int(9)}, result: "-1"},
		{name: "index_of", args: []Value{NewArray([]Value{s("a"), s("b")}), s("b")}, result: "1"},
		{name: "dedup", args: []Value{ints(1, 1, 2, 2, 2, 1, 3, 3)}, result: "()", arg0: "[1, 2, 1, 3]"},
		{name: "sort", args: []Value{ints(3, -1, 10, 2)}, result: "()", arg0: "[-1, 2, 3, 10]"},
		{name: "sort", args: []Value{NewArray([]Value{s("pear"), s("Apple"), s("banana")})}, result: "()", arg0: `["Apple", "banana", "pear"]`},
		{name: "sort", args: []Value{NewArray([]Value{Bool(true), Bool(false), Bool(true)})}, result: "()", arg0: `[false, true, true]`},
		{name: "sort", args: []Value{NewArray([]Value{Char('z'), Char('a')})}, result: "()", arg0: `['a', 'z']`},
		{name: "sort", args: []Value{NewArray([]Value{Float(2.5), Float(-1), Float(0.1)})}, result: "()", arg0: `[-1, 0.1, 2.5]`},
		{name: "sort", args: []Value{NewArray([]Value{Int(1), s("x")})}, errMsg: "Function not found: elements of different types cannot be sorted"},
		{name: "sort", args: []Value{NewArray([]Value{Int(1), Float(1)})}, errMsg: "elements of different types cannot be sorted"},
		{name: "sort_desc", args: []Value{ints(3, 1, 2)}, result: "()", arg0: "[3, 2, 1]"},
		{name: "order", args: []Value{ints(3, 1, 2)}, result: "[1, 2, 3]", arg0: "[3, 1, 2]"},
		{name: "order_desc", args: []Value{ints(5, 9, 1)}, result: "[9, 5, 1]"},
		{name: "zip", args: []Value{ints(1, 2, 3), ints(10, 20)}, result: "[[1, 10], [2, 20]]"},
	}
	runCollCases(t, stdArray, cases)
}

// TestArrayPushClones: a pushed array is a copy: changing the original
// afterwards must not change the element.
func TestArrayPushClones(t *testing.T) {
	inner := ints(1)
	outer := ints()
	if _, err := collCall(t, stdArray, "push", outer, inner); err != nil {
		t.Fatal(err)
	}
	inner.AsArray().Items[0] = Int(99)
	if got := collShow(outer); got != "[[1]]" {
		t.Fatalf("got %s", got)
	}
}

func TestArrayPushAmortised(t *testing.T) {
	m := NewModule()
	stdArray(m)
	arr := ints()
	args := []Value{arr, Int(1)}
	f := m.lookup("push", args)
	c := &Context{}
	allocs := testing.AllocsPerRun(1000, func() {
		args[0] = arr
		if _, err := f.fn(c, args); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0.1 {
		t.Fatalf("push allocates %.2f times per call", allocs)
	}
}

func BenchmarkArrayPush(b *testing.B) {
	m := NewModule()
	stdArray(m)
	c := &Context{}
	for i := 0; i < b.N; i++ {
		arr := ints()
		args := []Value{arr, Int(0)}
		f := m.lookup("push", args)
		for k := 0; k < 1000; k++ {
			args[1] = Int(int64(k))
			f.fn(c, args)
		}
	}
}

// checkLibTable checks a library table: no entry replaces another (same name
// and parameter types), so every overload written in it is reachable, and reg
// registers exactly the table's entries (and the getters of its properties).
func checkLibTable(t *testing.T, fns []libFn, reg func(*Module)) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range fns {
		names := []string{f.name}
		if f.prop {
			names = append(names, "get$"+f.name)
		}
		for _, name := range names {
			key := fmt.Sprint(name, f.params)
			if seen[key] {
				t.Errorf("%s is registered twice", key)
			}
			seen[key] = true
		}
	}
	m := NewModule()
	reg(m)
	n := 0
	for name, list := range m.fns {
		for _, f := range list {
			if !seen[fmt.Sprint(name, f.params)] {
				t.Errorf("%s%v is registered but not in the table", name, f.params)
			}
			n++
		}
	}
	if n != len(seen) {
		t.Errorf("%d functions registered, the table has %d", n, len(seen))
	}
}

// TestArrayFnsTable: the array table registers every overload it lists, the
// callback functions once for a function pointer and once for a name.
func TestArrayFnsTable(t *testing.T) {
	checkLibTable(t, arrayFns(), stdArray)
	byPtr, byName := arrayCallbackFns(TypeFnPtr), arrayCallbackFns(TypeString)
	if len(byPtr) != len(byName) || len(byPtr) == 0 {
		t.Fatalf("callback tables: %d and %d entries", len(byPtr), len(byName))
	}
	for i := range byPtr {
		if byPtr[i].name != byName[i].name || !slices.Contains(byPtr[i].params, TypeFnPtr) || !slices.Contains(byName[i].params, TypeString) {
			t.Errorf("callback entry %d: %s%v and %s%v", i, byPtr[i].name, byPtr[i].params, byName[i].name, byName[i].params)
		}
	}
}
