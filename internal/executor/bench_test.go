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

func BenchmarkExecuteHello(b *testing.B) {
	x := New(Config{}, nil)
	p := x.Compile("hello", `#{hello: "world", path: request.path}`)
	req := &Request{Method: "GET", Path: "/fn/hello", Header: map[string][]string{
		"Accept": {"*/*"}, "User-Agent": {"bench"}, "Authorization": {"Bearer pct_x"}}}
	b.ReportAllocs()
	for b.Loop() {
		if res := x.Execute(context.Background(), p, Limits{}, req, Options{}); res.Response == nil {
			b.Fatal(res.Err)
		}
	}
}
