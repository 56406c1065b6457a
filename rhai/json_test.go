package rhai

import (
	"errors"
	"strings"
	"testing"
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
	// Positions count lines and characters (not bytes), also inside a string.
	for src, want := range map[string]string{
		"{\n  \"é\": 1,\n  \"ü\": tru }": "Variable not found: tru (line 3, position 8)",
		"{\n  \"a\": \"é\n":              "Syntax error: Unterminated string (line 2, position 8)",
		"{\"a\": 1.2.3}":                 "Syntax error: Invalid number: '1.2.3' (line 1, position 7)",
	} {
		_, err = collCall(t, stdJSON, "parse_json", String(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %s", src, err, want)
		}
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
