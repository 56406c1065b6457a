package rhai

import (
	"fmt"
	"testing"
)

func blobOf(bs ...byte) Value { return NewBlob(append([]byte{}, bs...)) }

func seqBlob(n int) Value {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return NewBlob(b)
}

func TestBlobNatives(t *testing.T) {
	s := String
	cases := []collCase{
		{name: "blob", args: nil, result: "<>"},
		{name: "blob", args: []Value{Int(3)}, result: "<0 0 0>"},
		{name: "blob", args: []Value{Int(2), Int(0x1ff)}, result: "<ff ff>"},
		{name: "blob", args: []Value{Int(-2), Int(1)}, result: "<>"},
		{name: "len", args: []Value{blobOf(1, 2)}, result: "2"},
		{name: "get$is_empty", args: []Value{blobOf()}, result: "true"},
		{name: "push", args: []Value{blobOf(), Int(0x101)}, result: "()", arg0: "<1>"},
		{name: "append", args: []Value{blobOf(0x41), blobOf(0x42)}, result: "()", arg0: "<41 42>"},
		{name: "+=", args: []Value{blobOf(0x41), s("C")}, result: "()", arg0: "<41 43>"},
		{name: "append", args: []Value{blobOf(0x41), Char('D')}, result: "()", arg0: "<41 44>"},
		{name: "+", args: []Value{blobOf(1), blobOf(2, 2)}, result: "<1 2 2>"},
		{name: "+", args: []Value{blobOf(0x61, 0x61), s("b")}, result: `"aab"`},
		{name: "==", args: []Value{blobOf(1, 1), blobOf(1, 1)}, result: "true"},
		{name: "!=", args: []Value{blobOf(1, 1), blobOf(1, 1, 1)}, result: "true"},
		{name: "insert", args: []Value{blobOf(0, 0, 0), Int(1), Int(0xaa)}, result: "()", arg0: "<0 aa 0 0>"},
		{name: "insert", args: []Value{blobOf(0, 0), Int(-1), Int(0xbb)}, result: "()", arg0: "<0 bb 0>"},
		{name: "insert", args: []Value{blobOf(0), Int(100), Int(0xcc)}, result: "()", arg0: "<0 cc>"},
		{name: "pop", args: []Value{blobOf(1, 2, 3)}, result: "3", arg0: "<1 2>"},
		{name: "pop", args: []Value{blobOf()}, result: "0"},
		{name: "shift", args: []Value{blobOf(1, 2, 3)}, result: "1", arg0: "<2 3>"},
		{name: "remove", args: []Value{blobOf(1, 2, 3), Int(0)}, result: "1", arg0: "<2 3>"},
		{name: "remove", args: []Value{blobOf(1), Int(5)}, result: "0", arg0: "<1>"},
		{name: "extract", args: []Value{seqBlob(6), Int(2)}, result: "<2 3 4 5>"},
		{name: "extract", args: []Value{seqBlob(6), Int(1), Int(2)}, result: "<1 2>"},
		{name: "extract", args: []Value{seqBlob(6), NewRange(2, 3, true)}, result: "<2 3>"},
		{name: "reverse", args: []Value{blobOf(2, 3, 4)}, result: "()", arg0: "<4 3 2>"},
		{name: "pad", args: []Value{blobOf(7, 7), Int(4), Int(9)}, result: "()", arg0: "<7 7 9 9>"},
		{name: "truncate", args: []Value{blobOf(7, 7, 9, 9), Int(3)}, result: "()", arg0: "<7 7 9>"},
		{name: "chop", args: []Value{blobOf(7, 7, 9), Int(1)}, result: "()", arg0: "<9>"},
		{name: "clear", args: []Value{blobOf(7, 7, 9)}, result: "()", arg0: "<>"},
		{name: "split", args: []Value{seqBlob(5), Int(3)}, result: "<3 4>", arg0: "<0 1 2>"},
		{name: "splice", args: []Value{blobOf(0, 0, 0, 0), Int(1), Int(2), blobOf(0xff, 0xff, 0xff)}, result: "()", arg0: "<0 ff ff ff 0>"},
		{name: "drain", args: []Value{seqBlob(5), Int(1), Int(2)}, result: "<1 2>", arg0: "<0 3 4>"},
		{name: "retain", args: []Value{seqBlob(5), NewRange(1, 3, false)}, result: "<0 3 4>", arg0: "<1 2>"},
		{name: "contains", args: []Value{blobOf(1, 5), Int(5)}, result: "true"},
		{name: "get", args: []Value{blobOf(1, 0xff), Int(-1)}, result: "255"},
		{name: "get", args: []Value{blobOf(1), Int(99)}, result: "0"},
		{name: "set", args: []Value{blobOf(0, 0), Int(-1), Int(0x1ff)}, result: "()", arg0: "<0 ff>"},
		{name: "set", args: []Value{blobOf(0, 0), Int(10), Int(5)}, result: "()", arg0: "<0 0>"},
		{name: "index$get", args: []Value{blobOf(1, 2), Int(1)}, result: "2"},
		{name: "index$get", args: []Value{blobOf(1, 2), Int(2)}, errMsg: "Array index 2 out of bounds: only 2 elements in array"},
		{name: "index$set", args: []Value{blobOf(1, 2), Int(0), Int(0x1ab)}, result: "()", arg0: "<ab 2>"},
		{name: "parse_le_int", args: []Value{seqBlob(16), Int(2), Int(0)}, result: "0"},
		{name: "parse_le_int", args: []Value{seqBlob(16), Int(2), Int(9)}, result: "650777868590383874"},
		{name: "parse_le_int", args: []Value{seqBlob(16), NewRange(2, 11, true)}, result: "650777868590383874"},
		{name: "parse_le_int", args: []Value{seqBlob(16), NewRange(2, 11, false)}, result: "650777868590383874"},
		{name: "parse_be_int", args: []Value{seqBlob(16), Int(2), Int(10)}, result: "144964032628459529"},
		{name: "parse_be_int", args: []Value{seqBlob(16), NewRange(2, 12, false)}, result: "144964032628459529"},
		{name: "parse_le_int", args: []Value{seqBlob(16), Int(-5), Int(99)}, result: "64660245515"},
		{name: "parse_le_int", args: []Value{NewBlob([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), Int(0), Int(2)}, result: "65535"},
		{name: "parse_le_int", args: []Value{NewBlob([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), Int(0), Int(8)}, result: "-1"},
		{name: "write_le", args: []Value{blobOf(0, 0, 0, 0, 0, 0, 0, 0), Int(0), Int(4), Int(0x01020304)}, result: "()", arg0: "<4 3 2 1 0 0 0 0>"},
		{name: "write_be", args: []Value{blobOf(0, 0, 0, 0, 0, 0, 0, 0), Int(0), Int(4), Int(0x01020304)}, result: "()", arg0: "<0 0 0 0 0 0 0 0>"},
		{name: "write_be", args: []Value{blobOf(0, 0, 0, 0, 0, 0, 0, 0), NewRange(0, 8, false), Float(2)}, result: "()", arg0: "<40 0 0 0 0 0 0 0>"},
		{name: "write_ascii", args: []Value{blobOf(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), NewRange(0, 9, false), s("❤ hello, ❤ world! ❤❤❤")}, result: "()", arg0: "<20 68 65 6c 6c 6f 2c 20 20 0>"},
		{name: "write_utf8", args: []Value{blobOf(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), NewRange(3, 7, false), s("❤❤❤❤")}, result: "()", arg0: "<0 0 0 e2 9d a4 e2 0 0 0>"},
		{name: "as_string", args: []Value{blobOf(0x68, 0x69)}, result: `"hi"`},
		{name: "as_string", args: []Value{blobOf(0xff, 0xff)}, result: "\"\uFFFD\uFFFD\""},
		{name: "as_string", args: []Value{blobOf(0xe2, 0x9d, 0x41)}, result: "\"\uFFFDA\""},
		{name: "to_array", args: []Value{blobOf(7, 9)}, result: "[7, 9]"},
	}
	runCollCases(t, stdBlob, cases)
}

func TestBlobWriteParseRoundTrip(t *testing.T) {
	b := seqBlob(16)
	if _, err := collCall(t, stdBlob, "write_be", b, Int(3), Int(3), Int(-98765432)); err != nil {
		t.Fatal(err)
	}
	v, _ := collCall(t, stdBlob, "parse_be_int", b, Int(3), Int(3))
	if v.AsInt() != -1099511627776 {
		t.Fatalf("be: %d", v.AsInt())
	}
	b = seqBlob(16)
	collCall(t, stdBlob, "write_le", b, Int(3), Int(3), Int(-98765432))
	v, _ = collCall(t, stdBlob, "parse_le_int", b, Int(3), Int(3))
	if v.AsInt() != 1897864 {
		t.Fatalf("le: %d", v.AsInt())
	}
	b = seqBlob(8)
	collCall(t, stdBlob, "write_le", b, Int(0), Int(8), Float(1.5))
	v, _ = collCall(t, stdBlob, "parse_le_float", b, Int(0), Int(8))
	if v.AsFloat() != 1.5 {
		t.Fatalf("float: %v", v.AsFloat())
	}
}

// TestBlobFnsTable: the BLOB table registers every overload it lists.
func TestBlobFnsTable(t *testing.T) { checkLibTable(t, blobFns, stdBlob) }

// TestBlobRangeForms: parse_* and write_* take their bytes as (start, length)
// or as either kind of range, to the same effect.
func TestBlobRangeForms(t *testing.T) {
	spans := [][]Value{
		{Int(3), Int(3)},
		{NewRange(3, 6, false)},
		{NewRange(3, 5, true)},
	}
	show := func(b Value) string { return fmt.Sprint(b.AsBlob().B) }
	want := map[string]string{}
	for i, span := range spans {
		for _, w := range []struct {
			fn string
			v  Value
		}{{"write_be", Int(-98765432)}, {"write_le", Int(-98765432)}, {"write_le", Float(1.5)}, {"write_utf8", String("héllo")}, {"write_ascii", String("héllo")}} {
			b := seqBlob(16)
			if _, err := collCall(t, stdBlob, w.fn, append(append([]Value{b}, span...), w.v)...); err != nil {
				t.Fatal(err)
			}
			key := w.fn + w.v.TypeName()
			if i == 0 {
				want[key] = show(b)
			} else if show(b) != want[key] {
				t.Errorf("%s %v: %s, want %s", w.fn, span, show(b), want[key])
			}
		}
		for _, p := range []string{"parse_le_int", "parse_be_int", "parse_le_float", "parse_be_float"} {
			v, err := collCall(t, stdBlob, p, append([]Value{seqBlob(16)}, span...)...)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				want[p] = collShow(v)
			} else if collShow(v) != want[p] {
				t.Errorf("%s %v: %s, want %s", p, span, collShow(v), want[p])
			}
		}
	}
	if want["write_ascii"+String("").TypeName()] != "[0 1 2 104 108 108 6 7 8 9 10 11 12 13 14 15]" {
		t.Errorf("write_ascii: %s", want["write_ascii"+String("").TypeName()])
	}
	// 0x0304050000000000: the three bytes fill the high end.
	if want["parse_be_int"] != "217304179578765312" {
		t.Errorf("parse_be_int: %s", want["parse_be_int"])
	}
}
