package rhai

import (
	"context"

	"github.com/picloud/picloud/rhai/syntax"
)

// Limits bound what one evaluation may do. The zero value of a field means
// Rhai's default: call depth 64, expression depth 64 (32 inside functions), and
// no limit for the others.
type Limits struct {
	MaxOperations  uint64 // operations per evaluation (ErrorTooManyOperations)
	MaxCallDepth   int    // nested function calls (ErrorStackOverflow)
	MaxExprDepth   int    // expression nesting at parse time (ExprTooDeep)
	MaxFnExprDepth int    // the same inside function bodies
	MaxStringSize  int    // bytes in one string (ErrorDataTooLarge)
	MaxArraySize   int    // elements in one array or bytes in one BLOB
	MaxMapSize     int    // entries in one map
	MaxVariables   int    // variables alive at once (ErrorTooManyVariables)
	MaxFunctions   int    // script functions in one AST (parse error)
	MaxModules     int    // modules imported by one evaluation (ErrorTooManyModules)
	// MaxMemoryBytes bounds the bytes one evaluation holds at once in strings,
	// arrays, maps and BLOBs (ErrorDataTooLarge); 0 means no budget.
	// EvalOptions.MaxMemoryBytes overrides it per evaluation.
	MaxMemoryBytes int64
}

// ModuleResolver loads the module that `import "path"` names. The engine calls it
// at run time, once per import statement executed. The returned AST is run once
// to collect its exported variables and its non-private functions.
type ModuleResolver func(ctx context.Context, eng *Engine, path string) (*AST, error)

// Engine holds the configuration of a Rhai interpreter: registered functions and
// modules, limits and the module resolver. Configure it first, then use it from
// any number of goroutines: Compile and Eval do not change it.
type Engine struct {
	global   *Module            // the standard library + RegisterGlobalModule
	globals  []*Module          // lookup order for functions called without a namespace
	static   map[string]*Module // modules reachable as name::
	limits   Limits
	resolver ModuleResolver
	raw      bool
}

// New returns an engine with Rhai's standard library, like Rhai's Engine::new().
func New() *Engine {
	e := NewRaw()
	e.raw = false
	std := &Module{fns: make(map[string][]*nativeFn, stdNames), vars: map[string]Value{}}
	for _, f := range stdLibs {
		f(std)
	}
	e.global = std
	e.globals = []*Module{std}
	return e
}

// stdNames is room for the standard library's function names (173 today;
// TestStdNames keeps it above the count), so that New fills its map without
// growing it.
const stdNames = 200

// stdLibs fill the standard library, one area each.
var stdLibs = []func(*Module){
	stdMath, stdString, stdArray, stdMap, stdBlob, stdRange, stdTime, stdJSON, stdCore,
}

// NewRaw returns an engine with only the built-in operators, like Rhai's
// Engine::new_raw().
func NewRaw() *Engine {
	g := NewModule()
	return &Engine{global: g, globals: []*Module{g}, static: map[string]*Module{}, raw: true}
}

// SetLimits replaces the engine's limits.
func (e *Engine) SetLimits(l Limits) { e.limits = l }

// Limits returns the engine's limits.
func (e *Engine) Limits() Limits { return e.limits }

// SetModuleResolver sets the resolver for `import`. Without one, every import
// fails with ErrorModuleNotFound.
func (e *Engine) SetModuleResolver(r ModuleResolver) { e.resolver = r }

// RegisterGlobalModule makes m's functions callable without a namespace. Modules
// registered later are searched first.
func (e *Engine) RegisterGlobalModule(m *Module) {
	e.globals = append([]*Module{m}, e.globals...)
}

// RegisterStaticModule makes m reachable as name::fn(...) and name::VAR.
func (e *Engine) RegisterStaticModule(name string, m *Module) { e.static[name] = m }

// RegisterFn registers a native function in the engine's global namespace.
func (e *Engine) RegisterFn(name string, params []Type, fn NativeFunc) {
	e.globals[0].SetFn(name, params, fn)
}

func (e *Engine) parseOptions() syntax.Options {
	return syntax.Options{MaxExprDepth: e.limits.MaxExprDepth, MaxFnExprDepth: e.limits.MaxFnExprDepth}
}

// Scope holds variables the host provides to a script (the platform pushes
// `request`). A Scope is used by one evaluation at a time; the script's top-level
// code sees its variables and may change them. The zero Scope is empty and
// ready to use; its first variable is stored inside it (no allocation).
type Scope struct {
	vars []scopeVar
	one  [1]scopeVar
}

type scopeVar struct {
	name    string
	v       Value
	isConst bool
	// build makes v the first time the variable is looked up (PushLazy);
	// nil once made.
	build func() Value
}

// NewScope makes an empty scope.
func NewScope() *Scope { return &Scope{} }

// Push adds a variable (shadowing an earlier one of the same name).
func (s *Scope) Push(name string, v Value) { s.push(scopeVar{name: name, v: v}) }

// PushLazy adds a variable whose value build makes the first time it is
// looked up: by the script (reading, assigning, is_def_var) or by Get. An
// evaluation that never names the variable never calls build. build runs at
// most once, inside the evaluation that first needs it (its time and its
// value's memory count there).
func (s *Scope) PushLazy(name string, build func() Value) {
	s.push(scopeVar{name: name, build: build})
}

func (s *Scope) push(sv scopeVar) {
	if s.vars == nil {
		s.vars = s.one[:0]
	}
	s.vars = append(s.vars, sv)
}

// PushConstant adds a constant.
func (s *Scope) PushConstant(name string, v Value) {
	s.push(scopeVar{name: name, v: v, isConst: true})
}

// Get returns the latest variable named name.
func (s *Scope) Get(name string) (Value, bool) {
	if i := s.index(name); i >= 0 {
		return *s.value(i), true
	}
	return Unit, false
}

// Set changes the latest variable named name, or pushes it.
func (s *Scope) Set(name string, v Value) {
	if i := s.index(name); i >= 0 {
		s.vars[i].v, s.vars[i].build = v, nil
		return
	}
	s.Push(name, v)
}

// value returns where variable i's value is, made first if it is lazy.
func (s *Scope) value(i int) *Value {
	sv := &s.vars[i]
	if b := sv.build; b != nil {
		sv.build = nil
		sv.v = b()
	}
	return &sv.v
}

func (s *Scope) index(name string) int {
	if s == nil {
		return -1
	}
	for i := len(s.vars) - 1; i >= 0; i-- {
		if s.vars[i].name == name {
			return i
		}
	}
	return -1
}

// EvalOptions are the per-evaluation settings of EvalWith.
type EvalOptions struct {
	Scope *Scope
	// OnPrint receives print() output; nil discards it.
	OnPrint func(text string)
	// OnDebug receives debug() output with the source name and position of the call;
	// nil discards it.
	OnDebug func(text string, source string, pos syntax.Pos)
	// MaxOperations overrides the engine's limit when not zero.
	MaxOperations uint64
	// Resolver resolves this evaluation's imports, overriding the engine's
	// (SetModuleResolver) when not nil: a host serving many tenants passes
	// each run its own.
	Resolver ModuleResolver
	// MaxMemoryBytes overrides the engine's Limits.MaxMemoryBytes when not
	// zero: the evaluation stops with ErrorDataTooLarge (a limit error) when
	// the bytes it holds in strings, arrays, maps and BLOBs cross it.
	MaxMemoryBytes int64

	// Operations is set by EvalWith to the number of operations the evaluation
	// used, whether it succeeded or not.
	Operations uint64
	// MemoryPeak is set by EvalWith to the most bytes the evaluation was
	// accounted as holding at once (0 when it ran without a memory budget). It
	// is an upper bound of the live peak: bytes allocated since the engine last
	// measured what is live count as held.
	MemoryPeak int64
	// Last is set by EvalWith to the position of the statement evaluation
	// was at when it ended: for a success, the script's statement that
	// produced its value, where a host points a user at for a problem with
	// the result (a response too large to send).
	Last syntax.Pos

	onCheck func(ops uint64) // tests: called at every slow-path check of the budgets
	onYield func(bool)       // tests: called at every chance to yield, with whether it did
}
