package rhai

import (
	"context"
	"errors"
	"testing"
)

// byteHeavy are scripts whose work grows with the size of their data: big
// strings, arrays, maps and BLOBs copied, formatted, sorted, compared and
// searched. Each ends on its own budget: the operation budget or the memory
// budget.
var byteHeavy = []struct{ name, src string }{
	{"push_concat", `let s = "x"; s.pad(4_000_000, "y"); let a = []; loop { a.push(s + a.len()); }`},
	{"interpolate", `let s = "x"; s.pad(4_000_000, "y"); let a = []; loop { a.push(` + "`${s}${a.len()}`" + `); }`},
	{"string_append", `let s = "x"; s.pad(1_000_000, "y"); let t = ""; loop { t += s; }`},
	{"string_compare", `let s = "x"; s.pad(4_000_000, "y"); let t = s + ""; let n = 0; loop { if s == t { n += 1; } }`},
	{"clone_array", `let a = []; a.pad(1_000_000, 1); loop { let b = a; b.push(1); }`},
	{"clone_map", `let m = #{}; for i in 0..100_000 { m["k" + i] = i; } loop { let n = m; n.x = 1; }`},
	{"clone_blob", `let b = blob(4_000_000); loop { let c = b; c.push(1); }`},
	{"sort", `let a = []; for i in 0..300_000 { a.push(300_000 - i); } loop { a.sort(); a.reverse(); }`},
	{"sort_strings", `let a = []; for i in 0..100_000 { a.push("k" + (100_000 - i)); } loop { a.sort(); a.reverse(); }`},
	{"to_json", `let m = #{}; for i in 0..100_000 { m["k" + i] = [i, "v"]; } loop { let j = m.to_json(); }`},
	{"parse_json", `let m = #{}; for i in 0..50_000 { m["k" + i] = [i, "v"]; } let j = m.to_json(); loop { let x = parse_json(j); }`},
	{"print_array", `let a = []; a.pad(300_000, "abc"); loop { print(a); }`},
	{"to_string_map", `let m = #{}; for i in 0..100_000 { m["k" + i] = i; } loop { let s = m.to_string(); }`},
	{"interpolate_array", `let a = []; a.pad(300_000, 12345); loop { let s = ` + "`${a}`" + `; }`},
	{"array_equal", `let a = []; a.pad(1_000_000, 1); let b = []; b.pad(1_000_000, 1); loop { if a == b { a[0] = 1; } }`},
	{"array_contains", `let a = []; a.pad(1_000_000, 1); loop { if 2 in a { break; } }`},
	{"array_concat", `let a = []; a.pad(500_000, 1); loop { let b = a + a; }`},
	{"map_keys", `let m = #{}; for i in 0..100_000 { m["k" + i] = i; } loop { let k = m.keys(); }`},
	{"to_upper", `let s = "x"; s.pad(4_000_000, "y"); loop { let t = s.to_upper(); }`},
	{"replace", `let s = "x"; s.pad(4_000_000, "y"); loop { let t = s; t.replace("y", "zz"); }`},
	{"split", `let s = "x"; s.pad(1_000_000, "y,"); loop { let p = s.split(","); }`},
	{"contains", `let s = "x"; s.pad(4_000_000, "y"); loop { if s.contains("z") { break; } }`},
	{"blob_to_string", `let b = blob(2_000_000, 65); loop { let s = b.as_string(); }`},
	{"nested_arrays", `let a = []; loop { let row = []; row.pad(100_000, 1.5); a.push(row); }`},
	{"map_of_strings", `let m = #{}; let s = "x"; s.pad(100_000, "y"); loop { m["k" + m.len()] = s + m.len(); }`},
}

// TestWorkBetweenChecks proves the timeout holds whatever a script does: for
// every byte-heavy script the work done between two consecutive checks of the
// deadline (measured as the operations charged, which are proportional to the
// bytes and elements handled) stays under a fixed bound. A native doing its
// work without charging as it goes would show here as one large step.
func TestWorkBetweenChecks(t *testing.T) {
	// One step of a long copy is 1,024 operations; a check comes every 1,024
	// operations; the largest single step left is one pass over one string or
	// BLOB (a search, a case mapping, a replace), which the memory budget of
	// this test (64 MiB) bounds to two million operations. Everything that
	// iterates elements must stay within stepBound.
	const (
		budget    = 64 << 20
		stepBound = 8 * cancelCheckInterval
		passBound = budget/bytesPerOp + stepBound
	)
	singlePass := map[string]bool{"to_upper": true, "replace": true, "split": true, "contains": true,
		"blob_to_string": true, "string_compare": true}
	eng := New()
	eng.SetLimits(Limits{MaxOperations: 20_000_000})
	for _, s := range byteHeavy {
		t.Run(s.name, func(t *testing.T) {
			ast, err := eng.Compile(s.name, s.src)
			if err != nil {
				t.Fatal(err)
			}
			opts := &EvalOptions{MaxMemoryBytes: budget}
			gap := &gapMeter{}
			opts.onCheck = gap.check
			_, err = eng.EvalWith(context.Background(), ast, opts)
			var re *Error
			if !errors.As(err, &re) || !re.IsLimit() {
				t.Fatalf("ended with %v, want a limit error", err)
			}
			bound := uint64(stepBound)
			if singlePass[s.name] {
				bound = passBound
			}
			t.Logf("%-18s %-22s ops %10d checks %6d largest step %7d ops, peak %d bytes", s.name, re.Kind, opts.Operations, gap.checks, gap.worst, opts.MemoryPeak)
			if gap.worst > bound {
				t.Errorf("%d operations between two checks, want at most %d", gap.worst, bound)
			}
			if gap.checks < 10 {
				t.Errorf("only %d checks", gap.checks)
			}
		})
	}
}

// gapMeter records the largest number of operations between two checks.
type gapMeter struct {
	last   uint64
	worst  uint64
	checks int
}

func (g *gapMeter) check(ops uint64) {
	g.checks++
	if g.checks > 1 && ops-g.last > g.worst {
		g.worst = ops - g.last
	}
	g.last = ops
}
