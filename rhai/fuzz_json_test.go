package rhai_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/picloud/picloud/rhai"
	"github.com/picloud/picloud/rhai/internal/corpus"
	"github.com/picloud/picloud/rhai/syntax"
)

// FuzzParseJSON checks the host's JSON reader, rhai.ParseJSON, against Go's
// encoding/json on arbitrary input:
//
//   - no panic;
//   - a document encoding/json accepts (nested at most 500 deep, valid UTF-8)
//     is accepted too;
//   - what it accepts reads back the same: ToGo's result, written by
//     encoding/json and parsed again, gives the same Go value;
//   - for a document both accept, the values agree (numbers as float64,
//     integers exactly when they fit an i64).
//
// Seeded with JSON written for the purpose and with every line of the
// conformance corpora (each is a JSON document), read in place. Run it with
//
//	go test ./rhai -run '^$' -fuzz FuzzParseJSON -fuzztime 5m
//
// and commit what it writes to testdata/fuzz/FuzzParseJSON.
func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		v, err := rhai.ParseJSON(doc)
		if err != nil {
			if json.Valid([]byte(doc)) && utf8.ValidString(doc) && jsonDepth(doc) <= 500 {
				t.Fatalf("valid JSON refused: %v\ndoc: %q", err, doc)
			}
			return
		}
		got := rhai.ToGo(v)
		b, err := json.Marshal(got)
		if err != nil {
			return // a float out of JSON's range (1e400 reads as +Inf)
		}
		v2, err := rhai.ParseJSON(string(b))
		if err != nil {
			t.Fatalf("its own output refused: %v\ndoc: %q\nout: %s", err, doc, b)
		}
		if got2 := rhai.ToGo(v2); !reflect.DeepEqual(normJSON(got, true), normJSON(got2, true)) {
			t.Fatalf("round trip differs: %#v, then %#v\ndoc: %q", got, got2, doc)
		}
		if !json.Valid([]byte(doc)) {
			return // comments and the like: Rhai's reader allows them
		}
		var want any
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.UseNumber()
		if dec.Decode(&want) != nil {
			return
		}
		if w, g := normJSON(want, false), normJSON(got, false); !reflect.DeepEqual(w, g) {
			t.Fatalf("value %#v, encoding/json reads %#v\ndoc: %q", g, w, doc)
		}
	})
}

// FuzzScriptParseJSON checks the script function parse_json on arbitrary text
// under tight limits: no panic, no internal error (ErrorSystem), never more
// operations than the budget allows, and a map when it succeeds. (Any other
// error kind may arise: Rhai evaluates the text as an expression, so
// parse_json("A") is a "Variable not found".)
//
//	go test ./rhai -run '^$' -fuzz FuzzScriptParseJSON -fuzztime 5m
func FuzzScriptParseJSON(f *testing.F) {
	for _, s := range jsonSeeds(f) {
		f.Add(s)
	}
	eng := rhai.New()
	eng.SetLimits(fuzzLimits)
	ast, err := eng.Compile("fuzz", "parse_json(doc)")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		scope := rhai.NewScope()
		scope.Push("doc", rhai.String(doc))
		opts := &rhai.EvalOptions{Scope: scope, OnPrint: func(string) {}, OnDebug: func(string, string, syntax.Pos) {}}
		v, err := eng.EvalWith(ctx, ast, opts)
		if opts.Operations > fuzzLimits.MaxOperations+opsSlack {
			t.Fatalf("%d operations reported, budget %d\ndoc: %q", opts.Operations, fuzzLimits.MaxOperations, doc)
		}
		if err == nil {
			if v.TypeName() != "map" {
				t.Fatalf("parse_json gave %s\ndoc: %q", v.TypeName(), doc)
			}
			return
		}
		var re *rhai.Error
		if !errors.As(err, &re) {
			t.Fatalf("error of type %T: %v\ndoc: %q", err, err, doc)
		}
		if re.Root().Kind == rhai.ErrSystem {
			t.Fatalf("internal error: %v\ndoc: %q", err, doc)
		}
	})
}

// jsonSeeds are hand-written documents and every line of the corpora.
func jsonSeeds(tb testing.TB) []string {
	seeds := []string{
		`{}`, `[]`, `null`, `true`, `0`, `-0`, `1.5e300`, `1e400`, `-9223372036854775808`,
		`9223372036854775808`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, `{"a":[1,{"b":null}],"c":"x"}`,
		`{"a":1,"a":2}`, `{"a" : 1 , }`, `[1,]`, `{"a":1} // c`, `/* c */ {"a":2}`, "{\"k\":\"tab\\t\"}",
		`[[[[[[[[[[]]]]]]]]]]`, `{"x": 1.0}`, `{"x": 1E2}`, `{"x": 0.1e-5}`, `"\/"`,
	}
	lines, err := corpus.Lines(corpusPath)
	if err != nil {
		tb.Fatal(err)
	}
	return append(seeds, lines...)
}

// jsonDepth is the deepest nesting of brackets outside strings.
func jsonDepth(doc string) int {
	depth, deepest, inStr := 0, 0, false
	for i := 0; i < len(doc); i++ {
		switch c := doc[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}

// normJSON makes a decoded JSON value comparable: a number written as an
// integer that fits an i64 becomes int64, any other number float64. With
// integral, a float with an integral value in i64's range becomes int64 too
// (encoding/json writes 2.0 as 2).
func normJSON(x any, integral bool) any {
	switch v := x.(type) {
	case json.Number:
		if !strings.ContainsAny(string(v), ".eE") {
			if i, err := v.Int64(); err == nil {
				return i
			}
		}
		f, _ := v.Float64()
		return normJSON(f, integral)
	case int64:
		return v
	case float64:
		if integral && v == math.Trunc(v) && v >= -(1<<63) && v < 1<<63 {
			return int64(v)
		}
		return v
	case []any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = normJSON(v[i], integral)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normJSON(e, integral)
		}
		return out
	}
	return x
}
