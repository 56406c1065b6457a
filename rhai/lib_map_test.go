package rhai

import "testing"

func mapOf(kv ...any) Value {
	m := make(map[string]Value)
	for i := 0; i < len(kv); i += 2 {
		v, err := FromGo(kv[i+1])
		if err != nil {
			panic(err)
		}
		m[kv[i].(string)] = v
	}
	return NewMap(m)
}

func TestMapNatives(t *testing.T) {
	s := String
	cases := []collCase{
		{name: "len", args: []Value{mapOf("a", 1, "b", 2)}, result: "2"},
		{name: "is_empty", args: []Value{mapOf()}, result: "true"},
		{name: "contains", args: []Value{mapOf("key", nil), s("key")}, result: "true"},
		{name: "contains", args: []Value{mapOf("key", nil), s("other")}, result: "false"},
		{name: "get", args: []Value{mapOf("a", 1), s("a")}, result: "1"},
		{name: "get", args: []Value{mapOf("a", 1), s("b")}, result: "()"},
		{name: "set", args: []Value{mapOf("a", 1), s("b"), Int(2)}, result: "()", arg0: `#{"a": 1, "b": 2}`},
		{name: "remove", args: []Value{mapOf("a", 1, "c", 3), s("c")}, result: "3", arg0: `#{"a": 1}`},
		{name: "remove", args: []Value{mapOf("a", 1), s("zz")}, result: "()", arg0: `#{"a": 1}`},
		{name: "clear", args: []Value{mapOf("a", 1)}, result: "()", arg0: `#{}`},
		{name: "mixin", args: []Value{mapOf("a", 1, "b", 2), mapOf("b", 42, "d", 9)}, result: "()", arg0: `#{"a": 1, "b": 42, "d": 9}`},
		{name: "+=", args: []Value{mapOf("a", 1, "b", 2), mapOf("b", 20, "c", 30)}, result: "()", arg0: `#{"a": 1, "b": 20, "c": 30}`},
		{name: "+", args: []Value{mapOf("x", 1), mapOf("y", 2)}, result: `#{"x": 1, "y": 2}`, arg0: `#{"x": 1}`},
		{name: "fill_with", args: []Value{mapOf("a", 1), mapOf("a", 100, "b", 2)}, result: "()", arg0: `#{"a": 1, "b": 2}`},
		{name: "==", args: []Value{mapOf("a", 1, "b", "x"), mapOf("b", "x", "a", 1)}, result: "true"},
		{name: "==", args: []Value{mapOf("a", 1), mapOf("a", 2)}, result: "false"},
		{name: "!=", args: []Value{mapOf("a", 1), mapOf("b", 1)}, result: "true"},
		{name: "keys", args: []Value{mapOf("zeta", 1, "alpha", 2, "mid", 3)}, result: `["alpha", "mid", "zeta"]`},
		{name: "values", args: []Value{mapOf("zeta", 1, "alpha", 2, "mid", 3)}, result: `[2, 3, 1]`},
		{name: "keys", args: []Value{mapOf("b", 1, "a", 2, "10", 3, "9", 4, "B", 5)}, result: `["10", "9", "B", "a", "b"]`},
		{name: "to_json", args: []Value{mapOf("b", []any{10}, "k2", map[string]any{}, "zz", 917)}, result: `"{\"b\":[10],\"k2\":{},\"zz\":917}"`},
		{name: "to_json", args: []Value{NewMap(map[string]Value{"x": Char('\''), "n": Unit, "s": String("a\tb\"")})}, result: `"{\"n\":null,\"s\":\"a\\tb\\\"\",\"x\":'\\''}"`},
		{name: "to_json", args: []Value{NewMap(map[string]Value{"a": NewArray([]Value{NewFnPtr("abc")})})}, result: `"{\"a\":[\"abc\"]}"`},
	}
	runCollCases(t, stdMap, cases)
}

func TestMapNoLenProperty(t *testing.T) {
	m := NewModule()
	stdMap(m)
	if m.lookup("get$len", []Value{mapOf()}) != nil {
		t.Fatal("maps must not have a len property")
	}
}
