package main

import (
	"testing"
)

// TestAnswers runs every engine on every workload once (and the generated
// compile-time script) and checks the answer. With -short only the quick
// workloads run.
func TestAnswers(t *testing.T) {
	quick := map[string]bool{"loop": true, "matmul": true, "handler": true}
	for _, w := range Workloads {
		for _, e := range Engines {
			t.Run(w.Name+"/"+e.Name, func(t *testing.T) {
				if testing.Short() && !quick[w.Name] {
					t.Skip("slow workload; run without -short")
				}
				src, err := w.Source(e)
				if err != nil {
					t.Fatal(err)
				}
				p, err := e.Compile(w.Name+"."+e.Ext, src, w.Body)
				if err != nil {
					t.Fatal(err)
				}
				if err := Check(w, p); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	gen := &Workload{Name: "compile", Want: GenAnswer(200)}
	for _, e := range Engines {
		t.Run("compile/"+e.Name, func(t *testing.T) {
			p, err := e.Compile("gen."+e.Ext, GenScript(e.Ext, 200), "")
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(gen, p); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRhaiScriptLength keeps the compile workload at the advertised length.
func TestRhaiScriptLength(t *testing.T) {
	src := GenScript("rhai", 200)
	if n := countLines(src); n != 200 {
		t.Fatalf("generated Rhai script has %d lines, want 200", n)
	}
}

func countLines(s string) int {
	n := 0
	for _, c := range s {
		if c == '\n' {
			n++
		}
	}
	return n
}

// BenchmarkEngines/<workload>/<engine>: compile once, evaluate per iteration.
// For benchstat:
//
//	go test -run '^$' -bench Engines -count 5 -timeout 60m | tee new.txt
func BenchmarkEngines(b *testing.B) {
	for _, w := range Workloads {
		b.Run(w.Name, func(b *testing.B) {
			for _, e := range Engines {
				b.Run(e.Name, func(b *testing.B) {
					src, err := w.Source(e)
					if err != nil {
						b.Fatal(err)
					}
					p, err := e.Compile(w.Name+"."+e.Ext, src, w.Body)
					if err != nil {
						b.Fatal(err)
					}
					if err := Check(w, p); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						if err := p.Run(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkCompile/<engine>: compile the generated 200-line script.
func BenchmarkCompile(b *testing.B) {
	for _, e := range Engines {
		b.Run(e.Name, func(b *testing.B) {
			src := GenScript(e.Ext, 200)
			b.ReportAllocs()
			for b.Loop() {
				if err := e.CompileOnly("gen."+e.Ext, src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
