package rhai_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/rhai"
	"github.com/picloud/picloud/rhai/syntax"
)

// The hostile suite: scripts in testdata/hostile that attack the sandbox (format
// in testdata/README.md, section "hostile"). Each must end with the error kind
// its header expects, without a panic and within its limits.

// hostileSafetyNet is how long one run may take before the test gives up on it.
// It only catches a sandbox that does not stop a script at all; it is not a
// measure of speed (a healthy run takes milliseconds).
const hostileSafetyNet = 10 * time.Second

// opsSlack is how far past its budget an evaluation may report operations: a
// single native may charge a whole copy at once.
const opsSlack = 1024

type hostileScript struct {
	name    string
	src     string
	expect  string
	limits  rhai.Limits
	timeout time.Duration
}

func loadHostile(t testing.TB) []hostileScript {
	files, err := filepath.Glob(filepath.Join("testdata", "hostile", "*.rhai"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []hostileScript
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h, err := parseHostile(filepath.Base(f), string(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, h)
	}
	if len(out) < 30 {
		t.Fatalf("only %d hostile scripts", len(out))
	}
	return out
}

// parseHostile reads the two header lines:
//
//	// expect: KIND
//	// limits: key=value key=value ...
func parseHostile(name, src string) (hostileScript, error) {
	h := hostileScript{name: name, src: src}
	lines := strings.SplitN(src, "\n", 3)
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "// expect: ") || !strings.HasPrefix(lines[1], "// limits:") {
		return h, fmt.Errorf("missing // expect: and // limits: header lines")
	}
	h.expect = strings.TrimSpace(strings.TrimPrefix(lines[0], "// expect: "))
	for _, kv := range strings.Fields(strings.TrimPrefix(lines[1], "// limits:")) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return h, fmt.Errorf("bad limit %q", kv)
		}
		if k == "timeout" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return h, err
			}
			h.timeout = d
			continue
		}
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			return h, fmt.Errorf("bad limit %q: %v", kv, err)
		}
		switch k {
		case "max_operations":
			h.limits.MaxOperations = n
		case "max_call_depth":
			h.limits.MaxCallDepth = int(n)
		case "max_expr_depth":
			h.limits.MaxExprDepth = int(n)
		case "max_fn_expr_depth":
			h.limits.MaxFnExprDepth = int(n)
		case "max_string_size":
			h.limits.MaxStringSize = int(n)
		case "max_array_size":
			h.limits.MaxArraySize = int(n)
		case "max_map_size":
			h.limits.MaxMapSize = int(n)
		case "max_variables":
			h.limits.MaxVariables = int(n)
		case "max_functions":
			h.limits.MaxFunctions = int(n)
		case "max_modules":
			h.limits.MaxModules = int(n)
		default:
			return h, fmt.Errorf("unknown limit %q", k)
		}
	}
	return h, nil
}

// outcome is what one run of a script came to, in a comparable form.
type outcome struct {
	Phase  string // "parse", "eval" or "" (success)
	Kind   string // root kind of the error
	Error  string
	Value  string // type and debug form of the value on success
	Ops    uint64
	Output string // print and debug lines
	Panic  string
}

func (o outcome) String() string {
	if o.Panic != "" {
		return "PANIC " + o.Panic
	}
	if o.Phase == "" {
		return fmt.Sprintf("ok %s (ops %d)", o.Value, o.Ops)
	}
	return fmt.Sprintf("%s error %s: %s (ops %d)", o.Phase, o.Kind, o.Error, o.Ops)
}

func errOutcome(phase string, err error) outcome {
	o := outcome{Phase: phase, Error: err.Error()}
	var pe *syntax.Error
	var re *rhai.Error
	switch {
	case errors.As(err, &pe):
		o.Kind = pe.FullKind()
	case errors.As(err, &re):
		o.Kind = re.RootKind()
	default:
		o.Kind = "ErrorSystem"
	}
	return o
}

// compileOutcome compiles src; a failure is the parse outcome.
func compileOutcome(eng *rhai.Engine, name, src string) (ast *rhai.AST, o outcome, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			o, ok = outcome{Panic: fmt.Sprintf("%v\n%s", r, debug.Stack())}, false
		}
	}()
	ast, err := eng.Compile(name, src)
	if err != nil {
		return nil, errOutcome("parse", err), false
	}
	return ast, outcome{}, true
}

// evalOutcome evaluates ast once with the given budget and deadline.
func evalOutcome(ctx context.Context, eng *rhai.Engine, ast *rhai.AST, timeout time.Duration) (o outcome) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var out strings.Builder
	opts := &rhai.EvalOptions{
		OnPrint: func(s string) {
			if out.Len() < 1<<16 {
				out.WriteString(s)
				out.WriteByte('\n')
			}
		},
		OnDebug: func(s, src string, pos syntax.Pos) {
			if out.Len() < 1<<16 {
				fmt.Fprintf(&out, "%s @ %v | %s\n", src, pos, s)
			}
		},
	}
	defer func() {
		if r := recover(); r != nil {
			o = outcome{Panic: fmt.Sprintf("%v\n%s", r, debug.Stack())}
		}
	}()
	v, err := eng.EvalWith(ctx, ast, opts)
	if err != nil {
		o = errOutcome("eval", err)
	} else {
		o = outcome{Value: v.TypeName() + " " + v.DebugString()}
	}
	o.Ops = opts.Operations
	o.Output = out.String()
	return o
}

// runHostile compiles and runs h on eng (whose limits must be h's).
func runHostile(ctx context.Context, eng *rhai.Engine, h hostileScript) outcome {
	ast, o, ok := compileOutcome(eng, h.name, h.src)
	if !ok {
		return o
	}
	return evalOutcome(ctx, eng, ast, h.timeout)
}

func hostileEngine(h hostileScript) *rhai.Engine {
	eng := rhai.New()
	eng.SetLimits(h.limits)
	return eng
}

func TestHostile(t *testing.T) {
	for _, h := range loadHostile(t) {
		t.Run(strings.TrimSuffix(h.name, ".rhai"), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), hostileSafetyNet)
			defer cancel()
			eng := hostileEngine(h)
			got := runHostile(ctx, eng, h)
			if ctx.Err() != nil {
				t.Fatalf("still running after the %v safety net: %s", hostileSafetyNet, got)
			}
			if got.Panic != "" {
				t.Fatalf("panic: %s", got.Panic)
			}
			if got.Kind != h.expect {
				t.Fatalf("got %s, want %s", got, h.expect)
			}
			if got.Kind == rhai.ErrSystem {
				t.Fatalf("internal error: %s", got.Error)
			}
			if max := h.limits.MaxOperations; max > 0 && got.Ops > max+opsSlack {
				t.Errorf("reported %d operations, budget %d (+%d slack)", got.Ops, max, opsSlack)
			}
			if got.Kind == rhai.ErrTerminated {
				return // where a timed-out script stops depends on the clock
			}
			again := runHostile(ctx, eng, h)
			if again.Kind != got.Kind || again.Ops != got.Ops || again.Error != got.Error {
				t.Errorf("not deterministic:\nfirst  %s\nsecond %s", got, again)
			}
			t.Logf("%s", got)
		})
	}
}
