package rhai

import (
	"math"
	"strings"

	"github.com/picloud/picloud/rhai/syntax"
)

// The compiler turns the resolved AST into a tree of Go closures: each
// expression becomes an evalFn, each statement an execFn. Closures capture
// everything they need (slot numbers, constants, callee functions) at compile
// time, so evaluation does no lookups by name and no type switches on AST nodes.
//
// Errors inside evaluation travel as panics carrying *Error (raise); the API
// boundary and try/catch recover them. Control flow (break, continue, return)
// travels as the ctrl result of execFns, with the carried value in frame.ret.

type ctrl uint8

const (
	ctrlNone ctrl = iota
	ctrlBreak
	ctrlContinue
	ctrlReturn
)

type (
	evalFn func(fr *frame) Value
	execFn func(fr *frame) ctrl
)

// cell is a variable shared between a scope and the closures that capture it.
type cell struct {
	v      Value
	shared bool // a closure has captured it (is_shared)
}

// frame is one activation of a function (or of the main script).
type frame struct {
	th        *thread
	slots     []Value
	env       []*cell
	this      *Value
	thisConst bool
	fn        *function
	// ret carries the value of the last executed statement-expression, of a
	// `return` or of a `break`, depending on the ctrl that came with it.
	ret Value
}

// ctrlSignal carries break/continue/return out of an expression to the
// statement around it.
type ctrlSignal struct {
	fr *frame
	c  ctrl
}

// function is a compiled script function, closure body or main script.
type function struct {
	name    string
	params  []string
	nslots  int
	body    execFn // leaves the result in frame.ret
	private bool
	anon    bool
	ast     *AST
	pos     syntax.Pos
	// envFrom says, for a closure, where each captured cell comes from in the
	// frame that creates it.
	envFrom []*binding
	// thisType restricts a typed method (`fn int.twice()`) to one type_of name.
	thisType string
	// boxedParams are the parameters some closure captures: they are moved into
	// cells on entry.
	boxedParams []int
}

type compiler struct {
	eng   *Engine
	ast   *AST
	res   *resolution
	inFn  bool
	scope *funcScope
	// moves are the variables the main script's last expression reads for the
	// last time (see finalMoves): stored without a copy.
	moves map[*syntax.Ident]bool
}

func (c *compiler) binding(e *syntax.Ident) *binding { return c.res.idents[e] }

// ---- Statements ----

func (c *compiler) block(stmts []syntax.Stmt) execFn {
	inner := c.block1(stmts)
	if blockCallsEval(stmts) {
		// Variables eval declares in a block go away at its end.
		inner := inner
		return func(fr *frame) ctrl {
			th := fr.th
			n := len(th.evalVars)
			r := inner(fr)
			if len(th.evalVars) > n {
				th.evalVars = th.evalVars[:n]
			}
			return r
		}
	}
	for _, s := range stmts {
		if _, ok := s.(*syntax.ImportStmt); ok {
			// Modules imported in a block go away at its end.
			return func(fr *frame) ctrl {
				th := fr.th
				n := len(th.modules)
				r := inner(fr)
				if len(th.modules) > n {
					th.modules = th.modules[:n]
				}
				return r
			}
		}
	}
	return inner
}

func (c *compiler) block1(stmts []syntax.Stmt) execFn {
	fns := make([]execFn, 0, len(stmts))
	for i, s := range stmts {
		if _, ok := s.(*syntax.EmptyStmt); ok && i != len(stmts)-1 {
			continue
		}
		fns = append(fns, c.stmt(s, i == len(stmts)-1))
	}
	switch len(fns) {
	case 0:
		return func(fr *frame) ctrl { store(&fr.ret, Unit); return ctrlNone }
	case 1:
		return fns[0]
	case 2:
		a, b := fns[0], fns[1]
		return func(fr *frame) ctrl {
			if c := a(fr); c != ctrlNone {
				return c
			}
			return b(fr)
		}
	}
	return func(fr *frame) ctrl {
		for _, s := range fns {
			if c := s(fr); c != ctrlNone {
				return c
			}
		}
		return ctrlNone
	}
}

// stmt compiles a statement. When last is true the statement's value must be
// left in fr.ret (the value of the enclosing block).
func (c *compiler) stmt(s syntax.Stmt, last bool) execFn {
	fn := c.stmt1(s, last)
	if hasNestedCtrl(s) {
		inner := fn
		fn = func(fr *frame) (r ctrl) {
			th := fr.th
			m := th.mark()
			defer func() {
				if x := recover(); x != nil {
					if sig, ok := x.(ctrlSignal); ok && sig.fr == fr {
						th.reset(m)
						r = sig.c
						return
					}
					panic(x)
				}
			}()
			return inner(fr)
		}
	}
	return fn
}

func (c *compiler) stmt1(s syntax.Stmt, last bool) execFn {
	pos := s.Position()
	switch s := s.(type) {
	case *syntax.EmptyStmt:
		return func(fr *frame) ctrl { fr.tickAt(pos); store(&fr.ret, Unit); return ctrlNone }
	case *syntax.ExprStmt:
		if se := c.stmtExpr(s.X); se != nil {
			return se
		}
		e := c.expr(s.X)
		if last {
			return func(fr *frame) ctrl { fr.tickAt(pos); store(&fr.ret, e(fr)); return ctrlNone }
		}
		return func(fr *frame) ctrl { fr.tickAt(pos); e(fr); return ctrlNone }
	case *syntax.LetStmt:
		return c.let(s)
	case *syntax.AssignStmt:
		return c.assign(s)
	case *syntax.ReturnStmt:
		if s.Value == nil {
			return func(fr *frame) ctrl { fr.tickAt(pos); store(&fr.ret, Unit); return ctrlReturn }
		}
		e := c.storeExpr(s.Value)
		return func(fr *frame) ctrl { fr.tickAt(pos); store(&fr.ret, e(fr)); return ctrlReturn }
	case *syntax.BreakStmt:
		if s.Value == nil {
			return func(fr *frame) ctrl { fr.tickAt(pos); store(&fr.ret, Unit); return ctrlBreak }
		}
		e := c.storeExpr(s.Value)
		return func(fr *frame) ctrl { fr.tickAt(pos); store(&fr.ret, e(fr)); return ctrlBreak }
	case *syntax.ContinueStmt:
		return func(fr *frame) ctrl { fr.tickAt(pos); return ctrlContinue }
	case *syntax.ThrowStmt:
		return c.throw(s)
	case *syntax.TryStmt:
		return c.try(s)
	case *syntax.ImportStmt:
		return c.importStmt(s)
	case *syntax.ExportStmt:
		return c.exportStmt(s)
	}
	return func(fr *frame) ctrl {
		raise(NewError(ErrSystem, "unsupported statement"), pos)
		return ctrlNone
	}
}

// stmtExpr compiles the expressions that are statements in their own right
// (blocks, if, switch, loops) to an execFn that leaves its value in fr.ret and
// passes control flow through. It returns nil for other expressions.
func (c *compiler) stmtExpr(e syntax.Expr) execFn {
	switch e := e.(type) {
	case *syntax.BlockExpr:
		b, pos := c.block(e.Stmts), e.Pos
		return func(fr *frame) ctrl { fr.tickAt(pos); return b(fr) }
	case *syntax.IfExpr:
		return c.ifExpr(e)
	case *syntax.SwitchExpr:
		return c.switchExpr(e)
	case *syntax.WhileExpr:
		return c.whileExpr(e)
	case *syntax.DoExpr:
		return c.doExpr(e)
	case *syntax.ForExpr:
		return c.forExpr(e)
	}
	return nil
}

func (fr *frame) tick() {
	th := fr.th
	th.ops++
	if th.ops >= th.checkAt {
		th.slowCheck()
	}
}

// tickAt is tick for a statement (or a loop's iteration) at pos: it also
// records pos as where evaluation is (thread.at), so that an error Rhai
// reports without a position can still be located. One store per statement.
func (fr *frame) tickAt(pos syntax.Pos) {
	th := fr.th
	th.at = pos
	th.ops++
	if th.ops >= th.checkAt {
		th.slowCheck()
	}
}

func (c *compiler) let(s *syntax.LetStmt) execFn {
	at := s.Pos
	b := c.res.decls[declKey{s, 0}]
	var e evalFn
	if s.Value == nil {
		e = func(*frame) Value { return Unit }
	} else {
		e = c.storeExpr(s.Value)
	}
	idx := b.idx
	var fn execFn
	if b.boxed {
		fn = func(fr *frame) ctrl {
			fr.tickAt(at)
			fr.slots[idx] = Value{t: typeCell, p: &cell{v: e(fr)}}
			store(&fr.ret, Unit)
			return ctrlNone
		}
	} else {
		fn = func(fr *frame) ctrl {
			fr.tickAt(at)
			fr.slots[idx] = e(fr)
			store(&fr.ret, Unit)
			return ctrlNone
		}
	}
	if s.Export {
		inner, name := fn, s.Name
		fn = func(fr *frame) ctrl {
			r := inner(fr)
			if fr.th.exports != nil {
				fr.th.exports[name] = loadBinding(fr, b).Clone()
			}
			return r
		}
	}
	if s.Const && b.global {
		// Top-level constants are also reachable as global::NAME from functions.
		inner, name := fn, s.Name
		fn = func(fr *frame) ctrl {
			r := inner(fr)
			fr.th.setGlobalConst(name, loadBinding(fr, b))
			return r
		}
	}
	return fn
}

// typeCell marks a slot holding a *cell (a variable captured by a closure). It
// never escapes into script-visible values.
const typeCell Type = 254

func loadBinding(fr *frame, b *binding) Value {
	switch b.kind {
	case bLocal:
		v := fr.slots[b.idx]
		if v.t == typeCell {
			return v.p.(*cell).v
		}
		return v
	case bEnv:
		return fr.env[b.idx].v
	}
	return Unit
}

func (c *compiler) throw(s *syntax.ThrowStmt) execFn {
	at := s.Pos
	pos := s.Pos
	if s.Value == nil {
		return func(fr *frame) ctrl {
			fr.tickAt(at)
			// Inside a catch block the try statement turns this into a
			// rethrow of the caught error (see runCatch).
			panic(&Error{Kind: ErrRuntime, Message: "Runtime error", Pos: pos, Value: Unit})
		}
	}
	e := c.storeExpr(s.Value)
	return func(fr *frame) ctrl {
		fr.tickAt(at)
		v := e(fr)
		msg := "Runtime error"
		// The message shows the value as the host displays it (characters
		// inside an array quoted), as Rhai's error does.
		if s := v.String(); s != "" {
			msg += ": " + s
		}
		panic(&Error{Kind: ErrRuntime, Message: msg, Pos: pos, Value: v})
	}
}

func (c *compiler) try(s *syntax.TryStmt) execFn {
	at := s.Pos
	body := c.block(s.Body.Stmts)
	catch := c.block(s.Catch.Stmts)
	var errSlot = -1
	var boxed bool
	if b := c.res.decls[declKey{s, 0}]; b != nil {
		errSlot, boxed = b.idx, b.boxed
	}
	src := c.ast.name
	return func(fr *frame) ctrl {
		fr.tickAt(at)
		th := fr.th
		r, err := th.protect(fr, body)
		if err == nil {
			if r == ctrlNone {
				store(&fr.ret, Unit)
			}
			return r
		}
		if errSlot >= 0 {
			v := errorToValue(err, src)
			if boxed {
				v = Value{t: typeCell, p: &cell{v: v}}
			}
			fr.slots[errSlot] = v
		}
		r = th.runCatch(fr, catch, err)
		if r == ctrlNone {
			store(&fr.ret, Unit)
		}
		return r
	}
}

// runCatch runs a catch block for the caught error. As in Rhai, a unit thrown
// out of the block itself (`throw;` or `throw ()`) rethrows the caught error,
// now placed at that throw.
func (th *thread) runCatch(fr *frame, catch execFn, caught *Error) ctrl {
	saved := th.caught
	th.caught = caught
	defer func() {
		th.caught = saved
		if x := recover(); x != nil {
			if e, ok := x.(*Error); ok && e.Kind == ErrRuntime && e.Value.t == TypeUnit && e.Inner == nil {
				re := *caught
				re.Pos = e.Pos
				panic(&re)
			}
			panic(x)
		}
	}()
	return catch(fr)
}

// protect runs body and turns a catchable evaluation error into a returned
// error, restoring the thread to its state at entry. Limit errors are not
// catchable: a script must not be able to retry its way past a limit.
func (th *thread) protect(fr *frame, body execFn) (r ctrl, err *Error) {
	depth, m, mods, outer := th.depth, th.mark(), len(th.modules), th.outer
	defer func() {
		if x := recover(); x != nil {
			e, ok := x.(*Error)
			if !ok || e.IsLimit() || e.Kind == ErrStackOverflow {
				panic(x)
			}
			th.depth = depth
			th.reset(m)
			if len(th.modules) > mods {
				th.modules = th.modules[:mods]
			}
			th.outer = outer
			err = e
		}
	}()
	return body(fr), nil
}

// ---- Control flow expressions ----

func (c *compiler) cond(e syntax.Expr) func(fr *frame) bool {
	x := c.expr(e)
	pos := e.Position()
	return func(fr *frame) bool {
		v := x(fr)
		if v.t != TypeBool {
			raise(mismatchBool(v), pos)
		}
		return v.n != 0
	}
}

// mismatchBool is Rhai's error for a value that must be a bool (a condition,
// an operand of && or ||) and is not.
func mismatchBool(v Value) *Error {
	return &Error{Kind: ErrMismatchDataType, Message: "Data type incorrect: " + v.TypeName() + " (expecting bool)"}
}

func (c *compiler) ifExpr(e *syntax.IfExpr) execFn {
	at := e.Pos
	cond := c.cond(e.Cond)
	then := c.block(e.Then.Stmts)
	var els execFn
	if e.Else != nil {
		els = c.stmtExpr(e.Else)
	}
	if els == nil {
		return func(fr *frame) ctrl {
			fr.tickAt(at)
			if cond(fr) {
				return then(fr)
			}
			store(&fr.ret, Unit)
			return ctrlNone
		}
	}
	return func(fr *frame) ctrl {
		fr.tickAt(at)
		if cond(fr) {
			return then(fr)
		}
		return els(fr)
	}
}

// exprAsExec compiles a switch arm or other expression-or-block to an execFn.
func (c *compiler) exprAsExec(e syntax.Expr) execFn {
	if se := c.stmtExpr(e); se != nil {
		return se
	}
	x := c.storeExpr(e)
	return func(fr *frame) ctrl { store(&fr.ret, x(fr)); return ctrlNone }
}

func (c *compiler) switchExpr(e *syntax.SwitchExpr) execFn {
	at := e.Pos
	x := c.expr(e.X)
	type arm struct {
		values []Value
		ranges []Range
		incl   []bool
		cond   func(fr *frame) bool
		body   execFn
	}
	arms := make([]arm, len(e.Cases))
	for i, cs := range e.Cases {
		a := &arms[i]
		for _, v := range cs.Values {
			if be, ok := v.(*syntax.BinaryExpr); ok && (be.Op == syntax.DotDot || be.Op == syntax.DotDotEq) {
				lo, _ := constValue(be.L)
				hi, _ := constValue(be.R)
				a.ranges = append(a.ranges, Range{Start: lo.AsInt(), End: hi.AsInt()})
				a.incl = append(a.incl, be.Op == syntax.DotDotEq)
				continue
			}
			cv, ok := constValue(v)
			if !ok {
				cv = c.constEval(v)
			}
			a.values = append(a.values, cv)
		}
		if cs.Cond != nil {
			a.cond = c.cond(cs.Cond)
		}
		a.body = c.exprAsExec(cs.Body)
	}
	var def execFn
	if e.Default != nil {
		def = c.exprAsExec(e.Default)
	}
	matches := func(fr *frame, a *arm, v Value) bool {
		hit := false
		for _, cv := range a.values {
			if switchEqual(v, cv) {
				hit = true
				break
			}
		}
		if !hit && v.IsRange() {
			r := v.AsRange()
			for i, cr := range a.ranges {
				if cr == *r && a.incl[i] == (v.t == TypeRangeInclusive) {
					hit = true
					break
				}
			}
		}
		if !hit && v.t == TypeInt {
			n := v.AsInt()
			for i, r := range a.ranges {
				if n >= r.Start && (n < r.End || a.incl[i] && n == r.End) {
					hit = true
					break
				}
			}
		}
		return hit && (a.cond == nil || a.cond(fr))
	}
	return func(fr *frame) ctrl {
		fr.tickAt(at)
		v := x(fr)
		// Value cases are matched before range cases, as Rhai's hashed lookup does.
		for i := range arms {
			a := &arms[i]
			if len(a.values) > 0 && matches(fr, a, v) {
				return a.body(fr)
			}
		}
		for i := range arms {
			a := &arms[i]
			if len(a.values) == 0 && len(a.ranges) > 0 && matches(fr, a, v) {
				return a.body(fr)
			}
		}
		if def != nil {
			return def(fr)
		}
		store(&fr.ret, Unit)
		return ctrlNone
	}
}

// constEval evaluates a constant expression (a switch case value) at compile time.
func (c *compiler) constEval(e syntax.Expr) (v Value) {
	defer func() {
		if recover() != nil {
			v = Unit
		}
	}()
	fn := c.expr(e)
	th := newThread(c.eng, nil, c.ast, 0)
	defer th.release()
	th.frames[0] = frame{th: th}
	return fn(&th.frames[0])
}

func (c *compiler) whileExpr(e *syntax.WhileExpr) execFn {
	at := e.Pos
	body := c.block(e.Body.Stmts)
	if e.Cond == nil {
		return func(fr *frame) ctrl {
			fr.tickAt(at)
			for {
				fr.tick() // the loop's statement set thread.at on entry
				switch body(fr) {
				case ctrlBreak:
					return ctrlNone
				case ctrlReturn:
					return ctrlReturn
				}
			}
		}
	}
	cond := c.cond(e.Cond)
	return func(fr *frame) ctrl {
		fr.tickAt(at)
		for cond(fr) {
			fr.tick() // the loop's statement set thread.at on entry
			switch body(fr) {
			case ctrlBreak:
				return ctrlNone
			case ctrlReturn:
				return ctrlReturn
			}
		}
		store(&fr.ret, Unit)
		return ctrlNone
	}
}

func (c *compiler) doExpr(e *syntax.DoExpr) execFn {
	at := e.Pos
	body := c.block(e.Body.Stmts)
	cond := c.cond(e.Cond)
	until := e.Until
	return func(fr *frame) ctrl {
		fr.tickAt(at)
		for {
			fr.tick() // the loop's statement set thread.at on entry
			switch body(fr) {
			case ctrlBreak:
				return ctrlNone
			case ctrlReturn:
				return ctrlReturn
			case ctrlContinue:
				// Rhai jumps back to the body without testing the condition.
				continue
			}
			if cond(fr) == until {
				break
			}
		}
		store(&fr.ret, Unit)
		return ctrlNone
	}
}

func (c *compiler) forExpr(e *syntax.ForExpr) execFn {
	at := e.Pos
	iter := c.expr(e.Iter)
	body := c.block(e.Body.Stmts)
	vb := c.res.decls[declKey{e, 0}]
	cb := c.res.decls[declKey{e, 1}]
	pos := e.Iter.Position()
	snapshot := c.bodyMayChange(e.Iter, e.Body)
	// Each element is copied into the loop variable (Rhai's value semantics),
	// unless the body only reads it and cannot reach the collection.
	copyElems := snapshot || vb.boxed || c.mayMutate(vb, e.Body)
	return func(fr *frame) ctrl {
		fr.tickAt(at)
		src := iter(fr)
		// The loop variable (and counter) is one variable for the whole loop: a
		// closure capturing it sees its last value, as in Rhai.
		var vcell, ccell *cell
		if vb.boxed {
			vcell = &cell{}
			fr.slots[vb.idx] = Value{t: typeCell, p: vcell}
		}
		if cb != nil && cb.boxed {
			ccell = &cell{}
			fr.slots[cb.idx] = Value{t: typeCell, p: ccell}
		}
		if src.t == TypeArray && vcell == nil && cb == nil && src.array().packed == TypeUnit {
			// The common case of an array, kept free of the step closure (and
			// its allocations); the same steps as step below.
			items := src.AsArray().Items
			if snapshot {
				items = append([]Value(nil), items...)
			}
			slot := vb.idx
			for i := 0; i < len(items); i++ {
				v := items[i]
				if copyElems {
					v = fr.th.clone(v)
				}
				fr.tick()
				store(&fr.slots[slot], v)
				switch body(fr) {
				case ctrlBreak:
					return ctrlNone
				case ctrlReturn:
					return ctrlReturn
				}
			}
			store(&fr.ret, Unit)
			return ctrlNone
		}
		var count int64
		result, broke := ctrlNone, false
		step := func(v Value) bool {
			fr.tick() // not tickAt: this closure is made per loop, keep it small
			if vcell != nil {
				vcell.v = v
			} else {
				store(&fr.slots[vb.idx], v)
			}
			if cb != nil {
				if ccell != nil {
					ccell.v = Int(count)
				} else {
					store(&fr.slots[cb.idx], Int(count))
				}
			}
			count++
			switch body(fr) {
			case ctrlBreak:
				broke = true
				return false
			case ctrlReturn:
				result = ctrlReturn
				return false
			}
			return true
		}
		store(&fr.ret, Unit)
		switch src.t {
		case TypeRange, TypeRangeInclusive:
			r := src.AsRange()
			end := r.End
			if src.t == TypeRangeInclusive {
				if end == math.MaxInt64 {
					// Avoid overflow: iterate to end-1, then end.
					for i := r.Start; i < end; i++ {
						if !step(Int(i)) {
							return finishFor(fr, result, broke)
						}
					}
					step(Int(end))
					return finishFor(fr, result, broke)
				}
				end++
			}
			if vcell == nil && cb == nil {
				// The common case, kept free of the step closure.
				slot := vb.idx
				for i := r.Start; i < end; i++ {
					fr.tick() // the loop's statement set thread.at on entry
					store(&fr.slots[slot], Int(i))
					switch body(fr) {
					case ctrlBreak:
						return ctrlNone
					case ctrlReturn:
						return ctrlReturn
					}
				}
				store(&fr.ret, Unit)
				return ctrlNone
			}
			for i := r.Start; i < end; i++ {
				if !step(Int(i)) {
					break
				}
			}
		case TypeArray:
			// Rhai iterates over a copy: the body may change the array. When it
			// cannot (the array is a local variable the body never names), the
			// array itself is iterated.
			if src.array().eachPacked(snapshot, step) {
				break
			}
			items := src.AsArray().Items
			if snapshot {
				items = append([]Value(nil), items...)
			}
			for i := 0; i < len(items); i++ {
				v := items[i]
				if copyElems {
					v = fr.th.clone(v)
				}
				if !step(v) {
					break
				}
			}
		case TypeString:
			for _, r := range src.AsString() {
				if !step(Char(r)) {
					break
				}
			}
		case TypeBlob:
			b := src.AsBlob().B
			for i := 0; i < len(b); i++ {
				if !step(U8(b[i])) {
					break
				}
			}
		case TypeCustom:
			it, ok := src.AsCustom().V.(Iterable)
			if !ok {
				raise(&Error{Kind: ErrFor, Message: "For loop expects an iterable type, but gets " + src.TypeName()}, pos)
			}
			it.Each(step)
		default:
			raise(&Error{Kind: ErrFor, Message: "For loop expects an iterable type, but gets " + src.TypeName()}, pos)
		}
		return finishFor(fr, result, broke)
	}
}

// finishFor ends a for loop: a `return` passes through, a `break` leaves its
// value in fr.ret, and a loop that ran out yields ().
func finishFor(fr *frame, r ctrl, broke bool) ctrl {
	if r == ctrlReturn {
		return ctrlReturn
	}
	if !broke {
		store(&fr.ret, Unit)
	}
	return ctrlNone
}

// hasNestedCtrl reports whether a statement holds break/continue/return inside an
// expression position (where it must travel through fr.pending).
func hasNestedCtrl(s syntax.Stmt) bool {
	var exprs []syntax.Expr
	switch s := s.(type) {
	case *syntax.LetStmt:
		exprs = []syntax.Expr{s.Value}
	case *syntax.AssignStmt:
		exprs = []syntax.Expr{s.LHS, s.RHS}
	case *syntax.ExprStmt:
		switch x := s.X.(type) {
		case *syntax.IfExpr, *syntax.SwitchExpr, *syntax.WhileExpr, *syntax.DoExpr, *syntax.ForExpr, *syntax.BlockExpr:
			return false
		default:
			exprs = []syntax.Expr{x}
		}
	case *syntax.ReturnStmt:
		exprs = []syntax.Expr{s.Value}
	case *syntax.ThrowStmt:
		exprs = []syntax.Expr{s.Value}
	case *syntax.BreakStmt:
		exprs = []syntax.Expr{s.Value}
	default:
		return false
	}
	for _, e := range exprs {
		if e != nil && exprHasCtrl(e) {
			return true
		}
	}
	return false
}

func exprHasCtrl(e syntax.Expr) bool {
	found := false
	syntax.Inspect(e, func(n syntax.Node) bool {
		switch n.(type) {
		case *syntax.BreakStmt, *syntax.ContinueStmt, *syntax.ReturnStmt:
			found = true
		case *syntax.ClosureExpr:
			return false
		}
		return !found
	})
	return found
}

// ---- Expressions ----

// isPlace reports whether e names storage (a variable, element or property):
// storing its value elsewhere must copy arrays, maps and BLOBs.
func isPlace(e syntax.Expr) bool {
	switch e := e.(type) {
	case *syntax.Ident, *syntax.IndexExpr, *syntax.PropExpr, *syntax.PathExpr:
		return true
	case *syntax.BinaryExpr:
		// `a ?? b` yields one of its operands as is.
		return e.Op == syntax.QuestionQuestion
	case *syntax.BlockExpr, *syntax.IfExpr, *syntax.SwitchExpr, *syntax.WhileExpr, *syntax.DoExpr, *syntax.ForExpr:
		// Their value may be a variable's (`if c { a } else { b }`).
		return true
	case *syntax.MethodCallExpr:
		// Methods like get() may return a collection's element; natives clone what
		// they return, except property-like calls on maps via fn pointers.
		return false
	}
	return false
}

// storeExpr compiles e for a place that keeps the value: copies collections
// read from other places.
func (c *compiler) storeExpr(e syntax.Expr) evalFn {
	x := c.expr(e)
	if !isPlace(e) {
		return x
	}
	if id, ok := e.(*syntax.Ident); ok && c.moves[id] {
		return x
	}
	return func(fr *frame) Value {
		v := x(fr)
		if v.t == TypeArray || v.t == TypeMap || v.t == TypeBlob {
			return fr.th.clone(v)
		}
		return v
	}
}

// finalMoves finds the variables that the main script's last statement, an
// expression, stores into a container (`#{ lines: lines }`) for the last time:
// nothing runs after that statement, so the variable's own array, map or BLOB can
// go into the result without the copy value semantics otherwise needs (the
// result is the script's, the variable is never read again). A variable
// qualifies when it is a plain local of the main script (not a constant, not
// captured by a closure, not the host's Scope) named exactly once in the
// expression, and the expression has no loop (which could store it twice), no
// closure, no eval and no name!() call (which could read it after the store).
func finalMoves(res *resolution, fs *funcScope, stmts []syntax.Stmt) map[*syntax.Ident]bool {
	if len(stmts) == 0 || fs == nil || fs.sawEval {
		return nil
	}
	es, ok := stmts[len(stmts)-1].(*syntax.ExprStmt)
	if !ok {
		return nil
	}
	count := map[string]int{}
	var idents []*syntax.Ident
	safe := true
	syntax.Inspect(es.X, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Ident:
			count[n.Name]++
			idents = append(idents, n)
		case *syntax.CallExpr:
			if n.Bang || n.Name == "eval" {
				safe = false
			}
		case *syntax.ClosureExpr, *syntax.WhileExpr, *syntax.DoExpr, *syntax.ForExpr:
			safe = false
		}
		return safe
	})
	if !safe {
		return nil
	}
	var moves map[*syntax.Ident]bool
	for _, id := range idents {
		b := res.idents[id]
		if count[id.Name] != 1 || b == nil || b.kind != bLocal || b.boxed || b.isConst || res.dynFirst[id] {
			continue
		}
		if moves == nil {
			moves = make(map[*syntax.Ident]bool)
		}
		moves[id] = true
	}
	return moves
}

// foldConst evaluates array and map literals made only of constants.
func foldConst(e syntax.Expr) (Value, bool) {
	switch e := e.(type) {
	case *syntax.ArrayLit:
		items := make([]Value, len(e.Elems))
		for i, x := range e.Elems {
			v, ok := foldConst(x)
			if !ok {
				return Unit, false
			}
			items[i] = v
		}
		return NewArray(items), true
	case *syntax.MapLit:
		m := make(map[string]Value, len(e.Keys))
		for i, x := range e.Values {
			v, ok := foldConst(x)
			if !ok {
				return Unit, false
			}
			m[e.Keys[i]] = v
		}
		return NewMap(m), true
	case *syntax.BinaryExpr:
		switch e.Op {
		case syntax.AndAnd, syntax.OrOr, syntax.QuestionQuestion, syntax.KwIn, syntax.DotDot, syntax.DotDotEq:
			return Unit, false
		}
		l, ok1 := foldConst(e.L)
		r, ok2 := foldConst(e.R)
		if !ok1 || !ok2 {
			return Unit, false
		}
		v, ok, err := binaryOp(e.Op, l, r)
		return v, ok && err == nil
	case *syntax.UnaryExpr:
		x, ok := foldConst(e.X)
		if !ok {
			return Unit, false
		}
		v, ok, err := unaryOp(e.Op, x)
		return v, ok && err == nil
	}
	return constValue(e)
}

func constValue(e syntax.Expr) (Value, bool) {
	switch e := e.(type) {
	case *syntax.IntLit:
		return Int(e.Value), true
	case *syntax.FloatLit:
		return Float(e.Value), true
	case *syntax.BoolLit:
		return Bool(e.Value), true
	case *syntax.StringLit:
		return String(e.Value), true
	case *syntax.CharLit:
		return Char(e.Value), true
	case *syntax.UnitLit:
		return Unit, true
	case *syntax.UnaryExpr:
		if e.Op == syntax.Minus {
			switch x := e.X.(type) {
			case *syntax.IntLit:
				if x.Value != math.MinInt64 {
					return Int(-x.Value), true
				}
				// Rhai folds a negated constant that overflows into a float.
				return Float(-float64(x.Value)), true
			case *syntax.FloatLit:
				return Float(-x.Value), true
			}
		}
	}
	return Unit, false
}

func (c *compiler) expr(e syntax.Expr) evalFn {
	if v, ok := constValue(e); ok {
		return func(*frame) Value { return v }
	}
	switch e := e.(type) {
	case *syntax.InterpString:
		return c.interp(e)
	case *syntax.Ident:
		return c.ident(e)
	case *syntax.PathExpr:
		return c.path(e)
	case *syntax.ArrayLit:
		elems := make([]evalFn, len(e.Elems))
		for i, x := range e.Elems {
			elems[i] = c.storeExpr(x)
		}
		pos := e.Pos
		return func(fr *frame) Value {
			items := make([]Value, len(elems))
			for i, x := range elems {
				items[i] = x(fr)
			}
			fr.th.checkSizeOrRaise(sizeArray, len(items), pos)
			fr.th.grow(containerBytes + len(items)*valueBytes)
			return NewArray(items)
		}
	case *syntax.MapLit:
		vals := make([]evalFn, len(e.Values))
		for i, x := range e.Values {
			vals[i] = c.storeExpr(x)
		}
		keys := e.Keys
		pos := e.Pos
		return func(fr *frame) Value {
			m := make(map[string]Value, len(keys))
			for i, x := range vals {
				m[keys[i]] = x(fr)
			}
			fr.th.checkSizeOrRaise(sizeMap, len(m), pos)
			fr.th.grow(containerBytes + len(m)*mapEntryBytes)
			return NewMap(m)
		}
	case *syntax.UnaryExpr:
		return c.unary(e)
	case *syntax.BinaryExpr:
		return c.binary(e)
	case *syntax.IndexExpr:
		return c.index(e)
	case *syntax.PropExpr:
		return c.prop(e)
	case *syntax.MethodCallExpr:
		return c.methodCall(e)
	case *syntax.CallExpr:
		return c.call(e)
	case *syntax.ClosureExpr:
		return c.closure(e)
	case *syntax.BlockExpr, *syntax.IfExpr, *syntax.SwitchExpr, *syntax.WhileExpr, *syntax.DoExpr, *syntax.ForExpr:
		s := c.stmtExpr(e)
		return func(fr *frame) Value {
			if r := s(fr); r != ctrlNone {
				// break/continue/return inside an expression (`x ?? break`): unwind
				// to the enclosing statement, which hasNestedCtrl made ready for it.
				panic(ctrlSignal{fr, r})
			}
			return fr.ret
		}
	}
	pos := e.Position()
	return func(fr *frame) Value {
		raise(NewError(ErrSystem, "unsupported expression"), pos)
		return Unit
	}
}

// interp compiles an interpolated string. When every part is constant, Rhai's
// optimiser builds the string at compile time, formatting with the host's
// Display (characters inside collections keep their quotes); otherwise every
// part is formatted at run time.
func (c *compiler) interp(e *syntax.InterpString) evalFn {
	fold := true
	for _, p := range e.Parts {
		if _, ok := foldConst(p); !ok {
			fold = false
			break
		}
	}
	parts := make([]evalFn, len(e.Parts))
	lits := make([]string, len(e.Parts))
	isLit := make([]bool, len(e.Parts))
	for i, p := range e.Parts {
		if s, ok := p.(*syntax.StringLit); ok {
			lits[i], isLit[i] = s.Value, true
			continue
		}
		if fold {
			v, _ := foldConst(p)
			if v.t == TypeString {
				lits[i] = v.AsString()
			} else {
				lits[i] = v.String()
			}
			isLit[i] = true
			continue
		}
		parts[i] = c.expr(p)
	}
	pos := e.Pos
	if fold {
		v := String(strings.Join(lits, ""))
		return func(*frame) Value { return v }
	}
	return func(fr *frame) Value {
		// Format every part first, then allocate the result once, after checking
		// its size against the limit.
		var small [8]string
		strs := small[:0]
		total := 0
		for i := range parts {
			var s string
			switch {
			case isLit[i]:
				s = lits[i]
			default:
				v := parts[i](fr)
				if v.t == TypeString {
					s = v.AsString()
				} else {
					s = fr.th.display(v)
				}
			}
			strs = append(strs, s)
			total += len(s)
		}
		th := fr.th
		th.checkSizeOrRaise(sizeString, total, pos)
		if total <= copyStepBytes {
			th.grow(total)
		} else if !th.fits(total) {
			raise(errMemory(), pos)
		}
		var b strings.Builder
		b.Grow(total)
		for _, s := range strs {
			if total > copyStepBytes {
				th.writeStepped(&b, s)
			} else {
				b.WriteString(s)
			}
		}
		return String(b.String())
	}
}

func (th *thread) checkSizeOrRaise(k sizeKind, n int, pos syntax.Pos) {
	if err := th.checkSize(k, n); err != nil {
		raise(err.(*Error), pos)
	}
}

// display is Display for interpolation and string building; custom types may
// provide to_string.
func (th *thread) display(v Value) string {
	if v.t == TypeArray || v.t == TypeMap || v.t == TypeBlob {
		// Bounded: stops at the string limit and counts its work.
		return th.displayLimited(v, false)
	}
	return toDisplay(v)
}

func (c *compiler) ident(e *syntax.Ident) evalFn {
	if c.res.dynFirst[e] {
		static := c.ident1(e)
		name := e.Name
		return func(fr *frame) Value {
			if p := fr.th.lookupEvalVar(name); p != nil {
				return *p
			}
			return static(fr)
		}
	}
	return c.ident1(e)
}

func (th *thread) lookupEvalVar(name string) *Value {
	for i := len(th.evalVars) - 1; i >= 0; i-- {
		ev := &th.evalVars[i]
		if ev.depth == th.depth && ev.name == name {
			return ev.v
		}
	}
	return nil
}

func (c *compiler) ident1(e *syntax.Ident) evalFn {
	b := c.binding(e)
	pos := e.Pos
	switch b.kind {
	case bLocal:
		idx := b.idx
		if b.boxed {
			return func(fr *frame) Value { return fr.slots[idx].p.(*cell).v }
		}
		return func(fr *frame) Value { return fr.slots[idx] }
	case bEnv:
		idx := b.idx
		return func(fr *frame) Value { return fr.env[idx].v }
	case bThis:
		return func(fr *frame) Value {
			if fr.this == nil {
				raise(&Error{Kind: ErrUnboundThis, Message: "'this' not bound"}, pos)
			}
			return *fr.this
		}
	}
	name := e.Name
	if c.ast.hasFnNamed(name) {
		// A bare script function name is a pointer to it: `arr.map(double)`.
		fp := NewFnPtr(name)
		return func(fr *frame) Value {
			if p := fr.th.lookupFree(fr, name); p != nil {
				return *p
			}
			return fp
		}
	}
	return func(fr *frame) Value {
		if p := fr.th.lookupFree(fr, name); p != nil {
			return *p
		}
		raise(&Error{Kind: ErrVariableNotFound, Message: "Variable not found: " + name, Var: name}, pos)
		return Unit
	}
}

// lookupFree finds a variable the resolver could not place: a host scope
// variable (visible to the main script only, as in Rhai).
func (th *thread) lookupFree(fr *frame, name string) *Value {
	if p := th.lookupEvalVar(name); p != nil {
		return p
	}
	if o := th.outer; o != nil && o.depth == th.depth {
		for i := len(o.vars) - 1; i >= 0; i-- {
			if o.vars[i].name == name {
				return &cellOf(o.fr, o.vars[i]).v
			}
		}
	}
	if fr.fn != nil && fr.fn.ast != nil && fr != &th.frames[0] && !fr.fn.isMain() {
		return nil
	}
	if i := th.scope.index(name); i >= 0 {
		return th.scope.value(i)
	}
	return nil
}

func (f *function) isMain() bool { return f.name == "" }

func (c *compiler) path(e *syntax.PathExpr) evalFn {
	pos := e.Pos
	name := e.Name
	full := strings.Join(e.Namespace, "::") + "::" + name
	if len(e.Namespace) == 1 && e.Namespace[0] == "global" {
		return func(fr *frame) Value {
			if m := fr.th.importedAs("global"); m != nil {
				// A module imported as `global` takes the name over.
				if v, ok := m.variable(name); ok {
					return v
				}
			} else if v, ok := fr.th.globalConst(name); ok {
				return v
			}
			raise(&Error{Kind: ErrVariableNotFound, Message: "Variable not found: " + full, Var: full}, pos)
			return Unit
		}
	}
	ns := e.Namespace
	return func(fr *frame) Value {
		m := fr.th.findModule(ns, pos)
		if v, ok := m.variable(name); ok {
			return v
		}
		raise(&Error{Kind: ErrVariableNotFound, Message: "Variable not found: " + full, Var: full}, pos)
		return Unit
	}
}

func (c *compiler) unary(e *syntax.UnaryExpr) evalFn {
	x := c.expr(e.X)
	op := e.Op
	pos := e.Pos
	switch op {
	case syntax.Minus:
		return func(fr *frame) Value {
			v := x(fr)
			if v.t == TypeInt && int64(v.n) != math.MinInt64 {
				return Int(-int64(v.n))
			}
			if v.t == TypeFloat {
				return Float(-v.AsFloat())
			}
			return unarySlow(fr, op, v, pos)
		}
	case syntax.Bang:
		return func(fr *frame) Value {
			v := x(fr)
			if v.t == TypeBool {
				return Bool(v.n == 0)
			}
			return unarySlow(fr, op, v, pos)
		}
	}
	return func(fr *frame) Value { return unarySlow(fr, op, x(fr), pos) }
}

func unarySlow(fr *frame, op syntax.Token, v Value, pos syntax.Pos) Value {
	r, ok, err := unaryOp(op, v)
	if err != nil {
		raise(err, pos) // Rhai's "Negation overflow" has a position
	}
	if ok {
		return r
	}
	args := [1]Value{v}
	return fr.th.callNativeOp(op.String(), args[:], pos)
}

func (c *compiler) binary(e *syntax.BinaryExpr) evalFn {
	op, pos := e.Op, e.Pos
	switch op {
	case syntax.AndAnd, syntax.OrOr:
		// Not operators but control flow, as in Rhai: each operand must be a
		// bool (reported at the operand), and the right one may not run.
		l, r := c.expr(e.L), c.expr(e.R)
		lpos, rpos := e.L.Position(), e.R.Position()
		isAnd := op == syntax.AndAnd
		return func(fr *frame) Value {
			a := l(fr)
			if a.t != TypeBool {
				raise(mismatchBool(a), lpos)
			}
			if (a.n != 0) != isAnd {
				return a
			}
			b := r(fr)
			if b.t != TypeBool {
				raise(mismatchBool(b), rpos)
			}
			return b
		}
	case syntax.QuestionQuestion:
		l, r := c.expr(e.L), c.expr(e.R)
		return func(fr *frame) Value {
			if a := l(fr); a.t != TypeUnit {
				return a
			}
			return r(fr)
		}
	case syntax.KwIn:
		l, r := c.expr(e.L), c.expr(e.R)
		return func(fr *frame) Value {
			a, b := l(fr), r(fr)
			args := [2]Value{b, a}
			return fr.th.callNamed("contains", args[:], pos)
		}
	case syntax.DotDot, syntax.DotDotEq:
		l, r := c.expr(e.L), c.expr(e.R)
		incl := op == syntax.DotDotEq
		return func(fr *frame) Value {
			a, b := l(fr), r(fr)
			if a.t == TypeInt && b.t == TypeInt {
				return NewRange(a.AsInt(), b.AsInt(), incl)
			}
			args := [2]Value{a, b}
			return fr.th.callNativeOp(op.String(), args[:], pos)
		}
	}
	l := c.expr(e.L)
	if k, ok := e.R.(*syntax.IntLit); ok {
		if f := intConstOp(op, l, k.Value, pos); f != nil {
			return f
		}
	}
	r := c.expr(e.R)
	if f := intOp(op, l, r, pos); f != nil {
		return f
	}
	return func(fr *frame) Value { return binarySlow(fr, op, l(fr), r(fr), pos) }
}

func binarySlow(fr *frame, op syntax.Token, a, b Value, pos syntax.Pos) Value {
	th := fr.th
	if op == syntax.Plus {
		th.checkConcat(a, b, pos)
		// string + collection: format the collection within the limits first.
		// (A BLOB is added as its UTF-8 text, not formatted.)
		if a.t == TypeString && (b.t == TypeArray || b.t == TypeMap) {
			b = String(th.display(b))
		} else if b.t == TypeString && (a.t == TypeArray || a.t == TypeMap) {
			a = String(th.display(a))
		}
		if a.t == TypeString && b.t == TypeString {
			return String(th.concat(a.AsString(), b.AsString()))
		}
		if a.t == TypeString && b.t != TypeBlob && b.t != TypeCustom {
			return String(th.concat(a.AsString(), toDisplay(b)))
		}
		if b.t == TypeString && a.t != TypeBlob && a.t != TypeCustom {
			return String(th.concat(toDisplay(a), b.AsString()))
		}
		if a.t == TypeString || b.t == TypeString {
			// string + BLOB: the copy is the work (see memory.go).
			th.grow(textBytes(a) + textBytes(b))
		}
	} else if a.t == b.t {
		switch a.t {
		case TypeString:
			// Comparing or removing (string - string) scans the text.
			th.work(len(a.AsString()) + len(b.AsString()))
		case TypeArray, TypeMap:
			switch op {
			case syntax.EqEq:
				return Bool(th.equal(a, b))
			case syntax.NotEq:
				return Bool(!th.equal(a, b))
			}
		case TypeBlob:
			th.work(len(a.AsBlob().B) + len(b.AsBlob().B))
		}
	}
	v, ok, err := binaryOp(op, a, b)
	if ok && err == nil && v.t == TypeString && th.eng.limits.MaxStringSize > 0 {
		th.checkSizeOrRaise(sizeString, len(v.AsString()), pos)
	}
	if err != nil {
		raiseAt(err, pos)
	}
	if ok {
		return v
	}
	args := [2]Value{a, b}
	return th.callNativeOp(op.String(), args[:], pos)
}

// textBytes is about how many bytes v adds to a string it is concatenated
// with: a string's or BLOB's length, a little for a scalar.
func textBytes(v Value) int {
	switch v.t {
	case TypeString:
		return len(v.AsString())
	case TypeBlob:
		return len(v.AsBlob().B)
	}
	return 24
}

// intConstOp specialises `x op K` for an integer constant K, the shape of most
// loop counters and recursive calls (n - 1, i < 100).
func intConstOp(op syntax.Token, l evalFn, k int64, pos syntax.Pos) evalFn {
	kv := Int(k)
	switch op {
	case syntax.Plus:
		return func(fr *frame) Value {
			a := l(fr)
			if a.t == TypeInt {
				x := int64(a.n)
				s := x + k
				if (s > x) == (k > 0) {
					return Value{t: TypeInt, n: uint64(s)}
				}
			}
			return binarySlow(fr, op, a, kv, pos)
		}
	case syntax.Minus:
		return func(fr *frame) Value {
			a := l(fr)
			if a.t == TypeInt {
				x := int64(a.n)
				s := x - k
				if (s < x) == (k > 0) {
					return Value{t: TypeInt, n: uint64(s)}
				}
			}
			return binarySlow(fr, op, a, kv, pos)
		}
	case syntax.Lt:
		return func(fr *frame) Value {
			a := l(fr)
			if a.t == TypeInt {
				return Bool(int64(a.n) < k)
			}
			return binarySlow(fr, op, a, kv, pos)
		}
	case syntax.Le:
		return func(fr *frame) Value {
			a := l(fr)
			if a.t == TypeInt {
				return Bool(int64(a.n) <= k)
			}
			return binarySlow(fr, op, a, kv, pos)
		}
	case syntax.Gt:
		return func(fr *frame) Value {
			a := l(fr)
			if a.t == TypeInt {
				return Bool(int64(a.n) > k)
			}
			return binarySlow(fr, op, a, kv, pos)
		}
	case syntax.Ge:
		return func(fr *frame) Value {
			a := l(fr)
			if a.t == TypeInt {
				return Bool(int64(a.n) >= k)
			}
			return binarySlow(fr, op, a, kv, pos)
		}
	case syntax.EqEq:
		return func(fr *frame) Value {
			a := l(fr)
			if a.t == TypeInt {
				return Bool(int64(a.n) == k)
			}
			return binarySlow(fr, op, a, kv, pos)
		}
	case syntax.Percent:
		if k == 0 || k == -1 {
			return nil
		}
		return func(fr *frame) Value {
			a := l(fr)
			if a.t == TypeInt {
				return Int(int64(a.n) % k)
			}
			return binarySlow(fr, op, a, kv, pos)
		}
	}
	return nil
}

// intOp specialises the common operators for two integers, falling back to the
// general rules for anything else.
func intOp(op syntax.Token, l, r evalFn, pos syntax.Pos) evalFn {
	switch op {
	case syntax.Plus:
		return func(fr *frame) Value {
			a, b := l(fr), r(fr)
			if a.t == TypeInt && b.t == TypeInt {
				x, y := int64(a.n), int64(b.n)
				s := x + y
				if (s > x) == (y > 0) {
					return Value{t: TypeInt, n: uint64(s)}
				}
			} else if a.t == TypeFloat && b.t == TypeFloat {
				return Float(a.AsFloat() + b.AsFloat())
			}
			return binarySlow(fr, op, a, b, pos)
		}
	case syntax.Minus:
		return func(fr *frame) Value {
			a, b := l(fr), r(fr)
			if a.t == TypeInt && b.t == TypeInt {
				x, y := int64(a.n), int64(b.n)
				s := x - y
				if (s < x) == (y > 0) {
					return Value{t: TypeInt, n: uint64(s)}
				}
			} else if a.t == TypeFloat && b.t == TypeFloat {
				return Float(a.AsFloat() - b.AsFloat())
			}
			return binarySlow(fr, op, a, b, pos)
		}
	case syntax.Star:
		return func(fr *frame) Value {
			a, b := l(fr), r(fr)
			if a.t == TypeFloat && b.t == TypeFloat {
				return Float(a.AsFloat() * b.AsFloat())
			}
			return binarySlow(fr, op, a, b, pos)
		}
	case syntax.Lt, syntax.Le, syntax.Gt, syntax.Ge, syntax.EqEq, syntax.NotEq:
		return func(fr *frame) Value {
			a, b := l(fr), r(fr)
			if a.t == TypeInt && b.t == TypeInt {
				x, y := int64(a.n), int64(b.n)
				switch op {
				case syntax.Lt:
					return Bool(x < y)
				case syntax.Le:
					return Bool(x <= y)
				case syntax.Gt:
					return Bool(x > y)
				case syntax.Ge:
					return Bool(x >= y)
				case syntax.EqEq:
					return Bool(x == y)
				default:
					return Bool(x != y)
				}
			}
			return binarySlow(fr, op, a, b, pos)
		}
	}
	return nil
}

// checkConcat refuses `a + b` before it allocates when the result would pass a
// size limit (the doubling loops hostile scripts use).
func (th *thread) checkConcat(a, b Value, pos syntax.Pos) {
	l := th.eng.limits
	switch {
	case a.t == TypeString && b.t == TypeString && l.MaxStringSize > 0:
		th.checkSizeOrRaise(sizeString, len(a.AsString())+len(b.AsString()), pos)
	case a.t == TypeArray && b.t == TypeArray && l.MaxArraySize > 0:
		th.checkSizeOrRaise(sizeArray, len(a.AsArray().Items)+len(b.AsArray().Items), pos)
	case a.t == TypeBlob && b.t == TypeBlob && l.MaxArraySize > 0:
		th.checkSizeOrRaise(sizeArray, len(a.AsBlob().B)+len(b.AsBlob().B), pos)
	case a.t == TypeMap && b.t == TypeMap && l.MaxMapSize > 0:
		th.checkSizeOrRaise(sizeMap, len(a.AsMap().M)+len(b.AsMap().M), pos)
	}
}

func blockCallsEval(stmts []syntax.Stmt) bool {
	found := false
	for _, s := range stmts {
		syntax.Inspect(s, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.CallExpr:
				if n.Name == "eval" && len(n.Namespace) == 0 {
					found = true
				}
			case *syntax.ClosureExpr:
				return false
			}
			return !found
		})
	}
	return found
}

// bodyMayChange reports whether a loop body might change the collection the
// loop iterates: false only when the collection is a plain local variable
// (not captured, so no closure or eval reaches it) that the body never names.
func (c *compiler) bodyMayChange(iter syntax.Expr, body *syntax.BlockExpr) bool {
	switch iter.(type) {
	case *syntax.CallExpr, *syntax.MethodCallExpr, *syntax.ArrayLit:
		// A call's result or a literal is the loop's own.
		return false
	}
	id, ok := chainRoot(iter)
	if !ok {
		return true
	}
	b := c.binding(id)
	if b.kind != bLocal || b.boxed {
		return true
	}
	named := false
	syntax.Inspect(body, func(n syntax.Node) bool {
		if x, ok := n.(*syntax.Ident); ok && (c.binding(x) == b || x.Name == "this") {
			named = true
		}
		return !named
	})
	return named
}

// chainRoot returns the variable at the root of a chain of plain (not ?.)
// properties and constant-free indexes: `req.items`, `m["k"].list`.
func chainRoot(e syntax.Expr) (*syntax.Ident, bool) {
	for {
		switch x := e.(type) {
		case *syntax.Ident:
			return x, x.Name != "this"
		case *syntax.PropExpr:
			if x.Safe {
				return nil, false
			}
			e = x.X
		case *syntax.IndexExpr:
			if _, lit := constValue(x.Index); x.Safe || !lit {
				return nil, false
			}
			e = x.X
		default:
			return nil, false
		}
	}
}

// mayMutate reports whether body might change the variable bound to b in place:
// as the root of an assignment's target, of a method call's object, or of the
// first argument of a call (a native called as f(x, ...) may change x).
// Reading it, or storing it elsewhere (which copies), does not count.
func (c *compiler) mayMutate(b *binding, body *syntax.BlockExpr) bool {
	rooted := func(e syntax.Expr) bool {
		for {
			switch x := e.(type) {
			case *syntax.Ident:
				return c.binding(x) == b
			case *syntax.PropExpr:
				e = x.X
			case *syntax.IndexExpr:
				e = x.X
			default:
				return false
			}
		}
	}
	found := false
	syntax.Inspect(body, func(n syntax.Node) bool {
		switch x := n.(type) {
		case *syntax.AssignStmt:
			found = found || rooted(x.LHS)
		case *syntax.MethodCallExpr:
			found = found || rooted(x.X)
		case *syntax.CallExpr:
			found = found || len(x.Args) > 0 && rooted(x.Args[0]) || x.Name == "eval" || x.Bang
		case *syntax.ClosureExpr:
			// A closure could capture it; b would then be boxed anyway.
		}
		return !found
	})
	return found
}
