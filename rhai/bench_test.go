package rhai_test

// Benchmarks of the six engine workloads of ../shared/bench (the programs the
// Rhai project benchmarks itself with: same algorithms, sizes and answers),
// written for PiCloud. Each compiles once and evaluates per iteration; the
// answer is checked before timing. docs/performance.md cites these:
//
//	go test ./rhai -run '^$' -bench Workload -count 5 -timeout 30m | tee new.txt
//	benchstat new.txt
//
// The same scripts, with their ports to gopher-lua, goja, go.starlark.net and
// tengo, are in bench/scripts (the bench module: cd bench && go run .).

import (
	"context"
	"testing"

	"github.com/picloud/picloud/rhai"
)

func BenchmarkWorkload(b *testing.B) {
	workloads := []struct {
		name, src string
		check     func(rhai.Value) bool
		want      string
	}{
		{"fib", scriptFib, isInt(317_811), "317811"},
		{"loop", scriptLoop, isInt(0), "0"},
		{"sieve", scriptSieve, isInt(78_498), "78498"},
		{"matmul", scriptMatmul, func(v rhai.Value) bool {
			return v.TypeName() == "f64" && v.AsFloat() == -6.592666400000001
		}, "-6.592666400000001"},
		{"strmap", scriptStrmap, isInt(18_019_517_880), "18019517880"},
		{"arraysum", scriptArraysum, isInt(499_999_500_000), "499999500000"},
	}
	eng := rhai.New()
	for _, w := range workloads {
		b.Run(w.name, func(b *testing.B) {
			ast, err := eng.Compile(w.name+".rhai", w.src)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			v, err := eng.Eval(ctx, ast, nil)
			if err != nil {
				b.Fatal(err)
			}
			if !w.check(v) {
				b.Fatalf("%s: got %s %s, want %s", w.name, v.TypeName(), v.String(), w.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := eng.Eval(ctx, ast, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func isInt(want int64) func(rhai.Value) bool {
	return func(v rhai.Value) bool { return v.TypeName() == "i64" && v.AsInt() == want }
}

// The scripts (the same text as bench/scripts/*.rhai).

const scriptFib = `// fib: recursive Fibonacci, fib(28) evaluated five times.
fn fib(n) {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}
let result = 0;
for i in 0..5 {
    result = fib(28);
}
if result != 317_811 { throw "wrong answer: " + result; }
result
`

const scriptLoop = `// loop: count down from 1,000,000 with a while loop.
let x = 1_000_000;
while x > 0 {
    x -= 1;
}
x
`

const scriptSieve = `// sieve: primes up to 1,000,000 with a sieve of Eratosthenes on a bool array.
const LIMIT = 1_000_000;
let marks = [];
marks.pad(LIMIT + 1, true);
marks[0] = false;
marks[1] = false;
let found = 0;
for p in 2..=LIMIT {
    if !marks[p] { continue; }
    found += 1;
    for k in range(2 * p, LIMIT + 1, p) {
        marks[k] = false;
    }
}
if found != 78_498 { throw "wrong answer: " + found; }
found
`

const scriptMatmul = `// matmul: two generated 50x50 float matrices (nested arrays), multiplied.
const N = 50;
fn zeros(rows, cols) {
    let row = [];
    row.pad(cols, 0.0);
    let m = [];
    m.pad(rows, row);
    m
}
fn generate(n) {
    let scale = 1.0 / n / n;
    let m = zeros(n, n);
    for i in 0..n {
        for j in 0..n {
            m[i][j] = scale * (i - j) * (i + j);
        }
    }
    m
}
fn multiply(a, b) {
    let rows = a.len();
    let inner = a[0].len();
    let cols = b[0].len();
    let bt = zeros(cols, inner);
    for i in 0..inner {
        for j in 0..cols {
            bt[j][i] = b[i][j];
        }
    }
    let c = zeros(rows, cols);
    for i in 0..rows {
        for j in 0..cols {
            let sum = 0.0;
            for k in 0..inner {
                sum += a[i][k] * bt[j][k];
            }
            c[i][j] = sum;
        }
    }
    c
}
let a = generate(N);
let b = generate(N);
let c = multiply(a, b);
c[10][20]
`

const scriptStrmap = `// strmap: 4 x 210 x 226 = 189,840 interpolated keys put into an object map,
// looked up and summed, then all removed.
let first = ["quite", "rather", "truly", "very"];
let second = [];
for i in 0..210 { second.push(` + "`" + `adjective${i}` + "`" + `); }
let third = [];
for i in 0..226 { third.push(` + "`" + `animal number ${i}` + "`" + `); }
let keys = [];
for c in third {
    for b in second {
        for a in first {
            keys.push(` + "`" + `${a} ${b} ${c}` + "`" + `);
        }
    }
}
let table = #{};
let n = 0;
for k in keys {
    table[k] = n;
    n += 1;
}
let sum = 0;
for k in keys {
    sum += table[k];
}
for k in keys {
    table.remove(k);
}
if table.len() != 0 { throw "table not empty"; }
sum
`

const scriptArraysum = `// arraysum: push 1,000,000 integers onto an array, then sum the array.
let items = [];
for i in 0..1_000_000 {
    items.push(i);
}
let total = 0;
for v in items {
    total += v;
}
if total != 499_999_500_000 { throw "wrong answer: " + total; }
total
`
