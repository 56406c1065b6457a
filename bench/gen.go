package main

import (
	"fmt"
	"strings"
)

// GenScript writes the compile-time workload for engine ext: about `lines`
// lines of functions (each: arithmetic, an array literal, a loop, an if/else,
// a map literal) and calls to all of them. The Rhai version is exactly `lines`
// lines; the others are the same functions in their language, so their line
// counts differ a little (Starlark has no braces, for one).
func GenScript(ext string, lines int) string {
	nfn := (lines - 2) / 11 // 10 lines per function, 1 call line each, 2 more
	if nfn < 1 {
		nfn = 1
	}
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	switch ext {
	case "rhai":
		for k := range nfn {
			p("fn f%d(x) {", k)
			p("    let a = x * 3 + %d;", k)
			p("    let b = [a, a + 1, a + 2];")
			p("    let s = 0;")
			p("    for v in b { s += v %% 7; }")
			p("    if s > 10 { s -= %d; } else { s += %d; }", k, k)
			p("    let m = #{ key: s, name: \"f%d\" };", k)
			p("    m.key + b.len()")
			p("}")
			p("")
		}
		p("let total = 0;")
		for k := range nfn {
			p("total += f%d(%d);", k, k+1)
		}
		p("total")
	case "lua":
		for k := range nfn {
			p("local function f%d(x)", k)
			p("    local a = x * 3 + %d", k)
			p("    local b = {a, a + 1, a + 2}")
			p("    local s = 0")
			p("    for _, v in ipairs(b) do s = s + v %% 7 end")
			p("    if s > 10 then s = s - %d else s = s + %d end", k, k)
			p("    local m = { key = s, name = \"f%d\" }", k)
			p("    return m.key + #b")
			p("end")
			p("")
		}
		p("local total = 0")
		for k := range nfn {
			p("total = total + f%d(%d)", k, k+1)
		}
		p("return total")
	case "js":
		p("(function () {")
		for k := range nfn {
			p("function f%d(x) {", k)
			p("    const a = x * 3 + %d;", k)
			p("    const b = [a, a + 1, a + 2];")
			p("    let s = 0;")
			p("    for (const v of b) { s += v %% 7; }")
			p("    if (s > 10) { s -= %d; } else { s += %d; }", k, k)
			p("    const m = { key: s, name: \"f%d\" };", k)
			p("    return m.key + b.length;")
			p("}")
			p("")
		}
		p("let total = 0;")
		for k := range nfn {
			p("total += f%d(%d);", k, k+1)
		}
		p("return total;")
		p("})()")
	case "star":
		for k := range nfn {
			p("def f%d(x):", k)
			p("    a = x * 3 + %d", k)
			p("    b = [a, a + 1, a + 2]")
			p("    s = 0")
			p("    for v in b:")
			p("        s += v %% 7")
			p("    if s > 10:")
			p("        s -= %d", k)
			p("    else:")
			p("        s += %d", k)
			p("    m = {\"key\": s, \"name\": \"f%d\"}", k)
			p("    return m[\"key\"] + len(b)")
			p("")
		}
		p("total = 0")
		for k := range nfn {
			p("total += f%d(%d)", k, k+1)
		}
		p("result = total")
	case "tengo":
		for k := range nfn {
			p("f%d := func(x) {", k)
			p("    a := x * 3 + %d", k)
			p("    b := [a, a + 1, a + 2]")
			p("    s := 0")
			p("    for v in b { s += v %% 7 }")
			p("    if s > 10 { s -= %d } else { s += %d }", k, k)
			p("    m := { key: s, name: \"f%d\" }", k)
			p("    return m.key + len(b)")
			p("}")
			p("")
		}
		p("total := 0")
		for k := range nfn {
			p("total += f%d(%d)", k, k+1)
		}
		p("result := total")
	}
	return b.String()
}

// GenAnswer is what GenScript's program computes.
func GenAnswer(lines int) int64 {
	nfn := (lines - 2) / 11
	if nfn < 1 {
		nfn = 1
	}
	var total int64
	for k := range int64(nfn) {
		a := (k+1)*3 + k
		var s int64
		for _, v := range []int64{a, a + 1, a + 2} {
			s += v % 7
		}
		if s > 10 {
			s -= k
		} else {
			s += k
		}
		total += s + 3
	}
	return total
}
