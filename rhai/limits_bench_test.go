package rhai_test

import (
	"context"
	"testing"
	"time"

	"github.com/picloud/picloud/rhai"
)

// BenchmarkLimitsOverhead runs the Step 1 workloads with no limits and with an
// operation budget plus a cancellable deadline, in the same run, so the cost of
// the operation counter and the cancellation check reads as the ratio of the two.
//
//	go test ./rhai -run '^$' -bench LimitsOverhead -count 5 | benchstat -col /limits -
func BenchmarkLimitsOverhead(b *testing.B) {
	for _, w := range []struct{ name, src string }{{"fib", scriptFib}, {"loop", scriptLoop}} {
		for _, limited := range []bool{false, true} {
			name := w.name + "/limits=none"
			if limited {
				name = w.name + "/limits=on"
			}
			b.Run(name, func(b *testing.B) {
				eng := rhai.New()
				if limited {
					eng.SetLimits(rhai.Limits{MaxOperations: 1 << 40, MaxStringSize: 1 << 20, MaxArraySize: 1 << 20, MaxMapSize: 1 << 20})
				}
				ast, err := eng.Compile(w.name, w.src)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					ctx, cancel := context.Background(), context.CancelFunc(func() {})
					if limited {
						ctx, cancel = context.WithTimeout(context.Background(), time.Hour)
					}
					if _, err := eng.Eval(ctx, ast, nil); err != nil {
						b.Fatal(err)
					}
					cancel()
				}
			})
		}
	}
}

// BenchmarkCancelLatency measures how long a running `loop {}` takes to stop
// once its context is cancelled (ns/op is the latency).
func BenchmarkCancelLatency(b *testing.B) {
	eng := rhai.New()
	ast, err := eng.Compile("spin", `let x = 0; loop { x += 1; }`)
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan time.Time)
		go func() {
			_, err := eng.Eval(ctx, ast, nil)
			var re *rhai.Error
			if e, ok := err.(*rhai.Error); ok {
				re = e
			}
			if re == nil || re.Kind != rhai.ErrTerminated {
				b.Errorf("loop ended with %v, want ErrorTerminated", err)
			}
			done <- time.Now()
		}()
		time.Sleep(2 * time.Millisecond) // let it spin
		start := time.Now()
		cancel()
		total += (<-done).Sub(start)
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/cancel")
	b.ReportMetric(0, "ns/op")
}
