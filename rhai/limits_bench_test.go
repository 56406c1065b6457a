package rhai_test

import (
	"context"
	"errors"
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

// BenchmarkDeadlineOvershoot measures how long after its deadline a
// byte-heavy script actually stops (the work between two checks of the
// context, in time), under the platform's default memory budget and no
// operation budget, so only the deadline stops most of them. It reports the
// mean and the worst overshoot; tests make no timed assertions, this is where
// the figure comes from:
//
//	go test ./rhai -run '^$' -bench DeadlineOvershoot -benchtime 20x
func BenchmarkDeadlineOvershoot(b *testing.B) {
	scripts := []struct{ name, src string }{
		{"push_concat", `let s = "x"; s.pad(4_000_000, "y"); let a = []; loop { a.push(s + a.len()); a.clear(); }`},
		{"clone_array", `let a = []; a.pad(500_000, 1); loop { let b = a; b.push(1); }`},
		{"sort", `let a = []; for i in 0..300_000 { a.push(300_000 - i); } loop { a.sort(); a.reverse(); }`},
		{"to_json", `let m = #{}; for i in 0..100_000 { m["k" + i] = [i, "v"]; } loop { let j = m.to_json(); }`},
		{"print_array", `let a = []; a.pad(300_000, "abc"); loop { print(a); }`},
		{"array_equal", `let a = []; a.pad(1_000_000, 1); let b = a; loop { if a == b { a[0] = 1; } }`},
		{"to_upper", `let s = "x"; s.pad(4_000_000, "y"); loop { let t = s.to_upper(); }`},
		{"replace", `let s = "x"; s.pad(4_000_000, "y"); loop { let t = s; t.replace("y", "zz"); }`},
	}
	eng := rhai.New()
	for _, s := range scripts {
		b.Run(s.name, func(b *testing.B) {
			ast, err := eng.Compile(s.name, s.src)
			if err != nil {
				b.Fatal(err)
			}
			var total, worst time.Duration
			for i := 0; i < b.N; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				deadline, _ := ctx.Deadline()
				_, err := eng.EvalWith(ctx, ast, &rhai.EvalOptions{MaxMemoryBytes: 64 << 20})
				over := time.Since(deadline)
				cancel()
				var re *rhai.Error
				if !errors.As(err, &re) || re.Kind != rhai.ErrTerminated {
					b.Fatalf("ended with %v, want ErrorTerminated", err)
				}
				total += over
				worst = max(worst, over)
			}
			b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs-overshoot")
			b.ReportMetric(float64(worst.Microseconds()), "µs-worst")
			b.ReportMetric(0, "ns/op")
		})
	}
}
