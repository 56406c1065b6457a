package rhai

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func TestParseJSON(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a": 1, "b": true, "c": 123.0, "$d e f!": "hello", "^^^!!!": [1,42,"999"], "z": null}`,
			`#{"$d e f!": "hello", "^^^!!!": [1, 42, "999"], "a": 1, "b": true, "c": 123, "z": ()}`},
		{`{"a":1, "b":{"x":true, "y":false}}`, `#{"a": 1, "b": #{"x": true, "y": false}}`},
		{`[1, -2, 1.5e3, 9223372036854775808]`, `[1, -2, 1500, 9.223372036854776e+18]`},
		{`"a\u00e9\n\ud83d\ude00"`, `"aé\n😀"`},
		{` { // comment
		     "k": /* c */ -0 } `, `#{"k": 0}`},
	} {
		v, err := ParseJSON(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got := collShow(v); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, got, tc.want)
		}
	}
	v, _ := ParseJSON(`[9223372036854775807, 9223372036854775808, 1.0]`)
	items := v.AsArray().Items
	if items[0].Type() != TypeInt || items[1].Type() != TypeFloat || items[2].Type() != TypeFloat {
		t.Errorf("number types: %s %s %s", items[0].TypeName(), items[1].TypeName(), items[2].TypeName())
	}
	for _, bad := range []string{`{`, `{"a" 1}`, `[1,]x`, `{"a":1,}x`, `nul`, `"abc`} {
		if _, err := ParseJSON(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestScriptParseJSON(t *testing.T) {
	v, err := collCall(t, stdJSON, "parse_json", String(`{"a": [1, {"b": null}]}`))
	if err != nil || collShow(v) != `#{"a": [1, #{"b": ()}]}` {
		t.Fatalf("got %s, %v", collShow(v), err)
	}
	_, err = collCall(t, stdJSON, "parse_json", String("{not json"))
	var e *Error
	if !errors.As(err, &e) || e.RootKind() != "ErrorParsing/PropertyExpected" ||
		e.Error() != "Syntax error: Expecting name of a property (line 1, position 2)" {
		t.Fatalf("invalid: %v", err)
	}
	_, err = collCall(t, stdJSON, "parse_json", String("[1, 2]"))
	if !errors.As(err, &e) || e.Kind != ErrMismatchOutputType || e.Message != "Output type incorrect: array (expecting map)" {
		t.Fatalf("array: %v", err)
	}
}

func TestToJSONRhai(t *testing.T) {
	s, _ := ToJSON(NewMap(map[string]Value{"b": ints(8, 95), "c": Char('-'), "z": Unit}))
	if s != `{"b":[8,95],"c":'-',"z":null}` {
		t.Fatalf("got %s", s)
	}
}

type goPoint struct{ X int }

func TestFromGoToGo(t *testing.T) {
	ts := time.Unix(100, 0)
	in := map[string]any{
		"nil": nil, "b": true, "i8": int8(-8), "u32": uint32(32), "i": 7, "f32": float32(1.5),
		"s": "x", "bytes": []byte{1, 2}, "list": []any{1, "a"}, "strs": []string{"p", "q"},
		"nested": map[string]int{"k": 1}, "t": ts, "v": Int(5),
	}
	v, err := FromGo(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `#{"b": true, "bytes": <1 2>, "f32": 1.5, "i": 7, "i8": -8, "list": [1, "a"], "nested": #{"k": 1}, "nil": (), "s": "x", "strs": ["p", "q"], "t": timestamp, "u32": 32, "v": 5}`
	if got := collShow(v); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := FromGo(uint64(math.MaxUint64)); err == nil {
		t.Error("uint64 overflow accepted")
	}
	if _, err := FromGo(goPoint{1}); err == nil {
		t.Error("struct accepted")
	}
	back := ToGo(v)
	wantGo := map[string]any{
		"nil": nil, "b": true, "i8": int64(-8), "u32": int64(32), "i": int64(7), "f32": 1.5,
		"s": "x", "bytes": []byte{1, 2}, "list": []any{int64(1), "a"}, "strs": []any{"p", "q"},
		"nested": map[string]any{"k": int64(1)}, "t": ts, "v": int64(5),
	}
	if !reflect.DeepEqual(back, wantGo) {
		t.Fatalf("ToGo = %#v", back)
	}
	if ToGo(Char('c')) != "c" || ToGo(NewRange(1, 2, false)) != "1..2" {
		t.Error("char/range")
	}
}
