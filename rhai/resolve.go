package rhai

import "github.com/picloud/picloud/rhai/syntax"

// The resolver is the stage between the parser and the compiler. It walks each
// function body once with the block structure of the source and decides where
// every variable lives: a slot in its function's frame, a shared cell when a
// closure captures it, an entry of a closure's environment, or a name looked up
// at run time (host scope variables, variables made by eval). The compiler then
// emits direct slot accesses; no name is looked up on a hot path.

type bindKind uint8

const (
	bLocal bindKind = iota // fr.slots[idx]; a *cell in the slot when boxed
	bEnv                   // fr.env[idx], a closure's captured cell
	bThis                  // `this`
	bFree                  // not declared in scope: looked up by name at run time
)

type binding struct {
	name    string
	kind    bindKind
	idx     int
	boxed   bool // a local captured by a closure: its slot holds a *cell
	isConst bool
	global  bool // declared at the top level of the main script (global::)
}

// funcScope is the resolver's view of one function body (a script function, a
// closure, or the main script).
type funcScope struct {
	parent   *funcScope // the enclosing function for closures; nil otherwise
	blocks   [][]*binding
	nslots   int
	maxSlots int
	env      []*binding // bEnv bindings, in environment order
	envOuter []*binding // the enclosing function's binding each env entry captures
	isFn     bool       // a script function or closure (not the main script)
	sawEval  bool       // an eval call was seen: later names may be eval's variables
}

func (fs *funcScope) push() { fs.blocks = append(fs.blocks, nil) }

func (fs *funcScope) pop() {
	top := fs.blocks[len(fs.blocks)-1]
	fs.blocks = fs.blocks[:len(fs.blocks)-1]
	fs.nslots -= len(top)
}

func (fs *funcScope) declare(name string, isConst bool) *binding {
	b := &binding{name: name, kind: bLocal, idx: fs.nslots, isConst: isConst}
	fs.nslots++
	if fs.nslots > fs.maxSlots {
		fs.maxSlots = fs.nslots
	}
	top := len(fs.blocks) - 1
	fs.blocks[top] = append(fs.blocks[top], b)
	return b
}

func (fs *funcScope) lookup(name string) *binding {
	for i := len(fs.blocks) - 1; i >= 0; i-- {
		blk := fs.blocks[i]
		for j := len(blk) - 1; j >= 0; j-- {
			if blk[j].name == name {
				return blk[j]
			}
		}
	}
	if fs.parent == nil {
		return nil
	}
	outer := fs.parent.lookup(name)
	if outer == nil {
		return nil
	}
	for i, o := range fs.envOuter {
		if o == outer {
			return fs.env[i]
		}
	}
	if outer.kind == bLocal {
		outer.boxed = true
	}
	b := &binding{name: name, kind: bEnv, idx: len(fs.env), isConst: outer.isConst}
	fs.env = append(fs.env, b)
	fs.envOuter = append(fs.envOuter, outer)
	return b
}

// visible returns every binding visible in fs, innermost last (for eval).
func (fs *funcScope) visible() []*binding {
	var out []*binding
	for _, blk := range fs.blocks {
		out = append(out, blk...)
	}
	return out
}

type declKey struct {
	node syntax.Node
	i    int
}

// resolution is what the resolver found, consulted by the compiler.
type resolution struct {
	idents   map[*syntax.Ident]*binding
	decls    map[declKey]*binding
	scopes   map[syntax.Node]*funcScope // *syntax.FnDef, *syntax.ClosureExpr, nil key for main
	evalVars map[*syntax.CallExpr][]*binding
	// dynFirst marks names read after an eval call in the same function: a
	// variable eval declared shadows the one the resolver found.
	dynFirst map[*syntax.Ident]bool
	// evalAtTop marks eval calls made at the main script's top level (not in
	// a function or block): constants their code declares are global::.
	evalAtTop map[*syntax.CallExpr]bool
}

type resolver struct {
	res  *resolution
	fs   *funcScope
	main *funcScope
	// top: this script's top level is the main script's (false for code
	// eval'd inside a function or block).
	top bool
}

// atTop reports whether a declaration here is at the main script's top level.
func (r *resolver) atTop() bool {
	return r.top && r.fs == r.main && len(r.fs.blocks) == 1
}

// resolveScript resolves the names of s, outer being the bindings visible
// around it. top says whether the script's top level is the main script's:
// true for a script, and for code eval'd at the main script's top level.
func resolveScript(s *syntax.Script, outer []*binding, top bool) *resolution {
	r := &resolver{res: &resolution{
		idents:    make(map[*syntax.Ident]*binding),
		decls:     make(map[declKey]*binding),
		scopes:    make(map[syntax.Node]*funcScope),
		evalVars:  make(map[*syntax.CallExpr][]*binding),
		dynFirst:  make(map[*syntax.Ident]bool),
		evalAtTop: make(map[*syntax.CallExpr]bool),
	}, top: top}
	for _, fn := range s.Fns {
		fs := &funcScope{isFn: true}
		fs.push()
		r.fs = fs
		for i, p := range fn.Params {
			r.res.decls[declKey{fn, i}] = fs.declare(p, false)
		}
		r.block(fn.Body)
		r.res.scopes[fn] = fs
	}
	main := &funcScope{}
	if outer != nil {
		// eval: the caller's visible variables (all boxed by the caller's
		// resolver) become the environment of the evaluated code, like a closure's.
		main.parent = &funcScope{blocks: [][]*binding{outer}}
	}
	main.push()
	r.fs, r.main = main, main
	r.stmts(s.Stmts)
	r.res.scopes[nil] = main
	return r.res
}

func (r *resolver) block(b *syntax.BlockExpr) {
	if b == nil {
		return
	}
	r.fs.push()
	r.stmts(b.Stmts)
	r.fs.pop()
}

func (r *resolver) stmts(list []syntax.Stmt) {
	for _, s := range list {
		r.stmt(s)
	}
}

func (r *resolver) stmt(s syntax.Stmt) {
	switch s := s.(type) {
	case *syntax.LetStmt:
		r.expr(s.Value)
		b := r.fs.declare(s.Name, s.Const)
		b.global = r.atTop()
		r.res.decls[declKey{s, 0}] = b
	case *syntax.AssignStmt:
		r.expr(s.RHS)
		r.expr(s.LHS)
	case *syntax.ExprStmt:
		r.expr(s.X)
	case *syntax.ReturnStmt:
		r.expr(s.Value)
	case *syntax.ThrowStmt:
		r.expr(s.Value)
	case *syntax.BreakStmt:
		r.expr(s.Value)
	case *syntax.TryStmt:
		r.block(s.Body)
		r.fs.push()
		if s.ErrVar != "" {
			r.res.decls[declKey{s, 0}] = r.fs.declare(s.ErrVar, false)
		}
		r.block(s.Catch)
		r.fs.pop()
	case *syntax.ImportStmt:
		r.expr(s.Path)
	case *syntax.ExportStmt:
		if b := r.fs.lookup(s.Name); b != nil {
			r.res.decls[declKey{s, 0}] = b
		}
	}
}

func (r *resolver) exprs(list []syntax.Expr) {
	for _, e := range list {
		r.expr(e)
	}
}

func (r *resolver) expr(e syntax.Expr) {
	switch e := e.(type) {
	case nil:
	case *syntax.Ident:
		if e.Name == "this" {
			r.res.idents[e] = &binding{name: "this", kind: bThis}
			return
		}
		b := r.fs.lookup(e.Name)
		if b == nil {
			b = &binding{name: e.Name, kind: bFree}
		}
		r.res.idents[e] = b
		if r.fs.sawEval && b.kind != bFree {
			r.res.dynFirst[e] = true
		}
	case *syntax.InterpString:
		r.exprs(e.Parts)
	case *syntax.ArrayLit:
		r.exprs(e.Elems)
	case *syntax.MapLit:
		r.exprs(e.Values)
	case *syntax.UnaryExpr:
		r.expr(e.X)
	case *syntax.BinaryExpr:
		r.expr(e.L)
		r.expr(e.R)
	case *syntax.IndexExpr:
		r.expr(e.X)
		r.expr(e.Index)
	case *syntax.PropExpr:
		r.expr(e.X)
	case *syntax.MethodCallExpr:
		r.expr(e.X)
		r.exprs(e.Args)
	case *syntax.CallExpr:
		r.exprs(e.Args)
		if len(e.Namespace) == 0 && e.Name == "is_def_var" {
			r.res.evalVars[e] = r.fs.visible()
		}
		if len(e.Namespace) == 0 && (e.Name == "eval" || e.Bang) {
			if e.Name == "eval" {
				r.fs.sawEval = true
			}
			r.res.evalVars[e] = r.fs.visible()
			if e.Name == "eval" && r.atTop() {
				r.res.evalAtTop[e] = true
			}
			// Everything eval's code may touch must survive outside the frame's
			// slot discipline, so it is treated as captured.
			for _, b := range r.res.evalVars[e] {
				if b.kind == bLocal {
					b.boxed = true
				}
			}
		}
	case *syntax.ClosureExpr:
		fs := &funcScope{parent: r.fs, isFn: true}
		fs.push()
		for i, p := range e.Params {
			r.res.decls[declKey{e, i}] = fs.declare(p, false)
		}
		saved := r.fs
		r.fs = fs
		r.block(e.Body)
		r.fs = saved
		r.res.scopes[e] = fs
	case *syntax.BlockExpr:
		r.block(e)
	case *syntax.IfExpr:
		r.expr(e.Cond)
		r.block(e.Then)
		r.expr(e.Else)
	case *syntax.SwitchExpr:
		r.expr(e.X)
		for _, c := range e.Cases {
			r.exprs(c.Values)
			r.expr(c.Cond)
			r.expr(c.Body)
		}
		r.expr(e.Default)
	case *syntax.WhileExpr:
		r.expr(e.Cond)
		r.block(e.Body)
	case *syntax.DoExpr:
		r.block(e.Body)
		r.expr(e.Cond)
	case *syntax.ForExpr:
		r.expr(e.Iter)
		r.fs.push()
		r.res.decls[declKey{e, 0}] = r.fs.declare(e.Var, false)
		if e.Counter != "" {
			r.res.decls[declKey{e, 1}] = r.fs.declare(e.Counter, false)
		}
		r.block(e.Body)
		r.fs.pop()
	}
}
