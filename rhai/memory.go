package rhai

import (
	"math"
	"slices"
	"strings"

	"github.com/picloud/picloud/rhai/syntax"
	"unsafe"
)

// Memory and byte accounting of one evaluation.
//
// Work proportional to bytes is charged as operations: one operation per
// bytesPerOp bytes copied, built or scanned. Copying 32 bytes into fresh memory
// costs about 8 ns (a 4 MB string concatenation runs at ~4 GB/s), about what one
// interpreted operation costs, so a script cannot buy more time with bytes than
// with statements. At that rate the default budget of 10,000,000 operations
// allows about 320 MB of byte work in all; a script concatenating a 4 MB string
// a hundred times (400 MB) runs out of operations, and under a memory budget of
// 64 MiB it stops after about sixteen of them.
//
// The memory budget (Limits.MaxMemoryBytes, EvalOptions.MaxMemoryBytes) bounds
// the bytes the evaluation holds in strings, arrays, maps and BLOBs. Counting
// what is live at every allocation would cost a walk per allocation, so the
// engine counts like a garbage collector's trigger:
//
//   - every allocation adds its size to th.mem (one addition and one comparison
//     on the hot path, shared with the operation counter's check);
//   - th.mem is an upper bound of what is live (it never subtracts what the
//     script drops); when it crosses the budget, measure walks what the script
//     can still reach (the value stack, frames, closures' cells, the host scope,
//     constants, modules, the variables eval made) and counts each backing
//     store once (arrays, maps, BLOBs and strings of 64 bytes or more are
//     deduplicated by pointer);
//   - live data plus the allocation in progress over the budget is the error
//     ErrorDataTooLarge; otherwise th.mem restarts from the live size.
//
// A walk visits at most the budget's worth of data (it stops as soon as the
// count passes the budget) and is charged one operation per value visited, so
// a script whose live data stays under half its budget pays at most about one
// extra operation per 32 bytes it allocates for the walks its garbage causes.
// Without a budget th.memCheck is never reached and nothing is walked.
//
// Sizes are Go's: a Value slot is 32 bytes, a map entry about 64 plus its key,
// a string its bytes (its header lives in the slot holding it). Temporaries
// held only by the Go stack of the evaluator (the left operand while the right
// one is evaluated) are not roots; they were counted when allocated and drop
// out at the next walk, so the budget can be passed by at most the
// temporaries of one expression.

// bytesPerOp is how many bytes of string, BLOB or copy work count as one
// operation (see above); bytesPerOpShift is its base-2 logarithm.
const (
	bytesPerOp      = 32
	bytesPerOpShift = 5
)

// Accounted sizes.
const (
	valueBytes     = int(unsafe.Sizeof(Value{})) // one slot of an array, a stack or a variable
	mapEntryBytes  = 64                          // a Value, a key header and the map's overhead
	containerBytes = 48                          // the header of an array, map or BLOB
	dedupMinString = 64                          // shorter strings are counted per reference
)

// errMemory is the error of a crossed memory budget, in Rhai's words for
// ErrorDataTooLarge ("<what> too large").
func errMemory() *Error {
	return &Error{Kind: ErrDataTooLarge, Message: "Size of script data too large"}
}

// setMemoryLimit arms the memory budget (0: none).
func (th *thread) setMemoryLimit(limit int64) {
	th.mem, th.memPeak, th.memWalks = 0, 0, 0
	th.memLimit = limit
	if limit > 0 {
		th.memCheck = limit
	} else {
		th.memCheck = math.MaxInt64
	}
}

// grow accounts for n bytes the evaluation is about to allocate and copy: they
// count against the memory budget and as n/bytesPerOp operations. It panics
// with the limit error, before the allocation, when either budget would be
// passed.
func (th *thread) grow(n int) {
	th.ops += uint64(n) >> bytesPerOpShift
	th.mem += int64(n)
	if th.ops >= th.checkAt || th.mem > th.memCheck {
		th.growSlow(n)
	}
}

// work accounts for n bytes the evaluation is about to scan without keeping
// them (a comparison, a search).
func (th *thread) work(n int) {
	th.ops += uint64(n) >> bytesPerOpShift
	if th.ops >= th.checkAt {
		th.growSlow(0)
	}
}

func (th *thread) growSlow(n int) {
	if th.maxOps > 0 && th.ops > th.maxOps {
		// Refused before the work, which is therefore not billed: the
		// evaluation reports stopping exactly at its budget.
		th.ops = th.maxOps + 1
		panic(&Error{Kind: ErrTooManyOperations, Message: "Too many operations"})
	}
	if th.mem > th.memCheck {
		th.measure(int64(n))
	}
	if th.ops >= th.checkAt {
		th.slowCheck()
	}
}

// fits reports, without accounting them, whether n more bytes would stay
// within the memory budget (measuring what is live when the count says they
// might not). Natives call it before they build a large result, which is
// accounted when they return it.
func (th *thread) fits(n int) bool {
	if th == nil || th.memLimit <= 0 || th.mem+int64(n) <= th.memCheck {
		return true
	}
	return th.measureLive(th.memLimit-int64(n))+int64(n) <= th.memLimit
}

// measure walks the live data. Over the budget with pending bytes about to be
// allocated, it panics with ErrorDataTooLarge; otherwise the count restarts
// from the live size plus pending.
func (th *thread) measure(pending int64) {
	live := th.measureLive(th.memLimit - pending)
	if live+pending > th.memLimit {
		th.mem = live // the refused bytes were never held: not in the peak
		panic(errMemory())
	}
	th.mem = live + pending
	th.memPeak = max(th.memPeak, th.mem)
}

// measureLive sets the count to the bytes reachable from the thread's roots
// (the walk stops once they pass limit) and returns it.
func (th *thread) measureLive(limit int64) int64 {
	w := memWalker{th: th, seen: th.memSeen, limit: limit}
	if w.seen == nil {
		w.seen = make(map[unsafe.Pointer]struct{})
	}
	th.memSeen = w.seen
	defer clear(w.seen)
	w.roots(th)
	th.memWalks++
	th.ops += uint64(w.visited - w.charged) // the walk is work too
	th.mem = w.total
	th.memPeak = max(th.memPeak, th.mem)
	return w.total
}

// memoryPeak is EvalOptions.MemoryPeak: the most bytes accounted at once (an
// upper bound of the live peak: what was allocated since the last walk counts
// as held).
func (th *thread) memoryPeak() int64 {
	if th.memLimit <= 0 {
		return 0
	}
	return max(th.memPeak, th.mem)
}

// memWalker sums the bytes reachable from a thread's roots.
type memWalker struct {
	th      *thread // charged one operation per value visited, as it goes
	charged int
	seen    map[unsafe.Pointer]struct{}
	total   int64
	limit   int64 // stop walking once total passes it: the verdict is known
	visited int
}

func (w *memWalker) over() bool {
	if w.visited-w.charged >= copyStep {
		// A long walk meets the operation budget and cancellation checks.
		n := w.visited - w.charged
		w.charged = w.visited
		w.th.ops += uint64(n)
		if w.th.ops >= w.th.checkAt {
			w.th.slowCheck()
		}
	}
	return w.total > w.limit
}

// once reports whether p is met for the first time.
func (w *memWalker) once(p unsafe.Pointer) bool {
	if _, ok := w.seen[p]; ok {
		return false
	}
	w.seen[p] = struct{}{}
	return true
}

func (w *memWalker) roots(th *thread) {
	for i := 0; i <= th.chunk && i < len(th.chunks); i++ {
		c := th.chunks[i]
		if i == th.chunk {
			c = c[:th.sp]
		}
		w.values(c, 0)
	}
	for i := 0; i <= th.depth+1 && i < len(th.frames); i++ {
		fr := &th.frames[i]
		if fr.th == nil {
			break
		}
		w.value(fr.ret, 0)
		if fr.this != nil {
			w.value(*fr.this, 0)
		}
		for _, c := range fr.env {
			w.cell(c, 0)
		}
	}
	if th.scope != nil {
		// A lazy variable not made yet holds Unit: nothing to count.
		for i := range th.scope.vars {
			if w.over() {
				break
			}
			if v := th.scope.vars[i].v; v.t >= TypeString {
				w.value(v, 0)
			} else {
				w.visited++
			}
		}
	}
	for _, g := range th.globals {
		w.value(g.v, 0)
	}
	for _, ev := range th.evalVars {
		if ev.v != nil {
			w.value(*ev.v, 0)
		}
	}
	for _, m := range th.modules {
		w.module(m.mod, 0)
	}
	for _, v := range th.exports {
		w.value(v, 0)
	}
	if th.caught != nil {
		w.value(th.caught.Value, 0)
	}
}

func (w *memWalker) module(m *scriptModule, depth int) {
	if m == nil || depth > maxDataDepth || !w.once(unsafe.Pointer(m)) {
		return
	}
	for _, v := range m.vars {
		w.value(v, depth+1)
	}
	for _, s := range m.subs {
		w.module(s, depth+1)
	}
}

func (w *memWalker) cell(c *cell, depth int) {
	if c != nil && w.once(unsafe.Pointer(c)) {
		w.value(c.v, depth+1)
	}
}

func (w *memWalker) values(vs []Value, depth int) {
	for i := range vs {
		if w.over() {
			return
		}
		if vs[i].t >= TypeString {
			w.value(vs[i], depth)
		} else {
			w.visited++
		}
	}
}

func (w *memWalker) value(v Value, depth int) {
	w.visited++
	if depth > maxDataDepth || w.over() {
		return
	}
	switch v.t {
	case TypeString:
		if v.n >= dedupMinString {
			if p, _ := v.p.(unsafe.Pointer); p != nil && !w.once(p) {
				return
			}
		}
		w.total += int64(v.n)
	case TypeArray:
		a := v.array()
		if a == nil || !w.once(unsafe.Pointer(a)) {
			return
		}
		// A packed element counts as the slot it takes unpacked (packed.go);
		// having nothing inside to visit, a packed array is walked at once.
		w.total += int64(containerBytes + a.capacity()*valueBytes)
		w.values(a.Items, depth+1)
	case TypeMap:
		m := v.AsMap()
		if m == nil || !w.once(unsafe.Pointer(m)) {
			return
		}
		w.total += int64(containerBytes + len(m.M)*mapEntryBytes)
		for k, e := range m.M {
			if w.over() {
				return
			}
			w.total += int64(len(k))
			if e.t >= TypeString {
				w.value(e, depth+1)
			} else {
				w.visited++
			}
		}
	case TypeBlob:
		b := v.AsBlob()
		if b == nil || !w.once(unsafe.Pointer(b)) {
			return
		}
		w.total += int64(containerBytes + cap(b.B))
	case TypeFnPtr:
		f := v.AsFnPtr()
		if f == nil || !w.once(unsafe.Pointer(f)) {
			return
		}
		w.values(f.Curry, depth+1)
		for _, c := range f.env {
			w.cell(c, depth+1)
		}
	case typeCell:
		c, _ := v.p.(*cell)
		w.cell(c, depth)
	}
}

// shallowBytes is what a value a native returns or grows newly holds at its
// top level (its elements were accounted when they were made or copied).
func shallowBytes(v Value) int {
	switch v.t {
	case TypeString:
		return int(v.n)
	case TypeArray:
		if a := v.array(); a != nil {
			return containerBytes + a.Len()*valueBytes
		}
	case TypeMap:
		if m := v.AsMap(); m != nil {
			return containerBytes + len(m.M)*mapEntryBytes
		}
	case TypeBlob:
		if b := v.AsBlob(); b != nil {
			return containerBytes + len(b.B)
		}
	}
	return 0
}

// copyStepBytes is how many bytes a long copy moves between two accountings
// (1,024 operations' worth).
const copyStepBytes = copyStep * bytesPerOp

// concat is x + y for the evaluator: accounted first, and a long copy made in
// steps so that it meets the budget and cancellation checks along the way.
func (th *thread) concat(x, y string) string {
	n := len(x) + len(y)
	if n <= copyStepBytes {
		th.grow(n)
		return x + y
	}
	if !th.fits(n) {
		panic(errMemory())
	}
	var b strings.Builder
	b.Grow(n)
	th.writeStepped(&b, x)
	th.writeStepped(&b, y)
	return b.String()
}

// writeStepped appends s to b copyStepBytes at a time, accounting each step.
func (th *thread) writeStepped(b *strings.Builder, s string) {
	for len(s) > 0 {
		k := min(len(s), copyStepBytes)
		th.grow(k)
		b.WriteString(s[:k])
		s = s[k:]
	}
}

// equal is opEqual for the evaluator: the comparison is charged as it goes
// (see equaler).
func (th *thread) equal(a, b Value) bool {
	eq := equaler{th: th}
	return eq.equal(a, b, 0)
}

// hold accounts for n bytes of memory that cost no work (the spare room of a
// buffer).
func (th *thread) hold(n int) {
	th.mem += int64(n)
	if th.mem > th.memCheck {
		th.measure(0)
	}
}

// holdNew accounts for n bytes a native has just allocated (the natives
// charged the work themselves and checked with fits before large results).
func (th *thread) holdNew(n int, pos syntax.Pos) {
	th.mem += int64(n)
	if th.mem > th.memCheck {
		defer func() {
			if r := recover(); r != nil {
				if e, ok := r.(*Error); ok {
					raise(e, pos)
				}
				panic(r)
			}
		}()
		// The result is not reachable from the roots yet: it is pending.
		th.mem -= int64(n)
		th.measure(int64(n))
	}
}

// sortedKeys is Map.SortedKeys for the evaluator: collecting the keys counts
// one operation each and sorting one per comparison, charged as it goes.
func (th *thread) sortedKeys(m *Map) []string {
	if th == nil {
		return m.SortedKeys()
	}
	th.hold(len(m.M) * 16) // the slice of key headers
	keys := make([]string, 0, len(m.M))
	for k := range m.M {
		keys = append(keys, k)
		if len(keys)%copyStep == 0 {
			th.work(copyStepBytes)
		}
	}
	n := 0
	slices.SortFunc(keys, func(a, b string) int {
		if n++; n == copyStep {
			th.work(n * bytesPerOp)
			n = 0
		}
		return strings.Compare(a, b)
	})
	return keys
}

// appendBuf is the buffer of the string the thread last grew with +=: Rhai
// appends to a string in place, and a loop doing `s += piece` must cost the
// pieces, not a copy of s each time. Strings are immutable, so the buffer is
// only ever written past the longest string made from it (used): every string
// pointing into it is a prefix of that one and never sees the new bytes.
type appendBuf struct {
	buf  []byte
	used int
}

// appendString is s + add for `s += add`: in place when s is the string the
// thread last grew, else in a new buffer with room to grow. The copying is
// accounted (see memory.go); doubling makes it amortised per byte appended.
func (th *thread) appendString(s, add string) string {
	ab := &th.strBuf
	if len(s) > 0 && len(s) == ab.used && len(ab.buf) > 0 && unsafe.StringData(s) == &ab.buf[0] &&
		len(s)+len(add) <= cap(ab.buf) {
		ab.buf = ab.buf[:ab.used]
		for p := add; len(p) > 0; {
			k := min(len(p), copyStepBytes)
			th.grow(k)
			ab.buf = append(ab.buf, p[:k]...)
			p = p[k:]
		}
		ab.used = len(ab.buf)
		return unsafe.String(&ab.buf[0], ab.used)
	}
	n := len(s) + len(add)
	if n < 64 {
		th.grow(n)
		return s + add
	}
	c := n + n/2 // room to grow
	if !th.fits(c) {
		panic(errMemory())
	}
	th.hold(c - n) // the slack; the copy is accounted as it goes
	buf := make([]byte, 0, c)
	for _, p := range [2]string{s, add} {
		for len(p) > 0 {
			k := min(len(p), copyStepBytes)
			th.grow(k)
			buf = append(buf, p[:k]...)
			p = p[k:]
		}
	}
	*ab = appendBuf{buf: buf, used: len(buf)}
	return unsafe.String(&buf[0], len(buf))
}

// nestedBytes is what v holds below its top level (what shallowBytes leaves
// out): the elements of its arrays and maps, their keys, strings and BLOBs,
// recursively. Values a native builds from outside data (JSON, a network
// body) are new: nothing in them was accounted yet.
func nestedBytes(v Value, depth int) int {
	if depth > maxDataDepth {
		return 0
	}
	n := 0
	switch v.t {
	case TypeArray:
		if a := v.array(); a != nil { // a packed array's elements hold nothing more
			for _, e := range a.Items {
				n += shallowBytes(e) + nestedBytes(e, depth+1)
			}
		}
	case TypeMap:
		if m := v.AsMap(); m != nil {
			for k, e := range m.M {
				n += len(k) + shallowBytes(e) + nestedBytes(e, depth+1)
			}
		}
	}
	return n
}

// HoldNested accounts toward the memory budget everything v holds below its
// top level. The engine accounts the top level of what a native returns;
// a native that returns nested data it built — a parsed JSON document, a
// response map holding a body — calls HoldNested so that the contents count
// too. It returns the limit error (ErrorDataTooLarge) when they do not fit.
func (c *Context) HoldNested(v Value) (err error) {
	th := c.th
	if th == nil || th.memLimit <= 0 {
		return nil
	}
	n := nestedBytes(v, 0)
	if n == 0 {
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
	th.mem += int64(n)
	if th.mem > th.memCheck {
		// v is not reachable from the roots yet: it is pending.
		th.mem -= int64(n)
		th.measure(int64(n))
	}
	return nil
}
