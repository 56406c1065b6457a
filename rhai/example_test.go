package rhai_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/picloud/picloud/rhai"
)

// Compile a script once and evaluate it.
func Example() {
	eng := rhai.New()
	ast, err := eng.Compile("main.rhai", `
		fn square(x) { x * x }
		let xs = [1, 2, 3].map(|x| square(x));
		xs.reduce(|sum, x| sum + x, 0)
	`)
	if err != nil {
		panic(err)
	}
	v, err := eng.Eval(context.Background(), ast, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(v.TypeName(), v)
	// Output: i64 14
}

// EvalWith gives a script variables from the host (here the `request` map the
// platform pushes) and receives its print output.
func ExampleEngine_EvalWith() {
	eng := rhai.New()
	ast, err := eng.Compile("handler.rhai", `
		print("method: " + request.method);
		#{status: 200, body: "hello " + request.query.name}
	`)
	if err != nil {
		panic(err)
	}
	req, err := rhai.FromGo(map[string]any{
		"method": "GET",
		"query":  map[string]any{"name": "pi"},
	})
	if err != nil {
		panic(err)
	}
	scope := rhai.NewScope()
	scope.Push("request", req)
	v, err := eng.EvalWith(context.Background(), ast, &rhai.EvalOptions{
		Scope:   scope,
		OnPrint: func(s string) { fmt.Println("print:", s) },
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(v)
	// Output:
	// print: method: GET
	// #{"body": "hello pi", "status": 200}
}

// Register a native Go function callable from scripts.
func ExampleEngine_RegisterFn() {
	eng := rhai.New()
	eng.RegisterFn("add_tax", []rhai.Type{rhai.TypeInt, rhai.TypeFloat},
		func(c *rhai.Context, args []rhai.Value) (rhai.Value, error) {
			return rhai.Float(float64(args[0].AsInt()) * (1 + args[1].AsFloat())), nil
		})
	v, err := eng.EvalString(context.Background(), `add_tax(100, 0.25)`)
	if err != nil {
		panic(err)
	}
	fmt.Println(v)

	// Arguments of other types do not match the registered signature.
	_, err = eng.EvalString(context.Background(), `add_tax("100", 0.25)`)
	var re *rhai.Error
	if errors.As(err, &re) {
		fmt.Println(re.Kind)
	}
	// Output:
	// 125.0
	// ErrorFunctionNotFound
}

// A module of native functions, made global so its functions are called
// without a namespace.
func ExampleModule_SetFn() {
	m := rhai.NewModule()
	m.SetFn("shout", []rhai.Type{rhai.TypeString},
		func(c *rhai.Context, args []rhai.Value) (rhai.Value, error) {
			return rhai.String(args[0].AsString() + "!"), nil
		})
	m.SetVar("ANSWER", rhai.Int(42))
	eng := rhai.New()
	eng.RegisterGlobalModule(m)
	v, err := eng.EvalString(context.Background(), `"hey".shout() + " " + shout("you")`)
	if err != nil {
		panic(err)
	}
	fmt.Println(v)
	// Output: hey! you!
}

// A host module reached as log::info(...), the way the platform offers its own
// modules to scripts.
func ExampleEngine_RegisterStaticModule() {
	logm := rhai.NewModule()
	logm.SetFn("info", []rhai.Type{rhai.TypeAny},
		func(c *rhai.Context, args []rhai.Value) (rhai.Value, error) {
			fmt.Println("INFO", args[0])
			return rhai.Unit, nil
		})
	logm.SetVar("LEVEL", rhai.String("info"))
	eng := rhai.New()
	eng.RegisterStaticModule("log", logm)
	_, err := eng.EvalString(context.Background(), `
		log::info("started at level " + log::LEVEL);
		log::info([1, 2, 3]);
	`)
	if err != nil {
		panic(err)
	}
	// Output:
	// INFO started at level info
	// INFO [1, 2, 3]
}

// Call a function the script defines, by name, without running the script's
// top-level statements.
func ExampleEngine_CallFn() {
	eng := rhai.New()
	ast, err := eng.Compile("lib.rhai", `
		print("top level does not run");
		fn greet(name) { "hi " + name }
		fn area(w, h) { w * h }
	`)
	if err != nil {
		panic(err)
	}
	v, err := eng.CallFn(context.Background(), ast, "area", rhai.Int(6), rhai.Int(7))
	if err != nil {
		panic(err)
	}
	fmt.Println(v, ast.HasFn("area", 2), ast.HasFn("area", 1))

	_, err = eng.CallFn(context.Background(), ast, "missing")
	var re *rhai.Error
	if errors.As(err, &re) {
		fmt.Println(re.Kind)
	}
	// Output:
	// 42 true false
	// ErrorFunctionNotFound
}

// Limits stop runaway scripts: an operation budget, and cancellation through
// the context.
func ExampleEngine_SetLimits() {
	eng := rhai.New()
	eng.SetLimits(rhai.Limits{MaxOperations: 10_000})
	_, err := eng.EvalString(context.Background(), `loop { }`)
	var re *rhai.Error
	if errors.As(err, &re) {
		fmt.Println(re.Kind, re.IsLimit())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = rhai.New().EvalString(ctx, `let i = 0; while true { i += 1; }`)
	if errors.As(err, &re) {
		fmt.Println(re.Kind)
	}
	// Output:
	// ErrorTooManyOperations true
	// ErrorTerminated
}

// Convert between Go values, JSON and Rhai values.
func ExampleFromGo() {
	v, err := rhai.FromGo(map[string]any{"id": 7, "tags": []string{"a", "b"}, "ok": true})
	if err != nil {
		panic(err)
	}
	fmt.Println(v.TypeName(), v)

	j, err := rhai.ParseJSON(`{"n": 1, "x": 2.5, "list": [null, "s"]}`)
	if err != nil {
		panic(err)
	}
	fmt.Println(j)

	out, err := rhai.ToJSON(j) // Rhai's to_json
	if err != nil {
		panic(err)
	}
	fmt.Println(out)

	g := rhai.ToGo(j).(map[string]any)
	fmt.Printf("%T %T\n", g["n"], g["x"])
	// Output:
	// map #{"id": 7, "ok": true, "tags": ["a", "b"]}
	// #{"list": [(), "s"], "n": 1, "x": 2.5}
	// {"list":[null,"s"],"n":1,"x":2.5}
	// int64 float64
}

// A module resolver supplies the scripts that `import` names; the default
// engine has none.
func ExampleEngine_SetModuleResolver() {
	sources := map[string]string{
		"greeting": `
			export const NAME = "greeting";
			fn hello(who) { "hello " + who }
		`,
	}
	eng := rhai.New()
	eng.SetModuleResolver(func(ctx context.Context, e *rhai.Engine, path string) (*rhai.AST, error) {
		src, ok := sources[path]
		if !ok {
			return nil, rhai.NewError(rhai.ErrModuleNotFound, "Module not found: %s", path)
		}
		return e.Compile(path+".rhai", src)
	})
	v, err := eng.EvalString(context.Background(), `
		import "greeting" as g;
		g::hello("world") + " from " + g::NAME
	`)
	if err != nil {
		panic(err)
	}
	fmt.Println(v)

	_, err = eng.EvalString(context.Background(), `import "nope" as n;`)
	var re *rhai.Error
	if errors.As(err, &re) {
		fmt.Println(re.RootKind())
	}
	// Output:
	// hello world from greeting
	// ErrorModuleNotFound
}
