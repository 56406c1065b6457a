package main

import (
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
)

//go:embed scripts
var scriptFS embed.FS

// Workload is one program, written once per engine in scripts/<name>.<ext>.
type Workload struct {
	Name string
	What string
	Body string // the request body the `body` global holds (handler only)
	// Want is the answer every engine must compute, as plain Go values.
	Want any
}

// Workloads in table order: the six of the Rhai project's own benchmarks (same
// algorithms and sizes as ../shared/bench), then the request handler.
var Workloads = []*Workload{
	{Name: "fib", What: "recursive calls: fib(28) five times", Want: int64(317811)},
	{Name: "loop", What: "a 1,000,000-iteration while decrement", Want: int64(0)},
	{Name: "sieve", What: "bool array of 1,000,001, stepped ranges", Want: int64(78498)},
	{Name: "matmul", What: "50×50 float matrices in nested arrays", Want: goMatmul(50)},
	{Name: "strmap", What: "189,840 built strings as map keys: insert, look up, remove", Want: goStrmapSum()},
	{Name: "arraysum", What: "push 1,000,000 integers, then sum them", Want: int64(499999500000)},
	{Name: "handler", What: "parse a JSON body, price the order, build a response map", Body: RequestBody, Want: goHandler(RequestBody)},
}

// WorkloadByName finds a workload.
func WorkloadByName(name string) *Workload {
	for _, w := range Workloads {
		if w.Name == name {
			return w
		}
	}
	return nil
}

// Source returns the workload's script for engine e.
func (w *Workload) Source(e *Engine) (string, error) {
	b, err := scriptFS.ReadFile("scripts/" + w.Name + "." + e.Ext)
	return string(b), err
}

// RequestBody is the handler workload's input: a small order, as a client would
// POST it.
const RequestBody = `{
  "request_id": "req-7f3a9c",
  "user": {"id": 1042, "name": "Ada Lovelace", "email": "Ada.Lovelace@Example.COM", "tier": "gold"},
  "items": [
    {"sku": "PI-0001", "qty": 2, "price": 12.5, "tags": ["new", "promo"]},
    {"sku": "PI-0002", "qty": 1, "price": 99.75, "tags": ["bulky"]},
    {"sku": "PI-0003", "qty": 5, "price": 3.25, "tags": ["small", "fragile", "promo"]},
    {"sku": "PI-0004", "qty": 3, "price": 7.0, "tags": ["gift"]},
    {"sku": "PI-0005", "qty": 1, "price": 249.5, "tags": ["bulky", "insured"]},
    {"sku": "PI-0006", "qty": 4, "price": 0.5, "tags": ["small"]},
    {"sku": "PI-0007", "qty": 2, "price": 18.25, "tags": ["promo"]},
    {"sku": "PI-0008", "qty": 6, "price": 1.125, "tags": ["small", "new"]}
  ],
  "coupon": "SPRING10",
  "note": "leave at the door"
}`

// goMatmul is the matmul workload in Go, for the expected answer.
func goMatmul(n int) float64 {
	gen := func() [][]float64 {
		scale := 1.0 / float64(n) / float64(n)
		m := make([][]float64, n)
		for i := range m {
			m[i] = make([]float64, n)
			for j := range m[i] {
				m[i][j] = scale * float64(i-j) * float64(i+j)
			}
		}
		return m
	}
	a, b := gen(), gen()
	bt := make([][]float64, n)
	for j := range bt {
		bt[j] = make([]float64, n)
		for i := range n {
			bt[j][i] = b[i][j]
		}
	}
	c := make([][]float64, n)
	for i := range c {
		c[i] = make([]float64, n)
		for j := range c[i] {
			sum := 0.0
			for k := range n {
				sum += a[i][k] * bt[j][k]
			}
			c[i][j] = sum
		}
	}
	return c[10][20]
}

func goStrmapSum() int64 {
	n := int64(4 * 210 * 226)
	return n * (n - 1) / 2
}

// goHandler is the handler workload in Go, for the expected answer.
func goHandler(body string) any {
	var req struct {
		RequestID string `json:"request_id"`
		User      struct {
			ID                int64
			Name, Email, Tier string
		}
		Items []struct {
			Sku   string
			Qty   int64
			Price float64
			Tags  []string
		}
		Coupon string
	}
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		panic(err)
	}
	var lines []any
	subtotal, count := 0.0, int64(0)
	for _, it := range req.Items {
		line := float64(it.Qty) * it.Price
		subtotal += line
		count += it.Qty
		var tags []any
		for _, t := range it.Tags {
			tags = append(tags, strings.ToUpper(t))
		}
		lines = append(lines, map[string]any{"sku": it.Sku, "qty": it.Qty, "total": line, "tags": tags})
	}
	discount := 0.0
	if req.Coupon == "SPRING10" {
		discount += subtotal * 0.1
	}
	if req.User.Tier == "gold" {
		discount += subtotal * 0.05
	}
	return map[string]any{
		"status":  int64(200),
		"headers": map[string]any{"content-type": "application/json", "x-request-id": req.RequestID},
		"body": map[string]any{
			"user":       map[string]any{"id": req.User.ID, "name": req.User.Name, "email": strings.ToLower(req.User.Email)},
			"lines":      lines,
			"item_count": count,
			"subtotal":   subtotal,
			"discount":   discount,
			"total":      subtotal - discount,
		},
	}
}

// Canonical turns an answer into comparable JSON text: every number becomes a
// float64 (Lua has only floats; JSON decoders differ on integers), maps are
// written with sorted keys.
func Canonical(v any) (string, error) {
	b, err := json.Marshal(normalize(v))
	return string(b), err
}

func normalize(v any) any {
	switch v := v.(type) {
	case nil, bool, string:
		return v
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Sprint(v)
		}
		return v
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalize(e)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint())
	case reflect.Float32:
		return rv.Float()
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

// Check runs p once and compares its answer with w.Want.
func Check(w *Workload, p Program) error {
	if err := p.Run(); err != nil {
		return err
	}
	got, err := p.Result()
	if err != nil {
		return err
	}
	g, err := Canonical(got)
	if err != nil {
		return err
	}
	want, _ := Canonical(w.Want)
	if g != want {
		return fmt.Errorf("wrong answer: got %s, want %s", g, want)
	}
	return nil
}
