package rhai

import (
	"strconv"
	"sync/atomic"

	"github.com/picloud/picloud/rhai/syntax"
)

// FnPtr is a function pointer: a function's name with curried arguments, and for
// anonymous functions and closures the compiled body and captured variables.
type FnPtr struct {
	Name  string
	Curry []Value
	fn    *function
	env   []*cell
}

// IsAnonymous reports whether the pointer is to an anonymous function or closure.
func (f *FnPtr) IsAnonymous() bool { return f.fn != nil && f.fn.anon }

// ---- Calls by name ----

type callSite struct {
	cache atomic.Pointer[nativeFn]
}

func (e *Engine) findNative(name string, args []Value) *nativeFn {
	for _, m := range e.globals {
		if f := m.lookup(name, args); f != nil {
			return f
		}
	}
	return nil
}

func (cs *callSite) find(e *Engine, name string, args []Value) *nativeFn {
	if f := cs.cache.Load(); f != nil && f.matches(args) {
		return f
	}
	f := e.findNative(name, args)
	if f != nil {
		cs.cache.Store(f)
	}
	return f
}

// callNativeFn calls a native with borrowed args and raises its error at pos.
func (th *thread) callNativeFn(f *nativeFn, args []Value, pos syntax.Pos) Value {
	return th.callNativeOwned(f, args, pos, 0)
}

// callNativeOwned calls a native whose arguments in the owned bit set are
// temporaries (a literal, a call's result): a native keeping one need not copy it.
func (th *thread) callNativeOwned(f *nativeFn, args []Value, pos syntax.Pos, owned uint32) Value {
	// One Context per thread, so a native call allocates nothing for it.
	c := &th.nctx
	savedPos, savedOwned := c.pos, c.owned
	if c.th != th {
		// Stored once: a pointer store costs a write barrier while the
		// collector marks, on every native call.
		c.th = th
	}
	c.pos, c.owned = pos, owned
	before := 0
	if th.memLimit > 0 && len(args) > 0 {
		before = shallowBytes(args[0])
	}
	v, err := f.fn(c, args)
	c.pos, c.owned = savedPos, savedOwned
	if err != nil {
		raise(asError(err), pos)
	}
	if th.memLimit > 0 {
		// What the native made: its result and what its first argument (the
		// object of a method) grew by. Natives charge their own work.
		n := shallowBytes(v)
		if len(args) > 0 {
			n += max(shallowBytes(args[0])-before, 0)
		}
		th.holdNew(n, pos)
	}
	return v
}

func asError(err error) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return &Error{Kind: ErrRuntime, Message: err.Error(), Value: String(err.Error())}
}

// callNativeOp calls the function registered for an operator on types that
// have no built-in meaning for it.
func (th *thread) callNativeOp(op string, args []Value, pos syntax.Pos) Value {
	if f := th.eng.findNative(op, args); f != nil {
		return th.callNativeFn(f, args, pos)
	}
	raise(fnNotFound(op, args), pos)
	return Unit
}

// callNamed calls a function by name at run time: script functions of the
// current AST first, then natives.
func (th *thread) callNamed(name string, args []Value, pos syntax.Pos) Value {
	if fn := th.ast.lookupFn(name, len(args)); fn != nil {
		return th.callScript(fn, args, nil, false, nil, pos)
	}
	if f := th.eng.findNative(name, args); f != nil {
		return th.callNativeFn(f, args, pos)
	}
	raise(fnNotFound(name, args), pos)
	return Unit
}

// callScript calls a script function with already evaluated arguments (cloned
// here, since parameters own their values).
func (th *thread) callScript(fn *function, args []Value, env []*cell, thisConst bool, this *Value, pos syntax.Pos) Value {
	m := th.mark()
	slots := th.alloc(fn.nslots)
	for i, a := range args {
		slots[i] = th.clone(a)
	}
	v := th.invoke(fn, slots, env, this, thisConst, pos)
	th.reset(m)
	return v
}

// invoke runs fn in a new frame over slots (parameters already in place).
func (th *thread) invoke(fn *function, slots []Value, env []*cell, this *Value, thisConst bool, pos syntax.Pos) Value {
	if th.depth >= th.maxDepth {
		raise(&Error{Kind: ErrStackOverflow, Message: "Stack overflow"}, pos)
	}
	if max := th.eng.limits.MaxVariables; max > 0 && fn.nslots > max {
		raise(&Error{Kind: ErrTooManyVariables, Message: "Too many variables defined"}, pos)
	}
	th.tick1()
	for _, i := range fn.boxedParams {
		slots[i] = Value{t: typeCell, p: &cell{v: slots[i]}}
	}
	th.depth++
	fr := &th.frames[th.depth]
	fr.th, fr.slots, fr.env, fr.this, fr.thisConst, fr.fn = th, slots, env, this, thisConst, fn
	at := th.at
	defer th.unwindCall(fn, pos)
	fn.body(fr)
	th.at = at // back in the caller's statement
	th.depth--
	v := fr.ret
	if v.t == TypeArray || v.t == TypeMap || v.t == TypeBlob {
		// The result may be storage that outlives the call (`this`, a captured
		// variable, a global constant): the caller gets its own copy.
		v = th.clone(v)
	}
	return v
}

// unwindCall wraps an error leaving a script function in ErrorInFunctionCall,
// which is how Rhai reports the chain of calls an error passed through.
func (th *thread) unwindCall(fn *function, pos syntax.Pos) {
	if r := recover(); r != nil {
		e, ok := r.(*Error)
		if !ok || e.Kind == ErrTerminated || e.Kind == ErrTooManyOperations || e.Kind == ErrStackOverflow || isExit(r) {
			if ok && e.Kind == ErrStackOverflow && pos.IsValid() {
				// Rhai places a stack overflow at each call it leaves:
				// the outermost call's position is what it reports.
				e.Pos = pos
			}
			if ok && !e.Pos.IsValid() {
				// A limit leaves every call unwrapped, so its place must be in
				// the main script for hosts to show it: a module function's
				// statement is replaced by the call site, outermost wins.
				if fn.ast != th.main {
					e.at = pos
				} else {
					th.locate(e)
				}
			}
			panic(r)
		}
		src := fn.ast.name
		if e.Source == "" {
			e.Source = src
			th.locate(e) // raised in this function: th.at is its statement
		}
		panic(&Error{Kind: ErrInFunctionCall, Fn: fn.name, FnSource: src, Inner: e, Pos: pos})
	}
}

// ---- Compiling calls ----

func (c *compiler) args(list []syntax.Expr) ([]evalFn, []bool) {
	fns := make([]evalFn, len(list))
	place := make([]bool, len(list))
	for i, a := range list {
		fns[i] = c.expr(a)
		place[i] = isPlace(a)
	}
	return fns, place
}

func (c *compiler) call(e *syntax.CallExpr) evalFn {
	if len(e.Namespace) > 0 {
		return c.namespacedCall(e)
	}
	if f := c.intrinsic(e); f != nil {
		return f
	}
	pos := e.Pos
	args, place := c.args(e.Args)
	if fn := c.ast.lookupFn(e.Name, len(e.Args)); fn != nil {
		if e.Bang {
			return bangCall(fn, args, c.res.evalVars[e], pos)
		}
		return scriptCall(fn, args, place, pos)
	}
	name := e.Name
	cs := &callSite{}
	n := len(args)
	if n > 0 && isPlace(e.Args[0]) {
		// A native that changes its first argument, called as f(x, ...), changes x.
		first := c.compileRef(e.Args[0])
		rest := args[1:]
		return func(fr *frame) Value {
			th := fr.th
			m := th.mark()
			buf := th.alloc(n)
			r := first(fr)
			buf[0] = r.get(th)
			for i, a := range rest {
				buf[i+1] = a(fr)
			}
			f := cs.find(th.eng, name, buf)
			if f == nil {
				v := th.callNamed(name, buf, pos)
				th.reset(m)
				return v
			}
			if f.flags&Mut != 0 {
				if r.isConst {
					raise(&Error{Kind: ErrNonPureMethodOnConstant, Message: "Non-pure method '" + name + "' cannot be called on constant"}, pos)
				}
				v := th.callNativeFn(f, buf, pos)
				r.set(th, buf[0])
				th.reset(m)
				return v
			}
			v := th.callNativeFn(f, buf, pos)
			th.reset(m)
			return v
		}
	}
	return func(fr *frame) Value {
		th := fr.th
		m := th.mark()
		buf := th.alloc(n)
		for i, a := range args {
			buf[i] = a(fr)
		}
		f := cs.find(th.eng, name, buf)
		if f == nil {
			// A function defined by eval'd code or a later import may match.
			v := th.callNamed(name, buf, pos)
			th.reset(m)
			return v
		}
		v := th.callNativeFn(f, buf, pos)
		th.reset(m)
		return v
	}
}

// scriptCall is the hot path of a call to a script function: arguments are
// evaluated straight into the callee's slots.
func scriptCall(fn *function, args []evalFn, place []bool, pos syntax.Pos) evalFn {
	n := len(args)
	if n == 1 && !place[0] {
		a0 := args[0]
		return func(fr *frame) Value {
			th := fr.th
			m := th.mark()
			slots := th.alloc(fn.nslots)
			slots[0] = a0(fr)
			v := th.invoke(fn, slots, nil, nil, false, pos)
			th.reset(m)
			return v
		}
	}
	return func(fr *frame) Value {
		th := fr.th
		m := th.mark()
		slots := th.alloc(fn.nslots)
		for i, a := range args {
			v := a(fr)
			if place[i] {
				v = th.clone(v)
			}
			slots[i] = v
		}
		v := th.invoke(fn, slots, nil, nil, false, pos)
		th.reset(m)
		return v
	}
}

// bangCall is `f!(args)`: the function runs with the caller's variables in
// reach (looked up by name, since the function was compiled without them).
func bangCall(fn *function, args []evalFn, visible []*binding, pos syntax.Pos) evalFn {
	return func(fr *frame) Value {
		th := fr.th
		m := th.mark()
		slots := th.alloc(fn.nslots)
		for i, a := range args {
			slots[i] = th.clone(a(fr))
		}
		saved := th.outer
		th.outer = &outerScope{fr: fr, vars: visible, depth: th.depth + 1}
		v := th.invoke(fn, slots, nil, nil, false, pos)
		th.outer = saved
		th.reset(m)
		return v
	}
}

// outerScope gives a function called with `!` its caller's variables.
type outerScope struct {
	fr    *frame
	vars  []*binding
	depth int
}

func (c *compiler) namespacedCall(e *syntax.CallExpr) evalFn {
	args, _ := c.args(e.Args)
	ns, name, pos := e.Namespace, e.Name, e.Pos
	nsPos := e.NsPos // a missing module is reported at the path's start
	if !nsPos.IsValid() {
		nsPos = pos
	}
	n := len(args)
	return func(fr *frame) Value {
		th := fr.th
		mod := th.findModule(ns, nsPos)
		m := th.mark()
		buf := th.alloc(n)
		for i, a := range args {
			buf[i] = a(fr)
		}
		v := mod.call(th, name, buf, pos, ns)
		th.reset(m)
		return v
	}
}

func (c *compiler) methodCall(e *syntax.MethodCallExpr) evalFn {
	if id, ok := e.X.(*syntax.Ident); ok && e.Name == "is_shared" && len(e.Args) == 0 {
		return c.isShared(id)
	}
	args, _ := c.args(e.Args)
	ms := &methodSite{
		name:      e.Name,
		pos:       e.Pos,
		n:         len(args),
		ast:       c.ast,
		hasScript: c.ast.hasMethod(e.Name, len(args)),
		argPos:    e.Pos,
	}
	for i, a := range e.Args {
		if !isPlace(a) && i < 31 {
			ms.owned |= 1 << (i + 1) // buf[0] is the object
		}
	}
	if len(e.Args) > 0 {
		ms.argPos = e.Args[0].Position()
	}
	safe := e.Safe || chainHasSafe(e.X)
	n := len(args)
	// Fast path: a method on a plain local variable (items.push(x), s.len()):
	// no ref is built unless the call needs one.
	if id, ok := e.X.(*syntax.Ident); ok && !safe && !c.res.dynFirst[id] {
		if b := c.binding(id); b.kind == bLocal && !b.boxed {
			slot, isConst, pos := b.idx, b.isConst, id.Pos
			return func(fr *frame) Value {
				th := fr.th
				obj := fr.slots[slot]
				m := th.mark()
				buf := th.alloc(n + 1)
				buf[0] = obj
				for i, a := range args {
					store(&buf[i+1], a(fr))
				}
				var v Value
				if f := ms.native(th, obj, buf); f != nil {
					if f.flags&Mut != 0 {
						if isConst {
							raise(&Error{Kind: ErrNonPureMethodOnConstant, Message: "Non-pure method '" + ms.name + "' cannot be called on constant"}, ms.pos)
						}
						v = th.callNativeOwned(f, buf, ms.pos, ms.owned)
						if !identical(&fr.slots[slot], &buf[0]) {
							// items.push(x) changed the array in place: storing the
							// same pointer back would only feed the write barrier.
							fr.slots[slot] = buf[0]
						}
					} else {
						v = th.callNativeOwned(f, buf, ms.pos, ms.owned)
					}
				} else {
					r := ref{p: &fr.slots[slot], isConst: isConst, pos: pos}
					v = ms.dispatch(th, &r, buf)
				}
				th.reset(m)
				return v
			}
		}
	}
	target := c.compileRef(e.X)
	return func(fr *frame) Value {
		th := fr.th
		r := target(fr)
		obj := r.get(th)
		if safe && obj.t == TypeUnit {
			return Unit
		}
		m := th.mark()
		buf := th.alloc(n + 1)
		buf[0] = obj
		for i, a := range args {
			buf[i+1] = a(fr)
		}
		v := ms.dispatch(th, &r, buf)
		th.reset(m)
		return v
	}
}

// methodSite is what a compiled method call knows about itself.
type methodSite struct {
	name      string
	pos       syntax.Pos
	argPos    syntax.Pos
	n         int
	ast       *AST
	hasScript bool
	owned     uint32 // arguments that are temporaries (see callNativeOwned)
	cs        callSite
}

// native returns the native a method call goes to when nothing else can take it
// first (a function pointer in a map property, a script method), or nil.
func (ms *methodSite) native(th *thread, obj Value, buf []Value) *nativeFn {
	if ms.hasScript || obj.t == TypeMap || obj.t == TypeFnPtr {
		return nil
	}
	return ms.cs.find(th.eng, ms.name, buf)
}

// dispatch runs a method call on the place r with buf = [object, args...].
func (ms *methodSite) dispatch(th *thread, r *ref, buf []Value) Value {
	obj, name, pos, n := buf[0], ms.name, ms.pos, ms.n
	// A map property holding a function pointer is called as a method.
	if obj.t == TypeMap {
		if fp, ok := obj.AsMap().M[name]; ok && fp.t == TypeFnPtr {
			return th.callWithThis(fp, buf[1:], r, pos)
		}
	}
	if obj.t == TypeFnPtr {
		switch name {
		case "call":
			return th.callFnPtr(obj, buf[1:], nil, false, pos)
		case "curry":
			return curry(obj, buf[1:])
		}
	}
	if ms.hasScript {
		if script := ms.ast.lookupMethod(name, n, obj.TypeName()); script != nil {
			return th.callWithThisFn(script, buf[1:], r, pos)
		}
	}
	f := ms.cs.find(th.eng, name, buf)
	if f == nil {
		if fn := th.ast.lookupFn(name, n); fn != nil {
			return th.callWithThisFn(fn, buf[1:], r, pos)
		}
		if fn := th.importedMethod(name, n, obj.TypeName()); fn != nil {
			return th.callWithThisFn(fn, buf[1:], r, pos)
		}
		if name == "call" && n > 0 && buf[1].t == TypeFnPtr {
			// x.call(f, args...) calls f with `this` bound to x.
			return th.callWithThis(buf[1], buf[2:], r, pos)
		}
		if name == "call" {
			raise(&Error{Kind: ErrMismatchDataType, Message: "Data type incorrect: " + obj.TypeName() + " (expecting Fn)"}, ms.argPos)
		}
		raise(fnNotFound(name, buf), pos)
	}
	if f.flags&Mut != 0 {
		if r.isConst {
			raise(&Error{Kind: ErrNonPureMethodOnConstant, Message: "Non-pure method '" + name + "' cannot be called on constant"}, pos)
		}
		v := th.callNativeOwned(f, buf, pos, ms.owned)
		r.set(th, buf[0])
		return v
	}
	return th.callNativeOwned(f, buf, pos, ms.owned)
}

// callWithThisFn calls a script function with `this` bound to the place r.
func (th *thread) callWithThisFn(fn *function, args []Value, r *ref, pos syntax.Pos) Value {
	if r.kind == refPtr {
		return th.callScript(fn, args, nil, r.isConst, r.p, pos)
	}
	tmp := r.get(th)
	v := th.callScript(fn, args, nil, r.isConst, &tmp, pos)
	if !r.isConst {
		r.set(th, tmp)
	}
	return v
}

func (th *thread) callWithThis(fp Value, args []Value, r *ref, pos syntax.Pos) Value {
	if f := fp.AsFnPtr(); f != nil {
		for _, cl := range f.env {
			if &cl.v == r.p {
				// The closure would reach the same variable as `this` and through
				// its capture at once.
				raise(&Error{Kind: ErrDataRace, Message: "Data race detected when accessing variable"}, pos)
			}
		}
	}
	if r.kind == refPtr {
		return th.callFnPtr(fp, args, r.p, r.isConst, pos)
	}
	tmp := r.get(th)
	v := th.callFnPtr(fp, args, &tmp, r.isConst, pos)
	if !r.isConst {
		r.set(th, tmp)
	}
	return v
}

func curry(fp Value, extra []Value) Value {
	f := fp.AsFnPtr()
	nf := *f
	nf.Curry = make([]Value, 0, len(f.Curry)+len(extra))
	nf.Curry = append(nf.Curry, f.Curry...)
	for _, v := range extra {
		nf.Curry = append(nf.Curry, v.Clone()) // bounded: curried values were stored already
	}
	return Value{t: TypeFnPtr, p: &nf}
}

// callFnPtr calls a function pointer with args after its curried arguments.
func (th *thread) callFnPtr(fp Value, args []Value, this *Value, thisConst bool, pos syntax.Pos) Value {
	if fp.t != TypeFnPtr {
		raise(&Error{Kind: ErrMismatchDataType, Message: "Data type incorrect: " + fp.TypeName() + " (expecting Fn)"}, pos)
	}
	f := fp.AsFnPtr()
	all := args
	if len(f.Curry) > 0 {
		all = make([]Value, 0, len(f.Curry)+len(args))
		all = append(all, f.Curry...)
		all = append(all, args...)
	}
	if f.fn != nil {
		if len(all) != len(f.fn.params) {
			raise(fnNotFound(f.Name, all), pos)
		}
		return th.callScript(f.fn, all, f.env, thisConst, this, pos)
	}
	if fn := th.ast.lookupFn(f.Name, len(all)); fn != nil {
		return th.callScript(fn, all, nil, thisConst, this, pos)
	}
	if nf := th.eng.findNative(f.Name, all); nf != nil {
		return th.callNativeFn(nf, all, pos)
	}
	raise(fnNotFound(f.Name, all), pos)
	return Unit
}

// CallThis is Call with `this` bound to *this (array methods call their
// callbacks this way, so `|| this > 2` sees the element).
func (c *Context) CallThis(fp Value, this *Value, args []Value) (Value, error) {
	return c.th.callFnPtrSafeThis(fp, args, this, c.pos)
}

// callFnPtrSafe is callFnPtr for natives: the error comes back as a value and the
// thread is left as it was.
func (th *thread) callFnPtrSafe(fp Value, args []Value, pos syntax.Pos) (Value, error) {
	return th.callFnPtrSafeThis(fp, args, nil, pos)
}

func (th *thread) callFnPtrSafeThis(fp Value, args []Value, this *Value, pos syntax.Pos) (v Value, err error) {
	if th == nil {
		return Unit, NewError(ErrSystem, "no evaluation to call into")
	}
	depth, m := th.depth, th.mark()
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			th.depth = depth
			th.reset(m)
			err = e
		}
	}()
	return th.callFnPtr(fp, args, this, false, pos), nil
}

// FnArity is the number of arguments a function pointer expects after its
// curried ones, or -1 when it cannot be known (a native with overloads).
func (c *Context) FnArity(fp Value) int {
	f := fp.AsFnPtr()
	if f == nil {
		return -1
	}
	if f.fn != nil {
		return len(f.fn.params) - len(f.Curry)
	}
	if c.th != nil && c.th.ast != nil {
		for arity := 0; arity <= 8; arity++ {
			if c.th.ast.lookupFn(f.Name, arity) != nil {
				return arity - len(f.Curry)
			}
		}
	}
	return -1
}

// ---- Closures ----

func (c *compiler) closure(e *syntax.ClosureExpr) evalFn {
	fs := c.res.scopes[e]
	c.ast.anonCount++
	fn := &function{
		name:    "anon$" + strconv.Itoa(c.ast.anonCount),
		params:  e.Params,
		anon:    true,
		ast:     c.ast,
		pos:     e.Pos,
		envFrom: fs.envOuter,
	}
	sub := &compiler{eng: c.eng, ast: c.ast, res: c.res, inFn: true, scope: fs}
	sub.compileBody(fn, e, e.Body, fs)
	envFrom := fs.envOuter
	if len(envFrom) == 0 {
		fp := Value{t: TypeFnPtr, p: &FnPtr{Name: fn.name, fn: fn}}
		return func(*frame) Value { return fp }
	}
	return func(fr *frame) Value {
		env := make([]*cell, len(envFrom))
		for i, b := range envFrom {
			env[i] = cellOf(fr, b)
		}
		return Value{t: TypeFnPtr, p: &FnPtr{Name: fn.name, fn: fn, env: env}}
	}
}

func cellOf(fr *frame, b *binding) *cell {
	switch b.kind {
	case bLocal:
		v := fr.slots[b.idx]
		if v.t == typeCell {
			cl := v.p.(*cell)
			cl.shared = true
			return cl
		}
		// Not yet boxed (declared but never initialised on this path).
		cl := &cell{v: v, shared: true}
		fr.slots[b.idx] = Value{t: typeCell, p: cl}
		return cl
	case bEnv:
		return fr.env[b.idx]
	}
	return &cell{}
}

// compileBody compiles a function or closure body.
func (c *compiler) compileBody(fn *function, owner syntax.Node, body *syntax.BlockExpr, fs *funcScope) {
	for i := range fn.params {
		if b := c.res.decls[declKey{owner, i}]; b != nil && b.boxed {
			fn.boxedParams = append(fn.boxedParams, i)
		}
	}
	fn.body = c.block(body.Stmts)
	fn.nslots = fs.maxSlots
}

// isShared compiles x.is_shared(): true once a closure has captured x.
func (c *compiler) isShared(id *syntax.Ident) evalFn {
	b := c.binding(id)
	switch {
	case b.kind == bEnv:
		return func(*frame) Value { return Bool(true) }
	case b.kind == bLocal && b.boxed:
		idx := b.idx
		return func(fr *frame) Value {
			if v := fr.slots[idx]; v.t == typeCell {
				return Bool(v.p.(*cell).shared)
			}
			return Bool(false)
		}
	}
	x := c.expr(id)
	return func(fr *frame) Value { x(fr); return Bool(false) }
}
