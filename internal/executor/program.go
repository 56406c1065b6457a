package executor

import (
	"context"
	"errors"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
	"github.com/picloud/picloud/rhai/syntax"
)

// Program is a compiled script, or the error that kept it from compiling.
// It is immutable and shared read-only by every execution of its version.
// Callers never see the engine's AST: they compile, execute and hand
// programs to the module resolver.
type Program struct {
	name  string
	ast   *rhai.AST
	cause error          // the engine's compile error, for an import of this program
	err   *picloud.Error // cause as an invalid_source error
	src   SourceError
}

// Compile compiles source under name. It never returns nil: a source that
// does not compile gives a Program whose Err says why, and executing it
// fails as a script_error with the compile error's kind and position.
func (x *Executor) Compile(name, source string) *Program {
	p := &Program{name: name}
	ast, err := x.eng.Compile(name, source)
	if err != nil {
		p.cause, p.src = err, sourceError(err)
		p.err = &picloud.Error{Code: picloud.EInvalidSource, Message: p.src.Message,
			Details: map[string]any{"line": p.src.Line, "column": p.src.Column, "kind": p.src.Kind}}
		return p
	}
	p.ast = ast
	return p
}

// Name is the name the program was compiled under.
func (p *Program) Name() string { return p.name }

// Err is nil when the program compiled; otherwise an *picloud.Error with code
// invalid_source whose Details carry "line", "column" and "kind".
func (p *Program) Err() error {
	if p.err == nil {
		return nil
	}
	return p.err
}

// SourceError is one compile error, as /api/validate lists them: the root
// package's type, so that the manager answers with Validate's result as is.
type SourceError = picloud.SourceError

// Validate compiles source and lists its errors (none when it compiles).
func (x *Executor) Validate(source string) []SourceError {
	if _, err := x.eng.Compile("", source); err != nil {
		return []SourceError{sourceError(err)}
	}
	return []SourceError{}
}

func sourceError(err error) SourceError {
	var pe *syntax.Error
	if errors.As(err, &pe) {
		return SourceError{Kind: pe.FullKind(), Message: pe.Message, Line: int(pe.Pos.Line), Column: int(pe.Pos.Col)}
	}
	return SourceError{Kind: rhai.ErrParsing, Message: err.Error()}
}

// compileFailure is the result of executing a program that did not compile:
// a script_error whose kind is ErrorParsing/<the parser's kind>, at the
// error's position.
func compileFailure(res *Result, p *Program) {
	kind := rhai.ErrParsing
	if p.src.Kind != "" && p.src.Kind != rhai.ErrParsing {
		kind += "/" + p.src.Kind
	}
	res.Status, res.Code = picloud.StatusError, picloud.EScriptError
	res.Err = &picloud.ExecError{Kind: kind, Message: p.src.Message, Line: p.src.Line, Column: p.src.Column}
}

// moduleResolver adapts an Options.Resolver to the engine's, for one
// evaluation of the script importer. Errors are the engine's so that the
// script sees Rhai's kinds: a missing script is ErrorModuleNotFound, one that
// does not compile an ErrorInModule around its parse error; a store failure
// is ErrorSystem, which fail reports as internal. A library that importer
// and it do not admit each other (confined scripts) is an
// ErrorModuleNotFound that says so, as is a confined library imported by a
// script not confined to the same pattern; a name importer's pattern does
// not admit is refused before it is looked up.
func (x *Executor) moduleResolver(resolve func(context.Context, string) (*Program, *picloud.Script, error), importer *picloud.Script) rhai.ModuleResolver {
	if resolve == nil {
		return nil // the engine answers ErrorModuleNotFound
	}
	return func(ctx context.Context, _ *rhai.Engine, name string) (*rhai.AST, error) {
		if !importer.Admits(name) {
			return nil, rhai.NewError(rhai.ErrModuleNotFound,
				"Module not imported: %s (this script is confined to %q, which %s does not match)", name, importer.ConfinedTo, name)
		}
		p, lib, err := resolve(ctx, name)
		if err == nil && p != nil && !lib.Admits(nameOf(importer)) {
			return nil, rhai.NewError(rhai.ErrModuleNotFound,
				"Module not imported: %s (the library is confined to %q, which this script does not match)", name, lib.ConfinedTo)
		}
		// The library's code runs as importer (its secrets, its events):
		// a confined library runs only in a script confined to the same
		// pattern, or an unconfined script in its pattern would run it
		// unconfined (the global secrets, events to any subscriber).
		if err == nil && p != nil && lib.Confined() && (importer == nil || importer.ConfinedTo != lib.ConfinedTo) {
			return nil, rhai.NewError(rhai.ErrModuleNotFound,
				"Module not imported: %s (the library is confined to %q and its code would run as this script, which is not confined to it)", name, lib.ConfinedTo)
		}
		switch {
		case err != nil && picloud.ErrorCode(err) == picloud.ENotFound, err == nil && p == nil:
			return nil, rhai.NewError(rhai.ErrModuleNotFound, "Module not found: %s", name)
		case err != nil:
			x.log.Error("executor: module resolver failed", "module", name, "err", err)
			return nil, rhai.NewError(rhai.ErrSystem, "module %s could not be loaded", name)
		case p.err != nil:
			return nil, p.cause
		}
		return p.ast, nil
	}
}

func nameOf(sc *picloud.Script) string {
	if sc == nil {
		return ""
	}
	return sc.Name
}
