package rhai

import (
	"context"
	"runtime"
	"strings"
	"testing"
)

// evalPacked evaluates src and fails the test on an error.
func evalPacked(t *testing.T, src string) Value {
	t.Helper()
	v, err := New().EvalString(context.Background(), src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return v
}

// Arrays of one scalar type are packed while they stay so, and behave exactly
// like unpacked ones: every script below is run twice, once on an array that
// starts packed (built by push or pad from empty) and once on one that cannot
// be (it starts with a string, removed before the test), and must give the
// same debug text.
func TestPackedArraysBehaveAsArrays(t *testing.T) {
	// Each body runs on an array `a` holding the elements named, built either
	// by pushes onto [] (packed) or by pushes onto ["x"] followed by a shift
	// (unpacked).
	cases := []struct{ name, elems, body string }{
		{"ints read", "1, 2, 3", `[a[0], a[2], a[-1], a.len(), a.is_empty()]`},
		{"ints set same type", "1, 2, 3", `a[1] = 20; a`},
		{"ints set other type", "1, 2, 3", `a[1] = "two"; a`},
		{"ints set float", "1, 2, 3", `a[1] = 2.5; a`},
		{"ints push other type", "1, 2, 3", `a.push(4.0); a.push(()); a`},
		{"ints push array", "1, 2, 3", `a.push([4]); a`},
		{"ints compound assign", "1, 2, 3", `a[0] += 10; a[2] *= 3; a`},
		{"ints sum for", "1, 2, 3", `let s = 0; for v in a { s += v; } s`},
		{"for over a changing array", "1, 2, 3", `let s = []; for v in a { a.push(v * 10); a[0] = 99; s.push(v); } [s, a]`},
		{"for with index", "5, 6, 7", `let s = []; for (v, i) in a { s.push(v * i); } s`},
		{"copy is independent", "1, 2, 3", `let b = a; b[0] = 100; b.push(4); [a, b]`},
		{"nested copy", "1, 2, 3", `let m = [a, a]; m[0][0] = 7; m[1].push(8); [m, a]`},
		{"equality", "1, 2, 3", `[a == [1, 2, 3], a != [1, 2], a == [1, 2, 3.0]]`},
		{"in", "1, 2, 3", `[2 in a, 5 in a]`},
		{"out of bounds", "1, 2, 3", `try { a[3] } catch (e) { e }`},
		{"negative out of bounds", "1, 2, 3", `try { a[-4] } catch (e) { e }`},
		{"set out of bounds", "1, 2, 3", `try { a[5] = 1; } catch (e) { e }`},
		{"library", "3, 1, 2", `a.sort(); a.reverse(); a.insert(1, 9); let p = a.pop(); [a, p, a.index_of(9), a.map(|x| x * 2), a.filter(|x| x > 1), a.reduce(|s, x| s + x, 0)]`},
		{"remove and clear", "1, 2, 3", `a.remove(0); let b = a; a.clear(); a.push(5); [a, b, a.len()]`},
		{"truncate then push", "1, 2, 3", `a.truncate(1); a.push(4); a.push("s"); a`},
		{"pad", "1, 2", `a.pad(5, 0); a.pad(6, "z"); a`},
		{"concat", "1, 2", `let b = a + [3]; a += [4]; a.append([5.5]); [a, b]`},
		{"splice and extract", "1, 2, 3, 4, 5", `let e = a.extract(1, 2); a.splice(1, 1, ["x"]); [a, e]`},
		{"to_json and format", "1, 2, 3", "[#{a: a}.to_json(), `${a}`, a.to_string(), type_of(a[0])]"},
		{"floats", "1.5, 2.5", `a[0] = 0.5; a.push(3.5); let s = 0.0; for v in a { s += v; } [a, s, type_of(a[1])]`},
		{"bools", "true, false", `a[0] = false; a.push(true); [a, !a[2], type_of(a[1])]`},
		{"bools set other type", "true, false", `a[1] = 1; a.push(false); a`},
		{"bools copy and for", "true, false, true", `let b = a; b[0] = false; let n = 0; for x in b { if x { n += 1; } b.push(x); } [a, b, n]`},
		{"chars", "'a', 'b'", `a[0] = 'z'; a.push('c'); [a, type_of(a[0])]`},
		{"tagged element", "1, 2", `let x = 3; x.tag = 42; a.push(x); a[0] = x; [a[0].tag, a[2].tag, a[1].tag, a]`},
		{"tag survives a copy", "1, 2", `let x = 3; x.tag = 5; a.push(x); let b = a; [b[2].tag, b]`},
		{"element method", "1, 2", `let b = []; b.push(a); b[0].push(3); b`},
		{"chars and ints differ", "1, 2", `a.push('c'); a`},
		{"unit push", "1", `a.push(()); a`},
		{"map values", "1, 2", `let m = #{x: a}; m.x[0] = 5; m.x.push(6); [m, a]`},
		{"drain and retain", "1, 2, 3, 4", `let d = a.drain(|x| x % 2 == 0); a.retain(|x| x > 1); [a, d]`},
		{"split and chop", "1, 2, 3, 4", `let t = a.split(2); a.chop(1); [a, t]`},
		{"dedup", "1, 1, 2, 2, 3", `a.dedup(); a`},
		{"function argument", "1, 2", `fn f(x) { x.push(3); x[0] = 9; x } [f(a), a]`},
		{"shift", "1, 2", `a.shift(); a.push(3); a`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			packed := `let a = []; for x in [` + c.elems + `] { a.push(x); } ` + c.body
			plain := `let a = ["x"]; for x in [` + c.elems + `] { a.push(x); } a.shift(); ` + c.body
			got, want := evalPacked(t, packed), evalPacked(t, plain)
			if got.DebugString() != want.DebugString() {
				t.Errorf("packed: %s\nplain:  %s", got.DebugString(), want.DebugString())
			}
		})
	}
}

// The same array built by pad, to check pad's packing and every type of fill.
func TestPackedPad(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`let a = []; a.pad(3, 7); a[1] = 8; a`, `[7, 8, 7]`},
		{`let a = []; a.pad(2, true); a.pad(4, false); a`, `[true, true, false, false]`},
		{`let a = []; a.pad(2, 1.5); a.pad(3, 2); a`, `[1.5, 1.5, 2]`},
		{`let a = []; a.pad(2, 'x'); a.push("y"); a`, `['x', 'x', "y"]`},
		{`let a = [1]; a.pad(3, 0); a`, `[1, 0, 0]`},
		{`let a = []; a.pad(2, [1]); a[0].push(2); a`, `[[1, 2], [1]]`},
		{`let a = []; a.pad(0, 1); a.push("s"); a`, `["s"]`},
		{`let row = []; row.pad(2, 0.0); let m = []; m.pad(2, row); m[0][1] = 1.0; [m, row]`, `[[[0.0, 1.0], [0.0, 0.0]], [0.0, 0.0]]`},
	} {
		if got := evalPacked(t, c.src).DebugString(); got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.src, got, c.want)
		}
	}
}

// The hot paths keep a homogeneous array packed; anything else unpacks it.
func TestPackedStaysPacked(t *testing.T) {
	for _, c := range []struct {
		src    string
		packed bool
	}{
		{`let a = []; for i in 0..1000 { a.push(i); } a`, true},
		{`let a = []; a.pad(1000, false); a[3] = true; let n = 0; for x in a { if x { n += 1; } } a[n] = a[0]; a`, true},
		{`let a = []; a.push(1.5); let b = a; b.push(2.5); b`, true},
		{`let a = []; a.push(1); a.len(); a.is_empty(); a`, true},
		{`let a = []; a.push(1); a.push(2.0); a`, false},
		{`let a = []; a.push(1); a.sort(); a`, false},
		{`let a = [1, 2]; a.push(3); a`, false}, // literals are not packed
	} {
		v := evalPacked(t, c.src)
		if got := v.array().packed != TypeUnit; got != c.packed {
			t.Errorf("%s: packed %v, want %v", c.src, got, c.packed)
		}
		// AsArray unpacks: Items then holds the elements.
		a := v.AsArray()
		if a.packed != TypeUnit || len(a.Items) != a.Len() {
			t.Errorf("%s: AsArray left it packed (%d items, len %d)", c.src, len(a.Items), a.Len())
		}
	}
}

// Memory accounting is unchanged by packing: a packed element counts as the
// slot it takes unpacked, so a million pushed integers reach the same peak
// as a million pushed units (never packed), and fail the same budget.
func TestPackedMemoryAccounting(t *testing.T) {
	eng := New()
	peak := func(elem string, budget int64) (int64, error) {
		ast, err := eng.Compile("m", `let a = []; for i in 0..1_000_000 { a.push(`+elem+`); } a.len()`)
		if err != nil {
			t.Fatal(err)
		}
		opts := &EvalOptions{MaxMemoryBytes: budget}
		_, err = eng.EvalWith(context.Background(), ast, opts)
		return opts.MemoryPeak, err
	}
	ints, err := peak("i", 256<<20)
	if err != nil {
		t.Fatal(err)
	}
	units, err := peak("()", 256<<20)
	if err != nil {
		t.Fatal(err)
	}
	if ints != units || ints < 1_000_000*int64(valueBytes) {
		t.Errorf("peak of a million pushed integers %d, of units %d: want equal, at least %d", ints, units, 1_000_000*valueBytes)
	}
	for _, elem := range []string{"i", "()"} {
		_, err := peak(elem, 16<<20)
		if e, ok := err.(*Error); !ok || e.Kind != ErrDataTooLarge {
			t.Errorf("push(%s) under a 16 MiB budget: %v, want ErrorDataTooLarge", elem, err)
		}
	}
}

// What packing is for: a million pushed integers allocate about 8 bytes each
// (plus the doublings), not 32, and leave no pointers to scan; the sieve's
// million booleans likewise.
func TestPackedAllocatesLess(t *testing.T) {
	eng := New()
	for _, c := range []struct {
		name, src string
		maxBytes  uint64
	}{
		// 8 MB of payloads, doubled while growing: 16 MB allocated in all
		// (64 MB unpacked); a million booleans take 1 MB (32 MB unpacked).
		{"push", `let a = []; for i in 0..1_000_000 { a.push(i); } let s = 0; for v in a { s += v; } s`, 20 << 20},
		{"pad", `let a = []; a.pad(1_000_001, true); for i in range(0, 1_000_001, 2) { a[i] = false; } a.len()`, 4 << 20},
	} {
		ast, err := eng.Compile(c.name, c.src)
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := eng.Eval(context.Background(), ast, nil); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > c.maxBytes {
			t.Errorf("%s allocated %d bytes, want at most %d", c.name, n, c.maxBytes)
		}
	}
}

// Packing is per array: a host that reads a packed result through AsArray
// sees its elements in Items.
func TestPackedResultThroughAsArray(t *testing.T) {
	v := evalPacked(t, `let a = []; for i in 0..5 { a.push(i * i); } a`)
	var b strings.Builder
	for _, e := range v.AsArray().Items {
		b.WriteString(e.DebugString() + " ")
	}
	if got := b.String(); got != "0 1 4 9 16 " {
		t.Errorf("Items: %q", got)
	}
}

// TestCopyPreemptible: the chunked copy of a doubling gives what copy gives,
// across chunk boundaries and for every element size it is used with.
func TestCopyPreemptible(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 4095, copyChunk/8 - 1, copyChunk / 8, copyChunk/8 + 1, 3*copyChunk/8 + 5} {
		words := make([]uint64, n)
		for i := range words {
			words[i] = uint64(i)*0x9e3779b97f4a7c15 + 1
		}
		gotWords := make([]uint64, n, 2*n+1)
		copyPreemptible(gotWords, words)
		for i := range words {
			if gotWords[i] != words[i] {
				t.Fatalf("uint64 n=%d: element %d = %#x, want %#x", n, i, gotWords[i], words[i])
			}
		}
		bools := make([]bool, n)
		for i := range bools {
			bools[i] = i%3 == 0
		}
		gotBools := make([]bool, n)
		copyPreemptible(gotBools, bools)
		for i := range bools {
			if gotBools[i] != bools[i] {
				t.Fatalf("bool n=%d: element %d differs", n, i)
			}
		}
		if n > 20000 {
			continue
		}
		vals := make([]Value, n)
		for i := range vals {
			vals[i] = String(strings.Repeat("k", i%7) + string(rune('a'+i%26)))
		}
		gotVals := make([]Value, n)
		copyPreemptible(gotVals, vals)
		for i := range vals {
			if !identical(&gotVals[i], &vals[i]) {
				t.Fatalf("Value n=%d: element %d = %v, want %v", n, i, gotVals[i], vals[i])
			}
		}
	}
	// Doubling through push keeps every element.
	v := evalPacked(t, `let a = []; for i in 0..100_000 { a.push(i); } let s = []; for i in 0..40_000 { s.push("k" + i); } a[99_999] + a[65_536] + s[32_768].len()`)
	if v.AsInt() != 99_999+65_536+6 {
		t.Fatalf("got %v", v)
	}
}
