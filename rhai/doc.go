// Package rhai is a Rhai interpreter written in Go, imported by PiCloud and
// usable on its own. It imports only the standard library.
//
// The language is the one the Rhai Book describes, as Rhai 1.25 implements it:
// scripts written for Rhai run unchanged, print the same text and fail with the
// same error kinds (ErrorArithmetic, ErrorFunctionNotFound, ...).
//
// # Pipeline
//
//	syntax.Parse        source → AST with positions (package syntax)
//	resolveScript       every variable → a frame slot, a closure cell or a
//	                    run-time name (resolve.go)
//	compiler            AST → a tree of Go closures, with fast paths for
//	                    integers, local variables and array elements (compile.go,
//	                    call.go, access.go)
//	Engine.EvalWith     runs the closures on a pooled thread: value stack,
//	                    frames, operation counter, cancellation (thread.go)
//
// A compiled *AST is immutable and may be evaluated from many goroutines at
// once. Values (Value) are 32-byte structs: integers, floats, booleans,
// characters and unit never allocate. Arrays, maps and BLOBs are values in Rhai;
// the engine copies them where a script stores one, and operations on them
// otherwise work in place.
//
// # Limits
//
// Limits (operations, call depth, expression depth, string/array/map sizes,
// variables, functions, modules) are checked as the script runs; the operation
// counter is one increment and one comparison per statement, call and loop
// iteration, and the context is looked at every 1,024 operations, so a
// cancelled evaluation stops within microseconds. Limit errors cannot be caught
// by the script's try/catch.
//
// # Standard library
//
// New returns an engine with the whole standard library (Rhai's Engine::new);
// NewRaw one with the built-in operators only. The library is registered
// through Module, the same mechanism hosts use for their own functions
// (Module.SetFn, Engine.RegisterStaticModule for `name::fn(...)`): lib_math.go,
// lib_string.go, lib_array.go, lib_map.go, lib_blob.go, lib_range.go,
// lib_time.go, lib_core.go and json.go each fill one area from a table of
// named functions (libFn, registerLib); format.go prints values exactly as
// Rhai does and ops.go holds the built-in operators. reflect.go converts Go
// values (FromGo, ToGo).
package rhai
