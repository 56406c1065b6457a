package rhai

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/picloud/picloud/rhai/syntax"
)

// thread is the state of one evaluation: the value stack, call frames, the
// operation counter and the cancellation flag. It is used by one goroutine and
// recycled through a pool, so an evaluation allocates almost nothing up front.
type thread struct {
	eng *Engine
	ctx context.Context
	ast *AST

	// Operation accounting. ops counts operations; when it reaches checkAt the
	// slow path checks the budget and the context. One increment and one
	// comparison per operation is all the hot path pays; looking at the context
	// every 1,024 operations needs no goroutine or callback per evaluation.
	ops       uint64
	maxOps    uint64
	checkAt   uint64
	cancelled atomic.Bool
	checks    uint32             // slow-path checks so far, to yield now and then
	sched     [1]metrics.Sample  // the runnable goroutines, read before yielding
	onYield   func(yielded bool) // tests: called at every chance to yield
	onCheck   func(ops uint64)   // tests: called at every slow-path check

	// Memory accounting (memory.go): mem counts the bytes allocated since the
	// last measurement of what is live; reaching memCheck triggers one.
	mem      int64
	memCheck int64
	memLimit int64
	memPeak  int64
	memWalks int
	memSeen  map[unsafe.Pointer]struct{} // reused by the walks
	strBuf   appendBuf                   // the string += grows in place

	depth    int // script function call depth
	maxDepth int

	// at is where evaluation is: the position of the statement (or loop
	// iteration) being evaluated, one store per statement (tickAt). Errors that
	// Rhai reports without a position (limits, memory, termination) take it as
	// their Error.at, for hosts that want to show a place (Error.Where); it is
	// never part of the error's text.
	at   syntax.Pos
	main *AST // the evaluated script (ast changes during module calls)

	// The value stack is a list of chunks that never move, so frames may keep
	// slices into them while deeper calls grow the stack.
	chunks [][]Value
	chunk  int
	sp     int

	frames []frame

	scope    *Scope
	resolver ModuleResolver // this evaluation's, overriding the engine's
	onPrint  func(string)
	onDebug  func(string, string, syntax.Pos)

	caught   *Error // the error being handled by the innermost catch (for `throw;`)
	modules  []importedModule
	nctx     Context          // the Context handed to natives
	methods  []*function      // typed methods made global by imports
	outer    *outerScope      // the caller's scope of a f!() call in progress
	globals  []globalVar      // top-level constants, for global::NAME
	evalVars []evalVar        // variables declared by eval'd code
	exports  map[string]Value // the exports of the module being initialised
}

// importedModule is a module brought in by `import ... as alias`.
type importedModule struct {
	alias string
	mod   *scriptModule
}

// cancelCheckInterval is how many operations pass between two looks at the
// cancellation flag: small enough that a cancelled script stops within
// microseconds, large enough to cost nothing.
const cancelCheckInterval = 1024

var threadPool = sync.Pool{New: func() any {
	return &thread{chunks: [][]Value{make([]Value, 1024)}}
}}

func newThread(eng *Engine, ctx context.Context, ast *AST, maxOps uint64) *thread {
	th := threadPool.Get().(*thread)
	th.eng = eng
	th.ctx = ctx
	th.ast = ast
	th.main = ast
	th.ops = 0
	th.maxOps = maxOps
	th.cancelled.Store(false)
	th.depth = 0
	th.maxDepth = eng.limits.MaxCallDepth
	if th.maxDepth <= 0 {
		th.maxDepth = defaultMaxCallDepth
	}
	if th.maxDepth > maxCallDepthCap {
		th.maxDepth = maxCallDepthCap
	}
	if len(th.frames) < th.maxDepth+2 {
		th.frames = make([]frame, th.maxDepth+2)
	}
	th.chunk, th.sp = 0, 0
	th.setMemoryLimit(eng.limits.MaxMemoryBytes)
	th.setCheckAt()
	return th
}

func (th *thread) release() {
	// Drop references so pooled threads do not keep script data alive. Stack
	// slots above sp were cleared as frames returned; after an error the
	// unwound part lies below sp too. Frames are used from 0 up, contiguously.
	for i := 0; i < th.chunk; i++ {
		clear(th.chunks[i])
	}
	clear(th.chunks[th.chunk][:th.sp])
	for i := range th.frames {
		if th.frames[i].th == nil {
			break
		}
		th.frames[i] = frame{}
	}
	th.at, th.main = syntax.Pos{}, nil
	th.ctx, th.ast, th.scope, th.onPrint, th.onDebug, th.caught, th.resolver = nil, nil, nil, nil, nil, nil, nil
	th.modules = th.modules[:0]
	th.globals = th.globals[:0]
	th.evalVars = th.evalVars[:0]
	th.outer = nil
	th.nctx = Context{}
	th.methods = th.methods[:0]
	th.exports = nil
	th.onCheck, th.onYield, th.memSeen, th.strBuf = nil, nil, nil, appendBuf{}
	threadPool.Put(th)
}

const defaultMaxCallDepth = 64

// maxCallDepthCap bounds MaxCallDepth whatever the host asks: each script call
// takes a few KB of Go stack, and a Go stack overflow would kill the process.
const maxCallDepthCap = 10_000

func (th *thread) setCheckAt() {
	next := th.ops + cancelCheckInterval
	if th.maxOps > 0 && th.maxOps < next {
		next = th.maxOps
	}
	th.checkAt = next
}

// tick1 counts one operation.
func (th *thread) tick1() {
	th.ops++
	if th.ops >= th.checkAt {
		th.slowCheck()
	}
}

// slowCheck enforces the operation budget and cancellation; it panics with the
// limit error (evaluation errors travel as panics inside the interpreter and
// become error values at the API boundary).
func (th *thread) slowCheck() {
	if th.onCheck != nil {
		th.onCheck(th.ops)
	}
	if th.maxOps > 0 && th.ops > th.maxOps {
		panic(&Error{Kind: ErrTooManyOperations, Message: "Too many operations"})
	}
	if th.cancelled.Load() {
		panic(&Error{Kind: ErrTerminated, Message: "Script terminated"})
	}
	if th.ctx != nil && th.ctx.Err() != nil {
		th.cancelled.Store(true)
		panic(&Error{Kind: ErrTerminated, Message: "Script terminated"})
	}
	// A long-running script yields the processor every 16 checks (~16,000
	// operations, a fraction of a millisecond), so that short scripts waiting
	// on a busy machine run between its slices instead of waiting for the Go
	// scheduler's 10 ms preemption.
	th.checks++
	if th.checks&15 == 0 {
		th.yield()
	}
	th.setCheckAt()
}

// runnableMetric counts the goroutines ready to run but not running.
const runnableMetric = "/sched/goroutines/runnable:goroutines"

// yield gives up the processor when a goroutine is waiting for one. With no
// one waiting a yield only costs: the goroutine goes through the global run
// queue and often resumes on another thread, and while the collector marks,
// the scheduler hands the processor to a mark worker first. A one-script
// process (picloud rhai run arraysum.rhai) spent 3-46 ms of a 60 ms
// evaluation waiting after such yields on a busy machine, nearly all of the
// collector's apparent share of its wall time (docs/performance.md). Reading
// the count takes ~0.2 us, every ~16,000 operations.
func (th *thread) yield() {
	th.sched[0].Name = runnableMetric
	metrics.Read(th.sched[:])
	v := th.sched[0].Value
	yielded := v.Kind() != metrics.KindUint64 || v.Uint64() > 0
	if th.onYield != nil {
		th.onYield(yielded)
	}
	if yielded {
		runtime.Gosched()
	}
}

// tick accounts for n operations at once, for natives doing long work.
func (th *thread) tick(n int) (err error) {
	if th == nil {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(*Error); ok {
				err = e
				return
			}
			panic(r)
		}
	}()
	th.ops += uint64(n)
	if th.ops >= th.checkAt {
		th.slowCheck()
	}
	return nil
}

type sizeKind uint8

const (
	sizeString sizeKind = iota
	sizeArray
	sizeMap
)

func (th *thread) checkSize(k sizeKind, n int) error {
	if th == nil || th.eng == nil {
		return nil
	}
	var max int
	var what string
	switch k {
	case sizeString:
		max, what = th.eng.limits.MaxStringSize, "Length of string"
	case sizeArray:
		max, what = th.eng.limits.MaxArraySize, "Size of array/BLOB"
	case sizeMap:
		max, what = th.eng.limits.MaxMapSize, "Size of object map"
	}
	if max > 0 && n > max {
		return &Error{Kind: ErrDataTooLarge, Message: what + " too large"}
	}
	return nil
}

// alloc reserves n zeroed value slots on the stack.
func (th *thread) alloc(n int) []Value {
	c := th.chunks[th.chunk]
	if th.sp+n <= len(c) {
		s := c[th.sp : th.sp+n : th.sp+n]
		th.sp += n
		return s
	}
	return th.allocSlow(n)
}

func (th *thread) allocSlow(n int) []Value {
	// Move to the next chunk; remember where we were in the frame that owns
	// this allocation (see mark/reset).
	th.chunk++
	if th.chunk == len(th.chunks) {
		size := 2 * len(th.chunks[th.chunk-1])
		if size < n {
			size = n
		}
		th.chunks = append(th.chunks, make([]Value, size))
	} else if len(th.chunks[th.chunk]) < n {
		th.chunks[th.chunk] = make([]Value, n)
	}
	th.sp = n
	return th.chunks[th.chunk][:n:n]
}

// stackMark is a saved stack position.
type stackMark struct{ chunk, sp int }

func (th *thread) mark() stackMark { return stackMark{th.chunk, th.sp} }

// reset frees everything allocated since m, clearing it for the collector.
func (th *thread) reset(m stackMark) {
	if th.chunk == m.chunk {
		// The common case: a few slots in the current chunk, cleared one by one
		// (cheaper than a bulk clear with its write barriers for so few).
		c := th.chunks[th.chunk]
		for i := m.sp; i < th.sp; i++ {
			store(&c[i], Value{})
		}
		th.sp = m.sp
		return
	}
	for th.chunk > m.chunk {
		clear(th.chunks[th.chunk][:th.sp])
		th.chunk--
		th.sp = len(th.chunks[th.chunk])
	}
	clear(th.chunks[th.chunk][m.sp:th.sp])
	th.sp = m.sp
}

func (th *thread) print(s string) {
	if th != nil && th.onPrint != nil {
		th.onPrint(s)
	}
}

// raise aborts evaluation with err at pos (unless err already has a position).
func raise(err *Error, pos syntax.Pos) {
	if !err.Pos.IsValid() && pos.IsValid() {
		err.Pos = pos
	}
	panic(err)
}

// raiseAt panics with err, which Rhai reports without a position (arithmetic
// errors), recording pos only as where evaluation was (Error.Where): the
// error's text and Pos stay Rhai's.
func raiseAt(err *Error, pos syntax.Pos) {
	if !err.Pos.IsValid() && !err.at.IsValid() {
		err.at = pos
	}
	panic(err)
}

// locate records where evaluation was on an error that has no position yet.
func (th *thread) locate(e *Error) {
	if !e.Pos.IsValid() && !e.at.IsValid() {
		e.at = th.at
	}
}

// maxDataDepth bounds how deeply arrays and maps may nest. Rhai has no such
// limit, but without one a loop like `a = [a]` builds data whose copying and
// printing recurse without bound; no real script nests anywhere near this.
const maxDataDepth = 2048

// clone is Value.Clone for the evaluator and the natives: what it copies
// counts against the memory budget and as operations (one per element, see
// grow), charged as it goes so that even one huge copy stops at the limit or
// on cancellation (a script pushing an array into itself doubles its size each
// time), and data nested deeper than maxDataDepth is refused with
// ErrorDataTooLarge. It panics with the limit error, like every evaluation
// error.
func (th *thread) clone(v Value) Value {
	if !v.IsMutableContainer() {
		return v
	}
	return cloner{th: th}.clone(v, 0)
}

// cloner copies nested data, accounting each container before copying it.
type cloner struct{ th *thread }

// count accounts for n bytes about to be copied (nothing without a thread).
func (c cloner) count(n int) {
	if c.th != nil {
		c.th.grow(n)
	}
}

func (c cloner) clone(v Value, depth int) Value {
	if depth > maxDataDepth {
		panic(&Error{Kind: ErrDataTooLarge, Message: "Data nested too deeply"})
	}
	switch v.t {
	case TypeArray:
		if a := v.array(); a.packed != TypeUnit {
			return c.clonePacked(v, a)
		}
		src := v.AsArray().Items
		if !c.th.fits(len(src) * valueBytes) {
			panic(errMemory())
		}
		items := make([]Value, len(src))
		// In steps, so that a long copy meets the checks along the way.
		for lo := 0; lo < len(src); lo += copyStep {
			hi := min(lo+copyStep, len(src))
			c.count((hi - lo) * valueBytes)
			for i, e := range src[lo:hi] {
				if e.IsMutableContainer() {
					e = c.clone(e, depth+1)
				}
				items[lo+i] = e
			}
		}
		c.count(containerBytes)
		r := NewArray(items)
		r.tag = v.tag
		return r
	case TypeMap:
		src := v.AsMap().M
		if !c.th.fits(len(src) * mapEntryBytes) {
			panic(errMemory())
		}
		m := make(map[string]Value, len(src))
		n := 0
		for k, e := range src {
			if n%copyStep == 0 {
				c.count(min(copyStep, len(src)-n) * mapEntryBytes)
			}
			n++
			if e.IsMutableContainer() {
				e = c.clone(e, depth+1)
			}
			m[k] = e
		}
		c.count(containerBytes)
		r := NewMap(m)
		r.tag = v.tag
		return r
	case TypeBlob:
		src := v.AsBlob().B
		if !c.th.fits(len(src)) {
			panic(errMemory())
		}
		c.count(containerBytes)
		b := make([]byte, 0, len(src))
		for lo := 0; lo < len(src); lo += copyStep * valueBytes {
			hi := min(lo+copyStep*valueBytes, len(src))
			c.count(hi - lo)
			b = append(b, src[lo:hi]...)
		}
		r := NewBlob(b)
		r.tag = v.tag
		return r
	}
	return v
}

// copyStep is how many elements (or, times valueBytes, bytes) a long copy
// handles between two accountings: 1,024 operations' worth, the interval of
// the cancellation check.
const copyStep = cancelCheckInterval

// own returns args[i] for a native that keeps it: the value itself when the
// caller passed a temporary (nobody else holds it), else a copy.
func (c *Context) own(args []Value, i int) Value {
	if c != nil && c.owned&(1<<i) != 0 {
		return args[i]
	}
	return c.clone(args[i])
}

// clone copies v for a native that keeps it (see NativeFunc), counting the work
// and refusing absurdly nested data. It may panic with a limit error, which the
// engine turns into the evaluation's error.
func (c *Context) clone(v Value) Value {
	if c == nil {
		return v.Clone()
	}
	return c.th.clone(v)
}
