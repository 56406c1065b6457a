package executor

import (
	"context"
	"strings"
	"testing"

	"github.com/picloud/picloud/rhai"
)

// benchValue is a typical JSON response: a list of small records.
func benchValue() rhai.Value {
	items := make([]rhai.Value, 1000)
	for i := range items {
		items[i] = rhai.NewMap(map[string]rhai.Value{
			"id": rhai.Int(int64(i)), "name": rhai.String("user <" + strings.Repeat("x", 20) + ">"),
			"score": rhai.Float(float64(i) / 3), "active": rhai.Bool(i%2 == 0),
		})
	}
	return rhai.NewArray(items)
}

func BenchmarkEncodeResponse(b *testing.B) {
	v := benchValue()
	b.ReportAllocs()
	for b.Loop() {
		enc := &encoder{ctx: context.Background(), max: DefaultMaxResponseBytes, maxOps: DefaultMaxOperations}
		if _, err := enc.json(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeLargeString(b *testing.B) {
	v := rhai.NewArray([]rhai.Value{rhai.String(strings.Repeat("abcdefgh", 1<<20))})
	b.ReportAllocs()
	b.SetBytes(8 << 20)
	for b.Loop() {
		enc := &encoder{ctx: context.Background(), max: DefaultMaxResponseBytes}
		if _, err := enc.json(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecuteHello runs a one-line script reading request (which
// builds the request map); "static" is bench server's hello, which does
// not name request (so never builds it).
func BenchmarkExecuteHello(b *testing.B) {
	b.Run("request", func(b *testing.B) { benchmarkExecute(b, `#{hello: "world", path: request.path}`) })
	b.Run("static", func(b *testing.B) { benchmarkExecute(b, `#{hello: "world", n: 42}`) })
}

func benchmarkExecute(b *testing.B, src string) {
	x := New(Config{}, nil)
	p := x.Compile("hello", src)
	req := &Request{Method: "GET", Path: "/fn/hello", Header: map[string][]string{
		"Accept": {"*/*"}, "User-Agent": {"bench"}, "Authorization": {"Bearer pct_x"}}}
	b.ReportAllocs()
	for b.Loop() {
		if res := x.Execute(context.Background(), p, Limits{}, req, Options{}); res.Response == nil {
			b.Fatal(res.Err)
		}
	}
}
