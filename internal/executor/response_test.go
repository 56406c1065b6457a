package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
)

func TestResponseCapScript(t *testing.T) {
	// A 20 MB string is allowed as a value (string size 32 MiB) but not as a
	// response (10 MiB, the default).
	x := newTestExecutor(t, Config{MaxStringSize: 32 << 20, MaxArraySize: 32 << 20})
	for _, src := range []string{
		`let s = "x"; s.pad(20000000, "y"); s`,
		`let s = "x"; s.pad(20000000, "y"); #{status: 200, headers: #{"content-type": "text/html"}, body: s}`,
		`let s = "x"; s.pad(20000000, "y"); #{status: 200, body: [s]}`,
		`let b = blob(); b.pad(20000000, 7); b`,
	} {
		res := run(t, x, src, Limits{MaxOperations: 1 << 40}, Options{})
		wantStatus(t, res, picloud.StatusBudgetExceeded, picloud.EBudgetExceeded, rhai.ErrDataTooLarge)
		if want := "response body over 10485760 bytes"; !strings.Contains(res.Err.Message, want) {
			t.Fatalf("%s: message %q, want %q", src, res.Err.Message, want)
		}
	}
	// Just under the cap is fine.
	res := run(t, x, `let s = "x"; s.pad(10000000, "y"); s`, Limits{MaxOperations: 1 << 40}, Options{})
	wantStatus(t, res, picloud.StatusSuccess, "", "")
	if len(res.Response.Body) != 10_000_000 {
		t.Fatalf("body of %d bytes", len(res.Response.Body))
	}
	// A script's own cap.
	res = run(t, x, `"0123456789"`, Limits{MaxResponseBytes: 5}, Options{})
	wantStatus(t, res, picloud.StatusBudgetExceeded, picloud.EBudgetExceeded, rhai.ErrDataTooLarge)
}

// allocated reports the bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestResponseCapStopsEarly(t *testing.T) {
	const capBytes = 10 << 20
	big := strings.Repeat("x", 20_000_000)
	fourMB := rhai.String(strings.Repeat("y", 4_000_000))
	for _, tc := range []struct {
		name string
		v    rhai.Value
	}{
		{"text", rhai.String(big)},
		{"JSON of a string", rhai.NewArray([]rhai.Value{rhai.String(big)})},
		{"JSON of many strings", rhai.NewArray([]rhai.Value{fourMB, fourMB, fourMB, fourMB, fourMB})},
		// 3 MB of '<' escape to 18 MB: the cap is found while escaping.
		{"JSON growing while escaping", rhai.NewArray([]rhai.Value{rhai.String(strings.Repeat("<", 3_000_000))})},
		{"JSON of many small values", rhai.NewArray(func() []rhai.Value {
			items := make([]rhai.Value, 3_000_000)
			for i := range items {
				items[i] = rhai.Int(1234567)
			}
			return items
		}())},
		{"BLOB", rhai.NewBlob(make([]byte, 20_000_000))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := &encoder{ctx: context.Background(), max: capBytes}
			var err error
			n := allocated(func() { err = toResponse(enc, tc.v, new(Response)) })
			var le *limitError
			if !errors.As(err, &le) || le.err.Kind != rhai.ErrDataTooLarge {
				t.Fatalf("err %v, want ErrorDataTooLarge", err)
			}
			if enc.stoppedAt > capBytes+64 {
				t.Fatalf("the encoder produced %d bytes, over the cap %d", enc.stoppedAt, capBytes)
			}
			t.Logf("stopped at %d bytes, %d bytes allocated", enc.stoppedAt, n)
			// Chunks of the body up to the cap, never a whole 20 MB body.
			if n > capBytes+capBytes/4 {
				t.Fatalf("allocated %d bytes for a capped response", n)
			}
		})
	}
}

func TestEncodingChargesOperations(t *testing.T) {
	x := newTestExecutor(t, Config{})
	quiet := run(t, x, `let a = []; a.pad(100000, 1); ()`, Limits{}, Options{})
	loud := run(t, x, `let a = []; a.pad(100000, 1); a`, Limits{}, Options{})
	wantStatus(t, loud, picloud.StatusSuccess, "", "")
	body := uint64(len(loud.Response.Body)) // "[1,1,...]": 200,001 bytes
	if loud.Operations < quiet.Operations+body/bytesPerOp-1 {
		t.Fatalf("operations %d with a %d-byte body, %d without", loud.Operations, body, quiet.Operations)
	}

	// An encoding that crosses the operation budget stops there.
	v := rhai.NewArray(make([]rhai.Value, 100_000))
	enc := &encoder{ctx: context.Background(), ops: 90, maxOps: 100}
	_, err := enc.json(v)
	var le *limitError
	if !errors.As(err, &le) || le.err.Kind != rhai.ErrTooManyOperations {
		t.Fatalf("err %v, want ErrorTooManyOperations", err)
	}

	// And one whose context ended stops too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	enc = &encoder{ctx: ctx}
	if _, err := enc.json(v); !errors.As(err, &le) || le.err.Kind != rhai.ErrTerminated {
		t.Fatalf("err %v, want ErrorTerminated", err)
	}
}

func TestEncodingTimeout(t *testing.T) {
	// The context's deadline has passed by the time the script returns: the
	// encoding is part of the execution, so the result is a timeout.
	x := newTestExecutor(t, Config{})
	x.eng.RegisterFn("wait_for_deadline", nil, func(c *rhai.Context, _ []rhai.Value) (rhai.Value, error) {
		<-c.Context().Done()
		return rhai.Unit, nil
	})
	res := run(t, x, `let a = []; a.pad(100000, 1); wait_for_deadline(); a`, Limits{Timeout: 10 * time.Millisecond}, Options{})
	wantStatus(t, res, picloud.StatusTimeout, picloud.ETimeout, rhai.ErrTerminated)
}

func TestHeadersCountTowardResponseCap(t *testing.T) {
	x := newTestExecutor(t, Config{})
	res := run(t, x, `let v = "x"; v.pad(200, "y"); #{status: 200, headers: #{"x-big": v}}`, Limits{MaxResponseBytes: 100}, Options{})
	wantStatus(t, res, picloud.StatusBudgetExceeded, picloud.EBudgetExceeded, rhai.ErrDataTooLarge)
}

// referenceJSON is an independent, unbounded statement of the platform's
// JSON contract (ARCHITECTURE.md "The script's response"), written with
// encoding/json: strings and floats exactly as encoding/json writes them
// (whole floats keep ".0" so they read back as floats), maps in key order,
// characters as one-character strings, BLOBs as base64, NaN and infinities
// as null, ranges, timestamps and function pointers as their display text.
func referenceJSON(t *testing.T, b *bytes.Buffer, v rhai.Value) {
	t.Helper()
	put := func(x any) {
		j, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
	}
	switch v.Type() {
	case rhai.TypeUnit:
		b.WriteString("null")
	case rhai.TypeBool:
		put(v.AsBool())
	case rhai.TypeInt:
		put(v.AsInt())
	case rhai.TypeFloat:
		f := v.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			b.WriteString("null")
			return
		}
		j, _ := json.Marshal(f)
		b.Write(j)
		if !bytes.ContainsAny(j, ".eE") {
			b.WriteString(".0")
		}
	case rhai.TypeChar:
		put(string(v.AsChar()))
	case rhai.TypeString:
		put(v.AsString())
	case rhai.TypeBlob:
		put(v.AsBlob().B) // encoding/json writes []byte as base64
	case rhai.TypeArray:
		b.WriteByte('[')
		for i, e := range v.AsArray().Items {
			if i > 0 {
				b.WriteByte(',')
			}
			referenceJSON(t, b, e)
		}
		b.WriteByte(']')
	case rhai.TypeMap:
		m := v.AsMap()
		b.WriteByte('{')
		for i, k := range m.SortedKeys() {
			if i > 0 {
				b.WriteByte(',')
			}
			put(k)
			b.WriteByte(':')
			referenceJSON(t, b, m.M[k])
		}
		b.WriteByte('}')
	default:
		put(v.String())
	}
}

func TestEncodingMatchesPlatformJSON(t *testing.T) {
	// The encoder, chunked and capped, writes exactly what the contract says.
	m := rhai.NewMap(map[string]rhai.Value{
		"b": rhai.Int(1), "a": rhai.String("<tag> & \"q\"\n\u2028"), "c": rhai.Float(2),
		"d": rhai.Float(math.NaN()), "e": rhai.Char('é'), "f": rhai.NewBlob([]byte{1, 2, 3}), "g": rhai.Unit,
		"h": rhai.NewArray([]rhai.Value{rhai.Bool(true), rhai.Float(1e-7), rhai.Float(1e21), rhai.Float(0.5)}),
		"i": rhai.String("bad \xff utf-8"),
	})
	// Values spanning many chunks, so that chunk boundaries fall inside
	// strings, escapes, multi-byte characters and base64.
	long := strings.Repeat("plain text <&> \"é\" \u2028\n", 20_000)
	blob := make([]byte, 300_001)
	for i := range blob {
		blob[i] = byte(i * 7)
	}
	many := make([]rhai.Value, 50_000)
	for i := range many {
		many[i] = rhai.NewArray([]rhai.Value{rhai.Int(int64(i)), rhai.String("é<"), rhai.Float(float64(i) / 7)})
	}
	values := []rhai.Value{m, rhai.Unit, rhai.Int(-3), rhai.NewArray(nil), rhai.String(""),
		rhai.String(long), rhai.NewArray([]rhai.Value{rhai.Int(1), rhai.String(long), rhai.NewBlob(blob)}),
		rhai.NewBlob(blob), rhai.NewArray(many)}
	for _, v := range values {
		var ref bytes.Buffer
		referenceJSON(t, &ref, v)
		want := ref.Bytes()
		for _, max := range []int64{0, int64(len(want)), int64(len(want)) + 1000} {
			got, err := (&encoder{max: max}).json(v)
			if err != nil || string(got) != string(want) {
				t.Fatalf("encoding %.100v within %d bytes: %d bytes (%v), want %d", v, max, len(got), err, len(want))
			}
		}
		if len(want) > 1 {
			// One byte short of the cap fails.
			if _, err := (&encoder{max: int64(len(want)) - 1}).json(v); err == nil {
				t.Fatalf("encoding %.100v within %d bytes succeeded", v, len(want)-1)
			}
		}
	}
}

// TestMarshalJSON pins the platform's encoding of every kind of value (the
// cases the engine's MarshalJSON was tested with before the encoding moved
// here).
func TestMarshalJSON(t *testing.T) {
	v := rhai.NewMap(map[string]rhai.Value{
		"i": rhai.Int(-3), "f": rhai.Float(2), "g": rhai.Float(0.5), "nan": rhai.Float(math.NaN()),
		"inf": rhai.Float(math.Inf(1)), "c": rhai.Char('x'), "s": rhai.String("a\"<b>\n\x01é"), "u": rhai.Unit,
		"arr": rhai.NewArray([]rhai.Value{rhai.Bool(true), rhai.Bool(false)}), "blob": rhai.NewBlob([]byte("hi")),
		"r": rhai.NewRange(1, 5, true), "fn": rhai.NewFnPtr("abc"), "nest": rhai.NewMap(nil),
	})
	got, err := marshalJSON(v, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"arr":[true,false],"blob":"aGk=","c":"x","f":2.0,"fn":"Fn(abc)","g":0.5,"i":-3,"inf":null,"nan":null,"nest":{},"r":"1..=5","s":"a\"\u003cb\u003e\n\u0001é","u":null}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	back, err := rhai.ParseJSON(string(got))
	if err != nil || back.AsMap().M["f"].Type() != rhai.TypeFloat || back.AsMap().M["i"].AsInt() != -3 {
		t.Fatalf("round trip: %v %v", back, err)
	}
	for _, f := range []float64{0, 1, -2.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, 3.0e-300, -1.5e300} {
		var ref bytes.Buffer
		referenceJSON(t, &ref, rhai.Float(f))
		if got, err := marshalJSON(rhai.Float(f), 0); err != nil || string(got) != ref.String() {
			t.Errorf("%v: got %s (%v), want %s", f, got, err, ref.String())
		}
	}
	for _, s := range []string{"plain", "<script>&</script>", "tab\tnl\nbs\bff\f", "\x00\x1f", "\u2028\u2029", "é😀", "bad\xffutf8"} {
		want, _ := json.Marshal(s)
		if got, err := marshalJSON(rhai.String(s), 0); err != nil || string(got) != string(want) {
			t.Errorf("%q: got %s (%v), want %s", s, got, err, want)
		}
	}
}
