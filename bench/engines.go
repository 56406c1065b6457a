package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/d5/tengo/v2"
	"github.com/d5/tengo/v2/stdlib"
	"github.com/dop251/goja"
	"github.com/picloud/picloud/rhai"
	lua "github.com/yuin/gopher-lua"
	luaparse "github.com/yuin/gopher-lua/parse"
	starjson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Program is one compiled script, ready to be evaluated any number of times.
type Program interface {
	// Run evaluates the script once. This is what is timed.
	Run() error
	// Result converts the value of the last Run into plain Go values (nil, bool,
	// int64/float64, string, []any, map[string]any). Not timed.
	Result() (any, error)
}

// Engine is one embedded interpreter.
type Engine struct {
	Name string
	Ext  string // script file extension under scripts/
	// Compile compiles src; body is the value of the global `body` (the request
	// handler's input; empty for the other workloads).
	Compile func(name, src, body string) (Program, error)
	// CompileOnly is what the compile-time table measures: source text to the
	// engine's executable form, nothing run.
	CompileOnly func(name, src string) error
}

// Engines in the order the tables list them; PiCloud's engine first, since every
// ratio is against it.
var Engines = []*Engine{
	{Name: "picloud", Ext: "rhai", Compile: compileRhai, CompileOnly: compileOnlyRhai},
	{Name: "gopher-lua", Ext: "lua", Compile: compileLua, CompileOnly: compileOnlyLua},
	{Name: "goja", Ext: "js", Compile: compileGoja, CompileOnly: compileOnlyGoja},
	{Name: "starlark", Ext: "star", Compile: compileStarlark, CompileOnly: compileOnlyStarlark},
	{Name: "tengo", Ext: "tengo", Compile: compileTengo, CompileOnly: compileOnlyTengo},
}

// EngineByName finds an engine.
func EngineByName(name string) *Engine {
	for _, e := range Engines {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// PiCloud's Rhai engine

var rhaiEngine = rhai.New() // an Engine is safe for concurrent Compile and Eval

type rhaiProgram struct {
	ast  *rhai.AST
	body string
	last rhai.Value
}

func compileRhai(name, src, body string) (Program, error) {
	ast, err := rhaiEngine.Compile(name, src)
	if err != nil {
		return nil, err
	}
	return &rhaiProgram{ast: ast, body: body}, nil
}

func compileOnlyRhai(name, src string) error {
	_, err := rhaiEngine.Compile(name, src)
	return err
}

func (p *rhaiProgram) Run() error {
	var scope *rhai.Scope
	if p.body != "" {
		scope = rhai.NewScope()
		scope.Push("body", rhai.String(p.body))
	}
	v, err := rhaiEngine.Eval(context.Background(), p.ast, scope)
	p.last = v
	return err
}

func (p *rhaiProgram) Result() (any, error) { return rhai.ToGo(p.last), nil }

// ---------------------------------------------------------------------------
// gopher-lua

type luaProgram struct {
	L     *lua.LState
	proto *lua.FunctionProto
	last  lua.LValue
}

func luaProto(name, src string) (*lua.FunctionProto, error) {
	chunk, err := luaparse.Parse(strings.NewReader(src), name)
	if err != nil {
		return nil, err
	}
	return lua.Compile(chunk, name)
}

func compileLua(name, src, body string) (Program, error) {
	proto, err := luaProto(name, src)
	if err != nil {
		return nil, err
	}
	// One state per program, reused by every run (the usual pooled embedding);
	// the scripts keep everything in locals.
	L := lua.NewState()
	L.SetGlobal("json_decode", L.NewFunction(luaJSONDecode))
	L.SetGlobal("body", lua.LString(body))
	return &luaProgram{L: L, proto: proto}, nil
}

func compileOnlyLua(name, src string) error {
	_, err := luaProto(name, src)
	return err
}

func (p *luaProgram) Run() error {
	p.L.Push(p.L.NewFunctionFromProto(p.proto))
	if err := p.L.PCall(0, 1, nil); err != nil {
		return err
	}
	p.last = p.L.Get(-1)
	p.L.Pop(1)
	return nil
}

func (p *luaProgram) Result() (any, error) { return luaToGo(p.last), nil }

// luaJSONDecode is json_decode(string) for Lua scripts: gopher-lua has no JSON
// library, so the host provides one (as gopher-json does): encoding/json, then
// objects to tables and arrays to sequences.
func luaJSONDecode(L *lua.LState) int {
	var x any
	if err := json.Unmarshal([]byte(L.CheckString(1)), &x); err != nil {
		L.RaiseError("json_decode: %v", err)
	}
	L.Push(goToLua(L, x))
	return 1
}

func goToLua(L *lua.LState, x any) lua.LValue {
	switch x := x.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case []any:
		t := L.CreateTable(len(x), 0)
		for _, e := range x {
			t.Append(goToLua(L, e))
		}
		return t
	case map[string]any:
		t := L.CreateTable(0, len(x))
		for k, e := range x {
			t.RawSetString(k, goToLua(L, e))
		}
		return t
	}
	return lua.LNil
}

func luaToGo(v lua.LValue) any {
	switch v := v.(type) {
	case lua.LBool:
		return bool(v)
	case lua.LNumber:
		return float64(v)
	case lua.LString:
		return string(v)
	case *lua.LTable:
		if n := v.Len(); n > 0 {
			out := make([]any, 0, n)
			for i := 1; i <= n; i++ {
				out = append(out, luaToGo(v.RawGetInt(i)))
			}
			return out
		}
		out := map[string]any{}
		v.ForEach(func(k, e lua.LValue) { out[k.String()] = luaToGo(e) })
		return out
	}
	return nil
}

// ---------------------------------------------------------------------------
// goja (JavaScript)

type gojaProgram struct {
	vm   *goja.Runtime
	prog *goja.Program
	last goja.Value
}

func compileGoja(name, src, body string) (Program, error) {
	prog, err := goja.Compile(name, src, false)
	if err != nil {
		return nil, err
	}
	vm := goja.New() // one runtime per program, reused; the scripts are IIFEs
	if err := vm.Set("body", body); err != nil {
		return nil, err
	}
	return &gojaProgram{vm: vm, prog: prog}, nil
}

func compileOnlyGoja(name, src string) error {
	_, err := goja.Compile(name, src, false)
	return err
}

func (p *gojaProgram) Run() error {
	v, err := p.vm.RunProgram(p.prog)
	p.last = v
	return err
}

func (p *gojaProgram) Result() (any, error) { return p.last.Export(), nil }

// ---------------------------------------------------------------------------
// go.starlark.net

var starOptions = &syntax.FileOptions{
	Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true,
}

type starProgram struct {
	prog        *starlark.Program
	predeclared starlark.StringDict
	last        starlark.Value
}

func starPredeclared(body string) starlark.StringDict {
	return starlark.StringDict{"body": starlark.String(body), "json": starjson.Module}
}

func compileStarlark(name, src, body string) (Program, error) {
	pre := starPredeclared(body)
	_, prog, err := starlark.SourceProgramOptions(starOptions, name, src, pre.Has)
	if err != nil {
		return nil, err
	}
	return &starProgram{prog: prog, predeclared: pre}, nil
}

func compileOnlyStarlark(name, src string) error {
	pre := starPredeclared("")
	_, _, err := starlark.SourceProgramOptions(starOptions, name, src, pre.Has)
	return err
}

func (p *starProgram) Run() error {
	thread := &starlark.Thread{Name: "bench"}
	globals, err := p.prog.Init(thread, p.predeclared)
	if err != nil {
		return err
	}
	p.last = globals["result"]
	return nil
}

func (p *starProgram) Result() (any, error) { return starToGo(p.last) }

func starToGo(v starlark.Value) (any, error) {
	switch v := v.(type) {
	case nil, starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(v), nil
	case starlark.Int:
		i, ok := v.Int64()
		if !ok {
			return nil, fmt.Errorf("int too large: %v", v)
		}
		return i, nil
	case starlark.Float:
		return float64(v), nil
	case starlark.String:
		return string(v), nil
	case *starlark.List:
		out := make([]any, v.Len())
		for i := range out {
			e, err := starToGo(v.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case *starlark.Dict:
		out := map[string]any{}
		for _, kv := range v.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("non-string key %v", kv[0])
			}
			e, err := starToGo(kv[1])
			if err != nil {
				return nil, err
			}
			out[string(k)] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected starlark value %s", v.Type())
}

// ---------------------------------------------------------------------------
// tengo

type tengoProgram struct{ c *tengo.Compiled }

func tengoScript(src, body string) *tengo.Script {
	s := tengo.NewScript([]byte(src))
	s.SetImports(stdlib.GetModuleMap("json", "text"))
	_ = s.Add("body", body)
	return s
}

func compileTengo(name, src, body string) (Program, error) {
	c, err := tengoScript(src, body).Compile()
	if err != nil {
		return nil, err
	}
	return &tengoProgram{c: c}, nil
}

func compileOnlyTengo(name, src string) error {
	_, err := tengoScript(src, "").Compile()
	return err
}

func (p *tengoProgram) Run() error { return p.c.Run() }

func (p *tengoProgram) Result() (any, error) {
	v := p.c.Get("result")
	if e, ok := v.Object().(*tengo.Error); ok {
		return nil, errors.New(e.String())
	}
	return v.Value(), nil
}
