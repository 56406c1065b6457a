package rhai

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/picloud/picloud/rhai/syntax"
)

// AST is a compiled script: immutable once built, and safe to evaluate from any
// number of goroutines at once.
type AST struct {
	name      string
	script    *syntax.Script
	main      *function
	fns       map[string][]*function
	parent    *AST // for code compiled by eval: the caller's AST
	anonCount int
	eng       *Engine
	topLevel  []*binding // the main script's top-level variables (for eval)
}

// Name is the source name the AST was compiled with.
func (a *AST) Name() string { return a.name }

// HasFn reports whether the script defines a function name with arity parameters.
func (a *AST) HasFn(name string, arity int) bool { return a.lookupFn(name, arity) != nil }

func (a *AST) hasFnNamed(name string) bool {
	for ; a != nil; a = a.parent {
		if len(a.fns[name]) > 0 {
			return true
		}
	}
	return false
}

// lookupFn finds a script function by name and arity (not typed methods).
func (a *AST) lookupFn(name string, arity int) *function {
	for ; a != nil; a = a.parent {
		for _, f := range a.fns[name] {
			if len(f.params) == arity && f.thisType == "" {
				return f
			}
		}
	}
	return nil
}

// lookupMethod finds the script function a method call on a value of type
// typeName reaches: a method typed for it (`fn int.twice()`) before a plain one.
func (a *AST) lookupMethod(name string, arity int, typeName string) *function {
	for x := a; x != nil; x = x.parent {
		for _, f := range x.fns[name] {
			if len(f.params) == arity && f.thisType != "" && f.thisType == typeName {
				return f
			}
		}
	}
	return a.lookupFn(name, arity)
}

// hasMethod reports whether any function name of that arity exists, typed or not.
func (a *AST) hasMethod(name string, arity int) bool {
	for ; a != nil; a = a.parent {
		for _, f := range a.fns[name] {
			if len(f.params) == arity {
				return true
			}
		}
	}
	return false
}

// typeAlias maps the type names of typed methods to type_of names.
func typeAlias(t string) string {
	switch t {
	case "int":
		return "i64"
	case "float":
		return "f64"
	}
	return t
}

// Compile parses and compiles a script. A syntax error is returned as a
// *syntax.Error with Rhai's kind name and the position.
func (e *Engine) Compile(name, src string) (*AST, error) {
	s, err := syntax.Parse(name, src, e.parseOptions())
	if err != nil {
		return nil, err
	}
	return e.compileScript(name, s, nil, nil, true)
}

// CompileExpression compiles a single expression (no statements), like Rhai's
// Engine::compile_expression.
func (e *Engine) CompileExpression(name, src string) (*AST, error) {
	x, err := syntax.ParseExpression(name, src, e.parseOptions())
	if err != nil {
		return nil, err
	}
	s := &syntax.Script{Name: name, Stmts: []syntax.Stmt{&syntax.ExprStmt{X: x}}}
	return e.compileScript(name, s, nil, nil, true)
}

func (e *Engine) compileScript(name string, s *syntax.Script, outer []*binding, parent *AST, top bool) (ast *AST, err error) {
	defer func() {
		if r := recover(); r != nil {
			ast, err = nil, &syntax.Error{Kind: "InternalError", Message: fmt.Sprintf("internal compiler error: %v", r)}
		}
	}()
	if max := e.limits.MaxFunctions; max > 0 && len(s.Fns) > max {
		return nil, &syntax.Error{Kind: "TooManyFunctions", Message: "Too many functions", Source: name}
	}
	res := resolveScript(s, outer, top)
	ast = &AST{name: name, script: s, fns: make(map[string][]*function), parent: parent, eng: e}
	defs := make([]*function, len(s.Fns))
	for i, fd := range s.Fns {
		fn := &function{name: fd.Name, params: fd.Params, private: fd.Private, ast: ast, pos: fd.Pos, thisType: typeAlias(fd.ThisType)}
		defs[i] = fn
		ast.fns[fd.Name] = append(ast.fns[fd.Name], fn)
	}
	for i, fd := range s.Fns {
		fs := res.scopes[fd]
		c := &compiler{eng: e, ast: ast, res: res, inFn: true, scope: fs}
		c.compileBody(defs[i], fd, fd.Body, fs)
	}
	fs := res.scopes[nil]
	if len(fs.blocks) > 0 {
		ast.topLevel = fs.blocks[0]
	}
	c := &compiler{eng: e, ast: ast, res: res, scope: fs}
	if parent == nil {
		// A script of its own (not eval's): its last expression's value is the
		// evaluation's result.
		c.moves = finalMoves(res, fs, s.Stmts)
	}
	main := &function{ast: ast}
	// block1: the top level keeps what it imports (a module's imports become its sub-modules).
	blk := c.block1(s.Stmts)
	main.body = blk
	main.nslots = fs.maxSlots
	main.envFrom = fs.envOuter
	ast.main = main
	return ast, nil
}

// Eval evaluates a compiled script with the host's scope (may be nil).
func (e *Engine) Eval(ctx context.Context, ast *AST, scope *Scope) (Value, error) {
	return e.EvalWith(ctx, ast, &EvalOptions{Scope: scope})
}

// EvalString compiles and evaluates src in one step.
func (e *Engine) EvalString(ctx context.Context, src string) (Value, error) {
	ast, err := e.Compile("", src)
	if err != nil {
		return Unit, err
	}
	return e.Eval(ctx, ast, nil)
}

// EvalWith evaluates a compiled script with per-evaluation options, and reports
// the operations used in opts.Operations.
func (e *Engine) EvalWith(ctx context.Context, ast *AST, opts *EvalOptions) (Value, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if opts == nil {
		opts = &EvalOptions{}
	}
	maxOps := e.limits.MaxOperations
	if opts.MaxOperations > 0 {
		maxOps = opts.MaxOperations
	}
	th := newThread(e, ctx, ast, maxOps)
	th.scope, th.onPrint, th.onDebug, th.resolver = opts.Scope, opts.OnPrint, opts.OnDebug, opts.Resolver
	th.onCheck = opts.onCheck
	th.onYield = opts.onYield
	if opts.MaxMemoryBytes > 0 {
		th.setMemoryLimit(opts.MaxMemoryBytes)
	}
	v, err := th.run(func() Value {
		if max := e.limits.MaxVariables; max > 0 && ast.main.nslots > max {
			panic(&Error{Kind: ErrTooManyVariables, Message: "Too many variables defined"})
		}
		fr := &th.frames[0]
		*fr = frame{th: th, slots: th.alloc(ast.main.nslots), fn: ast.main}
		ast.main.body(fr)
		return fr.ret
	})
	opts.Operations = th.ops
	opts.MemoryPeak = th.memoryPeak()
	opts.Last = th.at
	th.release()
	if err != nil {
		return Unit, err
	}
	return v, nil
}

// CallFn calls the script function name of ast with args, without running the
// script's top-level statements.
func (e *Engine) CallFn(ctx context.Context, ast *AST, name string, args ...Value) (Value, error) {
	fn := ast.lookupFn(name, len(args))
	if fn == nil {
		return Unit, fnNotFound(name, args)
	}
	th := newThread(e, ctx, ast, e.limits.MaxOperations)
	defer th.release()
	return th.run(func() Value {
		th.frames[0] = frame{th: th, fn: ast.main}
		return th.callScript(fn, args, nil, false, nil, syntax.Pos{})
	})
}

// exitSignal is how exit(v) unwinds: not an *Error, so no catch stops it.
type exitSignal struct{ v Value }

func isExit(r any) bool { _, ok := r.(exitSignal); return ok }

// run executes f and turns every panic into an error: evaluation errors as they
// are, exit() into its value, and any other fault into ErrorSystem — the engine
// never panics across its API.
func (th *thread) run(f func() Value) (v Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			switch x := r.(type) {
			case *Error:
				th.locate(x)
				v, err = Unit, x
			case exitSignal:
				v, err = x.v, nil
			default:
				buf := make([]byte, 4096)
				buf = buf[:runtime.Stack(buf, false)]
				v, err = Unit, &Error{Kind: ErrSystem, Message: fmt.Sprintf("internal error: %v\n%s", r, buf)}
			}
		}
	}()
	return f(), nil
}

// errorToValue is what `catch (e)` binds: the thrown value for `throw`, else a
// map describing the error.
func errorToValue(e *Error, source string) Value {
	if r := e.Root(); r.Kind == ErrRuntime {
		return r.Value
	}
	m := make(map[string]Value)
	m["error"] = String(e.Kind)
	c := *e
	c.Pos = syntax.Pos{}
	m["message"] = String(c.Error())
	if source != "" {
		m["source"] = String(source)
	}
	if e.Pos.IsValid() {
		m["line"] = Int(int64(e.Pos.Line))
		m["position"] = Int(int64(e.Pos.Col))
	}
	switch e.Kind {
	case ErrInFunctionCall:
		m["function"] = String(e.Fn)
	case ErrFunctionNotFound:
		m["function"] = String(e.Var)
	case ErrVariableNotFound:
		m["variable"] = String(e.Var)
	}
	return NewMap(m)
}

// ---- Intrinsics: functions that need the evaluator itself ----

func (c *compiler) intrinsic(e *syntax.CallExpr) evalFn {
	pos := e.Pos
	n := len(e.Args)
	switch e.Name {
	case "print":
		if n > 1 {
			return nil
		}
		if n == 0 {
			return func(fr *frame) Value { fr.th.print(""); return Unit }
		}
		x := c.expr(e.Args[0])
		return func(fr *frame) Value {
			v := x(fr)
			if v.t == TypeString {
				fr.th.print(v.AsString())
			} else {
				fr.th.print(fr.th.display(v))
			}
			return Unit
		}
	case "debug":
		if n > 1 {
			return nil
		}
		var x evalFn
		if n == 1 {
			x = c.expr(e.Args[0])
		}
		src := c.ast.name
		return func(fr *frame) Value {
			text := ""
			if x != nil {
				v := x(fr)
				if v.IsMutableContainer() {
					text = fr.th.displayLimited(v, true)
				} else {
					text = toDebug(v)
				}
			}
			if h := fr.th.onDebug; h != nil {
				h(text, src, pos)
			}
			return Unit
		}
	case "type_of":
		if n != 1 {
			return nil
		}
		x := c.expr(e.Args[0])
		return func(fr *frame) Value { return String(x(fr).TypeName()) }
	case "Fn":
		if n != 1 {
			return nil
		}
		x := c.expr(e.Args[0])
		// Rhai reports a bad name at the argument.
		pos := e.Args[0].Position()
		return func(fr *frame) Value {
			v := x(fr)
			if v.t != TypeString {
				raise(&Error{Kind: ErrMismatchDataType, Message: "Data type incorrect: " + v.TypeName() + " (expecting string)"}, pos)
			}
			name := v.AsString()
			if reservedFnNames[name] {
				pe := &syntax.Error{Kind: "Reserved", Message: "Syntax error: '" + name + "' is a reserved keyword", Pos: pos}
				raise(&Error{Kind: ErrParsing, Message: pe.Message, Parse: pe}, pos)
			}
			if !validFnName(name) {
				raise(&Error{Kind: ErrFunctionNotFound, Message: "Function not found: " + name, Var: name}, pos)
			}
			return NewFnPtr(name)
		}
	case "call":
		if n < 1 {
			return nil
		}
		args, _ := c.args(e.Args)
		var visible []*binding
		if e.Bang {
			visible = c.res.evalVars[e]
		}
		bang := e.Bang
		return func(fr *frame) Value {
			th := fr.th
			m := th.mark()
			buf := th.alloc(n)
			for i, a := range args {
				buf[i] = a(fr)
			}
			if bang {
				// call!(f, ...): the function sees the caller's variables.
				saved := th.outer
				th.outer = &outerScope{fr: fr, vars: visible, depth: th.depth + 1}
				defer func() { th.outer = saved }()
			}
			v := th.callFnPtr(buf[0], buf[1:], nil, false, pos)
			th.reset(m)
			return v
		}
	case "curry":
		if n < 1 {
			return nil
		}
		args, _ := c.args(e.Args)
		return func(fr *frame) Value {
			vals := make([]Value, n)
			for i, a := range args {
				vals[i] = a(fr)
			}
			if vals[0].t != TypeFnPtr {
				raise(fnNotFound("curry", vals), pos)
			}
			return curry(vals[0], vals[1:])
		}
	case "is_def_fn":
		if n == 3 {
			tn, name, arity := c.expr(e.Args[0]), c.expr(e.Args[1]), c.expr(e.Args[2])
			return func(fr *frame) Value {
				tv, nv, av := tn(fr), name(fr), arity(fr)
				if tv.t != TypeString || nv.t != TypeString || av.t != TypeInt {
					raise(fnNotFound("is_def_fn", []Value{tv, nv, av}), pos)
				}
				// The type name is compared as written in the definition after aliasing
				// (Rhai 1.25 answers false for is_def_fn("int", ...)).
				t := tv.AsString()
				for x := fr.th.ast; x != nil; x = x.parent {
					for _, f := range x.fns[nv.AsString()] {
						if f.thisType == t && len(f.params) == int(av.AsInt()) {
							return Bool(true)
						}
					}
				}
				return Bool(false)
			}
		}
		if n != 2 {
			return nil
		}
		name, arity := c.expr(e.Args[0]), c.expr(e.Args[1])
		return func(fr *frame) Value {
			nv, av := name(fr), arity(fr)
			if nv.t != TypeString || av.t != TypeInt {
				raise(fnNotFound("is_def_fn", []Value{nv, av}), pos)
			}
			return Bool(fr.th.ast.lookupFn(nv.AsString(), int(av.AsInt())) != nil)
		}
	case "is_def_var":
		if n != 1 {
			return nil
		}
		visible := c.res.evalVars[e]
		x := c.expr(e.Args[0])
		return func(fr *frame) Value {
			v := x(fr)
			if v.t != TypeString {
				raise(fnNotFound("is_def_var", []Value{v}), pos)
			}
			name := v.AsString()
			for _, b := range visible {
				if b.name == name {
					return Bool(true)
				}
			}
			return Bool(fr.th.lookupFree(fr, name) != nil)
		}
	case "is_shared":
		if n != 1 {
			return nil
		}
		if id, ok := e.Args[0].(*syntax.Ident); ok {
			return c.isShared(id)
		}
		x := c.expr(e.Args[0])
		return func(fr *frame) Value { x(fr); return Bool(false) }
	case "eval":
		if n != 1 {
			return nil
		}
		return c.evalCall(e)
	case "exit":
		if n > 1 {
			return nil
		}
		var x evalFn
		if n == 1 {
			x = c.expr(e.Args[0])
		}
		return func(fr *frame) Value {
			v := Unit
			if x != nil {
				v = x(fr)
			}
			panic(exitSignal{v})
		}
	}
	return nil
}

// reservedFnNames are the intrinsics a function pointer cannot name.
var reservedFnNames = map[string]bool{
	"print": true, "debug": true, "type_of": true, "eval": true, "Fn": true, "call": true,
	"curry": true, "is_def_fn": true, "is_def_var": true, "is_shared": true, "this": true,
}

func validFnName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// evalCall compiles eval(code): the code is compiled at run time as a closure
// over the caller's visible variables and runs in a new frame. Variables it
// declares at its top level stay visible to the caller afterwards, as in Rhai.
func (c *compiler) evalCall(e *syntax.CallExpr) evalFn {
	visible, top := c.res.evalVars[e], c.res.evalAtTop[e]
	x := c.expr(e.Args[0])
	pos, argPos := e.Pos, e.Args[0].Position()
	return func(fr *frame) Value {
		th := fr.th
		v := x(fr)
		if v.t != TypeString {
			raise(&Error{Kind: ErrMismatchDataType, Message: "Data type incorrect: " + v.TypeName() + " (expecting string)"}, argPos)
		}
		src := fr.fn.ast.name
		wrap := func(inner *Error) *Error {
			if inner.Source == "" {
				inner.Source = src
			}
			return &Error{Kind: ErrInFunctionCall, Fn: "eval", FnSource: src, Inner: inner, Pos: argPos}
		}
		s, err := syntax.Parse(src, v.AsString(), th.eng.parseOptions())
		if err == nil && len(s.Fns) > 0 {
			err = &syntax.Error{Kind: "WrongFnDefinition", Message: "Function definitions must be at global level and cannot be inside a block or another function"}
		}
		if err != nil {
			pe := err.(*syntax.Error)
			panic(wrap(&Error{Kind: ErrParsing, Message: "Syntax error: " + pe.Message, Pos: pe.Pos, Parse: pe}))
		}
		ast, err := th.eng.compileScript(src, s, visible, fr.fn.ast, top)
		if err != nil {
			pe, _ := err.(*syntax.Error)
			panic(wrap(&Error{Kind: ErrParsing, Message: err.Error(), Parse: pe}))
		}
		env := make([]*cell, len(ast.main.envFrom))
		for i, b := range ast.main.envFrom {
			env[i] = cellOf(fr, b)
		}
		if th.depth >= th.maxDepth {
			raise(&Error{Kind: ErrStackOverflow, Message: "Stack overflow"}, pos)
		}
		m := th.mark()
		slots := th.alloc(ast.main.nslots)
		saved := th.ast
		th.ast = ast
		depth := th.depth
		th.depth++
		nf := &th.frames[th.depth]
		*nf = frame{th: th, slots: slots, env: env, this: fr.this, thisConst: fr.thisConst, fn: ast.main}
		func() {
			defer func() {
				if r := recover(); r != nil {
					th.ast = saved
					if e, ok := r.(*Error); ok && !e.IsLimit() && e.Kind != ErrStackOverflow {
						panic(wrap(e))
					}
					panic(r)
				}
			}()
			ast.main.body(nf)
		}()
		th.depth = depth
		th.ast = saved
		r := nf.ret
		if r.IsMutableContainer() {
			r = th.clone(r) // it may be one of the caller's variables
		}
		th.keepEvalVars(depth, ast, nf)
		th.reset(m)
		return r
	}
}

// evalVar is a variable declared by eval'd code, visible to its caller by name.
type evalVar struct {
	depth int
	name  string
	v     *Value
}

func (th *thread) keepEvalVars(depth int, ast *AST, nf *frame) {
	// Forget variables of frames that have returned.
	n := len(th.evalVars)
	for n > 0 && th.evalVars[n-1].depth > depth {
		n--
	}
	th.evalVars = th.evalVars[:n]
	for _, b := range ast.topLevel {
		v := loadBinding(nf, b)
		th.evalVars = append(th.evalVars, evalVar{depth: depth, name: b.name, v: &v})
	}
}

// ---- global:: constants, modules, import and export ----

func (th *thread) setGlobalConst(name string, v Value) {
	th.globals = append(th.globals, globalVar{name, v})
}

func (th *thread) globalConst(name string) (Value, bool) {
	for i := len(th.globals) - 1; i >= 0; i-- {
		if th.globals[i].name == name {
			return th.globals[i].v, true
		}
	}
	return Unit, false
}

type globalVar struct {
	name string
	v    Value
}

// scriptModule is a module in use: a native Module or a script's exports.
type scriptModule struct {
	native *Module
	vars   map[string]Value
	ast    *AST
	subs   map[string]*scriptModule // modules the module itself imported
}

func (m *scriptModule) variable(name string) (Value, bool) {
	if m.native != nil {
		v, ok := m.native.vars[name]
		return v, ok
	}
	v, ok := m.vars[name]
	return v, ok
}

func (m *scriptModule) call(th *thread, name string, args []Value, pos syntax.Pos, ns []string) Value {
	if m.native != nil {
		if f := m.native.lookup(name, args); f != nil {
			return th.callNativeFn(f, args, pos)
		}
	} else if m.ast != nil {
		for _, f := range m.ast.fns[name] {
			if len(f.params) == len(args) && !f.private {
				// The module's functions see the module's own imports.
				saved, n := th.ast, len(th.modules)
				th.ast = m.ast
				for alias, sub := range m.subs {
					th.modules = append(th.modules, importedModule{alias: alias, mod: sub})
				}
				v := th.callScript(f, args, nil, false, nil, pos)
				th.ast = saved
				th.modules = th.modules[:n]
				return v
			}
		}
	}
	err := fnNotFound(strings.Join(ns, "::")+"::"+name, args)
	raise(err, pos)
	return Unit
}

func (th *thread) importedAs(alias string) *scriptModule {
	for i := len(th.modules) - 1; i >= 0; i-- {
		if th.modules[i].alias == alias {
			return th.modules[i].mod
		}
	}
	return nil
}

// importedMethod finds a typed method an imported module made global.
func (th *thread) importedMethod(name string, arity int, typeName string) *function {
	for i := len(th.methods) - 1; i >= 0; i-- {
		f := th.methods[i]
		if f.name == name && len(f.params) == arity && f.thisType == typeName {
			return f
		}
	}
	return nil
}

func (th *thread) findModule(ns []string, pos syntax.Pos) *scriptModule {
	var mod *scriptModule
	for i := len(th.modules) - 1; i >= 0; i-- {
		if th.modules[i].alias == ns[0] {
			mod = th.modules[i].mod
			break
		}
	}
	if mod == nil {
		if m, ok := th.eng.static[ns[0]]; ok {
			mod = &scriptModule{native: m}
		}
	}
	for i := 1; mod != nil && i < len(ns); i++ {
		switch {
		case mod.subs[ns[i]] != nil:
			mod = mod.subs[ns[i]]
		case mod.native != nil && mod.native.subs[ns[i]] != nil:
			mod = &scriptModule{native: mod.native.subs[ns[i]]}
		default:
			mod = nil
		}
	}
	if mod == nil {
		raise(&Error{Kind: ErrModuleNotFound, Message: "Module not found: " + strings.Join(ns, "::")}, pos)
	}
	return mod
}

func (c *compiler) importStmt(s *syntax.ImportStmt) execFn {
	path := c.expr(s.Path)
	alias, pos := s.Alias, s.Path.Position()
	return func(fr *frame) ctrl {
		fr.tick()
		th := fr.th
		pv := path(fr)
		if pv.t != TypeString {
			raise(&Error{Kind: ErrMismatchDataType, Message: "Data type incorrect: " + pv.TypeName() + " (expecting string)"}, pos)
		}
		p := pv.AsString()
		if max := th.eng.limits.MaxModules; max > 0 && len(th.modules) >= max {
			raise(&Error{Kind: ErrTooManyModules, Message: "Too many modules imported"}, pos)
		}
		resolve := th.resolver
		if resolve == nil {
			resolve = th.eng.resolver
		}
		if resolve == nil {
			raise(&Error{Kind: ErrModuleNotFound, Message: "Module not found: " + p}, pos)
		}
		ast, err := resolve(th.ctx, th.eng, p)
		if err != nil {
			if e, ok := err.(*Error); ok {
				raise(e, pos)
			}
			if pe, ok := err.(*syntax.Error); ok {
				raise(&Error{Kind: ErrInModule, Message: "Error in module '" + p + "'", Inner: &Error{Kind: ErrParsing, Message: pe.Error(), Parse: pe}}, pos)
			}
			raise(&Error{Kind: ErrModuleNotFound, Message: "Module not found: " + p}, pos)
		}
		mod := th.initModule(ast, p, pos)
		if alias != "" {
			th.modules = append(th.modules, importedModule{alias: alias, mod: mod})
		}
		store(&fr.ret, Unit)
		return ctrlNone
	}
}

// initModule runs a module script's top level once and collects its exports.
func (th *thread) initModule(ast *AST, path string, pos syntax.Pos) *scriptModule {
	if th.depth >= th.maxDepth {
		raise(&Error{Kind: ErrStackOverflow, Message: "Stack overflow"}, pos)
	}
	mod := &scriptModule{vars: make(map[string]Value), ast: ast}
	savedAst, savedExports, savedMods := th.ast, th.exports, len(th.modules)
	th.ast, th.exports = ast, mod.vars
	m := th.mark()
	slots := th.alloc(ast.main.nslots)
	th.depth++
	fr := &th.frames[th.depth]
	*fr = frame{th: th, slots: slots, fn: ast.main}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if e, ok := r.(*Error); ok && !e.IsLimit() {
					panic(&Error{Kind: ErrInModule, Message: "Error in module '" + path + "'", Inner: e, Pos: pos})
				}
				panic(r)
			}
		}()
		ast.main.body(fr)
	}()
	th.depth--
	th.reset(m)
	th.ast, th.exports = savedAst, savedExports
	for _, im := range th.modules[savedMods:] {
		if mod.subs == nil {
			mod.subs = make(map[string]*scriptModule)
		}
		mod.subs[im.alias] = im.mod
	}
	th.modules = th.modules[:savedMods]
	// Typed methods of an imported module are callable on their type everywhere.
	for _, fns := range ast.fns {
		for _, f := range fns {
			if f.thisType != "" && !f.private {
				th.methods = append(th.methods, f)
			}
		}
	}
	return mod
}

func (c *compiler) exportStmt(s *syntax.ExportStmt) execFn {
	b := c.res.decls[declKey{s, 0}]
	name := s.Alias
	if name == "" {
		name = s.Name
	}
	pos := s.Pos
	varName := s.Name
	return func(fr *frame) ctrl {
		fr.tick()
		if b == nil {
			raise(&Error{Kind: ErrVariableNotFound, Message: "Variable not found: " + varName, Var: varName}, pos)
		}
		if fr.th.exports != nil {
			fr.th.exports[name] = loadBinding(fr, b).Clone()
		}
		store(&fr.ret, Unit)
		return ctrlNone
	}
}
