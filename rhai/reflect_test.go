package rhai

import (
	"math"
	"reflect"
	"testing"
	"time"
)

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
